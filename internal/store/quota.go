package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/cloudreseller/aws-invites/internal/invite"
)

// quotaLedgerRow is one invitation that counts against a payer's daily quota (invite.LedgerEntry).
type quotaLedgerRow struct {
	Payer            string    `gorm:"column:payer;primaryKey"`
	HandshakeID      string    `gorm:"column:handshake_id;primaryKey"`
	BillingProfileID string    `gorm:"column:billing_profile_id"`
	RequestedAt      time.Time `gorm:"column:requested_at"`
}

func (quotaLedgerRow) TableName() string { return "invite_quota_ledger" }

// quotaHoldRow is AWS's last refusal of a payer's invitations that the ledger did not expect.
type quotaHoldRow struct {
	Payer      string    `gorm:"column:payer;primaryKey"`
	HeldUntil  time.Time `gorm:"column:held_until"`
	HeldAtUsed int       `gorm:"column:held_at_used"`
}

func (quotaHoldRow) TableName() string { return "invite_quota_holds" }

func ledgerRowOf(payer string, e invite.LedgerEntry) quotaLedgerRow {
	return quotaLedgerRow{Payer: payer, HandshakeID: e.HandshakeID, BillingProfileID: e.BillingProfileID, RequestedAt: dbTime(e.RequestedAt)}
}

func (r quotaLedgerRow) domain() invite.LedgerEntry {
	return invite.LedgerEntry{HandshakeID: r.HandshakeID, BillingProfileID: r.BillingProfileID, RequestedAt: r.RequestedAt.UTC()}
}

// upsertLedger keeps an entry once per handshake: the first record of it wins, except that a known billing profile
// fills an unknown one.
var upsertLedger = clause.OnConflict{
	Columns:   []clause.Column{{Name: "payer"}, {Name: "handshake_id"}},
	DoUpdates: clause.AssignmentColumns([]string{"billing_profile_id"}),
	Where:     clause.Where{Exprs: []clause.Expression{clause.Expr{SQL: "excluded.billing_profile_id <> ''"}}},
}

// QuotaLedger returns the payer's entries requested after since, oldest first, and its hold: both in one round
// trip on PostgreSQL, as every reconciliation pass of every payer reads them.
func (s *Store) QuotaLedger(ctx context.Context, payer string, since time.Time) (invite.Ledger, error) {
	var l invite.Ledger
	stmts := []statement{
		{"SELECT handshake_id, billing_profile_id, requested_at FROM invite_quota_ledger WHERE payer = $1 AND requested_at > $2 ORDER BY requested_at, handshake_id",
			[]any{payer, dbTime(since)}},
		{"SELECT held_until, held_at_used FROM invite_quota_holds WHERE payer = $1", []any{payer}},
	}
	readers := []func(next func() bool, row scanner) error{
		func(next func() bool, row scanner) error {
			for next() {
				var r quotaLedgerRow
				if err := row.Scan(&r.HandshakeID, &r.BillingProfileID, &r.RequestedAt); err != nil {
					return err
				}
				l.Entries = append(l.Entries, r.domain())
			}
			return nil
		},
		func(next func() bool, row scanner) error {
			for next() {
				var h quotaHoldRow
				if err := row.Scan(&h.HeldUntil, &h.HeldAtUsed); err != nil {
					return err
				}
				l.HeldUntil, l.HeldAtUsed = h.HeldUntil.UTC(), h.HeldAtUsed
			}
			return nil
		},
	}
	if err := s.readBatch(ctx, stmts, readers); err != nil {
		return invite.Ledger{}, fmt.Errorf("store: quota ledger of payer %s: %w", payer, err)
	}
	return l, nil
}

// RecordQuotaSend adds (or keeps) one entry of the payer's ledger.
func (s *Store) RecordQuotaSend(ctx context.Context, payer string, e invite.LedgerEntry) error {
	row := ledgerRowOf(payer, e)
	if err := s.db.WithContext(ctx).Clauses(upsertLedger).Create(&row).Error; err != nil {
		return fmt.Errorf("store: count handshake %s of payer %s: %w", e.HandshakeID, payer, err)
	}
	return nil
}

// UpdateQuotaLedger deletes the payer's entries requested at or before u.ExpiredBy and those of u.Removed, and
// adds u.Added, in one transaction.
func (s *Store) UpdateQuotaLedger(ctx context.Context, payer string, u invite.LedgerUpdate) error {
	rows := make([]quotaLedgerRow, len(u.Added))
	for i, e := range u.Added {
		rows[i] = ledgerRowOf(payer, e)
	}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		del := tx.Where("payer = ?", payer)
		if len(u.Removed) > 0 {
			del = del.Where(tx.Where("requested_at <= ?", dbTime(u.ExpiredBy)).Or("handshake_id IN ?", u.Removed))
		} else {
			del = del.Where("requested_at <= ?", dbTime(u.ExpiredBy))
		}
		if err := del.Delete(&quotaLedgerRow{}).Error; err != nil {
			return err
		}
		if len(rows) == 0 {
			return nil
		}
		return tx.Clauses(upsertLedger).Create(&rows).Error
	})
	if err != nil {
		return fmt.Errorf("store: update the quota ledger of payer %s: %w", payer, err)
	}
	return nil
}

// HoldQuota records (or, with the zero until, lifts) AWS's refusal of the payer's invitations.
func (s *Store) HoldQuota(ctx context.Context, payer string, until time.Time, used int) error {
	db := s.db.WithContext(ctx)
	var err error
	if until.IsZero() {
		err = db.Where("payer = ?", payer).Delete(&quotaHoldRow{}).Error
	} else {
		err = db.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "payer"}}, UpdateAll: true}).
			Create(&quotaHoldRow{Payer: payer, HeldUntil: dbTime(until), HeldAtUsed: used}).Error
	}
	if err != nil {
		return fmt.Errorf("store: hold the invitations of payer %s: %w", payer, err)
	}
	return nil
}

// memoryQuota is the memory store's ledgers and holds.
type memoryQuota struct {
	ledger map[[2]string]quotaLedgerRow // by payer and handshake
	holds  map[string]quotaHoldRow
}

func (m *Memory) quotaRows() *memoryQuota {
	if m.quota == nil {
		m.quota = &memoryQuota{ledger: map[[2]string]quotaLedgerRow{}, holds: map[string]quotaHoldRow{}}
	}
	return m.quota
}

// QuotaLedger returns the payer's entries requested after since, oldest first, and its hold.
func (m *Memory) QuotaLedger(_ context.Context, payer string, since time.Time) (invite.Ledger, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	q := m.quotaRows()
	var rows []quotaLedgerRow
	for k, r := range q.ledger {
		if k[0] == payer && r.RequestedAt.After(dbTime(since)) {
			rows = append(rows, r)
		}
	}
	slices.SortFunc(rows, func(a, b quotaLedgerRow) int {
		return cmp.Or(a.RequestedAt.Compare(b.RequestedAt), cmp.Compare(a.HandshakeID, b.HandshakeID))
	})
	l := invite.Ledger{Entries: make([]invite.LedgerEntry, len(rows))}
	for i, r := range rows {
		l.Entries[i] = r.domain()
	}
	if h, ok := q.holds[payer]; ok {
		l.HeldUntil, l.HeldAtUsed = h.HeldUntil.UTC(), h.HeldAtUsed
	}
	return l, nil
}

func (q *memoryQuota) upsert(row quotaLedgerRow) {
	k := [2]string{row.Payer, row.HandshakeID}
	if cur, ok := q.ledger[k]; ok {
		if row.BillingProfileID != "" {
			cur.BillingProfileID = row.BillingProfileID
		}
		q.ledger[k] = cur
		return
	}
	q.ledger[k] = row
}

// RecordQuotaSend adds (or keeps) one entry of the payer's ledger.
func (m *Memory) RecordQuotaSend(_ context.Context, payer string, e invite.LedgerEntry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.quotaRows().upsert(ledgerRowOf(payer, e))
	return nil
}

// UpdateQuotaLedger deletes the payer's entries requested at or before u.ExpiredBy and those of u.Removed, and
// adds u.Added.
func (m *Memory) UpdateQuotaLedger(_ context.Context, payer string, u invite.LedgerUpdate) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	q := m.quotaRows()
	for k, r := range q.ledger {
		if k[0] == payer && !r.RequestedAt.After(dbTime(u.ExpiredBy)) {
			delete(q.ledger, k)
		}
	}
	for _, id := range u.Removed {
		delete(q.ledger, [2]string{payer, id})
	}
	for _, e := range u.Added {
		q.upsert(ledgerRowOf(payer, e))
	}
	return nil
}

// HoldQuota records (or, with the zero until, lifts) AWS's refusal of the payer's invitations.
func (m *Memory) HoldQuota(_ context.Context, payer string, until time.Time, used int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	q := m.quotaRows()
	if until.IsZero() {
		delete(q.holds, payer)
		return nil
	}
	q.holds[payer] = quotaHoldRow{Payer: payer, HeldUntil: dbTime(until), HeldAtUsed: used}
	return nil
}

// SetQueuePlaces writes the places of a payer's queued invites (derived data: no version, no event), in one
// statement per 200 invites; an invite no longer queued is left alone.
func (s *Store) SetQueuePlaces(ctx context.Context, payer string, places []invite.QueuePlace) error {
	// PostgreSQL types the VALUES list from its parameters, which it sees as text: each is cast to its column's
	// type. SQLite needs no cast, and its CAST to TIMESTAMP would turn the time into a number.
	param := func(sqlType string) string {
		if s.dialect.types.Postgres {
			return "CAST(? AS " + sqlType + ")"
		}
		return "?"
	}
	row := "(" + strings.Join([]string{"?", param("BIGINT"), param(s.dialect.types.Time), "?"}, ", ") + ")"
	for chunk := range slices.Chunk(places, 200) {
		values := make([]string, len(chunk))
		args := make([]any, 0, 4*len(chunk)+1)
		for i, p := range chunk {
			values[i] = row
			args = append(args, p.InviteID, int64(p.Slot.Position), optionalTime(p.Slot.ScheduledFor), string(p.Slot.Reason))
		}
		args = append(args, payer)
		sql := "UPDATE invites SET queue_position = v.column2, queue_scheduled_for = v.column3, queue_reason = v.column4 " +
			"FROM (VALUES " + strings.Join(values, ", ") + ") AS v WHERE invites.id = v.column1 AND invites.payer = ? AND invites.state = 'queued'"
		if err := s.db.WithContext(ctx).Exec(sql, args...).Error; err != nil {
			return fmt.Errorf("store: the queue places of payer %s: %w", payer, err)
		}
	}
	return nil
}

// SetQueuePlaces writes the places of a payer's queued invites; an invite no longer queued is left alone.
func (m *Memory) SetQueuePlaces(_ context.Context, payer string, places []invite.QueuePlace) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, p := range places {
		r, ok := m.invites[p.InviteID]
		if !ok || r.Payer != payer || r.State != string(invite.StateQueued) {
			continue
		}
		r.QueuePosition, r.QueueScheduledFor, r.QueueReason = int64(p.Slot.Position), optionalTime(p.Slot.ScheduledFor), string(p.Slot.Reason)
		m.invites[p.InviteID] = r
	}
	return nil
}
