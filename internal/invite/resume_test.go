package invite_test

import (
	"context"
	"testing"
	"time"

	"github.com/cloudreseller/aws-invites/internal/invite"
	"github.com/cloudreseller/aws-invites/internal/store"
)

// racingStore runs before, once, just ahead of the next invite write: background work that wins the race for an
// invite against the request writing it.
type racingStore struct {
	worldStore
	before func()
}

func (r *racingStore) UpdateInvite(ctx context.Context, inv invite.Invite, ev invite.Event) (invite.Invite, error) {
	if f := r.before; f != nil {
		r.before = nil
		f()
	}
	return r.worldStore.UpdateInvite(ctx, inv, ev)
}

// A create whose send died (reserved, no handshake recorded) is entered again while a reconciliation pass settles
// the same reservation. The retry answers the invite as the pass left it: the handshake AWS got, adopted; or, when
// AWS got none and the pass canceled the reservation, a new invite sent at once. It never answers
// concurrent_update, which a client retrying with its Idempotency-Key would meet again and again (found by
// TestDatabaseBlip).
func TestResumedSendMeetsReconciliation(t *testing.T) {
	for _, dialect := range []string{inMemory, store.DialectPostgres} {
		t.Run(dialect, func(t *testing.T) {
			w := newWorld(t, dialect)
			payer := invite.Payer{ManagementAccountID: payerID}
			reserve := func(acct string) invite.Invite {
				now := w.clock.Now()
				inv := invite.Invite{ID: "0193c7c0-0000-7000-8000-" + acct, BillingProfileID: "bp-1", Payer: payerID, AccountID: acct,
					State: invite.StateInvited, InvitedBy: invite.Actor{Kind: invite.ActorUser, Subject: w.user.Subject},
					CreatedAt: now, UpdatedAt: now, LastSentAt: now, Version: 1}
				if err := w.store.CreateInvite(w.ctx, inv, invite.Event{InviteID: inv.ID, At: now, Actor: inv.InvitedBy,
					To: invite.StateInvited, Reason: "invite requested"}); err != nil {
					t.Fatal(err)
				}
				return inv
			}
			// AWS took the first one's invitation before its process died; the second's never reached AWS.
			gotIt := reserve("123412341234")
			h, _, err := w.orgs.InviteAccount(w.ctx, payer, gotIt.AccountID, "")
			if err != nil {
				t.Fatal(err)
			}
			lost := reserve("567856785678")
			w.clock.Advance(2 * time.Minute) // the sends count as interrupted now

			racing := &racingStore{worldStore: w.store}
			invites := invite.NewInvites(racing, w.deps, invite.CloudHealthTools{})
			pass := func() {
				if _, err := w.reconciler.ReconcilePayer(w.ctx, payerID); err != nil {
					t.Errorf("reconciliation: %v", err)
				}
			}

			racing.before = pass
			v, created, err := invites.Create(w.ctx, w.user, "bp-1", invite.CreateInput{AccountID: gotIt.AccountID})
			if err != nil {
				t.Fatalf("create again while the pass adopts the handshake: %v", err)
			}
			if created || v.ID != gotIt.ID || v.Handshake == nil || v.Handshake.ID != h.ID || v.State != invite.StateInvited {
				t.Errorf("answer: created %v, invite %s, handshake %+v, state %s; want invite %s with handshake %s, invited",
					created, v.ID, v.Handshake, v.State, gotIt.ID, h.ID)
			}

			racing.before = pass
			v, created, err = invites.Create(w.ctx, w.user, "bp-1", invite.CreateInput{AccountID: lost.AccountID})
			if err != nil {
				t.Fatalf("create again while the pass cancels the reservation: %v", err)
			}
			if !created || v.ID == lost.ID || v.Handshake == nil || v.State != invite.StateInvited {
				t.Errorf("answer: created %v, invite %s, handshake %+v, state %s; want a new invite, sent", created, v.ID, v.Handshake, v.State)
			}
			if old := w.get(lost); old.State != invite.StateCanceled {
				t.Errorf("the reservation AWS never got is %s, want canceled", old.State)
			}
			open := 0
			if err := w.orgs.ListInviteHandshakes(w.ctx, payer, func(x invite.Handshake) error {
				if x.State.Pending() {
					open++
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if open != 2 {
				t.Errorf("open handshakes: %d, want 2 (one per account, none sent twice)", open)
			}
		})
	}
}
