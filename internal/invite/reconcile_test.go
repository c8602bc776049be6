package invite_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/cloudreseller/aws-invites/internal/awsorg"
	"github.com/cloudreseller/aws-invites/internal/awsorg/orgsim"
	"github.com/cloudreseller/aws-invites/internal/cloudhealth"
	"github.com/cloudreseller/aws-invites/internal/cloudhealth/chsim"
	"github.com/cloudreseller/aws-invites/internal/invite"
	"github.com/cloudreseller/aws-invites/internal/store"
	"github.com/cloudreseller/aws-invites/internal/store/storetest"
	"github.com/cloudreseller/aws-invites/internal/testclock"
)

const payerID = "111111111111"

// world is the domain over a store (in memory, or a real database), the real SDK against the Organizations
// simulator, and the real CloudHealth client against its simulator, all on one test clock.
type world struct {
	t           testing.TB
	invites     *invite.Invites
	reconciler  *invite.Reconciler
	cloudHealth *invite.CloudHealthFollower
	store       worldStore
	sim         *orgsim.Sim
	orgs        *awsorg.Client
	ch          *chsim.Simulator
	clock       *testclock.Clock
	user        invite.Principal
	ctx         context.Context
	deps        invite.Deps
}

// worldStore is what the domain keeps: invites and profiles, and the CUR follower's scans.
type worldStore interface {
	invite.Store
	invite.CURStore
}

// inMemory runs a world on store.Memory, which TestStoreContract holds to the databases' behaviour: the domain's
// tests run without a database.
const inMemory = "memory"

func newWorld(t *testing.T, dialect string, tune ...func(*awsorg.Options)) *world {
	return newWorldTB(t, dialect, tune...)
}

// newWorldTB builds the world; tune changes the AWS client's options (the default per-attempt timeout is long, so
// that a busy machine never turns one call into two in the tests that count calls).
func newWorldTB(t testing.TB, dialect string, tune ...func(*awsorg.Options)) *world {
	t.Helper()
	clk := testclock.New(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
	var st worldStore = store.NewMemory(clk)
	if dialect != inMemory {
		st = storetest.Open(t, dialect, store.Options{Clock: clk})
	}
	sim := orgsim.New(orgsim.Options{Clock: clk.Now, MaxAccounts: 100000, MaxInvitesPerDay: 100000})
	simSrv := httptest.NewServer(sim)
	t.Cleanup(simSrv.Close)
	orgOpts := awsorg.Options{
		OrganizationsEndpoint: simSrv.URL,
		CredentialsFor: func(p invite.Payer) aws.CredentialsProvider {
			return credentials.NewStaticCredentialsProvider(orgsim.AccessKeyFor(p.ManagementAccountID), "test", "")
		},
		MaxAttempts: 4, BaseBackoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond, AttemptTimeout: 30 * time.Second,
	}
	for _, f := range tune {
		f(&orgOpts)
	}
	orgs := awsorg.New(aws.Config{Region: "us-east-1"}, orgOpts)
	ch, err := chsim.New(chsim.Options{APIKey: "ch-key", Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	chSrv := httptest.NewServer(ch)
	t.Cleanup(chSrv.Close)
	chClient, err := cloudhealth.New(chSrv.URL, "ch-key", cloudhealth.Options{Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	// The simulator allows as many invitations a day as the tests send; so does the service's ledger.
	deps := invite.Deps{Orgs: orgs, Transfers: orgs, Clock: clk, Log: slog.New(slog.NewJSONHandler(io.Discard, nil)),
		Quota: invite.QuotaRules{DailyLimit: 100000}}
	ctx := context.Background()
	for _, bp := range []invite.BillingProfile{
		{ID: "bp-1", CustomerID: "acme", Name: "one", ManagementAccountID: payerID},
		{ID: "bp-2", CustomerID: "acme", Name: "two, same payer", ManagementAccountID: payerID},
	} {
		if _, _, err := st.PutBillingProfile(ctx, bp); err != nil {
			t.Fatal(err)
		}
	}
	return &world{t: t, invites: invite.NewInvites(st, deps, invite.CloudHealthTools{}), reconciler: invite.NewReconciler(st, deps),
		cloudHealth: invite.NewCloudHealthFollower(st, invite.Deps{Clock: clk}, cloudhealth.NewSource(chClient, cloudhealth.SourceOptions{}), 72*time.Hour), deps: deps, store: st, sim: sim, orgs: orgs, ch: ch, clock: clk, ctx: ctx,
		user: invite.Principal{Subject: "alice", CustomerID: "acme", BillingProfiles: []string{"bp-1", "bp-2"},
			Permissions: []string{invite.PermissionLicensesManager}}}
}

func (w *world) invite(bp, account string) invite.Invite {
	w.t.Helper()
	v, created, err := w.invites.Create(w.ctx, w.user, bp, invite.CreateInput{AccountID: account})
	if err != nil || !created {
		w.t.Fatalf("invite %s: %v", account, err)
	}
	return v.Invite
}

func (w *world) get(inv invite.Invite) invite.Invite {
	w.t.Helper()
	got, err := w.store.Invite(w.ctx, inv.BillingProfileID, inv.ID)
	if err != nil {
		w.t.Fatal(err)
	}
	return got
}

// reconcile runs one pass and returns the report and the AWS calls it made, by operation.
func (w *world) reconcile() (invite.ReconcileReport, map[string]int, error) {
	w.t.Helper()
	ops := []string{"ListHandshakesForOrganization", "DescribeAccount", "DescribeHandshake", "InviteAccountToOrganization", "CancelHandshake", "ListAccounts"}
	before := map[string]int{}
	for _, op := range ops {
		before[op] = w.sim.Calls(op)
	}
	rep, err := w.reconciler.ReconcilePayer(w.ctx, payerID)
	calls := map[string]int{}
	for _, op := range ops {
		if n := w.sim.Calls(op) - before[op]; n > 0 {
			calls[op] = n
		}
	}
	return rep, calls, err
}

// asAccount answers a handshake as the invited account, as its owner does in the AWS console.
func (w *world) asAccount(inv invite.Invite, accept bool) {
	w.t.Helper()
	answer := w.orgs.DeclineHandshakeAs
	if accept {
		answer = w.orgs.AcceptHandshakeAs
	}
	if _, err := answer(w.ctx, inv.AccountID, inv.Handshake.ID); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) lastEvent(inv invite.Invite) invite.Event {
	w.t.Helper()
	evs, err := w.store.Events(w.ctx, inv.BillingProfileID, inv.ID)
	if err != nil || len(evs) == 0 {
		w.t.Fatalf("events: %v", err)
	}
	return evs[len(evs)-1]
}

func wantCalls(t *testing.T, got map[string]int, want map[string]int) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("AWS calls = %v, want %v", got, want)
	}
}

func TestReconcileFollowsEveryHandshakePath(t *testing.T) {
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			w := newWorld(t, dialect)
			accepted := w.invite("bp-1", "200000000001")
			declined := w.invite("bp-1", "200000000002")
			consoleCanceled := w.invite("bp-2", "200000000003")
			stillOpen := w.invite("bp-2", "200000000004")
			w.asAccount(accepted, true)
			w.asAccount(declined, false)
			if _, err := w.orgs.CancelHandshake(w.ctx, invite.Payer{ManagementAccountID: payerID}, consoleCanceled.Handshake.ID); err != nil {
				t.Fatal(err)
			}

			rep, calls, err := w.reconcile()
			if err != nil {
				t.Fatal(err)
			}
			// One page of handshakes for the whole payer, one DescribeAccount for the one newly accepted account.
			wantCalls(t, calls, map[string]int{"ListHandshakesForOrganization": 1, "DescribeAccount": 1})
			if rep.Handshakes != 4 || rep.Changed != 3 || len(rep.Orphans) != 0 {
				t.Errorf("report: %+v", rep)
			}
			for _, tc := range []struct {
				inv    invite.Invite
				state  invite.State
				reason string
			}{
				{accepted, invite.StateAwaitingCUR, "member"},
				{declined, invite.StateDeclined, "DECLINED"},
				{consoleCanceled, invite.StateCanceled, "CANCELED"},
				{stillOpen, invite.StateInvited, "sent as handshake"},
			} {
				got := w.get(tc.inv)
				ev := w.lastEvent(tc.inv)
				if got.State != tc.state || !strings.Contains(ev.Reason, tc.reason) {
					t.Errorf("%s: state %s, last event %q; want %s, %q", tc.inv.AccountID, got.State, ev.Reason, tc.state, tc.reason)
				}
				if tc.state != invite.StateInvited && ev.Actor.Kind != invite.ActorReconciliation {
					t.Errorf("%s: changed by %s, want the reconciliation", tc.inv.AccountID, ev.Actor.Kind)
				}
			}
			if got := w.get(accepted); got.JoinedAt == nil {
				t.Error("joined invite without joinedAt")
			}
			// The accepted invite went through accepted on its way; the history shows both steps.
			evs, _ := w.store.Events(w.ctx, accepted.BillingProfileID, accepted.ID)
			var path []string
			for _, e := range evs {
				if e.From != e.To {
					path = append(path, string(e.From)+">"+string(e.To))
				}
			}
			if strings.Join(path, ",") != ">invited,invited>accepted,accepted>awaiting_cur" {
				t.Errorf("accepted invite's path: %v", path)
			}

			// A second pass finds nothing new and costs only the listings: terminal invites cost nothing, and the
			// joined one only its share of one page of the payer's accounts (is it still a member?).
			rep, calls, err = w.reconcile()
			if err != nil {
				t.Fatal(err)
			}
			wantCalls(t, calls, map[string]int{"ListHandshakesForOrganization": 1, "ListAccounts": 1})
			if rep.Changed != 0 {
				t.Errorf("second pass changed %d invites", rep.Changed)
			}

			// Expiry at 15 days: the open one expires.
			w.clock.Advance(15*24*time.Hour + time.Second)
			if _, _, err := w.reconcile(); err != nil {
				t.Fatal(err)
			}
			if got := w.get(stillOpen); got.State != invite.StateExpired || got.Handshake.State != invite.HandshakeExpired {
				t.Errorf("after 15 days: %s / %s", got.State, got.Handshake.State)
			}
		})
	}
}

func TestReconcileAfterPurge(t *testing.T) {
	w := newWorld(t, inMemory)
	joined := w.invite("bp-1", "300000000001")
	expired := w.invite("bp-1", "300000000002")
	w.asAccount(joined, true)
	// Nobody looks for 46 days: the accepted handshake is purged 30 days after it ended, the other expired at 15
	// days and was purged at 45.
	w.clock.Advance(46 * 24 * time.Hour)
	rep, calls, err := w.reconcile()
	if err != nil {
		t.Fatal(err)
	}
	if rep.Handshakes != 0 {
		t.Errorf("AWS still lists %d handshakes", rep.Handshakes)
	}
	// Both are settled by membership: one DescribeAccount each (the member's answer serves its confirmation too).
	wantCalls(t, calls, map[string]int{"ListHandshakesForOrganization": 1, "DescribeAccount": 2})
	if got := w.get(joined); got.State != invite.StateAwaitingCUR {
		t.Errorf("purged accepted handshake: %s", got.State)
	}
	got := w.get(expired)
	if ev := w.lastEvent(expired); got.State != invite.StateExpired || !strings.Contains(ev.Reason, "purged") || !strings.Contains(ev.Reason, "not a member") {
		t.Errorf("purged expired handshake: %s, %q", got.State, ev.Reason)
	}
}

func TestReconcileAdoptsAfterCrashAndReportsConsoleHandshakes(t *testing.T) {
	w := newWorld(t, inMemory)
	ctx := w.ctx
	payer := invite.Payer{ManagementAccountID: payerID}
	// A process reserved the invite, AWS took the invitation, the process died before recording it; then the owner
	// accepted.
	now := w.clock.Now()
	reserved := invite.Invite{ID: "01937000-0000-7000-8000-00000000c0de", BillingProfileID: "bp-1", AccountID: "400000000001",
		State: invite.StateInvited, InvitedBy: invite.Actor{Kind: invite.ActorUser, Subject: "alice"},
		CreatedAt: now, UpdatedAt: now, LastSentAt: now, Version: 1}
	if err := w.store.CreateInvite(ctx, reserved, invite.Event{At: now, Actor: reserved.InvitedBy, To: invite.StateInvited, Reason: "invite requested"}); err != nil {
		t.Fatal(err)
	}
	h, _, err := w.orgs.InviteAccount(ctx, payer, reserved.AccountID, "")
	if err != nil {
		t.Fatal(err)
	}
	// And someone sent an invitation from the AWS console for an account the service never heard of.
	console, _, err := w.orgs.InviteAccount(ctx, payer, "400000000099", "sent by hand")
	if err != nil {
		t.Fatal(err)
	}

	// While the first send may still be running, nothing is adopted.
	if _, _, err := w.reconcile(); err != nil {
		t.Fatal(err)
	}
	if got := w.get(reserved); got.Handshake != nil {
		t.Fatalf("adopted during the send window: %+v", got.Handshake)
	}
	w.clock.Advance(2 * time.Minute)
	rep, calls, err := w.reconcile()
	if err != nil {
		t.Fatal(err)
	}
	got := w.get(reserved)
	if got.Handshake == nil || got.Handshake.ID != h.ID || got.State != invite.StateInvited {
		t.Fatalf("orphan not adopted: %+v", got)
	}
	if !strings.Contains(w.lastEvent(reserved).Reason, "adopted") {
		t.Errorf("history does not say it was adopted: %q", w.lastEvent(reserved).Reason)
	}
	if len(rep.Orphans) != 1 || rep.Orphans[0].ID != console.ID {
		t.Errorf("console handshake not reported: %+v", rep.Orphans)
	}
	if calls["InviteAccountToOrganization"] != 0 {
		t.Error("reconciliation sent an invitation")
	}
	// The owner accepts: the adopted handshake carries the invite on.
	w.asAccount(got, true)
	if _, _, err := w.reconcile(); err != nil {
		t.Fatal(err)
	}
	if got := w.get(reserved); got.State != invite.StateAwaitingCUR {
		t.Errorf("after accepting the adopted handshake: %s", got.State)
	}
	// No invite was made for the console handshake.
	_, page, _ := w.store.ProfileAndPage(ctx, invite.ListQuery{BillingProfileID: "bp-1", AccountID: "400000000099"})
	if len(page.Invites) != 0 {
		t.Error("an invite was made for a console handshake")
	}
}

func TestReconcileUnderFaults(t *testing.T) {
	// A 2-second attempt timeout, for the slow answers below.
	w := newWorld(t, inMemory, func(o *awsorg.Options) { o.AttemptTimeout = 2 * time.Second })
	var invites []invite.Invite
	for i := range 45 { // three pages of handshakes
		invites = append(invites, w.invite("bp-1", fmt.Sprintf("5000000000%02d", i)))
	}
	w.asAccount(invites[0], true)

	// A throttling storm (HTTP 400, as AWS really answers) is ridden out by retries.
	w.sim.Inject(orgsim.Fault{Op: "ListHandshakesForOrganization", Times: 2, Code: "TooManyRequestsException", Status: 400})
	rep, calls, err := w.reconcile()
	if err != nil {
		t.Fatalf("after a short throttling storm: %v", err)
	}
	wantCalls(t, calls, map[string]int{"ListHandshakesForOrganization": 3 + 2, "DescribeAccount": 1})
	if rep.Handshakes != 45 || w.get(invites[0]).State != invite.StateAwaitingCUR {
		t.Errorf("report %+v, state %s", rep, w.get(invites[0]).State)
	}

	// 5xx that persists: the pass fails, nothing changes.
	w.asAccount(invites[1], true)
	w.sim.Inject(orgsim.Fault{Op: "ListHandshakesForOrganization", Code: "ServiceException", Status: 500})
	if _, _, err := w.reconcile(); !invite.IsCode(err, invite.CodeAWSUnavailable) {
		t.Fatalf("persistent 5xx: %v", err)
	}
	if got := w.get(invites[1]); got.State != invite.StateInvited {
		t.Errorf("a failed pass changed the invite: %s", got.State)
	}
	w.sim.ClearFaults()

	// Slow answers beyond the per-attempt timeout are retried; a pass whose caller gives up fails cleanly.
	w.sim.Inject(orgsim.Fault{Op: "ListHandshakesForOrganization", Times: 1, Latency: 3 * time.Second})
	if _, _, err := w.reconcile(); err != nil {
		t.Fatalf("one slow answer: %v", err)
	}
	if got := w.get(invites[1]); got.State != invite.StateAwaitingCUR {
		t.Errorf("after the slow pass: %s", got.State)
	}
	w.sim.Inject(orgsim.Fault{Op: "ListHandshakesForOrganization", Latency: 5 * time.Second})
	ctx, cancel := context.WithTimeout(w.ctx, 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := w.reconciler.ReconcilePayer(ctx, payerID); err == nil {
		t.Fatal("a pass against a stalled AWS succeeded")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("the pass ignored its deadline: %v", d)
	}
}

func TestReconcileCostIsPerPageNotPerInvite(t *testing.T) {
	w := newWorld(t, inMemory)
	const n = 70
	var invites []invite.Invite
	for i := range n {
		invites = append(invites, w.invite(fmt.Sprintf("bp-%d", 1+i%2), fmt.Sprintf("6000000000%02d", i)))
	}
	// Cancel ten: terminal invites cost nothing.
	for _, inv := range invites[:10] {
		if _, err := w.invites.Cancel(w.ctx, w.user, inv.BillingProfileID, inv.ID); err != nil {
			t.Fatal(err)
		}
	}
	for _, inv := range invites[10:15] {
		w.asAccount(inv, true)
	}
	_, calls, err := w.reconcile()
	if err != nil {
		t.Fatal(err)
	}
	// 70 handshakes (canceled ones stay listed for 30 days) = 4 pages; 5 newly accepted accounts.
	wantCalls(t, calls, map[string]int{"ListHandshakesForOrganization": 4, "DescribeAccount": 5})
}

func TestCloudHealthLifecycle(t *testing.T) {
	w := newWorld(t, inMemory)
	inv := w.invite("bp-1", "700000000001")
	w.asAccount(inv, true)
	if _, _, err := w.reconcile(); err != nil {
		t.Fatal(err)
	}
	sync := func() invite.Invite {
		t.Helper()
		if err := w.cloudHealth.Sync(w.ctx); err != nil {
			t.Fatal(err)
		}
		return w.get(inv)
	}
	// Not listed yet, within the grace period: nothing happens.
	if got := sync(); got.State != invite.StateAwaitingCUR || got.CloudHealth == nil || got.CloudHealth.Listed {
		t.Fatalf("unlisted within grace: %s %+v", got.State, got.CloudHealth)
	}
	// Listed as unknown: still within grace.
	if err := w.ch.SetStatus(w.ctx, inv.AccountID, "unknown", ""); err != nil {
		t.Fatal(err)
	}
	w.clock.Advance(71 * time.Hour)
	if got := sync(); got.State != invite.StateAwaitingCUR || got.CloudHealth.Level != "unknown" {
		t.Fatalf("unknown within grace: %s %+v", got.State, got.CloudHealth)
	}
	// Past the grace period: critical, with the consequences in the next steps.
	w.clock.Advance(2 * time.Hour)
	got := sync()
	if got.State != invite.StateCloudHealthCritical || w.lastEvent(inv).Actor.Kind != invite.ActorCloudHealth {
		t.Fatalf("unknown after grace: %s", got.State)
	}
	steps := fmt.Sprint(invite.NextSteps(got, w.clock.Now()))
	for _, want := range []string{"FlexRI", "Spot0", "reports", "support ticket"} {
		if !strings.Contains(steps, want) {
			t.Errorf("critical next steps do not mention %q", want)
		}
	}
	// Healthy again: back to awaiting_cur (no CUR data yet).
	if err := w.ch.SetStatus(w.ctx, inv.AccountID, "green", payerID); err != nil {
		t.Fatal(err)
	}
	if got := sync(); got.State != invite.StateAwaitingCUR || got.CloudHealth.PayerAccountID != payerID {
		t.Fatalf("healthy again: %s %+v", got.State, got.CloudHealth)
	}
	// Red is critical at once, whatever the time.
	if err := w.ch.SetStatus(w.ctx, inv.AccountID, "red", payerID); err != nil {
		t.Fatal(err)
	}
	if got := sync(); got.State != invite.StateCloudHealthCritical || !strings.Contains(w.lastEvent(inv).Reason, "red") {
		t.Fatalf("red: %s %q", got.State, w.lastEvent(inv).Reason)
	}
	// One listing serves every invite: a sync costs the pages of CloudHealth's account list, not one call per invite.
	w.ch.ResetCounts()
	sync()
	if n := w.ch.Counts().Requests; n != 1 {
		t.Errorf("CloudHealth requests for one sync: %d", n)
	}
}
