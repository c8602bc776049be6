package httpapi

import (
	"encoding/json"
	"io"

	"github.com/cloudreseller/aws-invites/api"
	"github.com/cloudreseller/aws-invites/internal/invite"
)

// toInvite converts the domain's view of an invite for clients.
func toInvite(v invite.View) api.Invite {
	inv := v.Invite
	out := api.Invite{
		Id:                inv.ID,
		BillingProfileId:  inv.BillingProfileID,
		AccountId:         inv.AccountID,
		Notes:             inv.Notes,
		State:             api.InviteState(inv.State),
		InvitedBy:         toActor(inv.InvitedBy),
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
			out.Organization = &api.Organization{Id: o.ID, ManagementAccountId: optional(o.ManagementAccountID),
				ManagementEmail: optional(o.ManagementEmail), ManagementName: optional(o.ManagementName)}
		}
	}
	if inv.JoinedAt != nil {
		t := inv.JoinedAt.UTC()
		out.JoinedAt = &t
	}
	if ch := inv.CloudHealth; ch != nil {
		v := api.CloudHealthView{Level: api.CloudHealthViewLevel(ch.Level), Listed: ch.Listed, CheckedAt: ch.CheckedAt.UTC()}
		if ch.PayerAccountID != "" {
			v.PayerAccountId = &ch.PayerAccountID
		}
		out.CloudHealth = &v
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
	for _, s := range v.NextSteps {
		out.NextSteps = append(out.NextSteps, api.NextStep{Code: string(s.Code), Title: s.Title, Detail: s.Detail})
	}
	return out
}

func toActor(a invite.Actor) api.Actor {
	out := api.Actor{Kind: api.ActorKind(a.Kind)}
	if a.Subject != "" {
		out.Subject = &a.Subject
	}
	if a.Email != "" {
		out.Email = &a.Email
	}
	return out
}

func toEvent(e invite.Event) api.Event {
	out := api.Event{At: e.At.UTC(), Actor: toActor(e.Actor), To: api.InviteState(e.To), Reason: e.Reason}
	if e.From != "" {
		from := api.InviteState(e.From)
		out.From = &from
	}
	return out
}

func toBillingProfile(v invite.ProfileView) api.BillingProfile {
	bp := v.BillingProfile
	out := api.BillingProfile{
		Id: bp.ID, CustomerId: bp.CustomerID, Name: bp.Name, ManagementAccountId: bp.ManagementAccountID,
		CreatedAt: bp.CreatedAt.UTC(), UpdatedAt: bp.UpdatedAt.UTC(), ActsFromAccountId: optional(v.ActsFromAccountID),
	}
	if bp.RoleARN != "" {
		out.RoleArn = &bp.RoleARN
	}
	if bp.ExternalID != "" {
		out.ExternalId = &bp.ExternalID
	}
	if c := bp.CUR; c.Configured() {
		format := api.CURLocationFormat(c.Format)
		loc := api.CURLocation{Bucket: c.Bucket, ReportName: c.Report, Format: &format}
		if c.Prefix != "" {
			loc.Prefix = &c.Prefix
		}
		out.Cur = &loc
	}
	return out
}

func toPayerHandshake(h invite.PayerHandshake) api.PayerHandshake {
	out := api.PayerHandshake{Id: h.ID, AccountId: h.AccountID, State: api.HandshakeState(h.State),
		RequestedAt: h.RequestedAt.UTC(), ExpiresAt: h.ExpiresAt.UTC()}
	if o := h.Owner; o != nil {
		out.InviteId, out.BillingProfileId = &o.InviteID, &o.BillingProfileID
	}
	return out
}

// optional is nil for the empty string, so an unknown value is left out of the JSON.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func jsonEncode(w io.Writer, v any) error {
	return json.NewEncoder(w).Encode(v)
}
