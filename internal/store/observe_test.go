package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/cloudreseller/aws-invites/internal/invite"
	"github.com/cloudreseller/aws-invites/internal/notify"
	"github.com/cloudreseller/aws-invites/internal/store"
)

func TestInviteStateCountsAndWebhookHealth(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		bp := putProfile(t, s)
		// Two invitations, the older sent at base; one account joined an hour later and waits for its CUR; one
		// canceled (no wait).
		mustCreate(t, s, newInvite(t, bp.ID, account(1), base.Add(3*time.Hour)))
		mustCreate(t, s, newInvite(t, bp.ID, account(2), base))
		joined := newInvite(t, bp.ID, account(3), base)
		joinedAt := base.Add(time.Hour)
		joined.State, joined.JoinedAt, joined.Handshake.State = invite.StateAwaitingCUR, &joinedAt, invite.HandshakeAccepted
		mustCreate(t, s, joined)
		ended := newInvite(t, bp.ID, account(4), base)
		ended.State, ended.Handshake.State = invite.StateCanceled, invite.HandshakeCanceled
		mustCreate(t, s, ended)

		counts, err := s.InviteStateCounts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]store.InviteStateCount{}
		for _, c := range counts {
			if c.Payer != testPayer {
				t.Errorf("payer %q, want %q", c.Payer, testPayer)
			}
			got[c.State] = c
		}
		if len(got) != 3 {
			t.Fatalf("states = %+v, want invited, awaiting_cur and canceled", counts)
		}
		if c := got["invited"]; c.Count != 2 || c.Oldest == nil || !c.Oldest.Equal(base) {
			t.Errorf("invited = %+v (oldest %v), want 2, oldest sent at %v", c, c.Oldest, base)
		}
		if c := got["awaiting_cur"]; c.Count != 1 || c.Oldest == nil || !c.Oldest.Equal(joinedAt) {
			t.Errorf("awaiting_cur = %+v (oldest %v), want 1, waiting since it joined at %v", c, c.Oldest, joinedAt)
		}
		if c := got["canceled"]; c.Count != 1 || c.Oldest != nil {
			t.Errorf("canceled = %+v, want 1 and no wait", c)
		}

		for i, ep := range []notify.WebhookEndpoint{
			{Enabled: true},                                       // healthy
			{Enabled: true, FailingSince: base},                   // failing
			{Enabled: false, DisabledReason: "failed for 3 days"}, // disabled by the service
			{Enabled: false},                                      // disabled by its owner
			{Enabled: true},                                       // healthy
		} {
			ep.ID, ep.BillingProfileID, ep.URL, ep.Secret = newID(t), bp.ID, "https://example.com/hook", "whsec_test"
			ep.CreatedAt, ep.UpdatedAt = base.Add(time.Duration(i)*time.Minute), base
			if err := s.CreateEndpoint(ctx, ep); err != nil {
				t.Fatal(err)
			}
		}
		h, err := s.WebhookHealth(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if h != (store.WebhookHealth{PendingDeliveries: 0, HealthyEndpoints: 2, FailingEndpoints: 1, DisabledByService: 1, DisabledByOwner: 1}) {
			t.Errorf("webhook health = %+v, want 2 healthy, 1 failing, 1 disabled by the service, 1 by its owner", h)
		}
	})
}
