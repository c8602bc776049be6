package invite_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/cloudreseller/aws-invites/internal/awsorg"
	"github.com/cloudreseller/aws-invites/internal/awsorg/orgsim"
	"github.com/cloudreseller/aws-invites/internal/invite"
	"github.com/cloudreseller/aws-invites/internal/store"
	"github.com/cloudreseller/aws-invites/internal/store/storetest"
	"github.com/cloudreseller/aws-invites/internal/testclock"
)

// queueDialects are the stores the queue is tested on: memory, and each database.
func queueDialects() []string { return append([]string{inMemory}, storetest.Dialects()...) }

// newQueueWorld is the domain over a store and the real SDK against a simulator that enforces AWS's daily quota
// of 20 invitations (and an account quota of maxAccounts), on a test clock from the CI's instant. Billing profiles
// bp-1 (customer acme) and bp-9 (customer globex) share the payer.
func newQueueWorld(t testing.TB, dialect string, maxAccounts int, rules invite.QuotaRules) *world {
	t.Helper()
	clk := testclock.NewAtStart()
	var st worldStore = store.NewMemory(clk)
	if dialect != inMemory {
		st = storetest.Open(t, dialect, store.Options{Clock: clk})
	}
	sim := orgsim.New(orgsim.Options{Clock: clk.Now, MaxAccounts: maxAccounts, MaxInvitesPerDay: 20})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	orgs := awsorg.New(aws.Config{Region: "us-east-1"}, awsorg.Options{
		OrganizationsEndpoint: srv.URL,
		CredentialsFor: func(p invite.Payer) aws.CredentialsProvider {
			return credentials.NewStaticCredentialsProvider(orgsim.AccessKeyFor(p.ManagementAccountID), "test", "")
		},
		MaxAttempts: 4, BaseBackoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond, AttemptTimeout: 30 * time.Second,
	})
	deps := invite.Deps{Orgs: orgs, Transfers: orgs, Clock: clk, Log: slog.New(slog.NewJSONHandler(io.Discard, nil)), Quota: rules}
	for _, bp := range []invite.BillingProfile{
		{ID: "bp-1", CustomerID: "acme", Name: "acme", ManagementAccountID: payerID},
		{ID: "bp-9", CustomerID: "globex", Name: "globex", ManagementAccountID: payerID},
	} {
		if _, _, err := st.PutBillingProfile(t.Context(), bp); err != nil {
			t.Fatal(err)
		}
	}
	return &world{t: t, invites: invite.NewInvites(st, deps, invite.CloudHealthTools{}), reconciler: invite.NewReconciler(st, deps),
		deps: deps, store: st, sim: sim, orgs: orgs, clock: clk, ctx: t.Context(),
		user: invite.Principal{Subject: "alice", CustomerID: "acme", BillingProfiles: []string{"bp-1"},
			Permissions: []string{invite.PermissionLicensesManager}}}
}

var quotaAdmin = invite.Principal{Subject: "ops", Roles: []string{invite.RolePlatformAdmin}}

func acct(n int) string { return fmt.Sprintf("3000%08d", n) }

// create creates an invite as a platform administrator (any profile) with a queue mode.
func (w *world) create(bp, account string, mode invite.QueueMode) (invite.View, error) {
	v, _, err := w.invites.Create(w.ctx, quotaAdmin, bp, invite.CreateInput{AccountID: account, Queue: mode})
	return v, err
}

func (w *world) mustCreate(bp, account string, mode invite.QueueMode) invite.Invite {
	w.t.Helper()
	v, err := w.create(bp, account, mode)
	if err != nil {
		w.t.Fatalf("create %s: %v", account, err)
	}
	return v.Invite
}

func (w *world) quota() invite.Quota {
	w.t.Helper()
	q, err := w.invites.Quota(w.ctx, quotaAdmin, payerID)
	if err != nil {
		w.t.Fatal(err)
	}
	return q
}

func (w *world) queuedInOrder() []invite.Invite {
	w.t.Helper()
	queued, err := w.store.InvitesOfPayer(w.ctx, payerID, []invite.State{invite.StateQueued})
	if err != nil {
		w.t.Fatal(err)
	}
	out := make([]invite.Invite, len(queued))
	for _, inv := range queued {
		if inv.Queue == nil || inv.Queue.Position < 1 || inv.Queue.Position > len(queued) || out[inv.Queue.Position-1].ID != "" {
			w.t.Fatalf("queued invite %s has place %+v among %d", inv.ID, inv.Queue, len(queued))
		}
		out[inv.Queue.Position-1] = inv
	}
	return out
}

func (w *world) pass() invite.ReconcileReport {
	w.t.Helper()
	rep, _, err := w.reconcile()
	if err != nil {
		w.t.Fatal(err)
	}
	return rep
}

func TestQueueBatchOfTwentyFive(t *testing.T) {
	for _, dialect := range queueDialects() {
		t.Run(dialect, func(t *testing.T) {
			w := newQueueWorld(t, dialect, 1000, invite.QuotaRules{})
			start := w.clock.Now()
			var invs []invite.Invite
			for i := range 25 {
				invs = append(invs, w.mustCreate("bp-1", acct(i), invite.QueueBatch))
				w.clock.Advance(time.Minute)
			}
			// 20 a day less the 2 reserved: 18 sent, 7 queued, each expected when the invitation sent 18 before it
			// turns 24 hours old.
			for i, inv := range invs {
				want := invite.StateInvited
				if i >= 18 {
					want = invite.StateQueued
				}
				if inv.State != want {
					t.Fatalf("invite %d is %s, want %s", i, inv.State, want)
				}
				if i >= 18 {
					if at := start.Add(time.Duration(i-18)*time.Minute + invite.QuotaWindow); !inv.Queue.ScheduledFor.Equal(at) || inv.Queue.Position != i-17 {
						t.Errorf("invite %d: place %d at %s, want %d at %s", i, inv.Queue.Position, inv.Queue.ScheduledFor, i-17, at)
					}
					if steps := invite.NextSteps(inv, w.clock.Now()); len(steps) != 1 || steps[0].Code != invite.StepQueued || !steps[0].At.Equal(inv.Queue.ScheduledFor) {
						t.Errorf("invite %d next steps = %+v", i, steps)
					}
				}
			}
			if got := w.sim.Calls("InviteAccountToOrganization"); got != 18 {
				t.Fatalf("AWS was asked %d invitations, want 18", got)
			}
			q := w.quota()
			if q.Used != 18 || q.Available != 2 || q.AvailableToQueue != 0 || len(q.Queued) != 1 || q.Queued[0].Queued != 7 {
				t.Fatalf("quota = %+v", q)
			}

			// An acceptance frees a slot at once: the pass that sees it sends the first queued invite.
			w.pass() // the ledger from AWS's list; nothing to send yet
			w.asAccount(w.get(invs[3]), true)
			rep := w.pass()
			if rep.Queue.Sent != 1 || w.get(invs[18]).State != invite.StateInvited || w.get(invs[19]).State != invite.StateQueued {
				t.Fatalf("after an acceptance: %+v; invite 18 %s", rep.Queue, w.get(invs[18]).State)
			}
			if order := w.queuedInOrder(); len(order) != 6 || order[0].ID != invs[19].ID {
				t.Fatalf("queue after one left: %d, first %s", len(order), order[0].ID)
			}

			// The clock: once the oldest counted invitations turn 24 hours old, one pass sends what they free.
			next := w.get(invs[19]).Queue.ScheduledFor
			w.clock.Advance(next.Add(time.Second).Sub(w.clock.Now()))
			rep = w.pass()
			if rep.Queue.Sent == 0 || w.get(invs[19]).State != invite.StateInvited {
				t.Fatalf("at its scheduled time, invite 19 is %s (%+v)", w.get(invs[19]).State, rep.Queue)
			}
			for _, inv := range w.queuedInOrder() {
				if !inv.Queue.ScheduledFor.After(w.clock.Now()) {
					t.Errorf("invite %s still queued although scheduled for %s", inv.ID, inv.Queue.ScheduledFor)
				}
			}
			w.clock.Advance(start.Add(invite.QuotaWindow + 30*time.Minute).Sub(w.clock.Now()))
			w.pass()
			if left := w.queuedInOrder(); len(left) != 0 {
				t.Fatalf("%d still queued a day later", len(left))
			}
			if got, want := w.sim.Calls("InviteAccountToOrganization"), 25; got != want {
				t.Errorf("AWS was asked %d invitations, want %d (one each, no refusal)", got, want)
			}
		})
	}
}

func TestQueueProfilesTakeTurnsAndTheReserveServesSingles(t *testing.T) {
	w := newQueueWorld(t, inMemory, 1000, invite.QuotaRules{})
	for i := range 20 {
		w.mustCreate("bp-1", acct(i), invite.QueueBatch)
	}
	for i := range 3 {
		w.mustCreate("bp-9", acct(100+i), invite.QueueBatch)
	}
	w.pass()
	order := w.queuedInOrder()
	var profiles []string
	for _, inv := range order {
		profiles = append(profiles, inv.BillingProfileID)
	}
	// globex was never served today, so it goes first; then the two customers alternate.
	if want := "[bp-9 bp-1 bp-9 bp-1 bp-9]"; fmt.Sprint(profiles) != want {
		t.Fatalf("queue order = %v, want %s", profiles, want)
	}
	// The reserve lets a customer's single invite through while the batches wait.
	one, err := w.create("bp-9", acct(200), invite.QueueNever)
	if err != nil || one.State != invite.StateInvited {
		t.Fatalf("single invite during the batch: %v %v", one.State, err)
	}
	// Prefer: respond-async may use the last reserved slot; after it, a single create is refused with when.
	if v, err := w.create("bp-9", acct(201), invite.QueueWhenFull); err != nil || v.State != invite.StateInvited {
		t.Fatalf("queued-if-full create with a reserved slot free: %v %v", v.State, err)
	}
	_, err = w.create("bp-9", acct(202), invite.QueueNever)
	var e *invite.Error
	if !invite.IsCode(err, invite.CodeDailyInviteLimit) || !asError(err, &e) {
		t.Fatalf("single create at the limit: %v", err)
	}
	oldest := w.quota().NextSlotAt
	if want := oldest.Sub(w.clock.Now()); e.RetryAfter != want || want <= 0 {
		t.Errorf("Retry-After %s, want %s (when the oldest counted invitation turns 24 hours)", e.RetryAfter, want)
	}
	if v, err := w.create("bp-9", acct(203), invite.QueueWhenFull); err != nil || v.State != invite.StateQueued {
		t.Fatalf("respond-async at the limit: %v %v", v.State, err)
	}
}

func TestQueueAWSRefusalWinsOverTheLedger(t *testing.T) {
	w := newQueueWorld(t, inMemory, 1000, invite.QuotaRules{})
	// Five invitations sent from the console: the ledger has not seen them (no pass ran).
	for i := range 5 {
		if _, _, err := w.orgs.InviteAccount(w.ctx, invite.Payer{ManagementAccountID: payerID}, acct(500+i), ""); err != nil {
			t.Fatal(err)
		}
	}
	var invs []invite.Invite
	for i := range 18 {
		invs = append(invs, w.mustCreate("bp-1", acct(i), invite.QueueBatch))
	}
	// AWS refused the 16th: it went back to the queue, and the payer waits (the 17th and 18th did not try).
	calls := w.sim.Calls("InviteAccountToOrganization")
	if invs[14].State != invite.StateInvited || invs[15].State != invite.StateQueued || invs[17].State != invite.StateQueued {
		t.Fatalf("states: 15th %s, 16th %s, 18th %s", invs[14].State, invs[15].State, invs[17].State)
	}
	if calls != 5+16 {
		t.Fatalf("AWS was asked %d invitations, want 21 (the refused one, and none after it)", calls)
	}
	q := w.quota()
	if q.HeldUntil.IsZero() || q.Available != 0 {
		t.Fatalf("quota after AWS's refusal: %+v", q)
	}
	// The pass reads AWS's list: the console's five count; nothing is sent while the hold stands.
	rep := w.pass()
	if rep.Queue.Sent != 0 || w.sim.Calls("InviteAccountToOrganization") != calls {
		t.Fatalf("a pass sent while AWS's refusal holds: %+v", rep.Queue)
	}
	if q := w.quota(); q.Used != 20 {
		t.Fatalf("ledger after the pass counts %d, want 20 (the console's 5 and 15 sent)", q.Used)
	}
}

func TestQueueResendAtTheQuotaKeepsTheHandshake(t *testing.T) {
	w := newQueueWorld(t, inMemory, 1000, invite.QuotaRules{})
	first := w.mustCreate("bp-1", acct(0), invite.QueueNever)
	for i := 1; i < 20; i++ {
		w.mustCreate("bp-1", acct(i), invite.QueueNever)
	}
	w.clock.Advance(invite.ResendAfter + time.Second)
	_, err := w.invites.Resend(w.ctx, quotaAdmin, "bp-1", first.ID)
	if !invite.IsCode(err, invite.CodeDailyInviteLimit) {
		t.Fatalf("re-send at the quota: %v", err)
	}
	h, err := w.orgs.DescribeHandshake(w.ctx, invite.Payer{ManagementAccountID: payerID}, first.Handshake.ID)
	if err != nil || h.State != invite.HandshakeOpen {
		t.Fatalf("the old handshake is %s (%v), want OPEN", h.State, err)
	}
	if got := w.sim.Calls("CancelHandshake"); got != 0 {
		t.Errorf("the refused re-send canceled %d handshakes", got)
	}
	if w.get(first).State != invite.StateInvited {
		t.Errorf("invite is %s", w.get(first).State)
	}
}

func TestQueueCancelOfAQueuedInviteCallsNothing(t *testing.T) {
	w := newQueueWorld(t, inMemory, 1000, invite.QuotaRules{})
	for i := range 18 {
		w.mustCreate("bp-1", acct(i), invite.QueueBatch)
	}
	queued := w.mustCreate("bp-1", acct(99), invite.QueueBatch)
	if queued.State != invite.StateQueued {
		t.Fatalf("19th batch item is %s", queued.State)
	}
	before := map[string]int{}
	for _, op := range []string{"InviteAccountToOrganization", "CancelHandshake", "ListHandshakesForOrganization", "DescribeHandshake"} {
		before[op] = w.sim.Calls(op)
	}
	v, err := w.invites.Cancel(w.ctx, quotaAdmin, "bp-1", queued.ID)
	if err != nil || v.State != invite.StateCanceled {
		t.Fatalf("cancel: %v %v", v.State, err)
	}
	for op, n := range before {
		if w.sim.Calls(op) != n {
			t.Errorf("cancel of a queued invite called %s", op)
		}
	}
	if ev := w.lastEvent(queued); ev.Type != invite.EventCanceled {
		t.Errorf("last event %s", ev.Type)
	}
	// The account is free again.
	if _, err := w.create("bp-9", acct(99), invite.QueueWhenFull); err != nil {
		t.Fatal(err)
	}
}

func TestQueueWaitsForTheAccountQuota(t *testing.T) {
	// The organization may hold 6 accounts: the management account and 5 open invitations.
	w := newQueueWorld(t, inMemory, 6, invite.QuotaRules{AccountLimit: 6})
	var invs []invite.Invite
	for i := range 7 {
		invs = append(invs, w.mustCreate("bp-1", acct(i), invite.QueueBatch))
	}
	// AWS refused the 6th for the account quota: queued with the reason, not burnt.
	if invs[4].State != invite.StateInvited || invs[5].State != invite.StateQueued || invs[5].Queue.Reason != invite.QueueAccountQuota {
		t.Fatalf("5th %s, 6th %s %+v", invs[4].State, invs[5].State, invs[5].Queue)
	}
	calls := w.sim.Calls("InviteAccountToOrganization")
	rep := w.pass()
	if rep.Queue.Sent != 0 || rep.Queue.ForAccount != 2 || w.sim.Calls("InviteAccountToOrganization") != calls {
		t.Fatalf("a pass at the account quota: %+v, %d invitations asked", rep.Queue, w.sim.Calls("InviteAccountToOrganization")-calls)
	}
	if q := w.quota(); q.Accounts == nil || q.Accounts.Waiting != 2 {
		t.Fatalf("quota's accounts: %+v", q.Accounts)
	}
	// A declined invitation frees an account: the next pass sends one.
	w.asAccount(w.get(invs[0]), false)
	if rep := w.pass(); rep.Queue.Sent != 1 {
		t.Fatalf("after a decline: %+v", rep.Queue)
	}
}

func asError(err error, target **invite.Error) bool {
	e, ok := err.(*invite.Error)
	if ok {
		*target = e
	}
	return ok
}

func TestQueuePredictionMatchesWhatCreatesDo(t *testing.T) {
	w := newQueueWorld(t, inMemory, 1000, invite.QuotaRules{})
	for i := range 15 {
		w.mustCreate("bp-9", acct(900+i), invite.QueueNever)
	}
	pred, err := w.invites.PredictCreates(w.ctx, quotaAdmin, "bp-1", 6, invite.QueueBatch)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range pred {
		v := w.mustCreate("bp-1", acct(i), invite.QueueBatch)
		if p.Send != (v.State == invite.StateInvited) || (p.Queue != nil) != (v.State == invite.StateQueued) ||
			(p.Queue != nil && (p.Queue.Position != v.Queue.Position || !p.Queue.ScheduledFor.Equal(v.Queue.ScheduledFor))) {
			t.Errorf("item %d: predicted %+v (queue %+v), created %s (queue %+v)", i, p, p.Queue, v.State, v.Queue)
		}
	}
	if !pred[2].Send || pred[3].Send || pred[5].Queue == nil || pred[5].Queue.Position != 3 {
		t.Errorf("18 unreserved slots, 15 used: 3 sent, then queued; got %+v", pred)
	}
}

// TestQueueResendRefusedAfterItsCancelIsQueued: invitations sent from the console since the last pass fill AWS's
// quota behind the ledger's back, and the simulator, like an AWS that checks duplicates before its quota, lets the
// re-send's probe through and refuses only the new invitation, after the old one was canceled. The invite is not
// lost: it waits in the queue, holding its account, and the pass that sees a free slot sends it again.
func TestQueueResendRefusedAfterItsCancelIsQueued(t *testing.T) {
	w := newQueueWorld(t, inMemory, 1000, invite.QuotaRules{})
	first := w.mustCreate("bp-1", acct(0), invite.QueueNever)
	var console []invite.Handshake
	for i := range 19 {
		h, _, err := w.orgs.InviteAccount(w.ctx, invite.Payer{ManagementAccountID: payerID}, acct(700+i), "")
		if err != nil {
			t.Fatal(err)
		}
		console = append(console, h)
	}
	w.clock.Advance(invite.ResendAfter + time.Second)
	v, err := w.invites.Resend(w.ctx, quotaAdmin, "bp-1", first.ID)
	if invite.IsCode(err, invite.CodeDailyInviteLimit) {
		// AWS checked its quota before duplicates: nothing was canceled, which is as good.
		if h, _ := w.orgs.DescribeHandshake(w.ctx, invite.Payer{ManagementAccountID: payerID}, first.Handshake.ID); h.State != invite.HandshakeOpen {
			t.Fatalf("refused before the cancel, yet the handshake is %s", h.State)
		}
		return
	}
	if err != nil || v.State != invite.StateQueued || v.Queue == nil {
		t.Fatalf("re-send refused after the cancel: %v %v", v.State, err)
	}
	if q := w.quota(); q.HeldUntil.IsZero() {
		t.Errorf("AWS's refusal did not hold the payer: %+v", q)
	}
	// A console invitation is accepted: the next pass frees its slot and sends the invite again.
	if _, err := w.orgs.AcceptHandshakeAs(w.ctx, acct(700), console[0].ID); err != nil {
		t.Fatal(err)
	}
	w.pass()
	if got := w.get(first); got.State != invite.StateInvited || got.Handshake == nil || got.Handshake.ID == first.Handshake.ID {
		t.Fatalf("after a slot freed the invite is %s (handshake %+v)", got.State, got.Handshake)
	}
	if ev := w.lastEvent(first); ev.Type != invite.EventResent {
		t.Errorf("sent again from the queue as %s, want invite.resent (its consumers know it)", ev.Type)
	}
}

func TestQueueSendsInTurns(t *testing.T) {
	w := newQueueWorld(t, inMemory, 1000, invite.QuotaRules{})
	var sent []invite.Invite
	for i := range 20 {
		if inv := w.mustCreate("bp-1", acct(i), invite.QueueBatch); inv.State == invite.StateInvited {
			sent = append(sent, inv)
		}
	}
	w.clock.Advance(time.Minute)
	for i := range 2 {
		w.mustCreate("bp-9", acct(100+i), invite.QueueBatch)
	}
	w.pass()
	w.asAccount(w.get(sent[0]), true)
	w.asAccount(w.get(sent[1]), true)
	if rep := w.pass(); rep.Queue.Sent != 2 {
		t.Fatalf("two acceptances sent %d", rep.Queue.Sent)
	}
	byProfile := map[string]int{}
	for _, inv := range w.queuedInOrder() {
		byProfile[inv.BillingProfileID]++
	}
	if byProfile["bp-1"] != 1 || byProfile["bp-9"] != 1 {
		t.Errorf("still queued per profile %v, want one each: the two customers took turns", byProfile)
	}
}

// TestQueuePassUnderThrottlingAndRefusal: a queued invite whose send AWS throttles beyond the client's retries
// stays queued and goes out in the next pass; one AWS refuses for good ends canceled with AWS's problem code.
func TestQueuePassUnderThrottlingAndRefusal(t *testing.T) {
	w := newQueueWorld(t, inMemory, 1000, invite.QuotaRules{})
	var sent []invite.Invite
	for i := range 20 {
		sent = append(sent, w.mustCreate("bp-1", acct(i), invite.QueueWhenFull))
	}
	first := w.mustCreate("bp-1", acct(50), invite.QueueWhenFull)
	second := w.mustCreate("bp-1", acct(51), invite.QueueWhenFull)
	w.pass()
	w.asAccount(w.get(sent[0]), true)
	w.sim.Inject(orgsim.Fault{Op: "InviteAccountToOrganization", Code: "TooManyRequestsException"})
	if rep := w.pass(); rep.Queue.Sent != 0 || w.get(first).State != invite.StateQueued {
		t.Fatalf("a throttled send: %+v, invite %s", rep.Queue, w.get(first).State)
	}
	w.sim.ClearFaults()
	if rep := w.pass(); rep.Queue.Sent != 1 || w.get(first).State != invite.StateInvited {
		t.Fatalf("the next pass: %+v, invite %s", rep.Queue, w.get(first).State)
	}
	w.asAccount(w.get(sent[1]), true)
	w.sim.Inject(orgsim.Fault{Op: "InviteAccountToOrganization", Times: 1, Code: "HandshakeConstraintViolationException", Reason: "ALREADY_IN_AN_ORGANIZATION"})
	if rep := w.pass(); rep.Queue.Refused != 1 {
		t.Fatalf("a refusal for good: %+v", rep.Queue)
	}
	got := w.get(second)
	if ev := w.lastEvent(second); got.State != invite.StateCanceled || ev.Code == "" || ev.Type != invite.EventCanceled {
		t.Fatalf("refused queued invite: %s, last event %s %q", got.State, ev.Type, ev.Code)
	}
}
