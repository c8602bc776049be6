package invite_test

import (
	"testing"
	"time"

	"github.com/cloudreseller/aws-invites/internal/invite"
)

// The use cases a customer's request reaches (create, re-send, cancel, adopt, reassign), each as a table of what
// the caller asks and what must follow, on the in-memory store and the AWS Organizations simulator behind the real
// SDK: no database, so each case costs milliseconds. The HTTP tests (internal/httpapi) cover the same through the
// API on both databases.

var (
	viewer = invite.Principal{Subject: "victor", CustomerID: "acme", BillingProfiles: []string{"bp-1", "bp-2"}}
	admin  = invite.Principal{Subject: "root", Roles: []string{invite.RolePlatformAdmin},
		Permissions: []string{invite.PermissionLicensesManager}}
	stranger = invite.Principal{Subject: "eve", CustomerID: "globex", BillingProfiles: []string{"bp-1"},
		Permissions: []string{invite.PermissionLicensesManager}}
)

func TestCreate(t *testing.T) {
	start := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC) // the world's clock
	for _, tc := range []struct {
		name  string
		who   *invite.Principal // the world's licenses manager when nil
		bp    string
		in    invite.CreateInput
		setup func(w *world, in *invite.CreateInput)
		code  invite.Code // the refusal; "" for a created invite
		check func(t *testing.T, w *world, v invite.View)
	}{
		{name: "join", in: invite.CreateInput{AccountID: "200000000001", Notes: "welcome"},
			check: func(t *testing.T, w *world, v invite.View) {
				if v.State != invite.StateInvited || v.Kind != invite.InviteJoin || v.Handshake == nil || v.Notes != "welcome" ||
					len(v.NextSteps) == 0 || w.sim.Calls("InviteAccountToOrganization") != 1 {
					t.Errorf("%+v, %d invitations", v.Invite, w.sim.Calls("InviteAccountToOrganization"))
				}
			}},
		{name: "an account id with spaces and dashes", in: invite.CreateInput{AccountID: "2000-0000-0002 "},
			check: func(t *testing.T, _ *world, v invite.View) {
				if v.AccountID != "200000000002" {
					t.Errorf("account %q", v.AccountID)
				}
			}},
		{name: "billing transfer, default start", in: invite.CreateInput{AccountID: "200000000003", Kind: invite.InviteTransfer},
			check: func(t *testing.T, w *world, v invite.View) {
				if v.Transfer == nil || !v.Transfer.StartAt.Equal(invite.DefaultTransferStart(start)) || v.Handshake == nil ||
					v.Handshake.Action != invite.ActionTransfer || w.sim.Calls("InviteAccountToOrganization") != 0 {
					t.Errorf("%+v %+v", v.Transfer, v.Handshake)
				}
			}},
		{name: "not an account id", in: invite.CreateInput{AccountID: "12345"}, code: invite.CodeInvalidAccountID},
		{name: "the payer itself", in: invite.CreateInput{AccountID: payerID}, code: invite.CodeValidationFailed},
		{name: "transfer fields on a join", in: invite.CreateInput{AccountID: "200000000004", TransferName: "x"}, code: invite.CodeValidationFailed},
		{name: "an unknown kind", in: invite.CreateInput{AccountID: "200000000005", Kind: "merge"}, code: invite.CodeValidationFailed},
		{name: "a transfer starting mid-month", code: invite.CodeValidationFailed,
			in: invite.CreateInput{AccountID: "200000000006", Kind: invite.InviteTransfer, TransferStart: time.Date(2027, 1, 15, 0, 0, 0, 0, time.UTC)}},
		{name: "a transfer starting tomorrow", code: invite.CodeValidationFailed,
			in: invite.CreateInput{AccountID: "200000000007", Kind: invite.InviteTransfer, TransferStart: time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)}},
		{name: "notes over the limit", in: invite.CreateInput{AccountID: "200000000008", Notes: string(make([]byte, invite.MaxNotes+1))},
			code: invite.CodeNotesTooLong},
		{name: "held by another billing profile of the payer", in: invite.CreateInput{AccountID: "200000000009"},
			setup: func(w *world, _ *invite.CreateInput) { w.invite("bp-2", "200000000009") }, code: invite.CodeHeldByAnotherProfile},
		{name: "entered again within five minutes", in: invite.CreateInput{AccountID: "200000000010"},
			setup: func(w *world, _ *invite.CreateInput) { w.invite("bp-1", "200000000010") }, code: invite.CodeResendTooSoon},
		{name: "a viewer", who: &viewer, in: invite.CreateInput{AccountID: "200000000011"}, code: invite.CodeForbidden},
		{name: "another customer", who: &stranger, in: invite.CreateInput{AccountID: "200000000012"}, code: invite.CodeNotFound},
		{name: "a missing billing profile", bp: "bp-9", in: invite.CreateInput{AccountID: "200000000013"}, code: invite.CodeNotFound},
		{name: "adopting, not an administrator", in: invite.CreateInput{AdoptHandshakeID: "h-1"}, code: invite.CodeForbidden},
		{name: "adopting a transfer", who: &admin, in: invite.CreateInput{AdoptHandshakeID: "h-1", Kind: invite.InviteTransfer},
			code: invite.CodeValidationFailed},
		{name: "adopting an invitation sent from the console", who: &admin,
			setup: func(w *world, in *invite.CreateInput) {
				h, _, err := w.orgs.InviteAccount(w.ctx, invite.Payer{ManagementAccountID: payerID}, "200000000014", "")
				if err != nil {
					w.t.Fatal(err)
				}
				in.AdoptHandshakeID = h.ID
			},
			check: func(t *testing.T, w *world, v invite.View) {
				if v.AccountID != "200000000014" || v.Handshake == nil || v.State != invite.StateInvited ||
					w.sim.Calls("InviteAccountToOrganization") != 1 {
					t.Errorf("adopted %+v, %d invitations", v.Invite, w.sim.Calls("InviteAccountToOrganization"))
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, inMemory)
			in := tc.in
			if tc.setup != nil {
				tc.setup(w, &in)
			}
			who, bp := w.user, "bp-1"
			if tc.who != nil {
				who = *tc.who
			}
			if tc.bp != "" {
				bp = tc.bp
			}
			_, before, _ := w.store.ProfileAndPage(w.ctx, invite.ListQuery{BillingProfileID: "bp-1"})
			v, created, err := w.invites.Create(w.ctx, who, bp, in)
			if tc.code != "" {
				_, after, _ := w.store.ProfileAndPage(w.ctx, invite.ListQuery{BillingProfileID: "bp-1"})
				if !invite.IsCode(err, tc.code) || created || len(after.Invites) != len(before.Invites) {
					t.Fatalf("want %s and nothing created; got %v (created %v, invites %d -> %d)", tc.code, err, created,
						len(before.Invites), len(after.Invites))
				}
				return
			}
			if err != nil || !created {
				t.Fatalf("create: %v (created %v)", err, created)
			}
			if got := w.get(v.Invite); got.Version != v.Version || got.State != v.State {
				t.Errorf("stored %+v, answered %+v", got, v.Invite)
			}
			tc.check(t, w, v)
		})
	}
}

func TestChangesToAnInvite(t *testing.T) {
	for _, tc := range []struct {
		name string
		// before prepares the invite (the world's clock stands where the invitation went out).
		before func(w *world, inv invite.Invite) invite.Invite
		do     func(w *world, inv invite.Invite) (invite.View, error)
		code   invite.Code
		check  func(t *testing.T, w *world, before invite.Invite, after invite.View)
	}{
		{name: "re-send at once", do: resend, code: invite.CodeResendTooSoon},
		{name: "re-send after five minutes",
			before: func(w *world, inv invite.Invite) invite.Invite { w.clock.Advance(invite.ResendAfter); return inv },
			do:     resend,
			check: func(t *testing.T, w *world, before invite.Invite, after invite.View) {
				if after.Handshake.ID == before.Handshake.ID || after.State != invite.StateInvited || w.sim.Calls("CancelHandshake") != 1 {
					t.Errorf("handshake %s -> %s, %d cancels", before.Handshake.ID, after.Handshake.ID, w.sim.Calls("CancelHandshake"))
				}
			}},
		{name: "re-send by a viewer", do: func(w *world, inv invite.Invite) (invite.View, error) {
			return w.invites.Resend(w.ctx, viewer, inv.BillingProfileID, inv.ID)
		}, code: invite.CodeForbidden},
		{name: "cancel", do: cancel,
			check: func(t *testing.T, w *world, _ invite.Invite, after invite.View) {
				if after.State != invite.StateCanceled || after.Handshake.State != invite.HandshakeCanceled || w.lastEvent(after.Invite).Type != invite.EventCanceled {
					t.Errorf("%s, handshake %s", after.State, after.Handshake.State)
				}
			}},
		{name: "cancel twice",
			before: func(w *world, inv invite.Invite) invite.Invite {
				v, err := cancel(w, inv)
				if err != nil {
					w.t.Fatal(err)
				}
				return v.Invite
			},
			do: cancel,
			check: func(t *testing.T, w *world, before invite.Invite, after invite.View) {
				if after.State != invite.StateCanceled || after.Version != before.Version || w.sim.Calls("CancelHandshake") != 1 {
					t.Errorf("%s v%d -> v%d", after.State, before.Version, after.Version)
				}
			}},
		{name: "cancel an accepted join",
			before: func(w *world, inv invite.Invite) invite.Invite {
				w.asAccount(inv, true)
				if _, _, err := w.reconcile(); err != nil {
					w.t.Fatal(err)
				}
				return w.get(inv)
			},
			do: cancel, code: invite.CodeInvalidState},
		{name: "cancel an accepted billing transfer before its start",
			before: func(w *world, _ invite.Invite) invite.Invite {
				v, _, err := w.invites.Create(w.ctx, w.user, "bp-1", invite.CreateInput{AccountID: "300000000002", Kind: invite.InviteTransfer})
				if err != nil {
					w.t.Fatal(err)
				}
				w.asAccount(v.Invite, true)
				if _, _, err := w.reconcile(); err != nil {
					w.t.Fatal(err)
				}
				if got := w.get(v.Invite); got.State != invite.StateAccepted {
					w.t.Fatalf("accepted transfer: %s", got.State)
				}
				return w.get(v.Invite)
			},
			do: cancel,
			check: func(t *testing.T, w *world, before invite.Invite, after invite.View) {
				// It ends as early as AWS allows: at the end of its first month.
				firstMonthEnd := before.Transfer.StartAt.AddDate(0, 1, 0).Add(-time.Millisecond)
				if after.State != invite.StateCanceled || after.Transfer == nil || !after.Transfer.EndAt.Equal(firstMonthEnd) ||
					after.Transfer.Status != invite.TransferWithdrawn {
					t.Errorf("%s, transfer %+v; want it withdrawn, ending %s", after.State, after.Transfer, firstMonthEnd)
				}
			}},
		{name: "reassign to another billing profile of the payer", do: func(w *world, inv invite.Invite) (invite.View, error) {
			return w.invites.Reassign(w.ctx, admin, inv.BillingProfileID, inv.ID, "bp-2")
		}, check: func(t *testing.T, w *world, before invite.Invite, after invite.View) {
			if after.BillingProfileID != "bp-2" || after.Handshake.ID != before.Handshake.ID {
				t.Errorf("%+v", after.Invite)
			}
			if _, err := w.store.Invite(w.ctx, "bp-1", before.ID); !invite.IsCode(err, invite.CodeNotFound) {
				t.Errorf("still under bp-1: %v", err)
			}
		}},
		{name: "reassign to another payer's billing profile", do: func(w *world, inv invite.Invite) (invite.View, error) {
			if _, _, err := w.store.PutBillingProfile(w.ctx, invite.BillingProfile{ID: "bp-3", CustomerID: "acme", Name: "three", ManagementAccountID: "999999999999"}); err != nil {
				w.t.Fatal(err)
			}
			return w.invites.Reassign(w.ctx, admin, inv.BillingProfileID, inv.ID, "bp-3")
		}, code: invite.CodeDifferentPayer},
		{name: "reassign, not an administrator", do: func(w *world, inv invite.Invite) (invite.View, error) {
			return w.invites.Reassign(w.ctx, w.user, inv.BillingProfileID, inv.ID, "bp-2")
		}, code: invite.CodeForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, inMemory)
			inv := w.invite("bp-1", "300000000001")
			if tc.before != nil {
				inv = tc.before(w, inv)
			}
			after, err := tc.do(w, inv)
			if tc.code != "" {
				if !invite.IsCode(err, tc.code) {
					t.Fatalf("want %s, got %v", tc.code, err)
				}
				if got, err := w.store.Invite(w.ctx, inv.BillingProfileID, inv.ID); err != nil || got.Version != inv.Version {
					t.Errorf("a refused change wrote: v%d -> %+v %v", inv.Version, got.Version, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, w, inv, after)
		})
	}
}

func resend(w *world, inv invite.Invite) (invite.View, error) {
	return w.invites.Resend(w.ctx, w.user, inv.BillingProfileID, inv.ID)
}

func cancel(w *world, inv invite.Invite) (invite.View, error) {
	return w.invites.Cancel(w.ctx, w.user, inv.BillingProfileID, inv.ID)
}

// A billing transfer's default start leaves the customer at least a day to accept, whatever day it is created:
// on a month's last evening, the first of the month after next.
func TestDefaultTransferStart(t *testing.T) {
	for _, tc := range []struct{ now, want string }{
		{"2026-12-07T12:00:00Z", "2027-01-01"},
		{"2027-01-30T00:00:00Z", "2027-03-01"}, // 1 February is 48 h ahead exactly: not more
		{"2027-01-29T23:59:59Z", "2027-02-01"},
		{"2027-01-31T23:30:00Z", "2027-03-01"},
		{"2027-05-01T00:30:00Z", "2027-06-01"},
		{"2027-12-31T23:30:00Z", "2028-02-01"},
		{"2028-02-28T23:30:00Z", "2028-04-01"}, // a leap year: 1 March is 24.5 hours ahead
		{"2028-02-29T23:30:00Z", "2028-04-01"},
	} {
		now, _ := time.Parse(time.RFC3339, tc.now)
		got := invite.DefaultTransferStart(now)
		if got.Format(time.DateOnly) != tc.want || got.Day() != 1 || got.Sub(now) <= 2*invite.TransferLeadTime {
			t.Errorf("created at %s: starts %s, want %s (accept by a day before, with a day to do it)", tc.now, got, tc.want)
		}
	}
}
