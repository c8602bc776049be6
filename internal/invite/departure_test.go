package invite_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cloudreseller/aws-invites/internal/awsorg/orgsim"
	"github.com/cloudreseller/aws-invites/internal/invite"
	"github.com/cloudreseller/aws-invites/internal/store/storetest"
)

// joinAll invites the accounts under a billing profile, has each accept in AWS, and runs the pass that confirms
// them; it returns the invites as they then stand (awaiting_cur).
func (w *world) joinAll(p invite.Principal, bp string, accounts ...string) []invite.Invite {
	w.t.Helper()
	var out []invite.Invite
	for _, acct := range accounts {
		v, created, err := w.invites.Create(w.ctx, p, bp, invite.CreateInput{AccountID: acct})
		if err != nil || !created {
			w.t.Fatalf("invite %s: %v", acct, err)
		}
		w.asAccount(v.Invite, true)
		out = append(out, v.Invite)
	}
	if _, _, err := w.reconcile(); err != nil {
		w.t.Fatal(err)
	}
	for i := range out {
		if out[i] = w.get(out[i]); out[i].State != invite.StateAwaitingCUR {
			w.t.Fatalf("%s did not join: %s", out[i].AccountID, out[i].State)
		}
	}
	return out
}

// leaveForAnotherOrganization has another organization invite the account and the account accept, as its owner
// can since December 2025: AWS moves it out of the payer's organization at once, without any call by the payer.
func (w *world) leaveForAnotherOrganization(acct, otherMgmt string) {
	w.t.Helper()
	h, _, err := w.orgs.InviteAccount(w.ctx, invite.Payer{ManagementAccountID: otherMgmt}, acct, "")
	if err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.orgs.AcceptHandshakeAs(w.ctx, acct, h.ID); err != nil {
		w.t.Fatal(err)
	}
}

func stepCodes(inv invite.Invite, now time.Time) []invite.StepCode {
	var out []invite.StepCode
	for _, s := range invite.NextSteps(inv, now) {
		out = append(out, s.Code)
	}
	return out
}

// TestDepartureOfOneOfSixtyAfterOnePass: a payer has 60 joined accounts under two customers' billing profiles;
// one account accepts another organization's invitation. One pass ends its invite (departed, invite.departed,
// when it was noticed) and leaves the other 59 as they were, and the check costs one ListAccounts call per page of
// the payer's accounts (20 a page), not one call per invite.
func TestDepartureOfOneOfSixtyAfterOnePass(t *testing.T) {
	for _, dialect := range append(storetest.Dialects(), inMemory) {
		t.Run(dialect, func(t *testing.T) {
			w := newWorld(t, dialect)
			// A second customer on the same payer.
			if _, _, err := w.store.PutBillingProfile(w.ctx, invite.BillingProfile{ID: "bp-globex", CustomerID: "globex",
				Name: "globex", ManagementAccountID: payerID}); err != nil {
				t.Fatal(err)
			}
			globex := invite.Principal{Subject: "bob", CustomerID: "globex", BillingProfiles: []string{"bp-globex"},
				Permissions: []string{invite.PermissionLicensesManager}}
			var acme, other []string
			for i := range 30 {
				acme = append(acme, fmt.Sprintf("30000000%04d", i))
				other = append(other, fmt.Sprintf("40000000%04d", i))
			}
			acmeInvites := w.joinAll(w.user, "bp-1", acme...)
			globexInvites := w.joinAll(globex, "bp-globex", other...)
			w.clock.Advance(time.Hour) // past MembershipSettle

			// The first pass with joined invites lists 61 accounts (60 and the management account): 4 pages. It
			// records each account's state quietly: no event, no change counted.
			rep, calls, err := w.reconcile()
			if err != nil {
				t.Fatal(err)
			}
			wantCalls(t, calls, map[string]int{"ListHandshakesForOrganization": 3, "ListAccounts": 4})
			if rep.Changed != 0 || rep.Departed != 0 || rep.Accounts != 61 {
				t.Errorf("report: %+v", rep)
			}
			if got := w.get(acmeInvites[0]); got.AccountState != invite.AccountActive || w.lastEvent(got).Type != invite.EventJoined {
				t.Errorf("first look: account state %q, last event %s", got.AccountState, w.lastEvent(got).Type)
			}

			leaving := acmeInvites[7]
			w.leaveForAnotherOrganization(leaving.AccountID, "999000000077")
			noticed := w.clock.Now()
			rep, calls, err = w.reconcile()
			if err != nil {
				t.Fatal(err)
			}
			// 60 handshakes: 3 pages; 60 accounts left (59 members and the management account): 3 pages.
			wantCalls(t, calls, map[string]int{"ListHandshakesForOrganization": 3, "ListAccounts": 3})
			if rep.Changed != 1 || rep.Departed != 1 || rep.Accounts != 60 {
				t.Errorf("report: %+v", rep)
			}
			got := w.get(leaving)
			if got.State != invite.StateDeparted || got.Departure == nil || !got.Departure.NoticedAt.Equal(noticed) ||
				got.Departure.Method != "" || got.Departure.LastAccountState != invite.AccountActive {
				t.Fatalf("departed invite: %s %+v", got.State, got.Departure)
			}
			ev := w.lastEvent(got)
			if ev.Type != invite.EventDeparted || ev.From != invite.StateAwaitingCUR || ev.To != invite.StateDeparted ||
				ev.Actor.Kind != invite.ActorReconciliation || !strings.Contains(ev.Reason, "no longer a member") {
				t.Errorf("departure event: %+v", ev)
			}
			if steps := stepCodes(got, w.clock.Now()); !slices.Equal(steps, []invite.StepCode{invite.StepAccountDeparted, invite.StepInviteAgain}) {
				t.Errorf("departed steps: %v", steps)
			}
			// The other customer's accounts, and the rest of this one's, stay.
			for _, inv := range append(acmeInvites[:7:7], append(acmeInvites[8:], globexInvites...)...) {
				if g := w.get(inv); g.State != invite.StateAwaitingCUR || g.Departure != nil {
					t.Errorf("%s (%s): %s", inv.AccountID, inv.BillingProfileID, g.State)
				}
			}
			// The feed of the departed account's profile tells it; the other customer's feed does not.
			for bp, want := range map[string]int{"bp-1": 1, "bp-globex": 0} {
				page, err := w.store.ListEvents(w.ctx, invite.EventQuery{BillingProfileID: bp, Types: []invite.EventType{invite.EventDeparted}, Limit: 10})
				if err != nil {
					t.Fatal(err)
				}
				if len(page.Events) != want {
					t.Errorf("%s: %d invite.departed events, want %d", bp, len(page.Events), want)
				}
			}

			// A terminal invite costs nothing and the next pass changes nothing.
			rep, _, err = w.reconcile()
			if err != nil || rep.Changed != 0 {
				t.Errorf("third pass: %+v, %v", rep, err)
			}
		})
	}
}

// TestNoListingWithoutJoinedInvites: a payer whose invites have not joined costs no ListAccounts call.
func TestNoListingWithoutJoinedInvites(t *testing.T) {
	w := newWorld(t, inMemory)
	w.invite("bp-1", "300000000001")
	_, calls, err := w.reconcile()
	if err != nil {
		t.Fatal(err)
	}
	wantCalls(t, calls, map[string]int{"ListHandshakesForOrganization": 1})
}

// TestClosedAccount: the payer closes a joined account (CloseAccount); the invite shows AWS's state and an event
// says it; billing data is no longer expected (no report, CloudHealth or ticket step). When AWS later removes the
// closed account from the organization (90 days on), the invite departs, and says how.
func TestClosedAccount(t *testing.T) {
	for _, dialect := range append(storetest.Dialects(), inMemory) {
		t.Run(dialect, func(t *testing.T) {
			w := newWorld(t, dialect)
			invs := w.joinAll(w.user, "bp-1", "300000000001", "300000000002")
			closing, pending := invs[0], invs[1]
			w.clock.Advance(time.Hour)
			if _, _, err := w.reconcile(); err != nil {
				t.Fatal(err)
			}
			if steps := stepCodes(w.get(closing), w.clock.Now()); !slices.Contains(steps, invite.StepWaitForCUR) {
				t.Fatalf("joined steps before the closure: %v", steps)
			}
			payer := invite.Payer{ManagementAccountID: payerID}
			if err := w.orgs.CloseAccountAs(w.ctx, payer, closing.AccountID); err != nil {
				t.Fatal(err)
			}
			if err := w.orgs.CloseAccountAs(w.ctx, payer, closing.AccountID); err == nil {
				t.Error("closing a closed account again succeeded")
			}
			// AWS shows PENDING_CLOSURE while it closes an account; the simulator is told so for the other one.
			if err := w.sim.PutAccount(pending.AccountID, orgsim.Account{State: invite.AccountPendingClosure}); err != nil {
				t.Fatal(err)
			}
			rep, calls, err := w.reconcile()
			if err != nil {
				t.Fatal(err)
			}
			wantCalls(t, calls, map[string]int{"ListHandshakesForOrganization": 1, "ListAccounts": 1})
			if rep.Changed != 2 || rep.Departed != 0 {
				t.Errorf("report: %+v", rep)
			}
			for inv, state := range map[invite.Invite]string{closing: invite.AccountSuspended, pending: invite.AccountPendingClosure} {
				got := w.get(inv)
				ev := w.lastEvent(got)
				if got.State != invite.StateAwaitingCUR || got.AccountState != state || ev.Type != invite.EventAccountState ||
					!strings.Contains(ev.Reason, state) || !strings.Contains(ev.Reason, "no new billing data") {
					t.Errorf("%s: %s %q, last event %s %q", inv.AccountID, got.State, got.AccountState, ev.Type, ev.Reason)
				}
				if steps := stepCodes(got, w.clock.Now().Add(5*24*time.Hour)); !slices.Equal(steps, []invite.StepCode{invite.StepAccountClosed}) {
					t.Errorf("%s: steps of a closed account: %v", inv.AccountID, steps)
				}
			}

			// 90 days later AWS removes the closed account from the organization.
			w.clock.Advance(90 * 24 * time.Hour)
			if err := w.sim.RemoveMember(payerID, closing.AccountID); err != nil {
				t.Fatal(err)
			}
			if _, _, err := w.reconcile(); err != nil {
				t.Fatal(err)
			}
			got := w.get(closing)
			if got.State != invite.StateDeparted || got.Departure == nil || got.Departure.Method != invite.DepartureCleaned ||
				got.Departure.LastAccountState != invite.AccountSuspended {
				t.Errorf("cleaned: %s %+v", got.State, got.Departure)
			}
			if steps := invite.NextSteps(got, w.clock.Now()); len(steps) == 0 || !strings.Contains(steps[0].Detail, "was closed") {
				t.Errorf("cleaned steps: %+v", steps)
			}
		})
	}
}

// TestReinviteAfterDeparture: a departed invite no longer holds its account: a new invite for it is allowed (by
// either customer of the payer), and the account that comes back joins again.
func TestReinviteAfterDeparture(t *testing.T) {
	for _, dialect := range append(storetest.Dialects(), inMemory) {
		t.Run(dialect, func(t *testing.T) {
			w := newWorld(t, dialect)
			first := w.joinAll(w.user, "bp-1", "300000000009")[0]
			w.clock.Advance(time.Hour)
			w.leaveForAnotherOrganization(first.AccountID, "999000000009")
			if _, _, err := w.reconcile(); err != nil {
				t.Fatal(err)
			}
			if got := w.get(first); got.State != invite.StateDeparted {
				t.Fatalf("not departed: %s", got.State)
			}
			again := w.joinAll(w.user, "bp-2", first.AccountID)[0]
			if again.ID == first.ID || again.JoinedAt == nil {
				t.Errorf("re-invite: %+v", again)
			}
			w.clock.Advance(time.Hour)
			if _, _, err := w.reconcile(); err != nil {
				t.Fatal(err)
			}
			if got := w.get(again); got.State != invite.StateAwaitingCUR || got.AccountState != invite.AccountActive {
				t.Errorf("back: %s %q", got.State, got.AccountState)
			}
			if got := w.get(first); got.State != invite.StateDeparted {
				t.Errorf("the departed invite moved: %s", got.State)
			}
		})
	}
}

// TestJustJoinedMissingIsConfirmed: AWS is eventually consistent; an account that joined minutes ago and is missing
// from the list is confirmed with DescribeAccount before it is taken for a departure, only within
// MembershipSettle of its join.
func TestJustJoinedMissingIsConfirmed(t *testing.T) {
	w := newWorld(t, inMemory)
	invs := w.joinAll(w.user, "bp-1", "300000000011", "300000000012")
	if err := w.sim.RemoveMember(payerID, invs[0].AccountID); err != nil {
		t.Fatal(err)
	}
	// The simulator's list is always current, so the lag itself cannot be played here: what this shows is the cost
	// of the confirmation (one DescribeAccount for the one recently joined account missing) and that it departs.
	_, calls, err := w.reconcile()
	if err != nil {
		t.Fatal(err)
	}
	wantCalls(t, calls, map[string]int{"ListHandshakesForOrganization": 1, "ListAccounts": 1, "DescribeAccount": 1})
	if got := w.get(invs[0]); got.State != invite.StateDeparted {
		t.Errorf("missing and not a member: %s", got.State)
	}
	if got := w.get(invs[1]); got.State != invite.StateAwaitingCUR {
		t.Errorf("listed: %s", got.State)
	}
}

// TestListingFailureDepartsNothing: a listing that fails concludes nothing; the next pass does.
func TestListingFailureDepartsNothing(t *testing.T) {
	w := newWorld(t, inMemory)
	var accts []string
	for i := range 25 {
		accts = append(accts, fmt.Sprintf("30000001%04d", i))
	}
	invs := w.joinAll(w.user, "bp-1", accts...)
	w.clock.Advance(time.Hour)
	if err := w.sim.RemoveMember(payerID, invs[0].AccountID); err != nil {
		t.Fatal(err)
	}
	// Every ListAccounts call fails, after the SDK's retries.
	w.sim.Inject(orgsim.Fault{Op: "ListAccounts", Code: "ServiceException"})
	if _, _, err := w.reconcile(); err == nil {
		t.Error("a failed listing was not reported")
	}
	w.sim.ClearFaults()
	if got := w.get(invs[0]); got.State != invite.StateAwaitingCUR {
		t.Fatalf("departed on a partial list: %s", got.State)
	}
	if _, _, err := w.reconcile(); err != nil {
		t.Fatal(err)
	}
	if got := w.get(invs[0]); got.State != invite.StateDeparted {
		t.Errorf("next pass: %s", got.State)
	}
}
