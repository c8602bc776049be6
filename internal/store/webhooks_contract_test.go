package store_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/cloudreseller/aws-invites/internal/invite"
	"github.com/cloudreseller/aws-invites/internal/notify"
	"github.com/cloudreseller/aws-invites/internal/store"
	"github.com/cloudreseller/aws-invites/internal/store/storetest"
	"github.com/cloudreseller/aws-invites/internal/testclock"
)

// webhookStore is a store of the domain that keeps webhook endpoints and deliveries too, as every one does.
type webhookStore interface {
	invite.Store
	notify.WebhookStore
}

// TestWebhookStoreContract holds the notifications' WebhookStore port to what the Notifier and the Webhooks use
// cases rely on, on PostgreSQL, on SQLite and on the in-memory store their fast tests run on.
func TestWebhookStoreContract(t *testing.T) {
	opens := map[string]func(t *testing.T, clk invite.Clock) webhookStore{
		"memory": func(_ *testing.T, clk invite.Clock) webhookStore { return store.NewMemory(clk) },
	}
	for _, d := range storetest.Dialects() {
		opens[d] = func(t *testing.T, clk invite.Clock) webhookStore {
			return storetest.Open(t, d, store.Options{Clock: clk})
		}
	}
	for name, open := range opens {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			clk := testclock.New(base.Add(2*time.Hour + 987654321)) // not on a microsecond: stored times are
			c := &webhookContract{t: t, ctx: context.Background(), clk: clk, s: open(t, clk)}
			c.run()
		})
	}
}

// webhookContract is one run of the contract on one store; its steps build on each other.
type webhookContract struct {
	t   *testing.T
	ctx context.Context
	clk *testclock.Clock
	s   webhookStore

	some, wide, all, off, other         notify.WebhookEndpoint // the endpoints
	created1, accepted1, created2, test invite.Event           // the events: two of invite 1, one of invite 2, a test
	t0                                  time.Time              // the first attempt
}

// us is a time as the stores give it back: in UTC, to the microsecond.
func us(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// storedEndpoint is an endpoint as the stores give it back.
func storedEndpoint(ep notify.WebhookEndpoint) notify.WebhookEndpoint {
	ep.CreatedAt, ep.UpdatedAt = us(ep.CreatedAt), us(ep.UpdatedAt)
	if !ep.PreviousUntil.IsZero() {
		ep.PreviousUntil = us(ep.PreviousUntil)
	}
	if !ep.FailingSince.IsZero() {
		ep.FailingSince = us(ep.FailingSince)
	}
	if len(ep.Events) == 0 {
		ep.Events = nil
	}
	return ep
}

func endpointIDs(eps []notify.WebhookEndpoint) []string {
	out := []string{}
	for _, ep := range eps {
		out = append(out, ep.ID)
	}
	return out
}

func (c *webhookContract) run() {
	c.profiles()
	c.settings()
	c.endpoints()
	c.events()
	c.deliveries()
	c.attempts()
	c.pages()
	c.update()
	c.remove()
}

func (c *webhookContract) profiles() {
	for _, id := range []string{"bp-a", "bp-b"} {
		if _, _, err := c.s.PutBillingProfile(c.ctx, invite.BillingProfile{ID: id, CustomerID: "c1", Name: id, ManagementAccountID: testPayer}); err != nil {
			c.t.Fatal(err)
		}
	}
}

// settings: zero until put; a put replaces the whole settings; a missing billing profile's are refused.
func (c *webhookContract) settings() {
	t, ctx, s := c.t, c.ctx, c.s
	if ns, err := s.NotificationSettings(ctx, "bp-a"); err != nil || !reflect.DeepEqual(ns, notify.NotificationSettings{BillingProfileID: "bp-a"}) {
		t.Errorf("settings never put: %+v %v", ns, err)
	}
	put := func(ns notify.NotificationSettings) {
		t.Helper()
		if err := s.PutNotificationSettings(ctx, ns); err != nil {
			t.Fatal(err)
		}
		got, err := s.NotificationSettings(ctx, ns.BillingProfileID)
		if err != nil || !reflect.DeepEqual(got, ns) {
			t.Errorf("settings read back:\n got  %+v %v\n want %+v", got, err, ns)
		}
	}
	put(notify.NotificationSettings{BillingProfileID: "bp-a", Recipients: []string{"fin@acme.example", "ops@acme.example"},
		Events: []invite.EventType{invite.EventAccepted, invite.EventDeclined}})
	put(notify.NotificationSettings{BillingProfileID: "bp-a"})
	put(notify.NotificationSettings{BillingProfileID: "bp-a", Recipients: []string{"ops@acme.example"}})
	if ns, err := s.NotificationSettings(ctx, "bp-b"); err != nil || ns.Recipients != nil || ns.Events != nil {
		t.Errorf("another profile's settings: %+v %v", ns, err)
	}
	if err := s.PutNotificationSettings(ctx, notify.NotificationSettings{BillingProfileID: "bp-missing", Recipients: []string{"x@acme.example"}}); err == nil {
		t.Error("the settings of a missing billing profile were stored")
	}
}

// endpoints: created and read back per scope, listed oldest first (then by id), subscribers by scope, type and
// enabled.
func (c *webhookContract) endpoints() {
	t, ctx, s := c.t, c.ctx, c.s
	endpoint := func(id, bp string, enabled bool, events ...invite.EventType) notify.WebhookEndpoint {
		return notify.WebhookEndpoint{ID: id, BillingProfileID: bp, URL: "https://hooks.example.com/" + id, Description: "endpoint " + id,
			Events: events, Enabled: enabled, Secret: "whsec_" + id, CreatedBy: invite.Actor{Kind: invite.ActorUser, Subject: "user-1", Email: "u1@example.com"},
			CreatedAt: c.clk.Now(), UpdatedAt: c.clk.Now()}
	}
	c.some = endpoint("ep-a-some", "bp-a", true, invite.EventCreated, invite.EventAccepted)
	c.clk.Advance(time.Second)
	c.wide = endpoint("ep-wide", "", true, invite.EventAccepted)
	c.clk.Advance(time.Second)
	c.off = endpoint("ep-a-off", "bp-a", false) // created at the same time as c.all, before it: listed after it, by id
	c.all = endpoint("ep-a-all", "bp-a", true)
	c.clk.Advance(time.Second)
	c.other = endpoint("ep-b", "bp-b", true)
	for _, ep := range []notify.WebhookEndpoint{c.some, c.wide, c.off, c.all, c.other} {
		if err := s.CreateEndpoint(ctx, ep); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateEndpoint(ctx, c.some); err == nil {
		t.Error("a second endpoint with the same id was stored")
	}

	if got, err := s.Endpoint(ctx, "bp-a", c.some.ID); err != nil || !reflect.DeepEqual(got, storedEndpoint(c.some)) {
		t.Errorf("a profile's endpoint:\n got  %+v %v\n want %+v", got, err, storedEndpoint(c.some))
	}
	if got, err := s.Endpoint(ctx, "", c.wide.ID); err != nil || !reflect.DeepEqual(got, storedEndpoint(c.wide)) {
		t.Errorf("a reseller-wide endpoint: %+v %v", got, err)
	}
	if got, err := s.EndpointByID(ctx, c.off.ID); err != nil || !reflect.DeepEqual(got, storedEndpoint(c.off)) {
		t.Errorf("an endpoint by id: %+v %v", got, err)
	}
	for _, miss := range [][2]string{{"bp-b", c.some.ID}, {"", c.some.ID}, {"bp-a", c.wide.ID}, {"bp-a", "ep-none"}} {
		if _, err := s.Endpoint(ctx, miss[0], miss[1]); !invite.IsCode(err, invite.CodeNotFound) {
			t.Errorf("endpoint %s under %q: %v", miss[1], miss[0], err)
		}
	}
	if _, err := s.EndpointByID(ctx, "ep-none"); !invite.IsCode(err, invite.CodeNotFound) {
		t.Errorf("a missing endpoint by id: %v", err)
	}

	for _, tc := range []struct {
		profile string
		want    []string
	}{
		{"bp-a", []string{c.some.ID, c.all.ID, c.off.ID}},
		{"", []string{c.wide.ID}},
		{"bp-b", []string{c.other.ID}},
		{"bp-none", []string{}},
	} {
		if eps, err := s.Endpoints(ctx, tc.profile); err != nil || !reflect.DeepEqual(endpointIDs(eps), tc.want) {
			t.Errorf("endpoints of %q: %v %v, want %v", tc.profile, endpointIDs(eps), err, tc.want)
		}
	}
	if eps, _ := s.Endpoints(ctx, "bp-a"); len(eps) == 3 && !reflect.DeepEqual(eps[0], storedEndpoint(c.some)) {
		t.Errorf("a listed endpoint:\n got  %+v\n want %+v", eps[0], storedEndpoint(c.some))
	}

	c.wantSubscribers("bp-a", invite.EventAccepted, c.some.ID, c.wide.ID, c.all.ID)
	c.wantSubscribers("bp-a", invite.EventCreated, c.some.ID, c.all.ID)
	c.wantSubscribers("bp-a", invite.EventJoined, c.all.ID)
	c.wantSubscribers("bp-a", invite.EventTest, c.some.ID, c.wide.ID, c.all.ID) // every endpoint takes a test
	c.wantSubscribers("bp-b", invite.EventAccepted, c.wide.ID, c.other.ID)
	c.wantSubscribers("bp-none", invite.EventAccepted, c.wide.ID)
}

func (c *webhookContract) wantSubscribers(profile string, typ invite.EventType, want ...string) {
	c.t.Helper()
	eps, err := c.s.Subscribers(c.ctx, profile, typ)
	if want == nil {
		want = []string{}
	}
	if err != nil || !reflect.DeepEqual(endpointIDs(eps), want) {
		c.t.Errorf("subscribers of %q to %s: %v %v, want %v", profile, typ, endpointIDs(eps), err, want)
	}
}

// events: the invites' events and a test event share one sequence; Event reads any of them back.
func (c *webhookContract) events() {
	t, ctx, s := c.t, c.ctx, c.s
	typed := func(inv invite.Invite) invite.Event {
		ev := createdEvent(inv)
		ev.Type = invite.EventCreated
		return ev
	}
	inv1 := newInvite(t, "bp-a", account(1), base)
	if err := s.CreateInvite(ctx, inv1, typed(inv1)); err != nil {
		t.Fatal(err)
	}
	c.clk.Advance(time.Minute)
	test := invite.Event{PublicID: newID(t), Type: invite.EventTest, BillingProfileID: "bp-a", At: c.clk.Now(),
		Actor: invite.Actor{Kind: invite.ActorUser, Subject: "user-1", Email: "u1@example.com"}, Reason: "a test event"}
	written, err := s.WriteTestEvent(ctx, test)
	given := test
	given.ID = written.ID
	if err != nil || written.ID == 0 || !reflect.DeepEqual(written, given) {
		t.Fatalf("the test event written, as given with its id: %+v %v", written, err)
	}
	inv2 := newInvite(t, "bp-a", account(2), base)
	if err := s.CreateInvite(ctx, inv2, typed(inv2)); err != nil {
		t.Fatal(err)
	}
	accepted := mustGet(t, s, "bp-a", inv1.ID)
	accepted.State, accepted.UpdatedAt = invite.StateAccepted, base.Add(time.Hour)
	if _, err := s.UpdateInvite(ctx, accepted, invite.Event{Type: invite.EventAccepted, From: invite.StateInvited, To: invite.StateAccepted, Reason: "accepted"}); err != nil {
		t.Fatal(err)
	}
	h1, err := s.Events(ctx, "bp-a", inv1.ID)
	if err != nil || len(h1) != 2 {
		t.Fatalf("invite 1's history: %+v %v", h1, err)
	}
	h2, err := s.Events(ctx, "bp-a", inv2.ID)
	if err != nil || len(h2) != 1 {
		t.Fatalf("invite 2's history: %+v %v", h2, err)
	}
	c.created1, c.accepted1, c.created2 = h1[0], h1[1], h2[0]
	if !(c.created1.ID < written.ID && written.ID < c.created2.ID && c.created2.ID < c.accepted1.ID) {
		t.Errorf("the test event is not in the events' sequence: %d, test %d, %d, %d", c.created1.ID, written.ID, c.created2.ID, c.accepted1.ID)
	}
	for _, want := range []invite.Event{c.created1, c.accepted1, c.created2} {
		if got, err := s.Event(ctx, want.ID); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("event %d:\n got  %+v %v\n want %+v", want.ID, got, err, want)
		}
	}
	if c.accepted1.Type != invite.EventAccepted || c.accepted1.InviteID != inv1.ID || c.accepted1.Payer != testPayer ||
		c.accepted1.AccountID != account(1) || c.accepted1.PublicID == "" || c.accepted1.BillingProfileID != "bp-a" {
		t.Errorf("the accepted event: %+v", c.accepted1)
	}
	c.test = test
	c.test.ID, c.test.At = written.ID, us(test.At)
	if got, err := s.Event(ctx, written.ID); err != nil || !reflect.DeepEqual(got, c.test) {
		t.Errorf("the test event read back:\n got  %+v %v\n want %+v", got, err, c.test)
	}
	if _, err := s.Event(ctx, c.accepted1.ID+1000); !invite.IsCode(err, invite.CodeNotFound) {
		t.Errorf("a missing event: %v", err)
	}
}

func (c *webhookContract) newDelivery(ep notify.WebhookEndpoint, ev invite.Event) notify.Delivery {
	return notify.Delivery{ID: newID(c.t), EndpointID: ep.ID, EventID: ev.ID, EventType: ev.Type, PublicID: ev.PublicID,
		InviteID: ev.InviteID, State: notify.DeliveryPending, CreatedAt: c.clk.Now(), UpdatedAt: c.clk.Now()}
}

func (c *webhookContract) delivery(ep notify.WebhookEndpoint, ev invite.Event) notify.Delivery {
	c.t.Helper()
	d, err := c.s.Delivery(c.ctx, ep.ID, ev.ID)
	if err != nil {
		c.t.Fatalf("the delivery of event %d to %s: %v", ev.ID, ep.ID, err)
	}
	return d
}

// deliveries: one per (endpoint, event), the first one kept; a batch with a missing endpoint or event stores
// nothing; an earlier pending delivery of the same invite to the same endpoint holds a later one back.
func (c *webhookContract) deliveries() {
	t, ctx, s := c.t, c.ctx, c.s
	first := c.newDelivery(c.some, c.created1)
	c.clk.Advance(time.Second)
	batch := []notify.Delivery{first, c.newDelivery(c.some, c.accepted1), c.newDelivery(c.some, c.created2), c.newDelivery(c.some, c.test),
		c.newDelivery(c.all, c.accepted1), c.newDelivery(c.wide, c.accepted1)}
	if err := s.CreateDeliveries(ctx, batch); err != nil {
		t.Fatal(err)
	}
	want := first
	want.CreatedAt, want.UpdatedAt = us(first.CreatedAt), us(first.UpdatedAt)
	if got := c.delivery(c.some, c.created1); !reflect.DeepEqual(got, want) {
		t.Errorf("a delivery:\n got  %+v\n want %+v", got, want)
	}
	if got := c.delivery(c.some, c.test); got.EventType != invite.EventTest || got.InviteID != "" || got.PublicID != c.test.PublicID {
		t.Errorf("the test event's delivery: %+v", got)
	}

	again := c.newDelivery(c.some, c.created1)
	again.State = notify.DeliveryDelivered
	if err := s.CreateDeliveries(ctx, []notify.Delivery{again, c.newDelivery(c.all, c.created1)}); err != nil {
		t.Fatal(err)
	}
	if got := c.delivery(c.some, c.created1); !reflect.DeepEqual(got, want) {
		t.Errorf("the delivery after a second create:\n got  %+v\n want %+v", got, want)
	}
	c.delivery(c.all, c.created1) // added beside the one kept

	missingEvent := c.newDelivery(c.all, c.created2)
	missingEvent.EventID = c.accepted1.ID + 1000
	if err := s.CreateDeliveries(ctx, []notify.Delivery{c.newDelivery(c.all, c.created2), missingEvent}); err == nil {
		t.Error("a delivery of a missing event was stored")
	}
	if err := s.CreateDeliveries(ctx, []notify.Delivery{c.newDelivery(c.all, c.created2), c.newDelivery(notify.WebhookEndpoint{ID: "ep-none"}, c.created2)}); err == nil {
		t.Error("a delivery to a missing endpoint was stored")
	}
	if _, err := s.Delivery(ctx, c.all.ID, c.created2.ID); !invite.IsCode(err, invite.CodeNotFound) {
		t.Errorf("a refused batch stored a delivery: %v", err)
	}
	if _, err := s.Delivery(ctx, "ep-none", c.created1.ID); !invite.IsCode(err, invite.CodeNotFound) {
		t.Errorf("a delivery to a missing endpoint: %v", err)
	}

	for _, tc := range []struct {
		name string
		d    notify.Delivery
		want bool
	}{
		{"the later event of the invite, after a pending one", c.delivery(c.some, c.accepted1), true},
		{"the first event of the invite", c.delivery(c.some, c.created1), false},
		{"another invite's event, after a pending one", c.delivery(c.some, c.created2), false},
		{"an event of no invite", c.delivery(c.some, c.test), false},
		{"the later event, pending earlier on this endpoint too", c.delivery(c.all, c.accepted1), true},
		{"the later event, pending earlier on another endpoint only", c.delivery(c.wide, c.accepted1), false},
	} {
		if got, err := s.EarlierPending(ctx, tc.d); err != nil || got != tc.want {
			t.Errorf("earlier pending, %s: %v %v, want %v", tc.name, got, err, tc.want)
		}
	}
}

// attempts: each is kept with its delivery, whose state it sets; a success ends the endpoint's failing streak, a
// failure starts one, an attempt that made no call changes nothing of its health, and an endpoint failing for
// DisableAfterFailing is disabled, saying why.
func (c *webhookContract) attempts() {
	t, ctx, s := c.t, c.ctx, c.s
	record := func(d notify.Delivery, a notify.DeliveryAttempt, state notify.DeliveryState) {
		t.Helper()
		if err := s.RecordAttempt(ctx, d, a, state); err != nil {
			t.Fatal(err)
		}
		got := c.delivery(notify.WebhookEndpoint{ID: d.EndpointID}, invite.Event{ID: d.EventID})
		if got.State != state || !got.UpdatedAt.Equal(us(a.At)) || !got.CreatedAt.Equal(d.CreatedAt) {
			t.Errorf("the delivery after an attempt: %+v, want %s at %s", got, state, us(a.At))
		}
	}
	health := func(ep notify.WebhookEndpoint, enabled bool, failingSince time.Time) notify.WebhookEndpoint {
		t.Helper()
		got, err := s.EndpointByID(ctx, ep.ID)
		if err != nil || got.Enabled != enabled || !got.FailingSince.Equal(failingSince) {
			t.Errorf("endpoint %s: enabled %v, failing since %s (%v); want %v, %s", ep.ID, got.Enabled, got.FailingSince, err, enabled, failingSince)
		}
		return got
	}

	t0 := c.clk.Now()
	c.t0 = t0
	created1 := c.delivery(c.some, c.created1)
	record(created1, notify.DeliveryAttempt{At: t0, StatusCode: 500, Latency: 1234567, Error: "receiver answered 500", ResponseSnippet: "oops"}, notify.DeliveryPending)
	health(c.some, true, us(t0))
	if earlier, _ := s.EarlierPending(ctx, c.delivery(c.some, c.accepted1)); !earlier {
		t.Error("a failed attempt let a later event of the invite through")
	}
	record(created1, notify.DeliveryAttempt{At: t0.Add(time.Hour), StatusCode: 204, Latency: 2 * time.Millisecond}, notify.DeliveryDelivered)
	health(c.some, true, time.Time{})
	if earlier, err := s.EarlierPending(ctx, c.delivery(c.some, c.accepted1)); earlier || err != nil {
		t.Errorf("the delivered earlier event still holds the later one back: %v", err)
	}

	t1 := t0.Add(2 * time.Hour)
	accepted := c.delivery(c.all, c.accepted1)
	record(accepted, notify.DeliveryAttempt{At: t1, Latency: 10 * time.Second, Error: "timeout awaiting response headers"}, notify.DeliveryPending)
	health(c.all, true, us(t1))
	record(c.delivery(c.all, c.created1), notify.DeliveryAttempt{At: t1.Add(notify.DisableAfterFailing + time.Hour), Error: "the endpoint is disabled"}, notify.DeliveryFailed)
	health(c.all, true, us(t1)) // no call was made, however late
	if earlier, err := s.EarlierPending(ctx, accepted); earlier || err != nil {
		t.Errorf("a failed earlier delivery still holds the later one back: %v", err)
	}
	record(accepted, notify.DeliveryAttempt{At: t1.Add(notify.DisableAfterFailing - time.Second), StatusCode: 503, Latency: time.Millisecond}, notify.DeliveryPending)
	health(c.all, true, us(t1))
	last := t1.Add(notify.DisableAfterFailing)
	record(accepted, notify.DeliveryAttempt{At: last, StatusCode: 503, Latency: time.Millisecond}, notify.DeliveryFailed)
	disabled := health(c.all, false, us(t1))
	reason := fmt.Sprintf("disabled at %s: every delivery attempt since %s failed (the last: status 503)",
		us(last).Format(time.RFC3339), us(t1).Format(time.RFC3339))
	if disabled.DisabledReason != reason || !disabled.UpdatedAt.Equal(us(last)) {
		t.Errorf("the disabled endpoint: %q at %s, want %q at %s", disabled.DisabledReason, disabled.UpdatedAt, reason, us(last))
	}
	c.wantSubscribers("bp-a", invite.EventJoined)

	if err := s.RecordAttempt(ctx, notify.Delivery{ID: "no-such-delivery", EndpointID: c.all.ID, EventID: c.created2.ID},
		notify.DeliveryAttempt{At: last, StatusCode: 200, Latency: time.Millisecond}, notify.DeliveryDelivered); err == nil {
		t.Error("an attempt of a missing delivery was recorded")
	}
	health(c.all, false, us(t1))
}

// pages: an endpoint's deliveries, newest event first, in keyset pages, each with its attempts in order.
func (c *webhookContract) pages() {
	t, ctx, s := c.t, c.ctx, c.s
	order := []invite.Event{c.accepted1, c.created2, c.test, c.created1}
	ids := func(ds []notify.Delivery) []int64 {
		out := []int64{}
		for _, d := range ds {
			out = append(out, d.EventID)
		}
		return out
	}
	page, next, err := s.Deliveries(ctx, c.some.ID, 3, "")
	if err != nil || !reflect.DeepEqual(ids(page), []int64{order[0].ID, order[1].ID, order[2].ID}) || next != page[2].ID {
		t.Fatalf("the first page: %v %q %v", ids(page), next, err)
	}
	if page[0].Attempts != nil || page[0].EventType != invite.EventAccepted || page[0].PublicID != c.accepted1.PublicID {
		t.Errorf("a delivery never attempted: %+v", page[0])
	}
	page, next, err = s.Deliveries(ctx, c.some.ID, 3, next)
	if err != nil || !reflect.DeepEqual(ids(page), []int64{c.created1.ID}) || next != "" {
		t.Fatalf("the last page: %v %q %v", ids(page), next, err)
	}
	want := c.delivery(c.some, c.created1)
	want.Attempts = []notify.DeliveryAttempt{
		{At: us(c.t0), StatusCode: 500, Latency: 1234 * time.Microsecond, Error: "receiver answered 500", ResponseSnippet: "oops"},
		{At: us(c.t0.Add(time.Hour)), StatusCode: 204, Latency: 2 * time.Millisecond},
	}
	if !reflect.DeepEqual(page[0], want) {
		t.Errorf("a delivery with its attempts:\n got  %+v\n want %+v", page[0], want)
	}
	if page, next, err := s.Deliveries(ctx, c.some.ID, 4, ""); err != nil || len(page) != 4 || next != "" {
		t.Errorf("a page of every delivery: %v %q %v", ids(page), next, err)
	}
	other := c.delivery(c.all, c.accepted1)
	if page, _, err := s.Deliveries(ctx, c.all.ID, 10, ""); err != nil || !reflect.DeepEqual(ids(page), []int64{c.accepted1.ID, c.created1.ID}) ||
		len(page[0].Attempts) != 3 || page[0].Attempts[0].Error != "timeout awaiting response headers" || page[0].Attempts[2].StatusCode != 503 {
		t.Errorf("another endpoint's deliveries: %+v %v", page, err)
	}
	for _, cursor := range []string{"no-such-delivery", other.ID} {
		if _, _, err := s.Deliveries(ctx, c.some.ID, 3, cursor); !invite.IsCode(err, invite.CodeInvalidCursor) {
			t.Errorf("cursor %s: %v", cursor, err)
		}
	}
	if page, next, err := s.Deliveries(ctx, "ep-none", 3, ""); err != nil || len(page) != 0 || next != "" {
		t.Errorf("a missing endpoint's deliveries: %+v %q %v", page, next, err)
	}
}

// update: an endpoint's settings, secrets and health are written; who created it and when are not; another
// scope's endpoint is not found.
func (c *webhookContract) update() {
	t, ctx, s := c.t, c.ctx, c.s
	c.clk.Advance(time.Minute)
	now := c.clk.Now()
	upd := c.some
	upd.URL, upd.Description, upd.Events, upd.Enabled, upd.DisabledReason = "https://hooks.example.com/v2", "", nil, false, "switched off"
	upd.Secret, upd.PreviousSecret, upd.PreviousUntil = "whsec_new", c.some.Secret, now.Add(notify.SecretOverlap)
	upd.FailingSince, upd.UpdatedAt = now.Add(-time.Minute), now
	upd.CreatedBy, upd.CreatedAt = invite.Actor{Kind: invite.ActorSandbox}, now // an update does not write these
	if err := s.UpdateEndpoint(ctx, upd); err != nil {
		t.Fatal(err)
	}
	want := storedEndpoint(upd)
	want.CreatedBy, want.CreatedAt = c.some.CreatedBy, us(c.some.CreatedAt)
	if got, err := s.Endpoint(ctx, "bp-a", upd.ID); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("the updated endpoint:\n got  %+v %v\n want %+v", got, err, want)
	}
	upd.PreviousSecret, upd.PreviousUntil, upd.FailingSince, upd.Enabled, upd.DisabledReason = "", time.Time{}, time.Time{}, true, ""
	upd.Events = []invite.EventType{invite.EventExpired}
	if err := s.UpdateEndpoint(ctx, upd); err != nil {
		t.Fatal(err)
	}
	want = storedEndpoint(upd)
	want.CreatedBy, want.CreatedAt = c.some.CreatedBy, us(c.some.CreatedAt)
	if got, err := s.EndpointByID(ctx, upd.ID); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("the endpoint updated again:\n got  %+v %v\n want %+v", got, err, want)
	}
	elsewhere := upd
	elsewhere.BillingProfileID, elsewhere.URL = "bp-b", "https://elsewhere.example.com/"
	if err := s.UpdateEndpoint(ctx, elsewhere); !invite.IsCode(err, invite.CodeNotFound) {
		t.Errorf("an update under another profile: %v", err)
	}
	missing := upd
	missing.ID = "ep-none"
	if err := s.UpdateEndpoint(ctx, missing); !invite.IsCode(err, invite.CodeNotFound) {
		t.Errorf("an update of a missing endpoint: %v", err)
	}
	if got, _ := s.EndpointByID(ctx, upd.ID); got.URL != upd.URL || got.BillingProfileID != "bp-a" {
		t.Errorf("the refused updates changed the endpoint: %+v", got)
	}
}

// remove: an endpoint goes with its deliveries and their attempts, only under its own scope; the others' stay.
func (c *webhookContract) remove() {
	t, ctx, s := c.t, c.ctx, c.s
	if err := s.DeleteEndpoint(ctx, "bp-b", c.some.ID); !invite.IsCode(err, invite.CodeNotFound) {
		t.Errorf("a delete under another profile: %v", err)
	}
	if page, _, err := s.Deliveries(ctx, c.some.ID, 10, ""); err != nil || len(page) != 4 {
		t.Errorf("a refused delete removed deliveries: %d %v", len(page), err)
	}
	if err := s.DeleteEndpoint(ctx, "bp-a", c.some.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.EndpointByID(ctx, c.some.ID); !invite.IsCode(err, invite.CodeNotFound) {
		t.Errorf("the deleted endpoint: %v", err)
	}
	if _, err := s.Delivery(ctx, c.some.ID, c.created1.ID); !invite.IsCode(err, invite.CodeNotFound) {
		t.Errorf("a delivery of the deleted endpoint: %v", err)
	}
	if page, next, err := s.Deliveries(ctx, c.some.ID, 10, ""); err != nil || len(page) != 0 || next != "" {
		t.Errorf("the deleted endpoint's deliveries: %+v %v", page, err)
	}
	if err := s.DeleteEndpoint(ctx, "bp-a", c.some.ID); !invite.IsCode(err, invite.CodeNotFound) {
		t.Errorf("a second delete: %v", err)
	}
	if err := s.DeleteEndpoint(ctx, "", c.wide.ID); err != nil {
		t.Errorf("delete a reseller-wide endpoint: %v", err)
	}
	if page, _, err := s.Deliveries(ctx, c.all.ID, 10, ""); err != nil || len(page) != 2 || len(page[0].Attempts) != 3 {
		t.Errorf("another endpoint's deliveries after the deletes: %+v %v", page, err)
	}
	c.wantSubscribers("bp-a", invite.EventAccepted)
	if err := s.CreateDeliveries(ctx, []notify.Delivery{c.newDelivery(c.some, c.created2)}); err == nil {
		t.Error("a delivery to the deleted endpoint was stored")
	}
}
