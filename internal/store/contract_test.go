package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cloudreseller/aws-invites/internal/invite"
	"github.com/cloudreseller/aws-invites/internal/store"
	"github.com/cloudreseller/aws-invites/internal/store/storetest"
	"github.com/cloudreseller/aws-invites/internal/testclock"
)

// TestStoreContract holds the domain's Store port to what the domain relies on, on PostgreSQL, on SQLite and on the
// in-memory store the use cases' fast tests run on: a fake that drifts from the databases fails here.
func TestStoreContract(t *testing.T) {
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
			storeContract(t, open)
		})
	}
}

func storeContract(t *testing.T, open func(t *testing.T, clk invite.Clock) invite.Store) {
	ctx := context.Background()
	clk := testclock.New(base.Add(time.Hour + 123456789)) // not on a microsecond: stored times are
	s := open(t, clk)
	const payer, otherPayer = "111122223333", "444455556666"
	code := func(err error) invite.Code {
		var e *invite.Error
		if errors.As(err, &e) {
			return e.Code
		}
		return ""
	}

	// Billing profiles: created, then replaced keeping the creation time; stamped with the clock, in microseconds.
	a, created, err := s.PutBillingProfile(ctx, invite.BillingProfile{ID: "bp-a", CustomerID: "c1", Name: "A", ManagementAccountID: payer})
	if err != nil || !created || !a.CreatedAt.Equal(clk.Now().Truncate(time.Microsecond)) {
		t.Fatalf("create profile: %+v %v %v", a, created, err)
	}
	clk.Advance(time.Minute)
	a2, created, err := s.PutBillingProfile(ctx, invite.BillingProfile{ID: "bp-a", CustomerID: "c1", Name: "A renamed", ManagementAccountID: payer})
	if err != nil || created || !a2.CreatedAt.Equal(a.CreatedAt) || a2.Name != "A renamed" || !a2.UpdatedAt.After(a.UpdatedAt) {
		t.Fatalf("replace profile: %+v %v %v", a2, created, err)
	}
	if _, _, err := s.PutBillingProfileIfMatch(ctx, a2, invite.IfMatch{ETags: []string{a.ETag()}}); code(err) != invite.CodePreconditionFailed {
		t.Errorf("a stale If-Match: %v", err)
	}
	for _, bp := range []invite.BillingProfile{
		{ID: "bp-b", CustomerID: "c2", Name: "B, same payer", ManagementAccountID: payer},
		{ID: "bp-c", CustomerID: "c3", Name: "C", ManagementAccountID: otherPayer},
	} {
		if _, _, err := s.PutBillingProfile(ctx, bp); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.BillingProfile(ctx, "bp-missing"); code(err) != invite.CodeNotFound {
		t.Errorf("a missing profile: %v", err)
	}
	if ps, err := s.ProfilesOfPayer(ctx, payer); err != nil || len(ps) != 2 || ps[0].ID != "bp-a" || ps[1].ID != "bp-b" {
		t.Errorf("profiles of the payer: %+v %v", ps, err)
	}
	if ps, err := s.Payers(ctx); err != nil || len(ps) != 2 || ps[0] != payer || ps[1] != otherPayer {
		t.Errorf("payers: %v %v", ps, err)
	}

	// Invites: the payer is the profile's; one holder per account and payer, whatever the profile.
	first := newInvite(t, "bp-a", account(1), base)
	first.Payer = ""
	if err := s.CreateInvite(ctx, first, createdEvent(first)); err != nil {
		t.Fatal(err)
	}
	got, err := s.Invite(ctx, "bp-a", first.ID)
	if err != nil || got.Payer != payer || got.Version != 1 || got.Handshake == nil || got.Handshake.ID != first.Handshake.ID {
		t.Fatalf("the created invite: %+v %v", got, err)
	}
	if _, err := s.Invite(ctx, "bp-b", first.ID); code(err) != invite.CodeNotFound {
		t.Errorf("an invite read under another profile: %v", err)
	}
	rival := newInvite(t, "bp-b", account(1), base)
	if err := s.CreateInvite(ctx, rival, createdEvent(rival)); code(err) != invite.CodeAlreadyOpen {
		t.Errorf("a second holder on the payer: %v", err)
	}
	elsewhere := newInvite(t, "bp-c", account(1), base)
	if err := s.CreateInvite(ctx, elsewhere, createdEvent(elsewhere)); err != nil {
		t.Errorf("the same account on another payer: %v", err)
	}
	if err := s.CreateInvite(ctx, newInvite(t, "bp-missing", account(2), base), invite.Event{}); code(err) != invite.CodeNotFound {
		t.Errorf("an invite of a missing profile: %v", err)
	}
	if h, err := s.HolderOf(ctx, payer, account(1)); err != nil || h.ID != first.ID {
		t.Errorf("the holder: %+v %v", h, err)
	}
	if _, _, err := s.PutBillingProfile(ctx, invite.BillingProfile{ID: "bp-a", CustomerID: "c1", Name: "A", ManagementAccountID: otherPayer}); code(err) != invite.CodePayerChangeWithOpenInvites {
		t.Errorf("moving a profile with open invites to another payer: %v", err)
	}

	// Versioned updates: a stale version writes nothing; a re-send's new handshake is remembered with the old one.
	resent := got
	resent.Handshake = &invite.Handshake{ID: "h-second", Action: invite.ActionInvite, AccountID: got.AccountID,
		State: invite.HandshakeOpen, RequestedAt: base.Add(time.Hour), ExpiresAt: base.Add(time.Hour + invite.HandshakeLifetime)}
	resent.UpdatedAt = base.Add(time.Hour)
	updated, err := s.UpdateInvite(ctx, resent, invite.Event{Type: invite.EventResent, Actor: resent.InvitedBy, From: invite.StateInvited, To: invite.StateInvited, Reason: "re-sent"})
	if err != nil || updated.Version != 2 || updated.Handshake.ID != "h-second" {
		t.Fatalf("update: %+v %v", updated, err)
	}
	if _, err := s.UpdateInvite(ctx, resent, invite.Event{}); code(err) != invite.CodeConcurrentUpdate {
		t.Errorf("a stale update: %v", err)
	}
	missing := resent
	missing.ID = "no-such-invite"
	if _, err := s.UpdateInvite(ctx, missing, invite.Event{}); code(err) != invite.CodeNotFound {
		t.Errorf("an update of a missing invite: %v", err)
	}
	owners, err := s.HandshakeOwners(ctx, payer)
	if err != nil || owners[first.Handshake.ID].InviteID != first.ID || owners["h-second"].BillingProfileID != "bp-a" {
		t.Errorf("handshake owners: %+v %v", owners, err)
	}

	// The history, oldest first; the feed, events of a type, newest first, paged without repeats.
	evs, err := s.Events(ctx, "bp-a", first.ID)
	if err != nil || len(evs) != 2 || evs[0].To != invite.StateInvited || evs[1].Type != invite.EventResent || evs[0].ID >= evs[1].ID ||
		evs[1].PublicID == "" || evs[1].Payer != payer || evs[1].AccountID != account(1) {
		t.Errorf("history: %+v %v", evs, err)
	}

	// Ended invites free the account; pages list a profile's invites newest first, filtered and in keyset pages.
	canceled := updated
	canceled.State = invite.StateCanceled
	if _, err := s.UpdateInvite(ctx, canceled, invite.Event{Type: invite.EventCanceled, From: invite.StateInvited, To: invite.StateCanceled, Reason: "canceled"}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateInvite(ctx, rival, createdEvent(rival)); err != nil {
		t.Errorf("the account freed by the cancel: %v", err)
	}
	var ids []string
	for i := range 3 {
		inv := newInvite(t, "bp-a", account(10+i), base)
		if err := s.CreateInvite(ctx, inv, createdEvent(inv)); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, inv.ID)
	}
	bp, page, err := s.ProfileAndPage(ctx, invite.ListQuery{BillingProfileID: "bp-a", Limit: 2})
	if err != nil || bp.ID != "bp-a" || len(page.Invites) != 2 || page.Invites[0].ID != ids[2] || page.Invites[1].ID != ids[1] || page.NextID != ids[1] {
		t.Fatalf("first page: %+v %v", page, err)
	}
	_, page, err = s.ProfileAndPage(ctx, invite.ListQuery{BillingProfileID: "bp-a", Limit: 2, After: page.NextID})
	if err != nil || len(page.Invites) != 2 || page.Invites[0].ID != ids[0] || page.Invites[1].ID != first.ID || page.NextID != "" {
		t.Fatalf("last page: %+v %v", page, err)
	}
	_, page, err = s.ProfileAndPage(ctx, invite.ListQuery{BillingProfileID: "bp-a", States: []invite.State{invite.StateCanceled}})
	if err != nil || len(page.Invites) != 1 || page.Invites[0].ID != first.ID {
		t.Errorf("canceled ones: %+v %v", page, err)
	}
	_, page, err = s.ProfileAndPage(ctx, invite.ListQuery{BillingProfileID: "bp-a", AccountID: account(11), Kind: invite.InviteJoin})
	if err != nil || len(page.Invites) != 1 || page.Invites[0].ID != ids[1] {
		t.Errorf("one account's: %+v %v", page, err)
	}
	if _, _, err := s.ProfileAndPage(ctx, invite.ListQuery{BillingProfileID: "bp-missing"}); code(err) != invite.CodeNotFound {
		t.Errorf("a page of a missing profile: %v", err)
	}
	if bp, inv, err := s.ProfileAndInvite(ctx, "bp-a", "no-such-invite"); err != nil || bp.ID != "bp-a" || inv != nil {
		t.Errorf("a missing invite with its profile: %+v %v %v", bp, inv, err)
	}
	if open, err := s.InvitesOfPayer(ctx, payer, []invite.State{invite.StateInvited}); err != nil || len(open) != 4 || open[0].ID > open[1].ID {
		t.Errorf("the payer's open invites, oldest first: %d %v", len(open), err)
	}
	if all, err := s.InvitesInStates(ctx, []invite.State{invite.StateInvited}); err != nil || len(all) != 5 {
		t.Errorf("every open invite: %d %v", len(all), err)
	}

	// A reassignment moves the invite and its history to another profile of the payer, never to another payer's.
	if _, err := s.ReassignInvite(ctx, mustGet(t, s, "bp-a", ids[0]), "bp-c", invite.Event{}, invite.Event{}); code(err) != invite.CodeDifferentPayer {
		t.Errorf("reassign to another payer: %v", err)
	}
	out := invite.Event{Type: invite.EventReassigned, To: invite.StateInvited, Reason: "moved out"}
	in := invite.Event{Type: invite.EventReassigned, To: invite.StateInvited, Reason: "moved in"}
	moved, err := s.ReassignInvite(ctx, mustGet(t, s, "bp-a", ids[0]), "bp-b", out, in)
	if err != nil || moved.BillingProfileID != "bp-b" || moved.Version != 2 {
		t.Fatalf("reassign: %+v %v", moved, err)
	}
	if evs, _ := s.Events(ctx, "bp-b", ids[0]); len(evs) != 2 || evs[1].Reason != "moved in" {
		t.Errorf("the history that moved: %+v", evs)
	}
	feed, err := s.ListEvents(ctx, invite.EventQuery{BillingProfileID: "bp-a", Types: []invite.EventType{invite.EventReassigned}})
	if err != nil || len(feed.Events) != 1 || feed.Events[0].Reason != "moved out" {
		t.Errorf("what the profile left keeps: %+v %v", feed, err)
	}

	// A reservation AWS refused goes with its history; the refusal stays in the feed.
	refused := newInvite(t, "bp-a", account(20), base)
	if err := s.CreateInvite(ctx, refused, createdEvent(refused)); err != nil {
		t.Fatal(err)
	}
	refusal := invite.Event{Type: invite.EventRefused, To: invite.StateInvited, Reason: "AWS refused", Code: invite.CodeInOtherOrg}
	if err := s.DeleteInvite(ctx, refused, refusal); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Invite(ctx, "bp-a", refused.ID); code(err) != invite.CodeNotFound {
		t.Errorf("the refused invite is there: %v", err)
	}
	feed, err = s.ListEvents(ctx, invite.EventQuery{BillingProfileID: "bp-a", AccountID: account(20)})
	if err != nil || len(feed.Events) != 1 || feed.Events[0].InviteID != "" || feed.Events[0].Code != invite.CodeInOtherOrg {
		t.Errorf("the refusal in the feed: %+v %v", feed, err)
	}
	var seen []int64
	for q := (invite.EventQuery{Limit: 3}); ; {
		p, err := s.ListEvents(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range p.Events {
			if len(seen) > 0 && e.ID >= seen[len(seen)-1] {
				t.Fatalf("the feed is not newest first: %v then %d", seen, e.ID)
			}
			seen = append(seen, e.ID)
		}
		if p.Next == 0 {
			break
		}
		q.Before = p.Next
	}
	if len(seen) != 5 { // re-sent, canceled, reassigned out and in, refused (the creations here carry no type)
		t.Errorf("the whole feed has %d events, want 5", len(seen))
	}

	// CUR scans: the version scanned, each account's usage, and when it was first seen in the period (kept).
	cs := s.(invite.CURStore)
	scan := invite.CURScan{VersionID: "v1", Accounts: []invite.CURAccount{{AccountID: account(1), BillPayers: []string{payer},
		LineItems: 3, UnblendedCost: "1.25", FirstUsage: base, LastUsage: base.Add(time.Hour)}}}
	if err := cs.SaveCURScan(ctx, payer, "2026-11", scan, base.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	scan.VersionID, scan.Accounts[0].LineItems, scan.Accounts[0].UnblendedCost = "v2", 5, "2.50"
	if err := cs.SaveCURScan(ctx, payer, "2026-11", scan, base.Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if v, err := cs.CURVersion(ctx, payer, "2026-11"); err != nil || v != "v2" {
		t.Errorf("the version scanned: %q %v", v, err)
	}
	usage, err := cs.CURUsage(ctx, payer, "2026-11")
	if u := usage[account(1)]; err != nil || len(usage) != 1 || u.LineItems != 5 || u.UnblendedCost != "2.50" ||
		!u.FirstSeenAt.Equal(base.Add(2*time.Hour)) || len(u.BillPayers) != 1 || u.BillPayers[0] != payer || !u.LastUsageAt.Equal(base.Add(time.Hour)) {
		t.Errorf("usage: %+v %v", usage, err)
	}
	if usage, err := cs.CURUsage(ctx, payer, "2026-10"); err != nil || len(usage) != 0 {
		t.Errorf("another period: %+v %v", usage, err)
	}

	// What the last look at a payer's report found of it as a whole: none at first, then the last one kept.
	if f, err := cs.CURFeed(ctx, payer); err != nil || f != (invite.CURFeed{Payer: payer}) {
		t.Errorf("no look yet: %+v %v", f, err)
	}
	curFeed := invite.CURFeed{Payer: payer, CheckedAt: base.Add(3 * time.Hour), Period: "2026-11", VersionID: "v2",
		DeliveredAt: base.Add(2 * time.Hour), DataThrough: base.Add(time.Hour)}
	for _, problem := range []string{"s3://cur: NoSuchBucket", ""} {
		curFeed.Problem = problem
		if err := cs.SaveCURFeed(ctx, curFeed); err != nil {
			t.Fatal(err)
		}
		if f, err := cs.CURFeed(ctx, payer); err != nil || f != curFeed {
			t.Errorf("the feed kept: %+v %v, want %+v", f, err, curFeed)
		}
	}

	// A payer's lock is exclusive until released.
	unlock, err := s.LockPayer(ctx, payer)
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := s.LockPayer(short, payer); err == nil {
		t.Error("a second holder of the payer's lock")
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	unlock, err = s.LockPayer(ctx, payer)
	if err != nil {
		t.Fatalf("the lock after its release: %v", err)
	}
	_ = unlock()
}

func mustGet(t *testing.T, s invite.Store, bp, id string) invite.Invite {
	t.Helper()
	inv, err := s.Invite(context.Background(), bp, id)
	if err != nil {
		t.Fatal(err)
	}
	return inv
}
