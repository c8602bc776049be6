// Package apiview renders the domain's views in the shapes of the API's JSON (the types generated from
// openapi.yaml): the HTTP layer answers with them, and events keep the invite as the API showed it when they
// happened, for the activity feed and webhooks.
package apiview

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/cloudreseller/aws-invites/api"
	"github.com/cloudreseller/aws-invites/internal/invite"
)

// Invite converts the domain's view of an invite for clients.
func Invite(v invite.View) api.Invite {
	inv := v.Invite
	out := api.Invite{
		Id:                inv.ID,
		BillingProfileId:  inv.BillingProfileID,
		Kind:              api.InviteKind(inv.Kind.OrJoin()),
		AccountId:         inv.AccountID,
		Notes:             inv.Notes,
		State:             api.InviteState(inv.State),
		InvitedBy:         actor(inv.InvitedBy),
		CreatedAt:         inv.CreatedAt.UTC(),
		UpdatedAt:         inv.UpdatedAt.UTC(),
		LastSentAt:        inv.LastSentAt.UTC(),
		ResendAvailableAt: inv.ResendAvailableAt().UTC(),
		NextSteps:         make([]api.NextStep, 0, len(v.NextSteps)),
	}
	if h := inv.Handshake; h != nil {
		out.Handshake = &api.Handshake{
			Id: h.ID, State: api.HandshakeState(h.State), RequestedAt: h.RequestedAt.UTC(), ExpiresAt: h.ExpiresAt.UTC(),
		}
		if o := h.Organization; o != nil {
			out.Organization = &api.Organization{Id: o.ID, ManagementAccountId: Optional(o.ManagementAccountID),
				ManagementEmail: Optional(o.ManagementEmail), ManagementName: Optional(o.ManagementName)}
		}
	}
	if inv.JoinedAt != nil {
		t := inv.JoinedAt.UTC()
		out.JoinedAt = &t
	}
	if t := inv.Transfer; t != nil {
		tr := api.Transfer{Id: Optional(t.ID), Status: api.TransferStatus(t.Status), StartAt: t.StartAt.UTC()}
		if tr.Status == "" {
			tr.Status = api.TransferStatus(invite.TransferRequested)
		}
		if !t.EndAt.IsZero() {
			end := t.EndAt.UTC()
			tr.EndAt = &end
		}
		out.Transfer = &tr
	}
	if ch := inv.CloudHealth; ch != nil {
		out.CloudHealth = &api.CloudHealthView{Level: api.CloudHealthViewLevel(ch.Level), Listed: ch.Listed,
			CheckedAt: ch.CheckedAt.UTC(), PayerAccountId: Optional(ch.PayerAccountID), PayerName: Optional(ch.PayerName),
			PayerReason: Optional(ch.PayerReason), Warning: Optional(ch.Warning())}
		if !ch.LastUpdate.IsZero() {
			t := ch.LastUpdate.UTC()
			out.CloudHealth.LastUpdate = &t
		}
	}
	if inv.CURSeenAt != nil {
		v := api.CURView{FirstSeenAt: inv.CURSeenAt.UTC()}
		if c := inv.CUR; c != nil {
			period, items, cost := c.BillingPeriod, c.LineItems, c.UnblendedCost
			v.BillingPeriod, v.LineItems, v.MonthToDateCost = &period, &items, &cost
			if !c.LastUsageAt.IsZero() {
				last := c.LastUsageAt.UTC()
				v.LastUsageStart = &last
			}
		}
		out.Cur = &v
	}
	out.AccountState = Optional(api.InviteAccountState(inv.AccountState))
	if d := inv.Departure; d != nil {
		out.Departure = &api.Departure{NoticedAt: d.NoticedAt.UTC(), Method: Optional(api.DepartureMethod(d.Method)),
			LastAccountState: Optional(d.LastAccountState)}
	}
	if bd := inv.BillingData; bd != nil {
		out.BillingData = &api.BillingData{State: api.BillingDataState(bd.State), LastReportAt: OptionalTime(bd.LastReportAt),
			DataThrough: OptionalTime(bd.DataThrough), NextReportExpectedBy: OptionalTime(bd.NextReportExpectedBy)}
	}
	if g := inv.BillingGroup; g != nil {
		out.BillingGroup = billingGroup(*g)
	}
	if q := inv.Queue; q != nil && inv.State == invite.StateQueued {
		out.Queue = &api.InviteQueue{Position: q.Position, Reason: api.InviteQueueReason(q.Reason), ScheduledFor: q.ScheduledFor.UTC()}
	}
	for _, s := range v.NextSteps {
		out.NextSteps = append(out.NextSteps, nextStep(inv, s))
	}
	return out
}

// stepOperations are the method and path, under an invite's billing profile, of the operations steps offer.
var stepOperations = map[string]struct{ method, path string }{
	"createInvite":        {"POST", "/aws-invites"},
	"resendInvite":        {"POST", "/aws-invites/{id}/resend"},
	"getCloudHealthSetup": {"GET", "/aws-invites/{id}/cloudhealth-setup"},
	"validateCloudHealth": {"POST", "/aws-invites/{id}/cloudhealth-validation"},
}

// nextStep renders a step with who acts, what a client can offer (the operation's path for this invite) and its
// instant.
func nextStep(inv invite.Invite, s invite.Step) api.NextStep {
	out := api.NextStep{Code: api.NextStepCode(s.Code), Title: s.Title, Detail: s.Detail, Actor: api.NextStepActor(s.Code.Actor())}
	if !s.At.IsZero() {
		at := s.At.UTC()
		out.At = &at
	}
	a := s.Code.Action()
	switch op, ok := stepOperations[a.Operation]; {
	case ok:
		path := "/billing-profiles/" + inv.BillingProfileID + strings.ReplaceAll(op.path, "{id}", inv.ID)
		method := api.NextStepActionMethod(op.method)
		out.Action = &api.NextStepAction{OperationId: &a.Operation, Method: &method, Path: &path}
	case a.URL != "":
		out.Action = &api.NextStepAction{Url: &a.URL}
	}
	return out
}

func actor(a invite.Actor) api.Actor {
	return api.Actor{Kind: api.ActorKind(a.Kind), Subject: Optional(a.Subject), Email: Optional(a.Email)}
}

// Event converts an event; its invite is the snapshot kept with it (as the API showed it then), when it has one.
func Event(e invite.Event) (api.Event, error) {
	out := api.Event{Id: e.PublicID, At: e.At.UTC(), Actor: actor(e.Actor), BillingProfileId: e.BillingProfileID,
		AccountId: e.AccountID, Reason: e.Reason, InviteId: Optional(e.InviteID), Code: Optional(api.ProblemCode(e.Code)),
		Type: Optional(api.EventType(e.Type)), From: Optional(api.InviteState(e.From)), To: Optional(api.InviteState(e.To))}
	if len(e.Snapshot) > 0 {
		var inv api.Invite
		if err := json.Unmarshal(e.Snapshot, &inv); err != nil {
			return api.Event{}, fmt.Errorf("apiview: the invite kept with event %s: %w", e.PublicID, err)
		}
		out.Invite = &inv
	}
	return out, nil
}

// EncodeInvite is the snapshot an event keeps of its invite: the invite as the API shows it, in JSON.
func EncodeInvite(v invite.View) ([]byte, error) { return json.Marshal(Invite(v)) }

func BillingProfile(v invite.ProfileView) api.BillingProfile {
	bp := v.BillingProfile
	out := api.BillingProfile{
		Id: bp.ID, CustomerId: bp.CustomerID, Name: bp.Name, ManagementAccountId: bp.ManagementAccountID,
		CreatedAt: bp.CreatedAt.UTC(), UpdatedAt: bp.UpdatedAt.UTC(), ActsFromAccountId: Optional(v.ActsFromAccountID),
		RoleArn: Optional(bp.RoleARN), ExternalId: Optional(bp.ExternalID), CloudHealthClientApiId: Optional(bp.CloudHealthClientID),
		BillingGroupArn: Optional(bp.BillingGroupARN),
	}
	if c := bp.CUR; c.Configured() {
		out.Cur = &api.CURLocation{Bucket: c.Bucket, ReportName: c.Report, Format: api.CURFormat(c.Format), Prefix: Optional(c.Prefix)}
	}
	if f := v.CURReport; f != nil {
		out.CurReport = &api.CURReport{CheckedAt: f.CheckedAt.UTC(), Problem: Optional(f.Problem), BillingPeriod: Optional(f.Period),
			LastReportAt: OptionalTime(f.DeliveredAt), DataThrough: OptionalTime(f.DataThrough)}
	}
	return out
}

// CloudHealthValidation converts one run of the checks of an invite's CloudHealth setup.
func CloudHealthValidation(v invite.CloudHealthValidation) api.CloudHealthValidation {
	out := api.CloudHealthValidation{InviteId: v.InviteID, RanAt: v.At.UTC(), Passed: v.Passed(),
		Checks: make([]api.CloudHealthCheck, len(v.Checks))}
	for i, c := range v.Checks {
		out.Checks[i] = api.CloudHealthCheck{Name: api.CloudHealthCheckName(c.Name), Result: api.CloudHealthCheckResult(c.Result),
			Detail: c.Detail}
		if len(c.Missing) > 0 {
			out.Checks[i].MissingActions = &c.Missing
		}
		if len(c.Denied) > 0 {
			out.Checks[i].DeniedActions = &c.Denied
		}
	}
	return out
}

// CloudHealthTenant converts the report on one CloudHealth tenant.
func CloudHealthTenant(t invite.CloudHealthTenant) api.CloudHealthTenant {
	out := api.CloudHealthTenant{ClientApiId: Optional(t.Tenant), Accounts: t.Accounts, Requests: t.Requests}
	if !t.ListedAt.IsZero() {
		at := t.ListedAt.UTC()
		out.ListedAt = &at
	}
	if t.InProgress {
		out.InProgress = &struct {
			Accounts int `json:"accounts"`
			NextPage int `json:"nextPage"`
		}{Accounts: t.AccountsSoFar, NextPage: t.NextPage}
	}
	if p := t.Problem; p != nil {
		out.Problem = &struct {
			At     time.Time       `json:"at"`
			Code   api.ProblemCode `json:"code"`
			Detail string          `json:"detail"`
		}{At: t.ProblemAt.UTC(), Code: api.ProblemCode(p.Code), Detail: p.Detail}
	}
	return out
}

func PayerHandshake(h invite.PayerHandshake) api.PayerHandshake {
	out := api.PayerHandshake{Id: h.ID, AccountId: h.AccountID, State: api.HandshakeState(h.State),
		RequestedAt: h.RequestedAt.UTC(), ExpiresAt: h.ExpiresAt.UTC()}
	if o := h.Owner; o != nil {
		out.InviteId, out.BillingProfileId = &o.InviteID, &o.BillingProfileID
	}
	return out
}

// Optional is nil for the empty string, as the API leaves an unset field out of the JSON.
func Optional[S ~string](s S) *S {
	if s == "" {
		return nil
	}
	return &s
}

// OptionalTime is nil for the zero time, as the API leaves an unset instant out of the JSON; else the instant in UTC.
func OptionalTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

// billingGroup converts an account's place in its profile's billing group.
func billingGroup(g invite.BillingGroupLink) *api.BillingGroupLink {
	out := &api.BillingGroupLink{Arn: g.ARN, State: api.BillingGroupLinkState(g.State)}
	if !g.AssociatedAt.IsZero() {
		t := g.AssociatedAt.UTC()
		out.AssociatedAt = &t
	}
	if p := g.Problem; p != nil {
		out.Problem = &api.BillingGroupProblem{Code: api.BillingGroupProblemCode(p.Code), Detail: p.Detail, Since: p.Since.UTC()}
	}
	return out
}
