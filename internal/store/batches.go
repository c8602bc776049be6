package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"

	"github.com/cloudreseller/aws-invites/internal/invite"
)

// batchRow is a batch of invites; its creator and items are kept as JSON, whole.
type batchRow struct {
	ID               string     `gorm:"column:id;primaryKey"`
	BillingProfileID string     `gorm:"column:billing_profile_id"`
	Payer            string     `gorm:"column:payer"`
	RequestKey       *string    `gorm:"column:request_key"`
	DryRun           bool       `gorm:"column:dry_run"`
	State            string     `gorm:"column:state"`
	CreatedBy        string     `gorm:"column:created_by"`
	CreatedAt        time.Time  `gorm:"column:created_at"`
	UpdatedAt        time.Time  `gorm:"column:updated_at"`
	CompletedAt      *time.Time `gorm:"column:completed_at"`
	Items            string     `gorm:"column:items"`
	Version          int64      `gorm:"column:version"`
}

func (batchRow) TableName() string { return "invite_batches" }

// storedBatchItem is one item as kept in invite_batches.items.
type storedBatchItem struct {
	AccountID     string     `json:"accountId"`
	Notes         string     `json:"notes,omitempty"`
	NotesSet      bool       `json:"notesSet,omitempty"`
	Kind          string     `json:"kind,omitempty"`
	TransferStart *time.Time `json:"transferStart,omitempty"`
	TransferName  string     `json:"transferName,omitempty"`
	Outcome       string     `json:"outcome"`
	InviteID      string     `json:"inviteId,omitempty"`
	ScheduledFor  *time.Time `json:"scheduledFor,omitempty"`
	Code          string     `json:"code,omitempty"`
	Detail        string     `json:"detail,omitempty"`
	Attempts      int        `json:"attempts,omitempty"`
}

func batchToRow(b invite.Batch) (batchRow, error) {
	items := make([]storedBatchItem, len(b.Items))
	for i, it := range b.Items {
		in := it.Input
		items[i] = storedBatchItem{AccountID: in.AccountID, Notes: in.Notes, NotesSet: in.NotesSet, Kind: string(in.Kind),
			TransferName: in.TransferName, Outcome: string(it.Outcome), InviteID: it.InviteID, ScheduledFor: it.ScheduledFor,
			Code: string(it.Code), Detail: it.Detail, Attempts: it.Attempts}
		if !in.TransferStart.IsZero() {
			start := in.TransferStart
			items[i].TransferStart = &start
		}
	}
	rawItems, err := json.Marshal(items)
	if err != nil {
		return batchRow{}, err
	}
	by, err := json.Marshal(b.CreatedBy)
	if err != nil {
		return batchRow{}, err
	}
	row := batchRow{ID: b.ID, BillingProfileID: b.BillingProfileID, Payer: b.Payer, DryRun: b.DryRun, State: string(b.State),
		CreatedBy: string(by), CreatedAt: dbTime(b.CreatedAt), UpdatedAt: dbTime(b.UpdatedAt), Items: string(rawItems), Version: b.Version}
	if b.Key != "" {
		row.RequestKey = &b.Key
	}
	if b.CompletedAt != nil {
		at := dbTime(*b.CompletedAt)
		row.CompletedAt = &at
	}
	return row, nil
}

func (r batchRow) domain() (invite.Batch, error) {
	var items []storedBatchItem
	if err := json.Unmarshal([]byte(r.Items), &items); err != nil {
		return invite.Batch{}, fmt.Errorf("store: the items of batch %s: %w", r.ID, err)
	}
	b := invite.Batch{ID: r.ID, BillingProfileID: r.BillingProfileID, Payer: r.Payer, DryRun: r.DryRun, State: invite.BatchState(r.State),
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(), Version: r.Version, Items: make([]invite.BatchItem, len(items))}
	if err := json.Unmarshal([]byte(r.CreatedBy), &b.CreatedBy); err != nil {
		return invite.Batch{}, fmt.Errorf("store: the creator of batch %s: %w", r.ID, err)
	}
	if r.RequestKey != nil {
		b.Key = *r.RequestKey
	}
	if r.CompletedAt != nil {
		at := r.CompletedAt.UTC()
		b.CompletedAt = &at
	}
	for i, it := range items {
		in := invite.BatchItemInput{AccountID: it.AccountID, Notes: it.Notes, NotesSet: it.NotesSet, Kind: invite.InviteKind(it.Kind),
			TransferName: it.TransferName}
		if it.TransferStart != nil {
			in.TransferStart = it.TransferStart.UTC()
		}
		b.Items[i] = invite.BatchItem{Index: i, Input: in, Outcome: invite.BatchOutcome(it.Outcome), InviteID: it.InviteID,
			ScheduledFor: it.ScheduledFor, Code: invite.Code(it.Code), Detail: it.Detail, Attempts: it.Attempts}
	}
	return b, nil
}

// CreateBatch inserts a new batch; CodeAlreadyOpen when a batch with the same key exists.
func (s *Store) CreateBatch(ctx context.Context, b invite.Batch) error {
	row, err := batchToRow(b)
	if err != nil {
		return err
	}
	err = s.db.WithContext(ctx).Create(&row).Error
	if uniqueViolation(err, "invite_batches_key_idx", "invite_batches.request_key") {
		return invite.Errorf(invite.CodeAlreadyOpen, "a batch was already made by this request")
	}
	if err != nil {
		return fmt.Errorf("store: create batch %s: %w", b.ID, err)
	}
	return nil
}

// Batch returns a batch of a billing profile, or CodeNotFound.
func (s *Store) Batch(ctx context.Context, billingProfileID, id string) (invite.Batch, error) {
	return s.oneBatch(ctx, "id = ? AND billing_profile_id = ?", id, billingProfileID)
}

// BatchByKey returns the batch a request with key made, or CodeNotFound.
func (s *Store) BatchByKey(ctx context.Context, key string) (invite.Batch, error) {
	return s.oneBatch(ctx, "request_key = ?", key)
}

func (s *Store) oneBatch(ctx context.Context, where string, args ...any) (invite.Batch, error) {
	var rows []batchRow
	if err := s.db.WithContext(ctx).Where(where, args...).Limit(1).Find(&rows).Error; err != nil {
		return invite.Batch{}, fmt.Errorf("store: read a batch: %w", err)
	}
	if len(rows) == 0 {
		return invite.Batch{}, invite.Errorf(invite.CodeNotFound, "no such batch")
	}
	return rows[0].domain()
}

// UpdateBatch writes b and ev, guarded by b's version.
func (s *Store) UpdateBatch(ctx context.Context, b invite.Batch, ev invite.Event) (invite.Batch, error) {
	row, err := batchToRow(b)
	if err != nil {
		return invite.Batch{}, err
	}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&batchRow{}).Where("id = ? AND version = ?", b.ID, b.Version).Updates(map[string]any{
			"state": row.State, "updated_at": row.UpdatedAt, "completed_at": row.CompletedAt, "items": row.Items,
			"version": gorm.Expr("version + 1")})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return invite.Errorf(invite.CodeConcurrentUpdate, "batch %s was changed meanwhile", b.ID)
		}
		return s.writeEvents(ctx, tx, row.UpdatedAt, ev)
	})
	var domErr *invite.Error
	if err != nil && !errors.As(err, &domErr) {
		err = fmt.Errorf("store: update batch %s: %w", b.ID, err)
	}
	if err != nil {
		return invite.Batch{}, err
	}
	b.Version++
	return b, nil
}

// RunningBatches returns the running batches of a payer that made no progress since before, oldest first.
func (s *Store) RunningBatches(ctx context.Context, payer string, before time.Time) ([]invite.Batch, error) {
	var rows []batchRow
	if err := s.db.WithContext(ctx).Where("payer = ? AND state = ? AND updated_at < ?", payer, string(invite.BatchRunning), dbTime(before)).
		Order("created_at, id").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: read the running batches of payer %s: %w", payer, err)
	}
	return batchesOf(rows)
}

// CreateBatch inserts a new batch; CodeAlreadyOpen when a batch with the same key exists.
func (m *Memory) CreateBatch(_ context.Context, b invite.Batch) error {
	row, err := batchToRow(b)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range m.batches {
		if row.RequestKey != nil && r.RequestKey != nil && *r.RequestKey == *row.RequestKey {
			return invite.Errorf(invite.CodeAlreadyOpen, "a batch was already made by this request")
		}
	}
	if m.batches == nil {
		m.batches = map[string]batchRow{}
	}
	m.batches[row.ID] = row
	return nil
}

// Batch returns a batch of a billing profile, or CodeNotFound.
func (m *Memory) Batch(_ context.Context, billingProfileID, id string) (invite.Batch, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r, ok := m.batches[id]; ok && r.BillingProfileID == billingProfileID {
		return r.domain()
	}
	return invite.Batch{}, invite.Errorf(invite.CodeNotFound, "no such batch")
}

// BatchByKey returns the batch a request with key made, or CodeNotFound.
func (m *Memory) BatchByKey(_ context.Context, key string) (invite.Batch, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range m.batches {
		if r.RequestKey != nil && *r.RequestKey == key {
			return r.domain()
		}
	}
	return invite.Batch{}, invite.Errorf(invite.CodeNotFound, "no such batch")
}

// UpdateBatch writes b and ev, guarded by b's version.
func (m *Memory) UpdateBatch(_ context.Context, b invite.Batch, ev invite.Event) (invite.Batch, error) {
	row, err := batchToRow(b)
	if err != nil {
		return invite.Batch{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	cur, ok := m.batches[b.ID]
	if !ok || cur.Version != b.Version {
		return invite.Batch{}, invite.Errorf(invite.CodeConcurrentUpdate, "batch %s was changed meanwhile", b.ID)
	}
	row.Version, row.RequestKey, row.CreatedAt = b.Version+1, cur.RequestKey, cur.CreatedAt
	m.batches[b.ID] = row
	m.writeEvents(row.UpdatedAt, ev)
	b.Version++
	return b, nil
}

// RunningBatches returns the running batches of a payer that made no progress since before, oldest first.
func (m *Memory) RunningBatches(_ context.Context, payer string, before time.Time) ([]invite.Batch, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var rows []batchRow
	for _, r := range m.batches {
		if r.Payer == payer && r.State == string(invite.BatchRunning) && r.UpdatedAt.Before(dbTime(before)) {
			rows = append(rows, r)
		}
	}
	slices.SortFunc(rows, func(a, b batchRow) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return batchesOf(rows)
}

// batchesOf reads rows as batches.
func batchesOf(rows []batchRow) ([]invite.Batch, error) {
	out := make([]invite.Batch, 0, len(rows))
	for _, r := range rows {
		b, err := r.domain()
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

// InviteStates returns the states of those of ids that are invites of the billing profile.
func (s *Store) InviteStates(ctx context.Context, billingProfileID string, ids []string) (map[string]invite.State, error) {
	var rows []struct {
		ID    string
		State string
	}
	if err := s.db.WithContext(ctx).Table("invites").Select("id, state").
		Where("billing_profile_id = ? AND id IN ?", billingProfileID, ids).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: read the states of %d invites: %w", len(ids), err)
	}
	out := make(map[string]invite.State, len(rows))
	for _, r := range rows {
		out[r.ID] = invite.State(r.State)
	}
	return out, nil
}

// InviteStates returns the states of those of ids that are invites of the billing profile.
func (m *Memory) InviteStates(_ context.Context, billingProfileID string, ids []string) (map[string]invite.State, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]invite.State{}
	for _, id := range ids {
		if row, ok := m.invites[id]; ok && row.BillingProfileID == billingProfileID {
			out[id] = row.domain().State
		}
	}
	return out, nil
}
