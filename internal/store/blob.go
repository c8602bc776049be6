package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Blob is one named document in the sandbox_state table, read and rewritten atomically. The sandbox keeps its
// simulated world there so that several processes on one database see one world.
type Blob struct {
	s    *Store
	name string
}

// Blob returns the document with the given name; it need not exist yet.
func (s *Store) Blob(name string) *Blob { return &Blob{s: s, name: name} }

type sandboxStateRow struct {
	Name      string    `gorm:"column:name;primaryKey"`
	Data      *string   `gorm:"column:data"`
	UpdatedAt time.Time `gorm:"column:updated_at;autoUpdateTime:false"`
}

func (sandboxStateRow) TableName() string { return "sandbox_state" }

// Transact calls fn with the document's current content (nil when it was never written) and stores what fn
// returns, in one transaction that holds the document's row lock, so concurrent read-modify-write cycles, in this
// process or another, never lose an update. When fn fails nothing is written and its error is returned. The
// content is stored as text, so it must be valid UTF-8 (JSON, say).
func (b *Blob) Transact(ctx context.Context, fn func(state []byte) ([]byte, error)) error {
	err := b.s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// Make sure a row exists to lock: SELECT ... FOR UPDATE locks nothing when there is no row, and two
		// first writers would then both insert.
		placeholder := sandboxStateRow{Name: b.name, UpdatedAt: b.s.now()}
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&placeholder).Error; err != nil {
			return err
		}
		q := tx.Where("name = ?", b.name)
		if b.s.dialect == DialectPostgres {
			// On SQLite, BEGIN IMMEDIATE has taken the database's write lock already.
			q = q.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate})
		}
		var row sandboxStateRow
		if err := q.Take(&row).Error; err != nil {
			return err
		}
		var state []byte
		if row.Data != nil {
			state = []byte(*row.Data)
		}
		next, err := fn(state)
		if err != nil {
			return &callbackError{err}
		}
		data := string(next)
		return tx.Model(&sandboxStateRow{}).Where("name = ?", b.name).
			Updates(map[string]any{"data": &data, "updated_at": b.s.now()}).Error
	})
	var cbErr *callbackError
	if errors.As(err, &cbErr) {
		return cbErr.err
	}
	if err != nil {
		return fmt.Errorf("store: update sandbox state %q: %w", b.name, err)
	}
	return nil
}

// callbackError carries fn's error through the transaction unwrapped, so callers see exactly what fn returned.
type callbackError struct{ err error }

func (e *callbackError) Error() string { return e.err.Error() }
