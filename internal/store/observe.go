package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// InviteStateCount is how many invites of a payer are in a state, and since when the oldest of them waits (nil for
// states nothing waits in: the ends, and active).
type InviteStateCount struct {
	Payer  string
	State  string
	Count  int64
	Oldest *time.Time
}

// inviteStatesSQL is one grouped pass over the invites: a count per payer and state, and for the states that wait
// on something outside the service the start of the oldest wait: an invitation since it was (last) sent, a joined
// account since it joined, a critical one since its last change.
const inviteStatesSQL = `SELECT payer, state, COUNT(*),
  MIN(CASE WHEN state = 'invited' THEN COALESCE(last_sent_at, created_at)
           WHEN state IN ('accepted', 'awaiting_cur') THEN COALESCE(joined_at, updated_at)
           WHEN state = 'cloudhealth_critical' THEN updated_at END)
FROM invites GROUP BY payer, state`

// InviteStateCounts counts the invites by payer and state, in one statement (the metrics read it at scrape time).
func (s *Store) InviteStateCounts(ctx context.Context) ([]InviteStateCount, error) {
	rows, err := s.db.WithContext(ctx).Raw(inviteStatesSQL).Rows()
	if err != nil {
		return nil, fmt.Errorf("counting invites by state: %w", err)
	}
	defer rows.Close()
	var out []InviteStateCount
	for rows.Next() {
		var c InviteStateCount
		var oldest any
		if err := rows.Scan(&c.Payer, &c.State, &c.Count, &oldest); err != nil {
			return nil, fmt.Errorf("counting invites by state: %w", err)
		}
		if oldest != nil {
			t, err := aggregateTime(oldest)
			if err != nil {
				return nil, fmt.Errorf("counting invites by state: %w", err)
			}
			c.Oldest = &t
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// aggregateTime reads a timestamp an aggregate returned: PostgreSQL gives a time, while SQLite gives the stored
// text, since an aggregate's column has no declared type for the driver to convert by. The layouts are those the
// SQLite driver writes (glebarez/go-sqlite writes time.Time in its default format; older rows may use others).
func aggregateTime(v any) (time.Time, error) {
	var s string
	switch t := v.(type) {
	case time.Time:
		return t.UTC(), nil
	case string:
		s = t
	case []byte:
		s = string(t)
	default:
		return time.Time{}, fmt.Errorf("unexpected timestamp %T", v)
	}
	for _, layout := range []string{"2006-01-02 15:04:05.999999999-07:00", time.RFC3339Nano,
		"2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("unreadable timestamp %q", s)
}

// WebhookHealth is the state of the webhook deliveries: deliveries waiting for a (further) attempt, and the
// endpoints by health.
type WebhookHealth struct {
	PendingDeliveries int64
	HealthyEndpoints  int64 // enabled, delivering
	FailingEndpoints  int64 // enabled, failing since their last success
	DisabledByService int64 // disabled by the service after failing too long (their reason says so)
	DisabledByOwner   int64 // disabled by their owner
}

// WebhookHealth reads the webhook counts in one statement.
func (s *Store) WebhookHealth(ctx context.Context) (WebhookHealth, error) {
	var h WebhookHealth
	row := s.db.WithContext(ctx).Raw(`SELECT
  (SELECT COUNT(*) FROM webhook_deliveries WHERE state = 'pending'),
  (SELECT COUNT(*) FROM webhook_endpoints WHERE enabled AND failing_since IS NULL),
  (SELECT COUNT(*) FROM webhook_endpoints WHERE enabled AND failing_since IS NOT NULL),
  (SELECT COUNT(*) FROM webhook_endpoints WHERE NOT enabled AND disabled_reason <> ''),
  (SELECT COUNT(*) FROM webhook_endpoints WHERE NOT enabled AND disabled_reason = '')`).Row()
	if err := row.Scan(&h.PendingDeliveries, &h.HealthyEndpoints, &h.FailingEndpoints, &h.DisabledByService, &h.DisabledByOwner); err != nil {
		return h, fmt.Errorf("counting webhook deliveries: %w", err)
	}
	return h, nil
}

// JobCount is how many background jobs of a queue and kind are in a state that is not final.
type JobCount struct {
	Queue, Kind, State string
	Count              int64
}

// JobCounts counts the job engine's unfinished jobs (available, scheduled, retryable, running, pending) by queue,
// kind and state: River's own table, in the same database.
func (s *Store) JobCounts(ctx context.Context) ([]JobCount, error) {
	rows, err := s.db.WithContext(ctx).Raw(`SELECT queue, kind, state, COUNT(*) FROM river_job
WHERE state IN ('available', 'scheduled', 'retryable', 'running', 'pending') GROUP BY queue, kind, state`).Rows()
	if err != nil {
		return nil, fmt.Errorf("counting jobs: %w", err)
	}
	defer rows.Close()
	var out []JobCount
	for rows.Next() {
		var c JobCount
		if err := rows.Scan(&c.Queue, &c.Kind, &c.State, &c.Count); err != nil {
			return nil, fmt.Errorf("counting jobs: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Use adds a GORM plugin to the store's statements (the traces' database spans).
func (s *Store) Use(plugin gorm.Plugin) error { return s.db.Use(plugin) }
