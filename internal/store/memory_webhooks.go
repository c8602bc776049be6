package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/cloudreseller/aws-invites/internal/invite"
	"github.com/cloudreseller/aws-invites/internal/notify"
)

var _ notify.WebhookStore = (*Memory)(nil)

// memoryWebhooks are the tables of migration 00008 as Memory keeps them, guarded by its mutex: the rows the
// databases keep, with the keys and references the databases check (a write they would refuse is refused here).
type memoryWebhooks struct {
	endpoints     map[string]endpointRow      // by id
	deliveries    map[deliveryKey]deliveryRow // one per endpoint and event (webhook_deliveries_event_key)
	attempts      map[string][]attemptRow     // by delivery id, in id order
	attemptSeq    int64
	notifications map[string]notificationRow // by billing profile
}

type deliveryKey struct {
	endpointID string
	eventSeq   int64
}

func newMemoryWebhooks() *memoryWebhooks {
	return &memoryWebhooks{endpoints: map[string]endpointRow{}, deliveries: map[deliveryKey]deliveryRow{},
		attempts: map[string][]attemptRow{}, notifications: map[string]notificationRow{}}
}

// CreateEndpoint stores a new webhook endpoint.
func (m *Memory) CreateEndpoint(_ context.Context, ep notify.WebhookEndpoint) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	row := endpointToRow(ep)
	if _, dup := m.webhooks.endpoints[row.ID]; dup {
		return fmt.Errorf("store: create webhook endpoint: the id %s exists", row.ID)
	}
	m.webhooks.endpoints[row.ID] = row
	return nil
}

// Endpoint returns an endpoint of a billing profile ("" for reseller-wide ones), or CodeNotFound.
func (m *Memory) Endpoint(_ context.Context, billingProfileID, id string) (notify.WebhookEndpoint, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	row, ok := m.webhooks.endpoints[id]
	if !ok || row.BillingProfileID != billingProfileID {
		return notify.WebhookEndpoint{}, endpointNotFound(id)
	}
	return row.domain(), nil
}

// EndpointByID returns an endpoint whatever its scope, or CodeNotFound.
func (m *Memory) EndpointByID(_ context.Context, id string) (notify.WebhookEndpoint, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	row, ok := m.webhooks.endpoints[id]
	if !ok {
		return notify.WebhookEndpoint{}, endpointNotFound(id)
	}
	return row.domain(), nil
}

func endpointNotFound(id string) error {
	return invite.Errorf(invite.CodeNotFound, "webhook endpoint %s not found", id)
}

// Endpoints returns the endpoints of a billing profile ("" for the reseller-wide ones), oldest first.
func (m *Memory) Endpoints(_ context.Context, billingProfileID string) ([]notify.WebhookEndpoint, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.endpointsWhere(func(r endpointRow) bool { return r.BillingProfileID == billingProfileID }), nil
}

// endpointsWhere returns the endpoints keep accepts, in the databases' order: by creation time, then id.
func (m *Memory) endpointsWhere(keep func(endpointRow) bool) []notify.WebhookEndpoint {
	var rows []endpointRow
	for _, r := range m.webhooks.endpoints {
		if keep(r) {
			rows = append(rows, r)
		}
	}
	slices.SortFunc(rows, func(a, b endpointRow) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	out := make([]notify.WebhookEndpoint, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out
}

// UpdateEndpoint writes an endpoint's settings, secrets and health; who created it and when stay as they were.
func (m *Memory) UpdateEndpoint(_ context.Context, ep notify.WebhookEndpoint) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	stored, ok := m.webhooks.endpoints[ep.ID]
	if !ok || stored.BillingProfileID != ep.BillingProfileID {
		return endpointNotFound(ep.ID)
	}
	row := endpointToRow(ep)
	stored.URL, stored.Description, stored.Events, stored.Enabled, stored.DisabledReason = row.URL, row.Description, row.Events, row.Enabled, row.DisabledReason
	stored.Secret, stored.PreviousSecret, stored.PreviousUntil = row.Secret, row.PreviousSecret, row.PreviousUntil
	stored.FailingSince, stored.UpdatedAt = row.FailingSince, row.UpdatedAt
	m.webhooks.endpoints[ep.ID] = stored
	return nil
}

// DeleteEndpoint removes an endpoint with its deliveries and their attempts.
func (m *Memory) DeleteEndpoint(_ context.Context, billingProfileID, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	row, ok := m.webhooks.endpoints[id]
	if !ok || row.BillingProfileID != billingProfileID {
		return endpointNotFound(id)
	}
	for key, d := range m.webhooks.deliveries {
		if key.endpointID == id {
			delete(m.webhooks.attempts, d.ID)
			delete(m.webhooks.deliveries, key)
		}
	}
	delete(m.webhooks.endpoints, id)
	return nil
}

// Subscribers returns the enabled endpoints that receive an event of the type for the billing profile: its own
// and the reseller-wide ones.
func (m *Memory) Subscribers(_ context.Context, billingProfileID string, t invite.EventType) ([]notify.WebhookEndpoint, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	eps := m.endpointsWhere(func(r endpointRow) bool {
		return r.Enabled && (r.BillingProfileID == billingProfileID || r.BillingProfileID == "")
	})
	return slices.DeleteFunc(eps, func(ep notify.WebhookEndpoint) bool { return !ep.Wants(t) }), nil
}

// Event returns an event by its sequence number, or CodeNotFound.
func (m *Memory) Event(_ context.Context, id int64) (invite.Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	row, ok := m.event(id)
	if !ok {
		return invite.Event{}, invite.Errorf(invite.CodeNotFound, "event %d not found", id)
	}
	return row.domain(), nil
}

// event finds an event row by its sequence number (m.events is in sequence order).
func (m *Memory) event(id int64) (eventRow, bool) {
	i, ok := slices.BinarySearchFunc(m.events, id, func(e eventRow, id int64) int { return cmp.Compare(e.ID, id) })
	if !ok {
		return eventRow{}, false
	}
	return m.events[i], true
}

// WriteTestEvent stores an event in the events' sequence, as it is given (it reaches only the endpoint it is for).
func (m *Memory) WriteTestEvent(_ context.Context, ev invite.Event) (invite.Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	row := eventToRow(ev)
	if row.InviteID != nil {
		if _, ok := m.invites[*row.InviteID]; !ok {
			return invite.Event{}, fmt.Errorf("store: write test event: invite %s does not exist", *row.InviteID)
		}
	}
	if slices.ContainsFunc(m.events, func(e eventRow) bool { return e.EventID == row.EventID }) {
		return invite.Event{}, fmt.Errorf("store: write test event: the event id %q exists", row.EventID)
	}
	m.seq++
	row.ID = m.seq
	m.events = append(m.events, row)
	ev.ID = row.ID
	return ev, nil
}

// CreateDeliveries stores deliveries, keeping the ones of an (endpoint, event) that exist already. As the
// databases' one statement, it stores all or none: a delivery to a missing endpoint or of a missing event, or
// reusing another delivery's id, refuses the whole batch.
func (m *Memory) CreateDeliveries(_ context.Context, ds []notify.Delivery) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	batch, ids := map[deliveryKey]deliveryRow{}, map[string]bool{}
	var keys []deliveryKey // in the order given
	for _, d := range ds {
		row := deliveryToRow(d)
		key := deliveryKey{row.EndpointID, row.EventSeq}
		if _, exists := m.webhooks.deliveries[key]; exists {
			continue
		}
		if _, twice := batch[key]; twice {
			continue
		}
		if _, ok := m.webhooks.endpoints[row.EndpointID]; !ok {
			return fmt.Errorf("store: create deliveries: webhook endpoint %s does not exist", row.EndpointID)
		}
		if _, ok := m.event(row.EventSeq); !ok {
			return fmt.Errorf("store: create deliveries: event %d does not exist", row.EventSeq)
		}
		if _, _, taken := m.webhooks.deliveryByID(row.ID); taken || ids[row.ID] {
			return fmt.Errorf("store: create deliveries: the id %s exists", row.ID)
		}
		batch[key], ids[row.ID] = row, true
		keys = append(keys, key)
	}
	for _, key := range keys {
		m.webhooks.deliveries[key] = batch[key]
	}
	return nil
}

// deliveryByID returns the delivery with the id, and its key.
func (w *memoryWebhooks) deliveryByID(id string) (deliveryRow, deliveryKey, bool) {
	for key, d := range w.deliveries {
		if d.ID == id {
			return d, key, true
		}
	}
	return deliveryRow{}, deliveryKey{}, false
}

// deliveryOf is the delivery a row and its event are, converted as the databases' store converts them (its
// conversion needs nothing of the Store it is a method of).
func deliveryOf(row deliveryRow, ev eventRow) notify.Delivery {
	return (*Store).deliveryOf(nil, row, ev)
}

// Delivery returns the delivery of an event to an endpoint, or CodeNotFound.
func (m *Memory) Delivery(_ context.Context, endpointID string, eventID int64) (notify.Delivery, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	row, ok := m.webhooks.deliveries[deliveryKey{endpointID, eventID}]
	if !ok {
		return notify.Delivery{}, invite.Errorf(invite.CodeNotFound, "no delivery of event %d to endpoint %s", eventID, endpointID)
	}
	ev, ok := m.event(eventID)
	if !ok {
		return notify.Delivery{}, fmt.Errorf("store: event of a delivery: event %d does not exist", eventID)
	}
	return deliveryOf(row, ev), nil
}

// EarlierPending reports whether an earlier delivery of the same invite to the same endpoint is still pending.
func (m *Memory) EarlierPending(_ context.Context, d notify.Delivery) (bool, error) {
	if d.InviteID == "" {
		return false, nil // an event of no invite (a refusal, a test) waits for nothing
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for key, r := range m.webhooks.deliveries {
		if key.endpointID == d.EndpointID && r.InviteID == d.InviteID && r.State == string(notify.DeliveryPending) && key.eventSeq < d.EventID {
			return true, nil
		}
	}
	return false, nil
}

// RecordAttempt appends an attempt to a delivery and sets its state, and keeps the endpoint's health as the
// databases' store does: a success clears its failing streak; a failed answer starts one or, after
// notify.DisableAfterFailing without a success, disables the endpoint and says why.
func (m *Memory) RecordAttempt(_ context.Context, d notify.Delivery, a notify.DeliveryAttempt, state notify.DeliveryState) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	w := m.webhooks
	row, key, ok := w.deliveryByID(d.ID)
	if !ok {
		return fmt.Errorf("store: record delivery attempt: delivery %s does not exist", d.ID)
	}
	att := attemptToRow(d.ID, a)
	w.attemptSeq++
	att.ID = w.attemptSeq
	w.attempts[d.ID] = append(w.attempts[d.ID], att)
	row.State, row.Attempts, row.UpdatedAt = string(state), row.Attempts+1, att.At
	w.deliveries[key] = row
	if a.StatusCode == 0 && a.Latency == 0 {
		return nil // no call was made (the endpoint was removed or disabled): its health is unchanged
	}
	ep, ok := w.endpoints[d.EndpointID]
	switch {
	case !ok:
	case a.OK():
		ep.FailingSince = nil
	case ep.FailingSince == nil:
		ep.FailingSince = &att.At
	case ep.Enabled && att.At.Sub(*ep.FailingSince) >= notify.DisableAfterFailing:
		ep.Enabled, ep.UpdatedAt, ep.DisabledReason = false, att.At, disabledReason(att.At, *ep.FailingSince, a)
	}
	if ok {
		w.endpoints[ep.ID] = ep
	}
	return nil
}

// Deliveries returns a page of an endpoint's deliveries, newest first, with their attempts; before is the id of
// the last delivery of the previous page.
func (m *Memory) Deliveries(_ context.Context, endpointID string, limit int, before string) ([]notify.Delivery, string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	w := m.webhooks
	var cursor *deliveryRow
	if before != "" {
		at, key, ok := w.deliveryByID(before)
		if !ok || key.endpointID != endpointID {
			return nil, "", invite.Errorf(invite.CodeInvalidCursor, "cursor is not one this service issued for this list; start again without a cursor")
		}
		cursor = &at
	}
	var rows []deliveryRow
	for key, r := range w.deliveries {
		if key.endpointID == endpointID && (cursor == nil || key.eventSeq < cursor.EventSeq) {
			rows = append(rows, r)
		}
	}
	slices.SortFunc(rows, func(a, b deliveryRow) int { return cmp.Compare(b.EventSeq, a.EventSeq) })
	rows, last := onePage(rows[:min(len(rows), limit+1)], limit)
	next := ""
	if last != nil {
		next = last.ID
	}
	out := make([]notify.Delivery, len(rows))
	for i, r := range rows {
		ev, _ := m.event(r.EventSeq)
		out[i] = deliveryOf(r, ev)
		for _, a := range w.attempts[r.ID] {
			out[i].Attempts = append(out[i].Attempts, a.domain())
		}
	}
	return out, next, nil
}

// NotificationSettings returns a billing profile's email settings (zero when none were set).
func (m *Memory) NotificationSettings(_ context.Context, billingProfileID string) (notify.NotificationSettings, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ns := notify.NotificationSettings{BillingProfileID: billingProfileID}
	if row, ok := m.webhooks.notifications[billingProfileID]; ok {
		if row.Recipients != "" {
			ns.Recipients = strings.Split(row.Recipients, ",")
		}
		ns.Events = splitTypes(row.Events)
	}
	return ns, nil
}

// PutNotificationSettings sets a billing profile's email settings.
func (m *Memory) PutNotificationSettings(_ context.Context, ns notify.NotificationSettings) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.profiles[ns.BillingProfileID]; !ok {
		return fmt.Errorf("store: put notification settings: billing profile %s does not exist", ns.BillingProfileID)
	}
	m.webhooks.notifications[ns.BillingProfileID] = notificationRow{BillingProfileID: ns.BillingProfileID,
		Recipients: strings.Join(ns.Recipients, ","), Events: joinTypes(ns.Events), UpdatedAt: m.now()}
	return nil
}
