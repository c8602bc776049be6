package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/cloudreseller/aws-invites/internal/invite"
)

// EventHook runs inside the transaction that wrote events of a type (meaningful changes), after they were written
// with their ids: what it enqueues (webhook deliveries, email) commits or rolls back with the change itself. tx is
// the transaction's database/sql handle, as a job engine's transactional insert takes it.
type EventHook func(ctx context.Context, tx *sql.Tx, events []invite.Event) error

// ViewEncoder renders an invite as the API shows it, for the snapshot an event keeps.
type ViewEncoder func(invite.View) ([]byte, error)

// WithEvents returns the store writing events with a hook that runs in their transaction (nil: none) and the
// encoder of the invites they carry: the same database, connections and locks; s itself is unchanged.
func (s *Store) WithEvents(hook EventHook, encode ViewEncoder) *Store {
	c := *s
	c.hook, c.encode = hook, encode
	return &c
}

// writeEvents inserts events (skipping empty ones) in tx, then runs the hook on those of a type.
func (s *Store) writeEvents(ctx context.Context, tx *gorm.DB, changedAt time.Time, events ...invite.Event) error {
	var typed []invite.Event
	for _, ev := range events {
		if ev.Empty() {
			continue
		}
		if ev.At.IsZero() {
			ev.At = changedAt
		}
		if ev.PublicID == "" {
			return errors.New("store: an event without a public id")
		}
		if ev.View != nil && s.encode != nil {
			snap, err := s.encode(*ev.View)
			if err != nil {
				return fmt.Errorf("store: encode the invite of event %s: %w", ev.PublicID, err)
			}
			ev.Snapshot = snap
		}
		row := eventToRow(ev)
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		ev.ID = row.ID
		if ev.Type != "" {
			typed = append(typed, ev)
		}
	}
	if len(typed) == 0 || s.hook == nil {
		return nil
	}
	sqlTx, ok := tx.Statement.ConnPool.(*sql.Tx)
	if !ok {
		return errors.New("store: events written outside a transaction")
	}
	return s.hook(ctx, sqlTx, typed)
}

// Events returns an invite's history under its billing profile, oldest first.
func (s *Store) Events(ctx context.Context, billingProfileID, inviteID string) ([]invite.Event, error) {
	var rows []eventRow
	if err := s.db.WithContext(ctx).Where("invite_id = ? AND billing_profile_id = ?", inviteID, billingProfileID).
		Order("id").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: list events of invite %s: %w", inviteID, err)
	}
	out := make([]invite.Event, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out, nil
}

// ListEvents returns a page of the activity feed (events of a type), newest first: a keyset over the event
// sequence, so pages neither repeat nor skip events written meanwhile.
func (s *Store) ListEvents(ctx context.Context, q invite.EventQuery) (invite.EventPage, error) {
	limit := pageLimit(q.Limit)
	db := s.db.WithContext(ctx).Where("type <> ''")
	if q.BillingProfileID != "" {
		db = db.Where("billing_profile_id = ?", q.BillingProfileID)
	}
	if len(q.Types) > 0 {
		types := make([]string, len(q.Types))
		for i, t := range q.Types {
			types[i] = string(t)
		}
		db = db.Where("type IN ?", types)
	}
	if !q.Since.IsZero() {
		db = db.Where("at >= ?", dbTime(q.Since))
	}
	if q.AccountID != "" {
		db = db.Where("account_id = ?", q.AccountID)
	}
	if q.Before > 0 {
		db = db.Where("id < ?", q.Before)
	}
	var rows []eventRow
	if err := db.Order("id DESC").Limit(limit + 1).Find(&rows).Error; err != nil {
		return invite.EventPage{}, fmt.Errorf("store: list events: %w", err)
	}
	return eventPageOf(rows, limit), nil
}

// eventPageOf makes a page of the feed of rows read with one row more than the page.
func eventPageOf(rows []eventRow, limit int) invite.EventPage {
	var page invite.EventPage
	rows, last := onePage(rows, limit)
	if last != nil {
		page.Next = last.ID
	}
	page.Events = make([]invite.Event, len(rows))
	for i, r := range rows {
		page.Events[i] = r.domain()
	}
	return page
}
