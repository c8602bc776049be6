package store_test

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/cloudreseller/aws-invites/internal/invite"
	"github.com/cloudreseller/aws-invites/internal/store"
)

// A GET reads the profile and the invite together; what it answers is what each read alone answers.
func TestProfileAndInvite(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		bp, other := putProfile(t, s), putProfile(t, s)
		inv := newInvite(t, bp.ID, account(1), base)
		inv.CUR = &invite.CURUsage{BillingPeriod: "2026-11", LineItems: 7, UnblendedCost: "1.25", FirstUsageAt: base, LastUsageAt: base.Add(time.Hour), FirstSeenAt: base}
		inv.CloudHealth = &invite.CloudHealthStatus{Level: "green", PayerAccountID: testPayer, Listed: true, CheckedAt: base}
		joined := base.Add(time.Minute)
		inv.JoinedAt, inv.State = &joined, invite.StateActive
		mustCreate(t, s, inv)

		gotBP, got, err := s.ProfileAndInvite(ctx, bp.ID, inv.ID)
		if err != nil || got == nil {
			t.Fatalf("profile and invite: %v %v", got, err)
		}
		wantEqual(t, "profile", gotBP, bp)
		alone, err := s.Invite(ctx, bp.ID, inv.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "invite read with its profile", *got, alone)

		// Another profile's invite is not found through this one: the profile, and no invite.
		gotBP, got, err = s.ProfileAndInvite(ctx, other.ID, inv.ID)
		if err != nil || got != nil || gotBP.ID != other.ID {
			t.Errorf("another profile's invite: %+v %v %v", gotBP, got, err)
		}
		_, got, err = s.ProfileAndInvite(ctx, bp.ID, newID(t))
		if err != nil || got != nil {
			t.Errorf("missing invite: %v %v", got, err)
		}
		_, _, err = s.ProfileAndInvite(ctx, "no-such-profile", inv.ID)
		wantCode(t, err, invite.CodeNotFound)

		gotBP, page, err := s.ProfileAndPage(ctx, invite.ListQuery{BillingProfileID: bp.ID, Limit: 10})
		if err != nil || gotBP.ID != bp.ID || len(page.Invites) != 1 {
			t.Fatalf("profile and page: %+v %+v %v", gotBP, page, err)
		}
		wantEqual(t, "listed invite", page.Invites[0], alone)
		gotBP, page, err = s.ProfileAndPage(ctx, invite.ListQuery{BillingProfileID: other.ID, Limit: 10})
		if err != nil || gotBP.ID != other.ID || len(page.Invites) != 0 || page.NextID != "" {
			t.Errorf("profile without invites: %+v %+v %v", gotBP, page, err)
		}
		_, _, err = s.ProfileAndPage(ctx, invite.ListQuery{BillingProfileID: "no-such-profile", Limit: 10})
		wantCode(t, err, invite.CodeNotFound)
	})
}

// Every combination of filters pages through exactly the invites a filter over all of them keeps, newest first,
// whatever the page size: the per-state scans merged in id order included.
func TestPagesMatchAFilterOverEveryInvite(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *store.Store) {
		bp := putProfile(t, s)
		rng := rand.New(rand.NewPCG(11, 12))
		states := []invite.State{invite.StateInvited, invite.StateActive, invite.StateCanceled, invite.StateDeclined, invite.StateExpired}
		var all []invite.Invite
		for i := range 120 {
			state := states[rng.IntN(len(states))]
			acct := account(500 + i%40)
			if state.HoldsAccount() {
				acct = account(1000 + i) // one holder per account
			}
			inv := newInvite(t, bp.ID, acct, base.Add(time.Duration(i)*time.Second))
			inv.State = state
			if rng.IntN(4) == 0 {
				inv.Kind = invite.InviteTransfer
				inv.Transfer = &invite.Transfer{ID: "rt-1", Status: invite.TransferRequested, StartAt: base, SourceManagementAccountID: acct}
				inv.Handshake.Action, inv.Handshake.TransferID = invite.ActionTransfer, "rt-1"
			}
			mustCreate(t, s, inv)
			all = append(all, inv)
		}
		// Every field of every listed invite is its own (rows are scanned through one reused row value).
		page, err := s.ListInvites(context.Background(), invite.ListQuery{BillingProfileID: bp.ID, Limit: len(all)})
		if err != nil || len(page.Invites) != len(all) {
			t.Fatalf("one page of all: %d invites, %v", len(page.Invites), err)
		}
		for i, got := range page.Invites {
			want := all[len(all)-1-i]
			if got.Handshake != nil && want.Handshake != nil {
				wantEqual(t, "listed invite's handshake", *got.Handshake, *want.Handshake)
			}
			wantEqual(t, "listed invite", got, want)
		}
		for range 60 {
			q := invite.ListQuery{BillingProfileID: bp.ID, Limit: 1 + rng.IntN(17)}
			for _, st := range states {
				if rng.IntN(3) == 0 {
					q.States = append(q.States, st)
				}
			}
			if rng.IntN(3) == 0 {
				q.AccountID = account(500 + rng.IntN(40))
			}
			if rng.IntN(3) == 0 {
				q.Kind = []invite.InviteKind{invite.InviteJoin, invite.InviteTransfer}[rng.IntN(2)]
			}
			var want []string
			for i := len(all) - 1; i >= 0; i-- {
				inv := all[i]
				if (len(q.States) == 0 || slices.Contains(q.States, inv.State)) && (q.AccountID == "" || inv.AccountID == q.AccountID) &&
					(q.Kind == "" || inv.Kind == q.Kind) {
					want = append(want, inv.ID)
				}
			}
			if got := listAll(t, s, q, nil); !slices.Equal(got, want) {
				t.Errorf("%+v: listed %d invites %v, want %d %v", q, len(got), got, len(want), want)
			}
		}
	})
}
