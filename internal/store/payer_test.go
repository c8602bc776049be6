package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cloudreseller/aws-invites/internal/invite"
	"github.com/cloudreseller/aws-invites/internal/store"
)

func TestReassignInvite(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		from, to, elsewhere := putProfile(t, s), putProfile(t, s), putProfileOf(t, s, "999988887777")
		inv := newInvite(t, from.ID, account(5), base)
		mustCreate(t, s, inv)
		ev := invite.Event{Type: invite.EventReassigned, Actor: invite.Actor{Kind: invite.ActorUser, Subject: "admin"}, From: inv.State, To: inv.State, Reason: "reassigned"}

		_, err := s.ReassignInvite(ctx, inv, elsewhere.ID, ev, ev)
		wantCode(t, err, invite.CodeDifferentPayer)
		_, err = s.ReassignInvite(ctx, inv, "no-such-profile", ev, ev)
		wantCode(t, err, invite.CodeDifferentPayer)
		stale := inv
		stale.Version = 9
		_, err = s.ReassignInvite(ctx, stale, to.ID, ev, ev)
		wantCode(t, err, invite.CodeConcurrentUpdate)

		out := ev
		out.Reason = "left"
		moved, err := s.ReassignInvite(ctx, inv, to.ID, out, ev)
		if err != nil {
			t.Fatalf("reassign: %v", err)
		}
		if moved.BillingProfileID != to.ID || moved.Version != inv.Version+1 || moved.Handshake == nil || moved.Handshake.ID != inv.Handshake.ID {
			t.Fatalf("moved invite: %+v", moved)
		}
		_, err = s.Invite(ctx, from.ID, inv.ID)
		wantCode(t, err, invite.CodeNotFound)
		// The history moved with the invite; the profile it left keeps one event saying so.
		evs, err := s.Events(ctx, to.ID, inv.ID)
		if err != nil || len(evs) != 2 || evs[1].Reason != "reassigned" {
			t.Fatalf("history after the move: %+v (%v)", evs, err)
		}
		left, err := s.ListEvents(ctx, invite.EventQuery{BillingProfileID: from.ID, Limit: 10})
		if err != nil || len(left.Events) != 1 || left.Events[0].Reason != "left" || left.Events[0].InviteID != inv.ID {
			t.Fatalf("the feed of the profile it left: %+v (%v)", left.Events, err)
		}
		owners, err := s.HandshakeOwners(ctx, testPayer)
		if err != nil || owners[inv.Handshake.ID] != (invite.HandshakeOwner{InviteID: inv.ID, BillingProfileID: to.ID}) {
			t.Fatalf("owners after the move: %+v (%v)", owners, err)
		}
	})
}

func TestHandshakeOwnersRemembersEveryHandshake(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		bp := putProfile(t, s)
		inv := newInvite(t, bp.ID, account(6), base)
		first := inv.Handshake.ID
		mustCreate(t, s, inv)
		resent := inv
		resent.Handshake = &invite.Handshake{ID: "h-second12", AccountID: inv.AccountID, State: invite.HandshakeOpen,
			RequestedAt: base.Add(time.Hour), ExpiresAt: base.Add(time.Hour + invite.HandshakeLifetime)}
		if _, err := s.UpdateInvite(ctx, resent, invite.Event{}); err != nil {
			t.Fatal(err)
		}
		owners, err := s.HandshakeOwners(ctx, testPayer)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{first, "h-second12"} {
			if owners[id].InviteID != inv.ID {
				t.Errorf("handshake %s: owner %+v, want invite %s", id, owners[id], inv.ID)
			}
		}
		if others, _ := s.HandshakeOwners(ctx, "999988887777"); len(others) != 0 {
			t.Errorf("another payer sees %d handshakes", len(others))
		}
	})
}

func TestPayerChangeRefusedWhileInvitesHoldAccounts(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		bp := putProfile(t, s)
		inv := newInvite(t, bp.ID, account(8), base)
		mustCreate(t, s, inv)
		moved := bp
		moved.ManagementAccountID = "999988887777"
		_, _, err := s.PutBillingProfile(ctx, moved)
		wantCode(t, err, invite.CodePayerChangeWithOpenInvites)
		if got, _ := s.BillingProfile(ctx, bp.ID); got.ManagementAccountID != testPayer {
			t.Fatalf("the refused change was written: %s", got.ManagementAccountID)
		}
		// Other changes of the profile are fine.
		renamed := bp
		renamed.Name = "Renamed"
		if _, _, err := s.PutBillingProfile(ctx, renamed); err != nil {
			t.Fatalf("rename: %v", err)
		}
		// Once the invite ended, the payer may change.
		ended := inv
		ended.State = invite.StateCanceled
		if _, err := s.UpdateInvite(ctx, ended, invite.Event{From: invite.StateInvited, To: invite.StateCanceled}); err != nil {
			t.Fatal(err)
		}
		if got, _, err := s.PutBillingProfile(ctx, moved); err != nil || got.ManagementAccountID != "999988887777" {
			t.Fatalf("payer change after the invite ended: %+v %v", got, err)
		}
		if !strings.HasPrefix(string(invite.CodePayerChangeWithOpenInvites), "payer_") {
			t.Fatal("code renamed")
		}
	})
}
