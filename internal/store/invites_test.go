package store_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cloudreseller/aws-invites/internal/invite"
	"github.com/cloudreseller/aws-invites/internal/store"
)

func TestCreateInviteAndEvents(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		bp := putProfile(t, s)
		inv := newInvite(t, bp.ID, account(1), base)
		mustCreate(t, s, inv)

		got, err := s.Invite(ctx, bp.ID, inv.ID)
		if err != nil {
			t.Fatalf("get: %v", err)
		}
		wantEqual(t, "read invite", got, inv)

		open, err := s.HolderOf(ctx, testPayer, inv.AccountID)
		if err != nil {
			t.Fatalf("holder: %v", err)
		}
		wantEqual(t, "holding invite", open, inv)

		evs, err := s.Events(ctx, inv.BillingProfileID, inv.ID)
		if err != nil {
			t.Fatalf("events: %v", err)
		}
		if len(evs) != 1 {
			t.Fatalf("got %d events, want 1", len(evs))
		}
		want := createdEvent(inv)
		want.ID, want.PublicID = evs[0].ID, evs[0].PublicID
		want.BillingProfileID, want.Payer, want.AccountID = inv.BillingProfileID, testPayer, inv.AccountID
		wantEqual(t, "creation event", evs[0], want)
		if evs[0].ID == 0 {
			t.Error("the event got no id")
		}

		// Another billing profile's invite is not found through this one, so ids cannot be probed across payers.
		other := putProfile(t, s)
		_, err = s.Invite(ctx, other.ID, inv.ID)
		wantCode(t, err, invite.CodeNotFound)
		_, err = s.HolderOf(ctx, "999988887777", inv.AccountID)
		wantCode(t, err, invite.CodeNotFound)

		// Reusing an id is a bug, not a second open invite.
		sameID := newInvite(t, bp.ID, account(3), base)
		sameID.ID = inv.ID
		if err := s.CreateInvite(ctx, sameID, createdEvent(sameID)); err == nil || invite.IsCode(err, invite.CodeAlreadyOpen) {
			t.Fatalf("duplicate id: got %v, want an internal error", err)
		}

		// An invite for a billing profile that does not exist is refused by the foreign key.
		orphan := newInvite(t, "no-such-profile", account(2), base)
		wantCode(t, s.CreateInvite(ctx, orphan, createdEvent(orphan)), invite.CodeNotFound)
	})
}

func TestInviteWithoutHandshakeRoundTrips(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *store.Store) {
		bp := putProfile(t, s)
		inv := newInvite(t, bp.ID, account(1), base)
		inv.Handshake = nil // the first send is still in flight
		inv.LastSentAt = time.Time{}
		inv.InvitedBy = invite.Actor{Kind: invite.ActorSandbox}
		inv.Notes = ""
		mustCreate(t, s, inv)
		got, err := s.Invite(context.Background(), bp.ID, inv.ID)
		if err != nil {
			t.Fatalf("get: %v", err)
		}
		wantEqual(t, "invite without handshake", got, inv)
	})
}

func TestOnlyOneOpenInvitePerAccount(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		bp := putProfile(t, s)
		first := newInvite(t, bp.ID, account(7), base)
		mustCreate(t, s, first)

		second := newInvite(t, bp.ID, account(7), base.Add(time.Minute))
		wantCode(t, s.CreateInvite(ctx, second, createdEvent(second)), invite.CodeAlreadyOpen)
		_, err := s.Invite(ctx, bp.ID, second.ID)
		wantCode(t, err, invite.CodeNotFound)
		if evs, err := s.Events(ctx, second.BillingProfileID, second.ID); err != nil || len(evs) != 0 {
			t.Fatalf("refused invite left %d events (%v)", len(evs), err)
		}

		// Another billing profile of the same payer cannot hold it either: the payer is the unit of truth.
		samePayer := putProfile(t, s)
		elsewhere := newInvite(t, samePayer.ID, account(7), base)
		wantCode(t, s.CreateInvite(ctx, elsewhere, createdEvent(elsewhere)), invite.CodeAlreadyOpen)
		// A billing profile of another payer is another organization: its invite is a different one.
		otherPayer := putProfileOf(t, s, "999988887777")
		mustCreate(t, s, newInvite(t, otherPayer.ID, account(7), base))

		// Once the first invite is canceled, the account may be invited again.
		canceled := first
		canceled.State = invite.StateCanceled
		canceled.Handshake.State = invite.HandshakeCanceled
		canceled.UpdatedAt = base.Add(2 * time.Minute)
		if _, err := s.UpdateInvite(ctx, canceled, invite.Event{
			Actor: first.InvitedBy, From: invite.StateInvited, To: invite.StateCanceled, Reason: "canceled by user",
		}); err != nil {
			t.Fatalf("cancel: %v", err)
		}
		third := newInvite(t, bp.ID, account(7), base.Add(3*time.Minute))
		mustCreate(t, s, third)
		open, err := s.HolderOf(ctx, testPayer, account(7))
		if err != nil || open.ID != third.ID {
			t.Fatalf("open invite = %s (%v), want %s", open.ID, err, third.ID)
		}
		// A terminal invite cannot be reopened beside the new one: the index guards updates too.
		reopened := canceled
		reopened.Version++
		reopened.State = invite.StateInvited
		_, err = s.UpdateInvite(ctx, reopened, invite.Event{From: invite.StateCanceled, To: invite.StateInvited})
		wantCode(t, err, invite.CodeAlreadyOpen)
	})
}

// Twenty creates of one account, split between two billing profiles of one payer (two customers), leave one
// invite: the database decides.
func TestConcurrentCreatesOfOneAccountLeaveOneInvite(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		bp, other := putProfile(t, s), putProfile(t, s)
		const n = 20
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			owner := bp
			if i%2 == 1 {
				owner = other
			}
			inv := newInvite(t, owner.ID, account(42), base)
			wg.Go(func() {
				<-start
				errs[i] = s.CreateInvite(ctx, inv, createdEvent(inv))
			})
		}
		close(start)
		wg.Wait()
		var won int
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case !invite.IsCode(err, invite.CodeAlreadyOpen):
				t.Errorf("unexpected error: %v", err)
			}
		}
		if won != 1 {
			t.Fatalf("%d creates succeeded, want exactly 1", won)
		}
		stored := 0
		for _, p := range []invite.BillingProfile{bp, other} {
			page, err := s.ListInvites(ctx, invite.ListQuery{BillingProfileID: p.ID, Limit: 100})
			if err != nil {
				t.Fatalf("list: %v", err)
			}
			stored += len(page.Invites)
		}
		if stored != 1 {
			t.Fatalf("%d invites stored across the two billing profiles, want 1", stored)
		}
	})
}

func TestUpdateInviteVersionConflict(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		bp := putProfile(t, s)
		inv := newInvite(t, bp.ID, account(3), base)
		mustCreate(t, s, inv)

		// Two writers read version 1.
		a, err := s.Invite(ctx, bp.ID, inv.ID)
		if err != nil {
			t.Fatalf("read a: %v", err)
		}
		b := a

		joined := base.Add(time.Hour)
		a.State = invite.StateAccepted
		a.Handshake.State = invite.HandshakeAccepted
		a.JoinedAt = &joined
		a.UpdatedAt = base.Add(time.Hour)
		evA := invite.Event{
			At: a.UpdatedAt, Actor: invite.Actor{Kind: invite.ActorReconciliation},
			From: invite.StateInvited, To: invite.StateAccepted, Reason: "handshake accepted",
		}
		gotA, err := s.UpdateInvite(ctx, a, evA)
		if err != nil {
			t.Fatalf("first writer: %v", err)
		}
		wantA := a
		wantA.Version = 2
		wantEqual(t, "first writer's result", gotA, wantA)

		b.State = invite.StateCanceled
		b.UpdatedAt = base.Add(2 * time.Hour)
		_, err = s.UpdateInvite(ctx, b, invite.Event{
			Actor: inv.InvitedBy, From: invite.StateInvited, To: invite.StateCanceled, Reason: "canceled",
		})
		wantCode(t, err, invite.CodeConcurrentUpdate)

		stored, err := s.Invite(ctx, bp.ID, inv.ID)
		if err != nil {
			t.Fatalf("read back: %v", err)
		}
		wantEqual(t, "stored invite", stored, wantA)
		evs, err := s.Events(ctx, inv.BillingProfileID, inv.ID)
		if err != nil {
			t.Fatalf("events: %v", err)
		}
		var tos []invite.State
		for _, e := range evs {
			tos = append(tos, e.To)
		}
		wantEqual(t, "event history (oldest first, without the loser's)", tos,
			[]invite.State{invite.StateInvited, invite.StateAccepted})
		evA.ID, evA.InviteID, evA.PublicID = evs[1].ID, inv.ID, evs[1].PublicID
		evA.BillingProfileID, evA.Payer, evA.AccountID = inv.BillingProfileID, testPayer, inv.AccountID
		wantEqual(t, "second event", evs[1], evA)

		// The next update starts from version 2 and stamps its own time when none is given.
		next := stored
		next.State = invite.StateAwaitingCUR
		next.UpdatedAt = time.Time{}
		got, err := s.UpdateInvite(ctx, next, invite.Event{From: invite.StateAccepted, To: invite.StateAwaitingCUR})
		if err != nil {
			t.Fatalf("third update: %v", err)
		}
		if got.Version != 3 || got.UpdatedAt.IsZero() {
			t.Fatalf("third update returned version %d, updated %v; want 3 and a time", got.Version, got.UpdatedAt)
		}
		again, _ := s.Invite(ctx, bp.ID, inv.ID)
		wantEqual(t, "third update read back", again, got)

		missing := newInvite(t, bp.ID, account(4), base)
		_, err = s.UpdateInvite(ctx, missing, invite.Event{To: invite.StateCanceled})
		wantCode(t, err, invite.CodeNotFound)
	})
}

// Writers racing from one version: exactly one applies its change and its event.
func TestConcurrentUpdatesOneWins(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		bp := putProfile(t, s)
		inv := newInvite(t, bp.ID, account(5), base)
		mustCreate(t, s, inv)
		const n = 10
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			w := inv
			w.Notes = "writer " + account(i)
			wg.Go(func() {
				<-start
				_, errs[i] = s.UpdateInvite(ctx, w, invite.Event{From: invite.StateInvited, To: invite.StateInvited, Reason: w.Notes})
			})
		}
		close(start)
		wg.Wait()
		var winner = -1
		for i, err := range errs {
			switch {
			case err == nil:
				if winner >= 0 {
					t.Fatalf("writers %d and %d both won", winner, i)
				}
				winner = i
			case !invite.IsCode(err, invite.CodeConcurrentUpdate):
				t.Fatalf("writer %d: %v", i, err)
			}
		}
		if winner < 0 {
			t.Fatal("no writer won")
		}
		stored, _ := s.Invite(ctx, bp.ID, inv.ID)
		evs, _ := s.Events(ctx, inv.BillingProfileID, inv.ID)
		if stored.Version != 2 || stored.Notes != "writer "+account(winner) || len(evs) != 2 || evs[1].Reason != stored.Notes {
			t.Fatalf("stored version %d notes %q with %d events; want the winner's change and one event", stored.Version, stored.Notes, len(evs))
		}
	})
}

func TestDeleteInvite(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		bp := putProfile(t, s)
		inv := newInvite(t, bp.ID, account(9), base)
		mustCreate(t, s, inv)

		stale := inv
		stale.Version = 7
		wantCode(t, s.DeleteInvite(ctx, stale, invite.Event{}), invite.CodeConcurrentUpdate)
		if evs, _ := s.Events(ctx, inv.BillingProfileID, inv.ID); len(evs) != 1 {
			t.Fatalf("a refused delete removed events: %d left, want 1", len(evs))
		}

		if err := s.DeleteInvite(ctx, inv, invite.Event{}); err != nil {
			t.Fatalf("delete: %v", err)
		}
		_, err := s.Invite(ctx, bp.ID, inv.ID)
		wantCode(t, err, invite.CodeNotFound)
		if evs, err := s.Events(ctx, inv.BillingProfileID, inv.ID); err != nil || len(evs) != 0 {
			t.Fatalf("events after delete: %d (%v), want none", len(evs), err)
		}
		wantCode(t, s.DeleteInvite(ctx, inv, invite.Event{}), invite.CodeNotFound)
		// The account is free again.
		mustCreate(t, s, newInvite(t, bp.ID, account(9), base))
	})
}

func ids(invs []invite.Invite) []string {
	out := make([]string, len(invs))
	for i, inv := range invs {
		out[i] = inv.ID
	}
	return out
}

// listAll pages through a query and returns every id, failing on a repeated id.
func listAll(t *testing.T, s *store.Store, q invite.ListQuery, between func(page int)) []string {
	t.Helper()
	var all []string
	seen := map[string]bool{}
	for page := 0; ; page++ {
		p, err := s.ListInvites(context.Background(), q)
		if err != nil {
			t.Fatalf("list page %d: %v", page, err)
		}
		if len(p.Invites) > q.Limit {
			t.Fatalf("page %d has %d invites, limit %d", page, len(p.Invites), q.Limit)
		}
		for _, id := range ids(p.Invites) {
			if seen[id] {
				t.Fatalf("invite %s listed twice", id)
			}
			seen[id] = true
			all = append(all, id)
		}
		if p.NextID == "" {
			return all
		}
		if len(p.Invites) != q.Limit {
			t.Fatalf("page %d is short (%d of %d) but names a next page", page, len(p.Invites), q.Limit)
		}
		if between != nil {
			between(page)
		}
		q.After = p.NextID
	}
}

func TestListInvites(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		bp, other := putProfile(t, s), putProfileOf(t, s, "999988887777")
		// 12 invites in bp: every third canceled, accounts 100.. plus one more invite for account 100.
		var created []invite.Invite
		for i := range 12 {
			inv := newInvite(t, bp.ID, account(100+i), base.Add(time.Duration(i)*time.Minute))
			if i%3 == 0 {
				inv.State = invite.StateCanceled
			}
			mustCreate(t, s, inv)
			created = append(created, inv)
		}
		again := newInvite(t, bp.ID, account(100), base.Add(time.Hour))
		mustCreate(t, s, again)
		created = append(created, again)
		mustCreate(t, s, newInvite(t, other.ID, account(100), base))

		newestFirst := func(keep func(invite.Invite) bool) []string {
			var out []string
			for i := len(created) - 1; i >= 0; i-- {
				if keep(created[i]) {
					out = append(out, created[i].ID)
				}
			}
			return out
		}
		tests := []struct {
			name string
			q    invite.ListQuery
			want []string
		}{
			{"all", invite.ListQuery{Limit: 5}, newestFirst(func(invite.Invite) bool { return true })},
			{"one page", invite.ListQuery{Limit: 50}, newestFirst(func(invite.Invite) bool { return true })},
			{"exact pages", invite.ListQuery{Limit: 13}, newestFirst(func(invite.Invite) bool { return true })},
			{"canceled", invite.ListQuery{Limit: 2, States: []invite.State{invite.StateCanceled}},
				newestFirst(func(i invite.Invite) bool { return i.State == invite.StateCanceled })},
			{"two states", invite.ListQuery{Limit: 3, States: []invite.State{invite.StateCanceled, invite.StateInvited}},
				newestFirst(func(invite.Invite) bool { return true })},
			{"active none", invite.ListQuery{Limit: 3, States: []invite.State{invite.StateActive}}, nil},
			{"account", invite.ListQuery{Limit: 1, AccountID: account(100)},
				newestFirst(func(i invite.Invite) bool { return i.AccountID == account(100) })},
			{"account and state", invite.ListQuery{Limit: 1, AccountID: account(100), States: []invite.State{invite.StateInvited}},
				[]string{again.ID}},
		}
		for _, tc := range tests {
			tc.q.BillingProfileID = bp.ID
			got := listAll(t, s, tc.q, nil)
			if !slices.Equal(got, tc.want) {
				t.Errorf("%s: listed %v, want %v", tc.name, got, tc.want)
			}
		}

		first, err := s.ListInvites(ctx, invite.ListQuery{BillingProfileID: bp.ID})
		if err != nil || len(first.Invites) != len(created) || first.NextID != "" {
			t.Fatalf("default limit: %d invites, next %q, %v", len(first.Invites), first.NextID, err)
		}
		wantEqual(t, "listed invite", first.Invites[0], again)
	})
}

// Invites created while a client pages through a list appear on no later page and shift nothing: each page
// continues after the last id seen, and new ids sort before every old one.
func TestListInvitesStableUnderConcurrentInserts(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *store.Store) {
		bp := putProfile(t, s)
		var before []string
		for i := range 10 {
			inv := newInvite(t, bp.ID, account(200+i), base)
			mustCreate(t, s, inv)
			before = append([]string{inv.ID}, before...)
		}
		n := 0
		got := listAll(t, s, invite.ListQuery{BillingProfileID: bp.ID, Limit: 3}, func(int) {
			for range 2 {
				mustCreate(t, s, newInvite(t, bp.ID, account(300+n), base))
				n++
			}
		})
		if !slices.Equal(got, before) {
			t.Fatalf("paging while inserting listed %v, want exactly %v", got, before)
		}
	})
}

func TestTimesRoundTripExactly(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		bp := putProfile(t, s)
		// Nanoseconds and a non-UTC zone: the store keeps UTC microseconds, on both dialects alike.
		zone := time.FixedZone("UTC+5:30", 5*3600+1800)
		at := time.Date(2026, 2, 28, 23, 59, 59, 123456789, zone)
		joined := at.Add(36*time.Hour + 987654321)
		inv := newInvite(t, bp.ID, account(11), at)
		inv.JoinedAt = &joined
		mustCreate(t, s, inv)

		us := func(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }
		got, err := s.Invite(ctx, bp.ID, inv.ID)
		if err != nil {
			t.Fatalf("get: %v", err)
		}
		for _, c := range []struct {
			name      string
			got, want time.Time
		}{
			{"created", got.CreatedAt, us(at)},
			{"updated", got.UpdatedAt, us(at)},
			{"last sent", got.LastSentAt, us(at)},
			{"joined", *got.JoinedAt, us(joined)},
			{"handshake requested", got.Handshake.RequestedAt, us(at)},
			{"handshake expires", got.Handshake.ExpiresAt, us(at.Add(invite.HandshakeLifetime))},
		} {
			if !c.got.Equal(c.want) || c.got.Location() != time.UTC || c.got != c.want {
				t.Errorf("%s: read %v (%s), want %v in UTC", c.name, c.got, c.got.Location(), c.want)
			}
		}
		evs, _ := s.Events(ctx, inv.BillingProfileID, inv.ID)
		if evs[0].At != us(at) {
			t.Errorf("event time read %v, want %v", evs[0].At, us(at))
		}

		// What UpdateInvite returns is what a later read returns.
		got.UpdatedAt = time.Date(2027, 1, 1, 0, 0, 0, 999, time.UTC)
		updated, err := s.UpdateInvite(ctx, got, invite.Event{To: got.State})
		if err != nil {
			t.Fatalf("update: %v", err)
		}
		reread, _ := s.Invite(ctx, bp.ID, inv.ID)
		wantEqual(t, "update result and stored invite", updated, reread)
		if reread.UpdatedAt != time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC) {
			t.Errorf("updated at %v, want 2027-01-01 exactly", reread.UpdatedAt)
		}
	})
}
