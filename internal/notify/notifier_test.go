package notify_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cloudreseller/aws-invites/internal/invite"
	"github.com/cloudreseller/aws-invites/internal/notify"
	"github.com/cloudreseller/aws-invites/internal/store"
	"github.com/cloudreseller/aws-invites/internal/testclock"
)

// start is when every test's clock starts.
var start = time.Date(2026, 11, 26, 9, 30, 0, 0, time.UTC)

// fakeSender is the webhook sender: it records what it was asked to send and answers what the test wants.
type fakeSender struct {
	clk     *testclock.Clock
	sent    []sent
	answer  func() notify.DeliveryAttempt // nil: 204 No Content
	secrets int
}

type sent struct {
	URL     string
	Secrets []string
	Event   invite.Event
}

func (s *fakeSender) NewSecret() (string, error) {
	s.secrets++
	return fmt.Sprintf("whsec_secret%d", s.secrets), nil
}

// CheckURL refuses private addresses, as the real sender does outside the sandbox.
func (s *fakeSender) CheckURL(_ context.Context, url string) error {
	if strings.Contains(url, "//10.") {
		return errors.New("the address is private")
	}
	return nil
}

func (s *fakeSender) Send(_ context.Context, url string, secrets []string, ev invite.Event) notify.DeliveryAttempt {
	s.sent = append(s.sent, sent{URL: url, Secrets: slices.Clone(secrets), Event: ev})
	if s.answer == nil {
		return ok(s.clk)
	}
	return s.answer()
}

// The answers of a receiver.
func ok(clk *testclock.Clock) notify.DeliveryAttempt {
	return notify.DeliveryAttempt{At: clk.Now(), StatusCode: 204, Latency: 3 * time.Millisecond}
}

func serverError(clk *testclock.Clock) notify.DeliveryAttempt {
	return notify.DeliveryAttempt{At: clk.Now(), StatusCode: 500, Latency: 5 * time.Millisecond,
		Error: "receiver answered 500 Internal Server Error", ResponseSnippet: "database down"}
}

func timeout(clk *testclock.Clock) notify.DeliveryAttempt {
	return notify.DeliveryAttempt{At: clk.Now(), Latency: 10 * time.Second, Error: "no answer within 10s"}
}

// fakeQueue is the job engine: it records the deliveries and mail it is asked to schedule.
type fakeQueue struct {
	deliveries []notify.Delivery
	mail       []queuedMail
}

type queuedMail struct {
	EventID int64
	To      []string
}

func (q *fakeQueue) EnqueueDeliveries(_ context.Context, ds []notify.Delivery) error {
	q.deliveries = append(q.deliveries, ds...)
	return nil
}

func (q *fakeQueue) EnqueueMail(_ context.Context, eventID int64, to []string) error {
	q.mail = append(q.mail, queuedMail{EventID: eventID, To: slices.Clone(to)})
	return nil
}

// jobs are the delivery jobs asked for, as the job engine keeps them: one per (endpoint, event).
func (q *fakeQueue) jobs() []string {
	var out []string
	for _, d := range q.deliveries {
		out = append(out, fmt.Sprintf("%s/%d", d.EndpointID, d.EventID))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// fakeMailer records the mail it sends.
type fakeMailer struct{ sent []notify.Mail }

func (m *fakeMailer) Send(_ context.Context, mail notify.Mail) error {
	m.sent = append(m.sent, mail)
	return nil
}

// fixture is the notifications of a reseller with two customers, over the in-memory store.
type fixture struct {
	t        *testing.T
	ctx      context.Context
	clk      *testclock.Clock
	st       *store.Memory
	sender   *fakeSender
	queue    *fakeQueue
	mailer   *fakeMailer
	notifier *notify.Notifier
	webhooks *notify.Webhooks
	eps      map[string]notify.WebhookEndpoint // by name
}

// The callers.
var (
	manager = invite.Principal{Subject: "alice", Email: "alice@acme.example", CustomerID: "acme",
		Permissions: []string{invite.PermissionLicensesManager}, BillingProfiles: []string{"acme-main", "acme-other"}}
	reader = invite.Principal{Subject: "bob", Email: "bob@acme.example", CustomerID: "acme", BillingProfiles: []string{"acme-main"}}
	admin  = invite.Principal{Subject: "ops", Email: "ops@reseller.example", Roles: []string{invite.RolePlatformAdmin}}
)

// inviter is who sent the invites: the address is written as the user typed it.
var inviter = invite.Actor{Kind: invite.ActorUser, Subject: "alice", Email: " Alice@Acme.example"}

func newFixture(t *testing.T, withMailer bool) *fixture {
	t.Helper()
	clk := testclock.New(start)
	f := &fixture{t: t, ctx: context.Background(), clk: clk, st: store.NewMemory(clk), sender: &fakeSender{clk: clk},
		queue: &fakeQueue{}, eps: map[string]notify.WebhookEndpoint{}}
	var mailer notify.Mailer
	if withMailer {
		f.mailer = &fakeMailer{}
		mailer = f.mailer
	}
	f.notifier = notify.NewNotifier(f.st, clk, f.st, f.sender, f.queue, mailer)
	f.webhooks = notify.NewWebhooks(f.st, clk, f.st, f.sender, f.queue)
	for _, bp := range []invite.BillingProfile{
		{ID: "acme-main", CustomerID: "acme", Name: "Acme main", ManagementAccountID: "111111111111"},
		{ID: "acme-other", CustomerID: "acme", Name: "Acme other", ManagementAccountID: "111111111111"},
		{ID: "globex", CustomerID: "globex", Name: "Globex", ManagementAccountID: "222222222222"},
	} {
		if _, _, err := f.st.PutBillingProfile(f.ctx, bp); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// endpoint adds an endpoint through the use case, under a name the test knows it by.
func (f *fixture) endpoint(name string, p invite.Principal, profile string, enabled bool, events ...invite.EventType) notify.WebhookEndpoint {
	f.t.Helper()
	url := "https://hooks.example.com/" + name
	ep, err := f.webhooks.Create(f.ctx, p, profile, notify.EndpointInput{URL: &url, Events: &events, Enabled: &enabled})
	if err != nil {
		f.t.Fatalf("create endpoint %s: %v", name, err)
	}
	f.eps[name] = ep
	return ep
}

// standardEndpoints are the endpoints of the dispatch cases.
func (f *fixture) standardEndpoints() {
	f.endpoint("all", manager, "acme-main", true)
	f.endpoint("accepted-only", manager, "acme-main", true, invite.EventAccepted)
	f.endpoint("disabled", manager, "acme-main", false)
	f.endpoint("other-profile", manager, "acme-other", true)
	f.endpoint("reseller-wide", admin, "", true, invite.EventAccepted)
}

// invite writes a new invite of the billing profile with its invite.created event, as the domain does.
func (f *fixture) invite(profile, account string) (invite.Invite, invite.Event) {
	f.t.Helper()
	inv := invite.Invite{ID: "inv-" + account, Kind: invite.InviteJoin, BillingProfileID: profile, AccountID: account,
		State: invite.StateInvited, InvitedBy: inviter, CreatedAt: f.clk.Now(), UpdatedAt: f.clk.Now(), LastSentAt: f.clk.Now(), Version: 1}
	err := f.st.CreateInvite(f.ctx, inv, invite.Event{Type: invite.EventCreated, Actor: inviter, To: invite.StateInvited, Reason: "invited"})
	if err != nil {
		f.t.Fatal(err)
	}
	return f.lastEvent(inv)
}

// change moves an invite to another state with an event of the type.
func (f *fixture) change(inv invite.Invite, to invite.State, typ invite.EventType, reason string) (invite.Invite, invite.Event) {
	f.t.Helper()
	from := inv.State
	inv.State, inv.UpdatedAt = to, f.clk.Now()
	inv, err := f.st.UpdateInvite(f.ctx, inv, invite.Event{Type: typ, Actor: invite.Actor{Kind: invite.ActorReconciliation},
		From: from, To: to, Reason: reason})
	if err != nil {
		f.t.Fatal(err)
	}
	return f.lastEvent(inv)
}

func (f *fixture) lastEvent(inv invite.Invite) (invite.Invite, invite.Event) {
	f.t.Helper()
	stored, err := f.st.Invite(f.ctx, inv.BillingProfileID, inv.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	evs, err := f.st.Events(f.ctx, inv.BillingProfileID, inv.ID)
	if err != nil || len(evs) == 0 {
		f.t.Fatalf("the invite's events: %v %v", evs, err)
	}
	return stored, evs[len(evs)-1]
}

func (f *fixture) dispatch(ev invite.Event) {
	f.t.Helper()
	if err := f.notifier.Dispatch(f.ctx, ev.ID); err != nil {
		f.t.Fatalf("dispatch event %d: %v", ev.ID, err)
	}
}

// deliveries returns an endpoint's deliveries as its owner lists them, newest first.
func (f *fixture) deliveries(name string) []notify.Delivery {
	f.t.Helper()
	ep := f.eps[name]
	p := manager
	if ep.BillingProfileID == "" {
		p = admin
	}
	ds, _, err := f.webhooks.Deliveries(f.ctx, p, ep.BillingProfileID, ep.ID, 100, "")
	if err != nil {
		f.t.Fatal(err)
	}
	return ds
}

// endpointNow returns an endpoint as it is stored now.
func (f *fixture) endpointNow(name string) notify.WebhookEndpoint {
	f.t.Helper()
	ep, err := f.st.EndpointByID(f.ctx, f.eps[name].ID)
	if err != nil {
		f.t.Fatal(err)
	}
	return ep
}

func TestDispatch(t *testing.T) {
	for _, tc := range []struct {
		name       string
		profile    string
		to         invite.State // the state the event moves the invite to; empty: its creation
		typ        invite.EventType
		noMailer   bool
		endpoints  []string // who receives the event
		mailTo     []string // who is emailed; nil: no one
		recipients notify.NotificationSettings
	}{
		{name: "a creation reaches the endpoints of the profile that want it; it is not emailed", profile: "acme-main",
			typ: invite.EventCreated, endpoints: []string{"all"}},
		{name: "an acceptance reaches the profile's and the reseller-wide endpoints, and is emailed to the sender and the recipients",
			profile: "acme-main", to: invite.StateAccepted, typ: invite.EventAccepted,
			endpoints: []string{"accepted-only", "all", "reseller-wide"}, mailTo: []string{"alice@acme.example", "ops@acme.example"}},
		{name: "recipients who want other types are not emailed", profile: "acme-main", to: invite.StateAccepted, typ: invite.EventAccepted,
			recipients: notify.NotificationSettings{Recipients: []string{"ops@acme.example"}, Events: []invite.EventType{invite.EventExpired}},
			endpoints:  []string{"accepted-only", "all", "reseller-wide"}, mailTo: []string{"alice@acme.example"}},
		{name: "a decline is emailed", profile: "acme-main", to: invite.StateDeclined, typ: invite.EventDeclined,
			endpoints: []string{"all"}, mailTo: []string{"alice@acme.example", "ops@acme.example"}},
		{name: "a joined account is not emailed", profile: "acme-main", to: invite.StateAwaitingCUR, typ: invite.EventJoined,
			endpoints: []string{"all"}},
		{name: "without a mailer nothing is emailed", profile: "acme-main", to: invite.StateAccepted, typ: invite.EventAccepted, noMailer: true,
			endpoints: []string{"accepted-only", "all", "reseller-wide"}},
		{name: "another profile's event reaches its endpoint and the reseller-wide one", profile: "acme-other", to: invite.StateAccepted,
			typ: invite.EventAccepted, endpoints: []string{"other-profile", "reseller-wide"}, mailTo: []string{"alice@acme.example"}},
		{name: "another customer's event reaches the reseller-wide endpoint only", profile: "globex", to: invite.StateAccepted,
			typ: invite.EventAccepted, endpoints: []string{"reseller-wide"}, mailTo: []string{"alice@acme.example"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, !tc.noMailer)
			f.standardEndpoints()
			ns := tc.recipients
			if ns.Recipients == nil {
				ns.Recipients = []string{"ops@acme.example", "alice@acme.example"} // the sender too: emailed once
			}
			ns.BillingProfileID = "acme-main"
			if _, err := f.webhooks.PutNotifications(f.ctx, manager, ns); err != nil {
				t.Fatal(err)
			}
			inv, ev := f.invite(tc.profile, "123456789012")
			if tc.to != "" {
				f.clk.Advance(time.Hour)
				_, ev = f.change(inv, tc.to, tc.typ, "the account's owner answered")
			}
			f.dispatch(ev)

			stored := map[string]notify.Delivery{}
			var got []string
			for name, ep := range f.eps {
				d, err := f.st.Delivery(f.ctx, ep.ID, ev.ID)
				if invite.IsCode(err, invite.CodeNotFound) {
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				got, stored[ep.ID] = append(got, name), d
				if d.State != notify.DeliveryPending || d.EventType != tc.typ || d.PublicID != ev.PublicID || d.InviteID != inv.ID ||
					!d.CreatedAt.Equal(f.clk.Now()) {
					t.Errorf("the delivery to %s: %+v", name, d)
				}
			}
			slices.Sort(got)
			if !reflect.DeepEqual(got, tc.endpoints) {
				t.Errorf("delivered to %v, want %v", got, tc.endpoints)
			}
			if len(f.queue.deliveries) != len(stored) {
				t.Errorf("%d deliveries enqueued, %d stored", len(f.queue.deliveries), len(stored))
			}
			for _, d := range f.queue.deliveries {
				if s, ok := stored[d.EndpointID]; !ok || s.ID != d.ID || d.EventID != ev.ID {
					t.Errorf("enqueued %+v, stored %+v", d, s)
				}
			}
			var wantMail []queuedMail
			if tc.mailTo != nil {
				wantMail = []queuedMail{{EventID: ev.ID, To: tc.mailTo}}
			}
			if !reflect.DeepEqual(f.queue.mail, wantMail) {
				t.Errorf("mail enqueued %+v, want %+v", f.queue.mail, wantMail)
			}

			// Dispatched again (a retried job), it stores nothing new and asks for no other job.
			jobs := f.queue.jobs()
			f.dispatch(ev)
			for _, ep := range f.eps {
				before, had := stored[ep.ID]
				d, err := f.st.Delivery(f.ctx, ep.ID, ev.ID)
				if (had && (err != nil || !reflect.DeepEqual(d, before))) || (!had && err == nil) {
					t.Errorf("after a second dispatch, the delivery to %s: %+v %v, was %+v", ep.ID, d, err, before)
				}
			}
			if again := f.queue.jobs(); !reflect.DeepEqual(again, jobs) {
				t.Errorf("delivery jobs after a second dispatch %v, want %v", again, jobs)
			}
			for _, m := range f.queue.mail {
				if !reflect.DeepEqual([]queuedMail{m}, wantMail) {
					t.Errorf("mail asked for after a second dispatch %+v, want only %+v", m, wantMail)
				}
			}
		})
	}
}

// TestDispatchReachesNoOneFor: a test event is delivered only by the use case that sends it; a history line
// without a type is nobody's news.
func TestDispatchReachesNoOneFor(t *testing.T) {
	for _, tc := range []struct {
		name  string
		event func(f *fixture) invite.Event
	}{
		{"a test event", func(f *fixture) invite.Event {
			ev, err := f.st.WriteTestEvent(f.ctx, invite.Event{PublicID: "evt-test", Type: invite.EventTest, BillingProfileID: "acme-main",
				At: f.clk.Now(), Actor: manager.Actor(), Reason: "a test"})
			if err != nil {
				t.Fatal(err)
			}
			return ev
		}},
		{"a history line", func(f *fixture) invite.Event {
			inv := invite.Invite{ID: "inv-quiet", Kind: invite.InviteJoin, BillingProfileID: "acme-main", AccountID: "123456789012",
				State: invite.StateInvited, InvitedBy: inviter, Version: 1}
			if err := f.st.CreateInvite(f.ctx, inv, invite.Event{Actor: inviter, To: invite.StateInvited, Reason: "reserved"}); err != nil {
				t.Fatal(err)
			}
			_, ev := f.lastEvent(inv)
			return ev
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, true)
			f.standardEndpoints()
			f.dispatch(tc.event(f))
			if len(f.queue.deliveries) != 0 || len(f.queue.mail) != 0 || len(f.deliveries("all")) != 0 {
				t.Errorf("enqueued %+v and %+v", f.queue.deliveries, f.queue.mail)
			}
		})
	}
	f := newFixture(t, true)
	if err := f.notifier.Dispatch(f.ctx, 999); !invite.IsCode(err, invite.CodeNotFound) {
		t.Errorf("a missing event: %v", err)
	}
}

func TestDeliver(t *testing.T) {
	for _, tc := range []struct {
		name    string
		answer  func(*testclock.Clock) notify.DeliveryAttempt
		final   bool
		wantErr error
		state   notify.DeliveryState
		failing bool // the endpoint is failing since the attempt
	}{
		{"an OK answer delivers", ok, false, nil, notify.DeliveryDelivered, false},
		{"a 500 leaves it pending for another attempt", serverError, false, notify.ErrAttemptFailed, notify.DeliveryPending, true},
		{"a timeout leaves it pending for another attempt", timeout, false, notify.ErrAttemptFailed, notify.DeliveryPending, true},
		{"a 500 on the final attempt gives it up", serverError, true, nil, notify.DeliveryFailed, true},
		{"a timeout on the final attempt gives it up", timeout, true, nil, notify.DeliveryFailed, true},
		{"an OK answer on the final attempt delivers", ok, true, nil, notify.DeliveryDelivered, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, true)
			ep := f.endpoint("all", manager, "acme-main", true)
			_, ev := f.invite("acme-main", "123456789012")
			f.dispatch(ev)
			f.clk.Advance(time.Minute)
			want := tc.answer(f.clk)
			f.sender.answer = func() notify.DeliveryAttempt { return want }

			err := f.notifier.Deliver(f.ctx, ep.ID, ev.ID, tc.final)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("deliver: %v, want %v", err, tc.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), want.Error) {
				t.Errorf("the error does not say what failed: %v", err)
			}
			wantSent := []sent{{URL: "https://hooks.example.com/all", Secrets: []string{ep.Secret}, Event: ev}}
			if !reflect.DeepEqual(f.sender.sent, wantSent) {
				t.Errorf("sent %+v, want %+v", f.sender.sent, wantSent)
			}
			ds := f.deliveries("all")
			if len(ds) != 1 || ds[0].State != tc.state || !reflect.DeepEqual(ds[0].Attempts, []notify.DeliveryAttempt{want}) {
				t.Fatalf("the delivery: %+v, want %s with the attempt %+v", ds, tc.state, want)
			}
			wantFailing := time.Time{}
			if tc.failing {
				wantFailing = f.clk.Now()
			}
			if now := f.endpointNow("all"); !now.Enabled || !now.FailingSince.Equal(wantFailing) {
				t.Errorf("the endpoint: enabled %v, failing since %s; want %s", now.Enabled, now.FailingSince, wantFailing)
			}

			// Once delivered or given up, a late job sends nothing.
			if tc.state != notify.DeliveryPending {
				if err := f.notifier.Deliver(f.ctx, ep.ID, ev.ID, false); err != nil || len(f.sender.sent) != 1 {
					t.Errorf("a delivery done was sent again: %v, %d sent", err, len(f.sender.sent))
				}
			}
		})
	}
}

// TestDeliverToAnEndpointSwitchedOff: a delivery to an endpoint disabled or removed since the event is not sent.
func TestDeliverToAnEndpointSwitchedOff(t *testing.T) {
	f := newFixture(t, true)
	f.standardEndpoints()
	ep := f.eps["all"]
	_, ev := f.invite("acme-main", "123456789012")
	f.dispatch(ev)
	off := false
	if _, err := f.webhooks.Update(f.ctx, manager, "acme-main", ep.ID, notify.EndpointInput{Enabled: &off}); err != nil {
		t.Fatal(err)
	}
	if err := f.notifier.Deliver(f.ctx, ep.ID, ev.ID, false); err != nil {
		t.Fatal(err)
	}
	ds := f.deliveries("all")
	if len(f.sender.sent) != 0 || len(ds) != 1 || ds[0].State != notify.DeliveryFailed || len(ds[0].Attempts) != 1 ||
		ds[0].Attempts[0].Error != "the endpoint is disabled" {
		t.Errorf("a delivery to a disabled endpoint: %+v, %d sent", ds, len(f.sender.sent))
	}
	if now := f.endpointNow("all"); !now.FailingSince.IsZero() {
		t.Errorf("an attempt never made counts as a failure of the endpoint: %+v", now)
	}

	gone := f.eps["accepted-only"]
	_, accepted := f.change(mustInvite(t, f, "acme-main", ev.InviteID), invite.StateAccepted, invite.EventAccepted, "accepted")
	f.dispatch(accepted)
	if err := f.webhooks.Delete(f.ctx, manager, "acme-main", gone.ID); err != nil {
		t.Fatal(err)
	}
	// The delivery went with the endpoint: whatever Deliver answers the job, nothing is sent.
	_ = f.notifier.Deliver(f.ctx, gone.ID, accepted.ID, false)
	if len(f.sender.sent) != 0 {
		t.Errorf("a delivery to a removed endpoint was sent: %+v", f.sender.sent)
	}
}

func mustInvite(t *testing.T, f *fixture, profile, id string) invite.Invite {
	t.Helper()
	inv, err := f.st.Invite(f.ctx, profile, id)
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

// TestEndpointDisabledAfterFailing: an endpoint whose every attempt fails for DisableAfterFailing is disabled,
// says why, and receives nothing more until it is enabled again, which starts it afresh; a success in between
// ends the streak.
func TestEndpointDisabledAfterFailing(t *testing.T) {
	f := newFixture(t, true)
	ep := f.endpoint("all", manager, "acme-main", true)
	_, ev := f.invite("acme-main", "123456789012")
	f.dispatch(ev)
	f.sender.answer = func() notify.DeliveryAttempt { return serverError(f.clk) }
	attempt := func(want error) {
		t.Helper()
		if err := f.notifier.Deliver(f.ctx, ep.ID, ev.ID, false); !errors.Is(err, want) || (want == nil) != (err == nil) {
			t.Fatalf("deliver: %v, want %v", err, want)
		}
	}

	// A success in between ends the streak.
	attempt(notify.ErrAttemptFailed)
	f.clk.Advance(4 * 24 * time.Hour)
	f.sender.answer = nil
	_, other := f.invite("acme-main", "210987654321")
	f.dispatch(other)
	if err := f.notifier.Deliver(f.ctx, ep.ID, other.ID, false); err != nil {
		t.Fatal(err)
	}
	if now := f.endpointNow("all"); !now.FailingSince.IsZero() {
		t.Fatalf("a success left the endpoint failing since %s", now.FailingSince)
	}

	f.sender.answer = func() notify.DeliveryAttempt { return serverError(f.clk) }
	f.clk.Advance(2 * 24 * time.Hour)
	since := f.clk.Now()
	attempt(notify.ErrAttemptFailed)
	f.clk.Advance(notify.DisableAfterFailing - time.Minute)
	attempt(notify.ErrAttemptFailed)
	if now := f.endpointNow("all"); !now.Enabled || !now.FailingSince.Equal(since) {
		t.Fatalf("failing for less than %s: %+v", notify.DisableAfterFailing, now)
	}
	f.clk.Advance(time.Minute)
	attempt(notify.ErrAttemptFailed)
	got, err := f.webhooks.Get(f.ctx, manager, "acme-main", ep.ID)
	if err != nil || got.Enabled || !strings.Contains(got.DisabledReason, "failed") ||
		!strings.Contains(got.DisabledReason, "receiver answered 500") || !strings.Contains(got.DisabledReason, since.Format(time.RFC3339)) {
		t.Fatalf("after failing for %s: %+v %v", notify.DisableAfterFailing, got, err)
	}

	// Disabled, it is not tried again, and new events pass it by.
	sentBefore := len(f.sender.sent)
	attempt(nil)
	if ds := f.deliveries("all"); len(f.sender.sent) != sentBefore || ds[len(ds)-1].State != notify.DeliveryFailed {
		t.Errorf("the disabled endpoint was tried: %d sent, deliveries %+v", len(f.sender.sent)-sentBefore, ds)
	}
	_, third := f.invite("acme-main", "333333333333")
	f.dispatch(third)
	if _, err := f.st.Delivery(f.ctx, ep.ID, third.ID); !invite.IsCode(err, invite.CodeNotFound) {
		t.Errorf("a disabled endpoint got a new event: %v", err)
	}

	on := true
	again, err := f.webhooks.Update(f.ctx, manager, "acme-main", ep.ID, notify.EndpointInput{Enabled: &on})
	if err != nil || !again.Enabled || again.DisabledReason != "" || !again.FailingSince.IsZero() {
		t.Errorf("enabled again: %+v %v", again, err)
	}
}

// TestDeliveryOrder: per endpoint and invite, an event waits while an earlier one is pending, whatever its
// attempts; another invite's events, and other endpoints, do not wait for it.
func TestDeliveryOrder(t *testing.T) {
	for _, tc := range []struct {
		name    string
		earlier func(*testclock.Clock) notify.DeliveryAttempt // the earlier event's last attempt
		final   bool
		state   notify.DeliveryState
	}{
		{"the earlier event delivered", ok, false, notify.DeliveryDelivered},
		{"the earlier event given up", timeout, true, notify.DeliveryFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, true)
			f.standardEndpoints()
			all, wide := f.eps["all"], f.eps["reseller-wide"]
			inv, created := f.invite("acme-main", "123456789012")
			f.clk.Advance(time.Minute)
			_, accepted := f.change(inv, invite.StateAccepted, invite.EventAccepted, "accepted")
			_, other := f.invite("acme-main", "210987654321")
			for _, ev := range []invite.Event{created, accepted, other} {
				f.dispatch(ev)
			}

			if err := f.notifier.Deliver(f.ctx, all.ID, accepted.ID, false); !errors.Is(err, notify.ErrEarlierPending) {
				t.Fatalf("the later event went first: %v", err)
			}
			if err := f.notifier.Deliver(f.ctx, wide.ID, accepted.ID, false); err != nil {
				t.Errorf("another endpoint waits for this one: %v", err)
			}
			if err := f.notifier.Deliver(f.ctx, all.ID, other.ID, false); err != nil {
				t.Errorf("another invite's event waits: %v", err)
			}
			f.sender.answer = func() notify.DeliveryAttempt { return serverError(f.clk) }
			if err := f.notifier.Deliver(f.ctx, all.ID, created.ID, false); !errors.Is(err, notify.ErrAttemptFailed) {
				t.Fatalf("the earlier event's failed attempt: %v", err)
			}
			if err := f.notifier.Deliver(f.ctx, all.ID, accepted.ID, false); !errors.Is(err, notify.ErrEarlierPending) {
				t.Errorf("the later event went while the earlier one is still pending: %v", err)
			}
			f.sender.answer = func() notify.DeliveryAttempt { return tc.earlier(f.clk) }
			if err := f.notifier.Deliver(f.ctx, all.ID, created.ID, tc.final); err != nil {
				t.Fatal(err)
			}
			f.sender.answer = nil
			if err := f.notifier.Deliver(f.ctx, all.ID, accepted.ID, false); err != nil {
				t.Fatalf("the later event after the earlier one ended: %v", err)
			}

			var order []string
			for _, s := range f.sender.sent {
				if s.URL == "https://hooks.example.com/all" {
					order = append(order, s.Event.PublicID)
				}
			}
			if want := []string{other.PublicID, created.PublicID, created.PublicID, accepted.PublicID}; !reflect.DeepEqual(order, want) {
				t.Errorf("sent to the endpoint in the order %v, want %v", order, want)
			}
			ds := f.deliveries("all") // newest first: other, accepted, created
			if len(ds) != 3 || ds[2].State != tc.state || len(ds[2].Attempts) != 2 || ds[1].State != notify.DeliveryDelivered || len(ds[1].Attempts) != 1 {
				t.Errorf("the endpoint's deliveries: %+v", ds)
			}
		})
	}
}

func TestSendMail(t *testing.T) {
	for _, tc := range []struct {
		typ      invite.EventType
		to       invite.State
		headline string
	}{
		{invite.EventAccepted, invite.StateAccepted, "accepted the invitation"},
		{invite.EventDeclined, invite.StateDeclined, "declined the invitation"},
		{invite.EventExpired, invite.StateExpired, "did not answer: the invitation expired"},
		{invite.EventCloudHealthCritical, invite.StateCloudHealthCritical, "needs attention: CloudHealth cannot read it"},
	} {
		t.Run(string(tc.typ), func(t *testing.T) {
			f := newFixture(t, true)
			inv, _ := f.invite("acme-main", "123456789012")
			f.clk.Advance(90 * time.Minute)
			inv, ev := f.change(inv, tc.to, tc.typ, "the owner said <no> & left")
			to := []string{"alice@acme.example", "ops@acme.example"}
			if err := f.notifier.SendMail(f.ctx, ev.ID, to); err != nil {
				t.Fatal(err)
			}
			if len(f.mailer.sent) != 1 {
				t.Fatalf("%d mails sent", len(f.mailer.sent))
			}
			m := f.mailer.sent[0]
			if want := "AWS account 123456789012 " + tc.headline; m.Subject != want || !reflect.DeepEqual(m.To, to) {
				t.Errorf("mail to %v, subject %q; want %q", m.To, m.Subject, want)
			}
			for _, want := range []string{"AWS account 123456789012 " + tc.headline + ".", "Billing profile: Acme main (acme-main)",
				"What happened: the owner said <no> & left", "When: 2026-11-26 11:00 UTC"} {
				if !strings.Contains(m.Text, want) {
					t.Errorf("the text does not say %q:\n%s", want, m.Text)
				}
			}
			steps := invite.NextSteps(inv, f.clk.Now())
			if strings.Contains(m.Text, "What to do next:") != (len(steps) > 0) {
				t.Errorf("the next steps (%d) in the text:\n%s", len(steps), m.Text)
			}
			for _, s := range steps {
				if !strings.Contains(m.Text, "- "+s.Title+": ") {
					t.Errorf("the text does not list the step %q:\n%s", s.Title, m.Text)
				}
			}
			for _, want := range []string{"<strong>AWS account 123456789012 " + tc.headline + ".</strong>",
				"<td>Acme main (acme-main)</td>", "the owner said &lt;no&gt; &amp; left"} {
				if !strings.Contains(m.HTML, want) {
					t.Errorf("the HTML does not say %q:\n%s", want, m.HTML)
				}
			}
		})
	}

	f := newFixture(t, false)
	_, ev := f.invite("acme-main", "123456789012")
	if err := f.notifier.SendMail(f.ctx, ev.ID, []string{"alice@acme.example"}); err != nil {
		t.Errorf("without a mailer: %v", err)
	}
	f = newFixture(t, true)
	if err := f.notifier.SendMail(f.ctx, 999, []string{"alice@acme.example"}); !invite.IsCode(err, invite.CodeNotFound) || len(f.mailer.sent) != 0 {
		t.Errorf("the mail of a missing event: %v, %d sent", err, len(f.mailer.sent))
	}
}

func TestWebhooksCreate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		p       invite.Principal
		profile string
		url     string
		events  []invite.EventType
		code    invite.Code // empty: created
	}{
		{"a licenses manager adds a profile's endpoint", manager, "acme-main", "https://hooks.example.com/a", nil, ""},
		{"with the types it wants", manager, "acme-main", " https://hooks.example.com/a ", []invite.EventType{invite.EventExpired, invite.EventAccepted, invite.EventExpired}, ""},
		{"a platform administrator adds a reseller-wide endpoint", admin, "", "https://hooks.example.com/a", nil, ""},
		{"a reader may not", reader, "acme-main", "https://hooks.example.com/a", nil, invite.CodeForbidden},
		{"another customer's profile is not found", manager, "globex", "https://hooks.example.com/a", nil, invite.CodeNotFound},
		{"a licenses manager may not add a reseller-wide one", manager, "", "https://hooks.example.com/a", nil, invite.CodeForbidden},
		{"a URL that is not http(s)", manager, "acme-main", "ftp://hooks.example.com/a", nil, invite.CodeValidationFailed},
		{"a URL with credentials", manager, "acme-main", "https://user:pw@hooks.example.com/a", nil, invite.CodeValidationFailed},
		{"a URL the sender must not call", manager, "acme-main", "https://10.0.0.1/a", nil, invite.CodeWebhookURLRefused},
		{"webhook.test is not a type to subscribe to", manager, "acme-main", "https://hooks.example.com/a", []invite.EventType{invite.EventTest}, invite.CodeValidationFailed},
		{"an unknown type", manager, "acme-main", "https://hooks.example.com/a", []invite.EventType{"invite.exploded"}, invite.CodeValidationFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, true)
			in := notify.EndpointInput{URL: &tc.url}
			if tc.events != nil {
				in.Events = &tc.events
			}
			ep, err := f.webhooks.Create(f.ctx, tc.p, tc.profile, in)
			if tc.code != "" {
				if !invite.IsCode(err, tc.code) {
					t.Fatalf("create: %v, want %s", err, tc.code)
				}
				if eps, _ := f.st.Endpoints(f.ctx, tc.profile); len(eps) != 0 {
					t.Errorf("a refused endpoint was stored: %+v", eps)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			wantEvents := slices.Compact(slices.Sorted(slices.Values(tc.events)))
			if !strings.HasPrefix(ep.Secret, "whsec_") || !ep.Enabled || ep.URL != "https://hooks.example.com/a" ||
				!reflect.DeepEqual(ep.Events, wantEvents) || ep.CreatedBy != tc.p.Actor() || !ep.CreatedAt.Equal(start) {
				t.Errorf("created: %+v", ep)
			}
			// The secret is shown once: reads leave it out.
			got, err := f.webhooks.Get(f.ctx, tc.p, tc.profile, ep.ID)
			want := ep
			want.Secret = ""
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("read back:\n got  %+v %v\n want %+v", got, err, want)
			}
			list, err := f.webhooks.List(f.ctx, tc.p, tc.profile)
			if err != nil || len(list) != 1 || !reflect.DeepEqual(list[0], want) {
				t.Errorf("listed: %+v %v", list, err)
			}
		})
	}
}

// TestWebhooksManage: who may read and change an endpoint, its rotation, its test event and its removal.
func TestWebhooksManage(t *testing.T) {
	f := newFixture(t, true)
	ep := f.endpoint("all", manager, "acme-main", true)
	for _, tc := range []struct {
		name string
		p    invite.Principal
		do   func(p invite.Principal) error
		code invite.Code
	}{
		{"a reader reads", reader, func(p invite.Principal) error { _, err := f.webhooks.Get(f.ctx, p, "acme-main", ep.ID); return err }, ""},
		{"a reader lists deliveries", reader, func(p invite.Principal) error {
			_, _, err := f.webhooks.Deliveries(f.ctx, p, "acme-main", ep.ID, 0, "")
			return err
		}, ""},
		{"a reader may not change", reader, func(p invite.Principal) error {
			_, err := f.webhooks.Update(f.ctx, p, "acme-main", ep.ID, notify.EndpointInput{})
			return err
		}, invite.CodeForbidden},
		{"a reader may not send a test", reader, func(p invite.Principal) error {
			_, err := f.webhooks.SendTest(f.ctx, p, "acme-main", ep.ID)
			return err
		}, invite.CodeForbidden},
		{"under another profile it is not found", manager, func(p invite.Principal) error { _, err := f.webhooks.Get(f.ctx, p, "acme-other", ep.ID); return err }, invite.CodeNotFound},
		{"another customer does not see it", invite.Principal{CustomerID: "globex", BillingProfiles: []string{"acme-main"}},
			func(p invite.Principal) error { _, err := f.webhooks.Get(f.ctx, p, "acme-main", ep.ID); return err }, invite.CodeNotFound},
		{"a caller not assigned to the profile", invite.Principal{CustomerID: "acme", BillingProfiles: []string{"acme-other"}},
			func(p invite.Principal) error { _, err := f.webhooks.List(f.ctx, p, "acme-main"); return err }, invite.CodeNotAssigned},
		{"a platform administrator reads any", admin, func(p invite.Principal) error { _, err := f.webhooks.Get(f.ctx, p, "acme-main", ep.ID); return err }, ""},
	} {
		if err := tc.do(tc.p); (tc.code == "" && err != nil) || (tc.code != "" && !invite.IsCode(err, tc.code)) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.code)
		}
	}

	// A rotation: both secrets sign for SecretOverlap, then only the new one.
	rotated, err := f.webhooks.RotateSecret(f.ctx, manager, "acme-main", ep.ID)
	if err != nil || rotated.Secret == ep.Secret || !strings.HasPrefix(rotated.Secret, "whsec_") || rotated.PreviousSecret != "" {
		t.Fatalf("rotate: %+v %v", rotated, err)
	}
	inv, created := f.invite("acme-main", "123456789012")
	f.dispatch(created)
	if err := f.notifier.Deliver(f.ctx, ep.ID, created.ID, false); err != nil {
		t.Fatal(err)
	}
	f.clk.Advance(notify.SecretOverlap)
	_, accepted := f.change(inv, invite.StateAccepted, invite.EventAccepted, "accepted")
	f.dispatch(accepted)
	if err := f.notifier.Deliver(f.ctx, ep.ID, accepted.ID, false); err != nil {
		t.Fatal(err)
	}
	if len(f.sender.sent) != 2 || !reflect.DeepEqual(f.sender.sent[0].Secrets, []string{rotated.Secret, ep.Secret}) ||
		!reflect.DeepEqual(f.sender.sent[1].Secrets, []string{rotated.Secret}) {
		t.Errorf("signed with %+v", f.sender.sent)
	}

	// A test event reaches this endpoint only, as any event: stored, enqueued, delivered, listed.
	f.endpoint("other", manager, "acme-main", true)
	enqueued := len(f.queue.deliveries)
	d, err := f.webhooks.SendTest(f.ctx, manager, "acme-main", ep.ID)
	if err != nil || d.EventType != invite.EventTest || d.EndpointID != ep.ID || d.State != notify.DeliveryPending {
		t.Fatalf("send a test: %+v %v", d, err)
	}
	if got := f.queue.deliveries[enqueued:]; len(got) != 1 || got[0].ID != d.ID {
		t.Errorf("enqueued for the test: %+v", got)
	}
	f.dispatch(invite.Event{ID: d.EventID})
	if len(f.queue.deliveries) != enqueued+1 || len(f.deliveries("other")) != 0 {
		t.Errorf("the test event was dispatched to other endpoints: %+v", f.queue.deliveries[enqueued:])
	}
	if err := f.notifier.Deliver(f.ctx, ep.ID, d.EventID, false); err != nil {
		t.Fatal(err)
	}
	last := f.sender.sent[len(f.sender.sent)-1]
	if last.Event.Type != invite.EventTest || last.Event.PublicID != d.PublicID || !strings.Contains(last.Event.Reason, ep.ID) {
		t.Errorf("the test event sent: %+v", last.Event)
	}
	ds := f.deliveries("all")
	if len(ds) != 3 || ds[0].ID != d.ID || ds[0].State != notify.DeliveryDelivered || len(ds[0].Attempts) != 1 {
		t.Errorf("the endpoint's deliveries, newest first: %+v", ds)
	}
	page, next, err := f.webhooks.Deliveries(f.ctx, manager, "acme-main", ep.ID, 2, "")
	if err != nil || len(page) != 2 || next != page[1].ID {
		t.Fatalf("a page of 2: %+v %q %v", page, next, err)
	}
	if rest, next, err := f.webhooks.Deliveries(f.ctx, manager, "acme-main", ep.ID, 2, next); err != nil || len(rest) != 1 || rest[0].EventID != created.ID || next != "" {
		t.Errorf("the next page: %+v %q %v", rest, next, err)
	}

	// Removed, it is gone with its deliveries.
	if err := f.webhooks.Delete(f.ctx, manager, "acme-main", ep.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.webhooks.Get(f.ctx, manager, "acme-main", ep.ID); !invite.IsCode(err, invite.CodeNotFound) {
		t.Errorf("the removed endpoint: %v", err)
	}
	if _, _, err := f.webhooks.Deliveries(f.ctx, manager, "acme-main", ep.ID, 0, ""); !invite.IsCode(err, invite.CodeNotFound) {
		t.Errorf("the removed endpoint's deliveries: %v", err)
	}
}

func TestNotificationSettings(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   notify.NotificationSettings
		want notify.NotificationSettings // zero BillingProfileID: refused with code
		code invite.Code
	}{
		{"addresses are kept lower-case, sorted, once",
			notify.NotificationSettings{Recipients: []string{"Ops@Acme.example", "fin@acme.example", "ops@acme.example"}, Events: []invite.EventType{invite.EventAccepted}},
			notify.NotificationSettings{BillingProfileID: "acme-main", Recipients: []string{"fin@acme.example", "ops@acme.example"}, Events: []invite.EventType{invite.EventAccepted}}, ""},
		{"no types: every one sent by email", notify.NotificationSettings{Recipients: []string{"ops@acme.example"}},
			notify.NotificationSettings{BillingProfileID: "acme-main", Recipients: []string{"ops@acme.example"}}, ""},
		{"not an address", notify.NotificationSettings{Recipients: []string{"not an address"}}, notify.NotificationSettings{}, invite.CodeValidationFailed},
		{"an address with a name", notify.NotificationSettings{Recipients: []string{"Ops <ops@acme.example>"}}, notify.NotificationSettings{}, invite.CodeValidationFailed},
		{"a type not sent by email", notify.NotificationSettings{Events: []invite.EventType{invite.EventCreated}}, notify.NotificationSettings{}, invite.CodeValidationFailed},
		{"too many recipients", notify.NotificationSettings{Recipients: manyAddresses(notify.MaxRecipients + 1)}, notify.NotificationSettings{}, invite.CodeValidationFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, true)
			tc.in.BillingProfileID = "acme-main"
			got, err := f.webhooks.PutNotifications(f.ctx, manager, tc.in)
			if tc.code != "" {
				if !invite.IsCode(err, tc.code) {
					t.Errorf("put: %v, want %s", err, tc.code)
				}
				if ns, _ := f.webhooks.Notifications(f.ctx, reader, "acme-main"); ns.Recipients != nil {
					t.Errorf("refused settings were stored: %+v", ns)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("put:\n got  %+v %v\n want %+v", got, err, tc.want)
			}
			if ns, err := f.webhooks.Notifications(f.ctx, reader, "acme-main"); err != nil || !reflect.DeepEqual(ns, tc.want) {
				t.Errorf("read back:\n got  %+v %v\n want %+v", ns, err, tc.want)
			}
		})
	}
	f := newFixture(t, true)
	if ns, err := f.webhooks.Notifications(f.ctx, reader, "acme-main"); err != nil || !reflect.DeepEqual(ns, notify.NotificationSettings{BillingProfileID: "acme-main"}) {
		t.Errorf("never set: %+v %v", ns, err)
	}
	if _, err := f.webhooks.PutNotifications(f.ctx, reader, notify.NotificationSettings{BillingProfileID: "acme-main"}); !invite.IsCode(err, invite.CodeForbidden) {
		t.Errorf("a reader sets the settings: %v", err)
	}
}

func manyAddresses(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("user%d@acme.example", i)
	}
	return out
}
