package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/cloudreseller/aws-invites/internal/invite"
	"github.com/cloudreseller/aws-invites/internal/notify"
)

var _ notify.WebhookStore = (*Store)(nil)

type endpointRow struct {
	ID               string     `gorm:"column:id;primaryKey"`
	BillingProfileID string     `gorm:"column:billing_profile_id"`
	URL              string     `gorm:"column:url"`
	Description      string     `gorm:"column:description"`
	Events           string     `gorm:"column:events"`
	Enabled          bool       `gorm:"column:enabled"`
	DisabledReason   string     `gorm:"column:disabled_reason"`
	Secret           string     `gorm:"column:secret"`
	PreviousSecret   string     `gorm:"column:previous_secret"`
	PreviousUntil    *time.Time `gorm:"column:previous_until"`
	FailingSince     *time.Time `gorm:"column:failing_since"`
	CreatedByKind    string     `gorm:"column:created_by_kind"`
	CreatedBySubject string     `gorm:"column:created_by_subject"`
	CreatedByEmail   string     `gorm:"column:created_by_email"`
	CreatedAt        time.Time  `gorm:"column:created_at;autoCreateTime:false"`
	UpdatedAt        time.Time  `gorm:"column:updated_at;autoUpdateTime:false"`
}

func (endpointRow) TableName() string { return "webhook_endpoints" }

type deliveryRow struct {
	ID         string    `gorm:"column:id;primaryKey"`
	EndpointID string    `gorm:"column:endpoint_id"`
	EventSeq   int64     `gorm:"column:event_seq"`
	InviteID   string    `gorm:"column:invite_id"`
	State      string    `gorm:"column:state"`
	Attempts   int       `gorm:"column:attempts"`
	CreatedAt  time.Time `gorm:"column:created_at;autoCreateTime:false"`
	UpdatedAt  time.Time `gorm:"column:updated_at;autoUpdateTime:false"`
}

func (deliveryRow) TableName() string { return "webhook_deliveries" }

type attemptRow struct {
	ID              int64     `gorm:"column:id;primaryKey;autoIncrement"`
	DeliveryID      string    `gorm:"column:delivery_id"`
	At              time.Time `gorm:"column:at"`
	StatusCode      int       `gorm:"column:status_code"`
	LatencyUS       int64     `gorm:"column:latency_us"`
	Error           string    `gorm:"column:error"`
	ResponseSnippet string    `gorm:"column:response_snippet"`
}

func (attemptRow) TableName() string { return "webhook_attempts" }

type notificationRow struct {
	BillingProfileID string    `gorm:"column:billing_profile_id;primaryKey"`
	Recipients       string    `gorm:"column:recipients"`
	Events           string    `gorm:"column:events"`
	UpdatedAt        time.Time `gorm:"column:updated_at;autoUpdateTime:false"`
}

func (notificationRow) TableName() string { return "notification_settings" }

func joinTypes(ts []invite.EventType) string {
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = string(t)
	}
	return strings.Join(names, ",")
}

func splitTypes(s string) []invite.EventType {
	if s == "" {
		return nil
	}
	var out []invite.EventType
	for _, n := range strings.Split(s, ",") {
		out = append(out, invite.EventType(n))
	}
	return out
}

func endpointToRow(ep notify.WebhookEndpoint) endpointRow {
	return endpointRow{ID: ep.ID, BillingProfileID: ep.BillingProfileID, URL: ep.URL, Description: ep.Description,
		Events: joinTypes(ep.Events), Enabled: ep.Enabled, DisabledReason: ep.DisabledReason, Secret: ep.Secret,
		PreviousSecret: ep.PreviousSecret, PreviousUntil: optionalTime(ep.PreviousUntil), FailingSince: optionalTime(ep.FailingSince),
		CreatedByKind: string(ep.CreatedBy.Kind), CreatedBySubject: ep.CreatedBy.Subject, CreatedByEmail: ep.CreatedBy.Email,
		CreatedAt: dbTime(ep.CreatedAt), UpdatedAt: dbTime(ep.UpdatedAt)}
}

func (r endpointRow) domain() notify.WebhookEndpoint {
	return notify.WebhookEndpoint{ID: r.ID, BillingProfileID: r.BillingProfileID, URL: r.URL, Description: r.Description,
		Events: splitTypes(r.Events), Enabled: r.Enabled, DisabledReason: r.DisabledReason, Secret: r.Secret,
		PreviousSecret: r.PreviousSecret, PreviousUntil: valueTime(r.PreviousUntil), FailingSince: valueTime(r.FailingSince),
		CreatedBy: invite.Actor{Kind: invite.ActorKind(r.CreatedByKind), Subject: r.CreatedBySubject, Email: r.CreatedByEmail},
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

// CreateEndpoint stores a new webhook endpoint.
func (s *Store) CreateEndpoint(ctx context.Context, ep notify.WebhookEndpoint) error {
	row := endpointToRow(ep)
	if err := s.db.WithContext(ctx).Create(&row).Error; err != nil {
		return fmt.Errorf("store: create webhook endpoint: %w", err)
	}
	return nil
}

func (s *Store) endpointWhere(ctx context.Context, what string, where string, args ...any) (notify.WebhookEndpoint, error) {
	var row endpointRow
	err := s.db.WithContext(ctx).Where(where, args...).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return notify.WebhookEndpoint{}, invite.Errorf(invite.CodeNotFound, "webhook endpoint %s not found", what)
	}
	if err != nil {
		return notify.WebhookEndpoint{}, fmt.Errorf("store: webhook endpoint %s: %w", what, err)
	}
	return row.domain(), nil
}

// Endpoint returns an endpoint of a billing profile ("" for reseller-wide ones), or CodeNotFound.
func (s *Store) Endpoint(ctx context.Context, billingProfileID, id string) (notify.WebhookEndpoint, error) {
	return s.endpointWhere(ctx, id, "id = ? AND billing_profile_id = ?", id, billingProfileID)
}

// EndpointByID returns an endpoint whatever its scope, or CodeNotFound.
func (s *Store) EndpointByID(ctx context.Context, id string) (notify.WebhookEndpoint, error) {
	return s.endpointWhere(ctx, id, "id = ?", id)
}

// Endpoints returns the endpoints of a billing profile ("" for the reseller-wide ones), oldest first.
func (s *Store) Endpoints(ctx context.Context, billingProfileID string) ([]notify.WebhookEndpoint, error) {
	return s.endpointsWhere(ctx, "billing_profile_id = ?", billingProfileID)
}

func (s *Store) endpointsWhere(ctx context.Context, where string, args ...any) ([]notify.WebhookEndpoint, error) {
	var rows []endpointRow
	if err := s.db.WithContext(ctx).Where(where, args...).Order("created_at, id").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: webhook endpoints: %w", err)
	}
	out := make([]notify.WebhookEndpoint, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out, nil
}

// UpdateEndpoint writes an endpoint's settings, secrets and health.
func (s *Store) UpdateEndpoint(ctx context.Context, ep notify.WebhookEndpoint) error {
	row := endpointToRow(ep)
	res := s.db.WithContext(ctx).Model(&endpointRow{}).Where("id = ? AND billing_profile_id = ?", ep.ID, ep.BillingProfileID).
		Updates(map[string]any{"url": row.URL, "description": row.Description, "events": row.Events, "enabled": row.Enabled,
			"disabled_reason": row.DisabledReason, "secret": row.Secret, "previous_secret": row.PreviousSecret,
			"previous_until": row.PreviousUntil, "failing_since": row.FailingSince, "updated_at": row.UpdatedAt})
	if res.Error != nil {
		return fmt.Errorf("store: update webhook endpoint %s: %w", ep.ID, res.Error)
	}
	if res.RowsAffected == 0 {
		return invite.Errorf(invite.CodeNotFound, "webhook endpoint %s not found", ep.ID)
	}
	return nil
}

// DeleteEndpoint removes an endpoint with its deliveries and their attempts.
func (s *Store) DeleteEndpoint(ctx context.Context, billingProfileID, id string) error {
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("delivery_id IN (?)", tx.Model(&deliveryRow{}).Select("id").Where("endpoint_id = ?", id)).
			Delete(&attemptRow{}).Error; err != nil {
			return err
		}
		if err := tx.Where("endpoint_id = ?", id).Delete(&deliveryRow{}).Error; err != nil {
			return err
		}
		res := tx.Where("id = ? AND billing_profile_id = ?", id, billingProfileID).Delete(&endpointRow{})
		if res.Error == nil && res.RowsAffected == 0 {
			return invite.Errorf(invite.CodeNotFound, "webhook endpoint %s not found", id)
		}
		return res.Error
	})
	var de *invite.Error
	if err != nil && !errors.As(err, &de) {
		return fmt.Errorf("store: delete webhook endpoint %s: %w", id, err)
	}
	return err
}

// Subscribers returns the enabled endpoints that receive an event of the type for the billing profile: its own
// and the reseller-wide ones.
func (s *Store) Subscribers(ctx context.Context, billingProfileID string, t invite.EventType) ([]notify.WebhookEndpoint, error) {
	eps, err := s.endpointsWhere(ctx, "enabled AND billing_profile_id IN ?", []string{billingProfileID, ""})
	if err != nil {
		return nil, err
	}
	out := eps[:0]
	for _, ep := range eps {
		if ep.Wants(t) {
			out = append(out, ep)
		}
	}
	return out, nil
}

// Event returns an event by its sequence number, or CodeNotFound.
func (s *Store) Event(ctx context.Context, id int64) (invite.Event, error) {
	var row eventRow
	err := s.db.WithContext(ctx).Where("id = ?", id).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return invite.Event{}, invite.Errorf(invite.CodeNotFound, "event %d not found", id)
	}
	if err != nil {
		return invite.Event{}, fmt.Errorf("store: event %d: %w", id, err)
	}
	return row.domain(), nil
}

// WriteTestEvent stores an event without running the event hook: it reaches only the endpoint it is for.
func (s *Store) WriteTestEvent(ctx context.Context, ev invite.Event) (invite.Event, error) {
	row := eventToRow(ev)
	if err := s.db.WithContext(ctx).Create(&row).Error; err != nil {
		return invite.Event{}, fmt.Errorf("store: write test event: %w", err)
	}
	ev.ID = row.ID
	return ev, nil
}

// CreateDeliveries stores deliveries, keeping the ones of an (endpoint, event) that exist already.
func (s *Store) CreateDeliveries(ctx context.Context, ds []notify.Delivery) error {
	rows := make([]deliveryRow, len(ds))
	for i, d := range ds {
		rows[i] = deliveryToRow(d)
	}
	err := s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns: []clause.Column{{Name: "endpoint_id"}, {Name: "event_seq"}}, DoNothing: true}).Create(&rows).Error
	if err != nil {
		return fmt.Errorf("store: create deliveries: %w", err)
	}
	return nil
}

func (s *Store) deliveryOf(row deliveryRow, ev eventRow) notify.Delivery {
	return notify.Delivery{ID: row.ID, EndpointID: row.EndpointID, EventID: row.EventSeq, EventType: invite.EventType(ev.Type),
		PublicID: ev.EventID, InviteID: row.InviteID, State: notify.DeliveryState(row.State),
		CreatedAt: row.CreatedAt.UTC(), UpdatedAt: row.UpdatedAt.UTC()}
}

// Delivery returns the delivery of an event to an endpoint, or CodeNotFound.
func (s *Store) Delivery(ctx context.Context, endpointID string, eventID int64) (notify.Delivery, error) {
	var row deliveryRow
	err := s.db.WithContext(ctx).Where("endpoint_id = ? AND event_seq = ?", endpointID, eventID).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return notify.Delivery{}, invite.Errorf(invite.CodeNotFound, "no delivery of event %d to endpoint %s", eventID, endpointID)
	}
	if err != nil {
		return notify.Delivery{}, fmt.Errorf("store: delivery: %w", err)
	}
	var ev eventRow
	if err := s.db.WithContext(ctx).Select("id, type, event_id").Where("id = ?", eventID).Take(&ev).Error; err != nil {
		return notify.Delivery{}, fmt.Errorf("store: event of a delivery: %w", err)
	}
	return s.deliveryOf(row, ev), nil
}

// EarlierPending reports whether an earlier delivery of the same invite to the same endpoint is still pending.
func (s *Store) EarlierPending(ctx context.Context, d notify.Delivery) (bool, error) {
	if d.InviteID == "" {
		return false, nil // an event of no invite (a refusal, a test) waits for nothing
	}
	var n int64
	err := s.db.WithContext(ctx).Model(&deliveryRow{}).
		Where("endpoint_id = ? AND invite_id = ? AND state = ? AND event_seq < ?", d.EndpointID, d.InviteID, string(notify.DeliveryPending), d.EventID).
		Limit(1).Count(&n).Error
	if err != nil {
		return false, fmt.Errorf("store: earlier deliveries: %w", err)
	}
	return n > 0, nil
}

// RecordAttempt appends an attempt to a delivery and sets its state, in one transaction, and keeps the endpoint's
// health: a success clears its failing streak; a failed answer starts one or, after notify.DisableAfterFailing
// without a success, disables the endpoint and says why.
func (s *Store) RecordAttempt(ctx context.Context, d notify.Delivery, a notify.DeliveryAttempt, state notify.DeliveryState) error {
	at := dbTime(a.At)
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		att := attemptToRow(d.ID, a)
		if err := tx.Create(&att).Error; err != nil {
			return err
		}
		if err := tx.Model(&deliveryRow{}).Where("id = ?", d.ID).Updates(map[string]any{
			"state": string(state), "attempts": gorm.Expr("attempts + 1"), "updated_at": at}).Error; err != nil {
			return err
		}
		if a.StatusCode == 0 && a.Latency == 0 {
			return nil // no call was made (the endpoint was removed or disabled): its health is unchanged
		}
		if a.OK() {
			return tx.Model(&endpointRow{}).Where("id = ?", d.EndpointID).Update("failing_since", nil).Error
		}
		var ep endpointRow
		err := tx.Clauses(s.forUpdate()...).Where("id = ?", d.EndpointID).Take(&ep).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		switch {
		case ep.FailingSince == nil:
			return tx.Model(&endpointRow{}).Where("id = ?", ep.ID).Update("failing_since", at).Error
		case ep.Enabled && at.Sub(*ep.FailingSince) >= notify.DisableAfterFailing:
			return tx.Model(&endpointRow{}).Where("id = ?", ep.ID).Updates(map[string]any{"enabled": false, "updated_at": at,
				"disabled_reason": disabledReason(at, *ep.FailingSince, a)}).Error
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: record delivery attempt: %w", err)
	}
	return nil
}

func attemptSummary(a notify.DeliveryAttempt) string {
	if a.Error != "" {
		return a.Error
	}
	return fmt.Sprintf("status %d", a.StatusCode)
}

// forUpdate locks the rows a transaction reads on PostgreSQL; SQLite's transactions hold the write lock already.
func (s *Store) forUpdate() []clause.Expression { return s.dialect.lockRows }

// Deliveries returns a page of an endpoint's deliveries, newest first, with their attempts; before is the id of
// the last delivery of the previous page.
func (s *Store) Deliveries(ctx context.Context, endpointID string, limit int, before string) ([]notify.Delivery, string, error) {
	db := s.db.WithContext(ctx).Where("endpoint_id = ?", endpointID)
	if before != "" {
		var at deliveryRow
		if err := s.db.WithContext(ctx).Select("event_seq").Where("id = ? AND endpoint_id = ?", before, endpointID).Take(&at).Error; err != nil {
			return nil, "", invite.Errorf(invite.CodeInvalidCursor, "cursor is not one this service issued for this list; start again without a cursor")
		}
		db = db.Where("event_seq < ?", at.EventSeq)
	}
	var rows []deliveryRow
	if err := db.Order("event_seq DESC").Limit(limit + 1).Find(&rows).Error; err != nil {
		return nil, "", fmt.Errorf("store: deliveries: %w", err)
	}
	next := ""
	rows, last := onePage(rows, limit)
	if last != nil {
		next = last.ID
	}
	seqs, ids := make([]int64, len(rows)), make([]string, len(rows))
	for i, r := range rows {
		seqs[i], ids[i] = r.EventSeq, r.ID
	}
	var evs []eventRow
	var atts []attemptRow
	if len(rows) > 0 {
		if err := s.db.WithContext(ctx).Select("id, type, event_id").Where("id IN ?", seqs).Find(&evs).Error; err != nil {
			return nil, "", fmt.Errorf("store: events of deliveries: %w", err)
		}
		if err := s.db.WithContext(ctx).Where("delivery_id IN ?", ids).Order("id").Find(&atts).Error; err != nil {
			return nil, "", fmt.Errorf("store: attempts: %w", err)
		}
	}
	byID := map[int64]eventRow{}
	for _, e := range evs {
		byID[e.ID] = e
	}
	attempts := map[string][]notify.DeliveryAttempt{}
	for _, a := range atts {
		attempts[a.DeliveryID] = append(attempts[a.DeliveryID], a.domain())
	}
	out := make([]notify.Delivery, len(rows))
	for i, r := range rows {
		out[i] = s.deliveryOf(r, byID[r.EventSeq])
		out[i].Attempts = attempts[r.ID]
	}
	return out, next, nil
}

// NotificationSettings returns a billing profile's email settings (zero when none were set).
func (s *Store) NotificationSettings(ctx context.Context, billingProfileID string) (notify.NotificationSettings, error) {
	var rows []notificationRow
	if err := s.db.WithContext(ctx).Where("billing_profile_id = ?", billingProfileID).Limit(1).Find(&rows).Error; err != nil {
		return notify.NotificationSettings{}, fmt.Errorf("store: notification settings: %w", err)
	}
	ns := notify.NotificationSettings{BillingProfileID: billingProfileID}
	if len(rows) == 1 {
		if rows[0].Recipients != "" {
			ns.Recipients = strings.Split(rows[0].Recipients, ",")
		}
		ns.Events = splitTypes(rows[0].Events)
	}
	return ns, nil
}

// PutNotificationSettings sets a billing profile's email settings.
func (s *Store) PutNotificationSettings(ctx context.Context, ns notify.NotificationSettings) error {
	row := notificationRow{BillingProfileID: ns.BillingProfileID, Recipients: strings.Join(ns.Recipients, ","),
		Events: joinTypes(ns.Events), UpdatedAt: s.now()}
	err := s.db.WithContext(ctx).Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "billing_profile_id"}},
		DoUpdates: clause.AssignmentColumns([]string{"recipients", "events", "updated_at"})}).Create(&row).Error
	if err != nil {
		return fmt.Errorf("store: put notification settings: %w", err)
	}
	return nil
}

// deliveryToRow is a delivery as its row keeps it.
func deliveryToRow(d notify.Delivery) deliveryRow {
	return deliveryRow{ID: d.ID, EndpointID: d.EndpointID, EventSeq: d.EventID, InviteID: d.InviteID,
		State: string(d.State), CreatedAt: dbTime(d.CreatedAt), UpdatedAt: dbTime(d.UpdatedAt)}
}

// attemptToRow is an attempt of a delivery as its row keeps it.
func attemptToRow(deliveryID string, a notify.DeliveryAttempt) attemptRow {
	return attemptRow{DeliveryID: deliveryID, At: dbTime(a.At), StatusCode: a.StatusCode, LatencyUS: a.Latency.Microseconds(),
		Error: a.Error, ResponseSnippet: a.ResponseSnippet}
}

// domain is the attempt a row keeps.
func (r attemptRow) domain() notify.DeliveryAttempt {
	return notify.DeliveryAttempt{At: r.At.UTC(), StatusCode: r.StatusCode, Latency: time.Duration(r.LatencyUS) * time.Microsecond,
		Error: r.Error, ResponseSnippet: r.ResponseSnippet}
}

// disabledReason says why an endpoint failing since since was disabled at at, after the attempt a.
func disabledReason(at, since time.Time, a notify.DeliveryAttempt) string {
	return fmt.Sprintf("disabled at %s: every delivery attempt since %s failed (the last: %s)",
		at.Format(time.RFC3339), since.UTC().Format(time.RFC3339), attemptSummary(a))
}
