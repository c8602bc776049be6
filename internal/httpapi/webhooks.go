package httpapi

import (
	"context"
	"time"

	"github.com/cloudreseller/aws-invites/api"
	"github.com/cloudreseller/aws-invites/internal/apiview"
	"github.com/cloudreseller/aws-invites/internal/invite"
	"github.com/cloudreseller/aws-invites/internal/notify"
)

// The webhook endpoints of a billing profile and the reseller-wide ones share their handlers: the scope is the
// billing profile's id, or "" for the reseller's.

func toEndpoint(ep notify.WebhookEndpoint) api.WebhookEndpoint {
	out := api.WebhookEndpoint{Id: ep.ID, Url: ep.URL, Enabled: ep.Enabled, Events: make([]api.EventType, 0, len(ep.Events)),
		CreatedAt: ep.CreatedAt.UTC(), UpdatedAt: ep.UpdatedAt.UTC(), BillingProfileId: apiview.Optional(ep.BillingProfileID),
		Description: apiview.Optional(ep.Description), DisabledReason: apiview.Optional(ep.DisabledReason), Secret: apiview.Optional(ep.Secret)}
	for _, t := range ep.Events {
		out.Events = append(out.Events, api.EventType(t))
	}
	if !ep.FailingSince.IsZero() {
		t := ep.FailingSince.UTC()
		out.FailingSince = &t
	}
	return out
}

func toDelivery(d notify.Delivery) api.Delivery {
	out := api.Delivery{Id: d.ID, EventId: d.PublicID, EventType: api.EventType(d.EventType), State: api.DeliveryState(d.State),
		InviteId: apiview.Optional(d.InviteID), CreatedAt: d.CreatedAt.UTC(), Attempts: make([]api.DeliveryAttempt, 0, len(d.Attempts))}
	for _, a := range d.Attempts {
		att := api.DeliveryAttempt{At: a.At.UTC(), LatencyMs: float32(a.Latency.Microseconds()) / 1000,
			Error: apiview.Optional(a.Error), ResponseSnippet: apiview.Optional(a.ResponseSnippet)}
		if a.StatusCode != 0 {
			code := a.StatusCode
			att.StatusCode = &code
		}
		out.Attempts = append(out.Attempts, att)
	}
	return out
}

func eventTypes(ts *[]api.EventType) *[]invite.EventType {
	if ts == nil {
		return nil
	}
	out := make([]invite.EventType, len(*ts))
	for i, t := range *ts {
		out[i] = invite.EventType(t)
	}
	return &out
}

func webhookLocation(scope, id string) string {
	if scope == "" {
		return "/webhooks/" + id
	}
	return "/billing-profiles/" + scope + "/webhooks/" + id
}

func (s *server) listWebhooks(ctx context.Context, scope string) (api.WebhookEndpointList, error) {
	eps, err := s.webhooks.List(ctx, principal(ctx), scope)
	if err != nil {
		return api.WebhookEndpointList{}, err
	}
	out := api.WebhookEndpointList{Items: make([]api.WebhookEndpoint, 0, len(eps))}
	for _, ep := range eps {
		out.Items = append(out.Items, toEndpoint(ep))
	}
	return out, nil
}

func (s *server) createWebhook(ctx context.Context, scope string, b *api.WebhookEndpointInput) (api.WebhookEndpoint, string, error) {
	ep, err := s.webhooks.Create(ctx, principal(ctx), scope, notify.EndpointInput{URL: &b.Url, Description: b.Description,
		Events: eventTypes(b.Events), Enabled: b.Enabled})
	if err != nil {
		return api.WebhookEndpoint{}, "", err
	}
	return toEndpoint(ep), webhookLocation(scope, ep.ID), nil
}

func (s *server) updateWebhook(ctx context.Context, scope, id string, b *api.WebhookEndpointUpdate) (api.WebhookEndpoint, error) {
	ep, err := s.webhooks.Update(ctx, principal(ctx), scope, id, notify.EndpointInput{URL: b.Url, Description: b.Description,
		Events: eventTypes(b.Events), Enabled: b.Enabled})
	return toEndpoint(ep), err
}

func (s *server) webhookDeliveries(ctx context.Context, scope, id string, limit *int, cursor *string) (api.DeliveryList, error) {
	n := 0
	if limit != nil {
		n = *limit
	}
	list := listOf("deliveries", scope, id)
	before, err := decodeCursor[string](list, cursor)
	if err != nil {
		return api.DeliveryList{}, err
	}
	ds, next, err := s.webhooks.Deliveries(ctx, principal(ctx), scope, id, n, before)
	if err != nil {
		return api.DeliveryList{}, err
	}
	out := api.DeliveryList{Items: make([]api.Delivery, 0, len(ds)), NextCursor: encodeCursor(list, next)}
	for _, d := range ds {
		out.Items = append(out.Items, toDelivery(d))
	}
	return out, nil
}

func (s *server) ListWebhooks(ctx context.Context, req api.ListWebhooksRequestObject) (api.ListWebhooksResponseObject, error) {
	out, err := s.listWebhooks(ctx, req.BillingProfileId)
	if err != nil {
		return nil, err
	}
	return api.ListWebhooks200JSONResponse(out), nil
}

func (s *server) CreateWebhook(ctx context.Context, req api.CreateWebhookRequestObject) (api.CreateWebhookResponseObject, error) {
	ep, loc, err := s.createWebhook(ctx, req.BillingProfileId, req.Body)
	if err != nil {
		return nil, err
	}
	return api.CreateWebhook201JSONResponse{Body: ep, Headers: api.CreateWebhook201ResponseHeaders{Location: &loc}}, nil
}

func (s *server) GetWebhook(ctx context.Context, req api.GetWebhookRequestObject) (api.GetWebhookResponseObject, error) {
	ep, err := s.webhooks.Get(ctx, principal(ctx), req.BillingProfileId, req.WebhookId)
	if err != nil {
		return nil, err
	}
	return api.GetWebhook200JSONResponse(toEndpoint(ep)), nil
}

func (s *server) UpdateWebhook(ctx context.Context, req api.UpdateWebhookRequestObject) (api.UpdateWebhookResponseObject, error) {
	ep, err := s.updateWebhook(ctx, req.BillingProfileId, req.WebhookId, req.Body)
	if err != nil {
		return nil, err
	}
	return api.UpdateWebhook200JSONResponse(ep), nil
}

func (s *server) DeleteWebhook(ctx context.Context, req api.DeleteWebhookRequestObject) (api.DeleteWebhookResponseObject, error) {
	if err := s.webhooks.Delete(ctx, principal(ctx), req.BillingProfileId, req.WebhookId); err != nil {
		return nil, err
	}
	return api.DeleteWebhook204Response{}, nil
}

func (s *server) RotateWebhookSecret(ctx context.Context, req api.RotateWebhookSecretRequestObject) (api.RotateWebhookSecretResponseObject, error) {
	ep, err := s.webhooks.RotateSecret(ctx, principal(ctx), req.BillingProfileId, req.WebhookId)
	if err != nil {
		return nil, err
	}
	return api.RotateWebhookSecret200JSONResponse(toEndpoint(ep)), nil
}

func (s *server) TestWebhook(ctx context.Context, req api.TestWebhookRequestObject) (api.TestWebhookResponseObject, error) {
	d, err := s.webhooks.SendTest(ctx, principal(ctx), req.BillingProfileId, req.WebhookId)
	if err != nil {
		return nil, err
	}
	return api.TestWebhook202JSONResponse(toDelivery(d)), nil
}

func (s *server) ListWebhookDeliveries(ctx context.Context, req api.ListWebhookDeliveriesRequestObject) (api.ListWebhookDeliveriesResponseObject, error) {
	out, err := s.webhookDeliveries(ctx, req.BillingProfileId, req.WebhookId, req.Params.Limit, req.Params.Cursor)
	if err != nil {
		return nil, err
	}
	return api.ListWebhookDeliveries200JSONResponse(out), nil
}

func (s *server) ListResellerWebhooks(ctx context.Context, _ api.ListResellerWebhooksRequestObject) (api.ListResellerWebhooksResponseObject, error) {
	out, err := s.listWebhooks(ctx, "")
	if err != nil {
		return nil, err
	}
	return api.ListResellerWebhooks200JSONResponse(out), nil
}

func (s *server) CreateResellerWebhook(ctx context.Context, req api.CreateResellerWebhookRequestObject) (api.CreateResellerWebhookResponseObject, error) {
	ep, loc, err := s.createWebhook(ctx, "", req.Body)
	if err != nil {
		return nil, err
	}
	return api.CreateResellerWebhook201JSONResponse{Body: ep, Headers: api.CreateResellerWebhook201ResponseHeaders{Location: &loc}}, nil
}

func (s *server) GetResellerWebhook(ctx context.Context, req api.GetResellerWebhookRequestObject) (api.GetResellerWebhookResponseObject, error) {
	ep, err := s.webhooks.Get(ctx, principal(ctx), "", req.WebhookId)
	if err != nil {
		return nil, err
	}
	return api.GetResellerWebhook200JSONResponse(toEndpoint(ep)), nil
}

func (s *server) UpdateResellerWebhook(ctx context.Context, req api.UpdateResellerWebhookRequestObject) (api.UpdateResellerWebhookResponseObject, error) {
	ep, err := s.updateWebhook(ctx, "", req.WebhookId, req.Body)
	if err != nil {
		return nil, err
	}
	return api.UpdateResellerWebhook200JSONResponse(ep), nil
}

func (s *server) DeleteResellerWebhook(ctx context.Context, req api.DeleteResellerWebhookRequestObject) (api.DeleteResellerWebhookResponseObject, error) {
	if err := s.webhooks.Delete(ctx, principal(ctx), "", req.WebhookId); err != nil {
		return nil, err
	}
	return api.DeleteResellerWebhook204Response{}, nil
}

func (s *server) RotateResellerWebhookSecret(ctx context.Context, req api.RotateResellerWebhookSecretRequestObject) (api.RotateResellerWebhookSecretResponseObject, error) {
	ep, err := s.webhooks.RotateSecret(ctx, principal(ctx), "", req.WebhookId)
	if err != nil {
		return nil, err
	}
	return api.RotateResellerWebhookSecret200JSONResponse(toEndpoint(ep)), nil
}

func (s *server) TestResellerWebhook(ctx context.Context, req api.TestResellerWebhookRequestObject) (api.TestResellerWebhookResponseObject, error) {
	d, err := s.webhooks.SendTest(ctx, principal(ctx), "", req.WebhookId)
	if err != nil {
		return nil, err
	}
	return api.TestResellerWebhook202JSONResponse(toDelivery(d)), nil
}

func (s *server) ListResellerWebhookDeliveries(ctx context.Context, req api.ListResellerWebhookDeliveriesRequestObject) (api.ListResellerWebhookDeliveriesResponseObject, error) {
	out, err := s.webhookDeliveries(ctx, "", req.WebhookId, req.Params.Limit, req.Params.Cursor)
	if err != nil {
		return nil, err
	}
	return api.ListResellerWebhookDeliveries200JSONResponse(out), nil
}

func toNotifications(ns notify.NotificationSettings) api.NotificationSettings {
	out := api.NotificationSettings{Recipients: append([]string{}, ns.Recipients...)}
	if len(ns.Events) > 0 {
		types := make([]api.EventType, len(ns.Events))
		for i, t := range ns.Events {
			types[i] = api.EventType(t)
		}
		out.Events = &types
	}
	return out
}

func (s *server) GetNotifications(ctx context.Context, req api.GetNotificationsRequestObject) (api.GetNotificationsResponseObject, error) {
	ns, err := s.webhooks.Notifications(ctx, principal(ctx), req.BillingProfileId)
	if err != nil {
		return nil, err
	}
	return api.GetNotifications200JSONResponse(toNotifications(ns)), nil
}

func (s *server) PutNotifications(ctx context.Context, req api.PutNotificationsRequestObject) (api.PutNotificationsResponseObject, error) {
	in := notify.NotificationSettings{BillingProfileID: req.BillingProfileId, Recipients: append([]string{}, req.Body.Recipients...)}
	if ts := eventTypes(req.Body.Events); ts != nil {
		in.Events = *ts
	}
	ns, err := s.webhooks.PutNotifications(ctx, principal(ctx), in)
	if err != nil {
		return nil, err
	}
	return api.PutNotifications200JSONResponse(toNotifications(ns)), nil
}

func (s *server) ListSandboxMail(ctx context.Context, _ api.ListSandboxMailRequestObject) (api.ListSandboxMailResponseObject, error) {
	if s.sandbox == nil {
		return nil, invite.Errorf(invite.CodeSandboxOnly, "the sandbox's mailbox exists only in the sandbox (AWS_INVITES_MODE=sandbox); here email goes out through SMTP")
	}
	out := api.SandboxMailList{Items: []api.SandboxMail{}}
	for _, m := range s.sandbox.Mail(ctx, principal(ctx)) {
		out.Items = append(out.Items, api.SandboxMail{Id: m.ID, At: m.At.UTC().Truncate(time.Microsecond), From: m.From,
			To: m.To, Subject: m.Subject, Text: m.Text, Html: apiview.Optional(m.HTML)})
	}
	return api.ListSandboxMail200JSONResponse(out), nil
}
