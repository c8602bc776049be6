package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/cloudreseller/aws-invites/internal/invite"
	"github.com/cloudreseller/aws-invites/internal/store"
	"github.com/cloudreseller/aws-invites/internal/store/storetest"
	"github.com/cloudreseller/aws-invites/internal/testclock"
)

// TestQuotaLedgerContract holds the payers' invitation ledgers to one behaviour on PostgreSQL, SQLite and the memory
// store: entries by handshake (a second record keeps the first time, and only fills an unknown billing profile), a
// replacement from AWS's list that keeps the service's sends after the list was read, holds set and lifted, and a
// queued invite's place kept with the invite.
func TestQuotaLedgerContract(t *testing.T) {
	opens := map[string]func(t *testing.T, clk invite.Clock) invite.Store{
		"memory": func(_ *testing.T, clk invite.Clock) invite.Store { return store.NewMemory(clk) },
	}
	for _, d := range storetest.Dialects() {
		opens[d] = func(t *testing.T, clk invite.Clock) invite.Store {
			return storetest.Open(t, d, store.Options{Clock: clk})
		}
	}
	for name, open := range opens {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			clk := testclock.NewAtStart()
			quotaContract(t, open(t, clk), clk.Now().Add(123456789)) // not on a microsecond: stored times are
		})
	}
}

func quotaContract(t *testing.T, s invite.Store, now time.Time) {
	ctx := context.Background()
	const payer, other = "111122223333", "444455556666"
	at := func(d time.Duration) time.Time { return now.Add(d) }
	ids := func(l invite.Ledger) []string {
		var out []string
		for _, e := range l.Entries {
			out = append(out, e.HandshakeID+"/"+e.BillingProfileID)
		}
		return out
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.RecordQuotaSend(ctx, payer, invite.LedgerEntry{HandshakeID: "h-2", RequestedAt: at(-time.Hour)}))
	must(s.RecordQuotaSend(ctx, payer, invite.LedgerEntry{HandshakeID: "h-1", BillingProfileID: "bp-a", RequestedAt: at(-2 * time.Hour)}))
	must(s.RecordQuotaSend(ctx, payer, invite.LedgerEntry{HandshakeID: "h-2", BillingProfileID: "bp-b", RequestedAt: at(0)})) // fills the profile only
	must(s.RecordQuotaSend(ctx, payer, invite.LedgerEntry{HandshakeID: "h-old", RequestedAt: at(-25 * time.Hour)}))
	must(s.RecordQuotaSend(ctx, other, invite.LedgerEntry{HandshakeID: "h-x", RequestedAt: at(0)}))
	l, err := s.QuotaLedger(ctx, payer, at(-invite.QuotaWindow))
	must(err)
	if got := ids(l); len(got) != 2 || got[0] != "h-1/bp-a" || got[1] != "h-2/bp-b" || !l.Entries[1].RequestedAt.Equal(at(-time.Hour).Truncate(time.Microsecond)) ||
		!l.HeldUntil.IsZero() {
		t.Fatalf("ledger = %v %+v", got, l)
	}
	// A pass that read AWS's list at -30m found h-2 gone (accepted) and h-console new; h-1 stays as it was, h-3 too,
	// and h-old, out of the window, is deleted.
	must(s.RecordQuotaSend(ctx, payer, invite.LedgerEntry{HandshakeID: "h-3", BillingProfileID: "bp-a", RequestedAt: at(-10 * time.Minute)}))
	must(s.UpdateQuotaLedger(ctx, payer, invite.LedgerUpdate{ExpiredBy: at(-invite.QuotaWindow), Removed: []string{"h-2"},
		Added: []invite.LedgerEntry{{HandshakeID: "h-console", RequestedAt: at(-40 * time.Minute)}}}))
	l, err = s.QuotaLedger(ctx, payer, at(-invite.QuotaWindow))
	must(err)
	if got := ids(l); len(got) != 3 || got[0] != "h-1/bp-a" || got[1] != "h-console/" || got[2] != "h-3/bp-a" {
		t.Fatalf("ledger after the update = %v", got)
	}
	if l, _ := s.QuotaLedger(ctx, payer, at(-48*time.Hour)); len(l.Entries) != 3 {
		t.Errorf("an entry out of the window was kept: %v", ids(l))
	}
	// Nothing removed: only what expired goes.
	must(s.UpdateQuotaLedger(ctx, payer, invite.LedgerUpdate{ExpiredBy: at(-90 * time.Minute)}))
	if got := ids(mustLedger(t, s, payer, at(-invite.QuotaWindow))); len(got) != 2 || got[0] != "h-console/" || got[1] != "h-3/bp-a" {
		t.Errorf("after expiring what was requested before -90m: %v", got)
	}
	if l, _ := s.QuotaLedger(ctx, other, at(-invite.QuotaWindow)); len(l.Entries) != 1 {
		t.Errorf("the other payer's ledger = %v", ids(l))
	}
	must(s.HoldQuota(ctx, payer, at(time.Hour), 3))
	must(s.HoldQuota(ctx, payer, at(2*time.Hour), 4))
	if l, _ := s.QuotaLedger(ctx, payer, at(-invite.QuotaWindow)); !l.HeldUntil.Equal(at(2*time.Hour).Truncate(time.Microsecond)) || l.HeldAtUsed != 4 {
		t.Errorf("hold = %s %d", l.HeldUntil, l.HeldAtUsed)
	}
	must(s.HoldQuota(ctx, payer, time.Time{}, 0))
	if l, _ := s.QuotaLedger(ctx, payer, at(-invite.QuotaWindow)); !l.HeldUntil.IsZero() {
		t.Errorf("hold not lifted: %s", l.HeldUntil)
	}

	// A queued invite keeps its place with it, and loses it once sent.
	if _, _, err := s.PutBillingProfile(ctx, invite.BillingProfile{ID: "bp-q", CustomerID: "c", Name: "q", ManagementAccountID: payer}); err != nil {
		t.Fatal(err)
	}
	slot := &invite.QueueSlot{Position: 3, ScheduledFor: at(time.Hour), Reason: invite.QueueAccountQuota, Mode: invite.QueueBatch}
	inv := invite.Invite{ID: "inv-q", BillingProfileID: "bp-q", Payer: payer, AccountID: "123456789012", State: invite.StateQueued,
		Queue: slot, CreatedAt: now, UpdatedAt: now, LastSentAt: now, Version: 1, InvitedBy: invite.Actor{Kind: invite.ActorUser}}
	must(s.CreateInvite(ctx, inv, invite.Event{At: now, To: invite.StateQueued, Reason: "queued"}))
	got, err := s.Invite(ctx, "bp-q", "inv-q")
	must(err)
	want := *slot
	want.ScheduledFor = want.ScheduledFor.Truncate(time.Microsecond)
	if got.Queue == nil || *got.Queue != want {
		t.Fatalf("queued invite's place = %+v, want %+v", got.Queue, want)
	}
	// The queue pass rewrites places in bulk, without a version: only queued invites of the payer move.
	place := invite.QueueSlot{Position: 1, ScheduledFor: at(3*time.Hour + 7), Reason: invite.QueueDailyQuota, Mode: invite.QueueBatch}
	must(s.SetQueuePlaces(ctx, payer, []invite.QueuePlace{{InviteID: "inv-q", Slot: place}, {InviteID: "missing", Slot: place}}))
	must(s.SetQueuePlaces(ctx, other, []invite.QueuePlace{{InviteID: "inv-q", Slot: invite.QueueSlot{Position: 9}}}))
	got, err = s.Invite(ctx, "bp-q", "inv-q")
	must(err)
	want = place
	want.ScheduledFor = want.ScheduledFor.Truncate(time.Microsecond)
	if got.Queue == nil || *got.Queue != want || got.Version != 1 {
		t.Fatalf("after SetQueuePlaces: %+v (version %d), want %+v", got.Queue, got.Version, want)
	}
	got.Queue, got.State = nil, invite.StateInvited
	got, err = s.UpdateInvite(ctx, got, invite.Event{})
	must(err)
	if got, _ = s.Invite(ctx, "bp-q", "inv-q"); got.Queue != nil {
		t.Errorf("a sent invite keeps a place: %+v", got.Queue)
	}
	if _, err := s.InvitesOfPayer(ctx, payer, []invite.State{invite.StateQueued}); err != nil {
		t.Fatal(err)
	}
}

func mustLedger(t *testing.T, s invite.Store, payer string, since time.Time) invite.Ledger {
	t.Helper()
	l, err := s.QuotaLedger(context.Background(), payer, since)
	if err != nil {
		t.Fatal(err)
	}
	return l
}
