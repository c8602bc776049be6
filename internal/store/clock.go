package store

import (
	"context"
	"fmt"
	"sync"
	"time"

	"gorm.io/gorm/clause"

	"github.com/cloudreseller/aws-invites/internal/invite"
)

// clockRefresh bounds how stale another process's advance of the sandbox clock may be seen here.
const clockRefresh = time.Second

// clockReadTimeout bounds a refresh of the offset. Every caller of Now waits for it, so a database that does not
// answer (or a caller that holds SQLite's only connection in a transaction, which the clock must never be read
// inside) costs this once a refresh interval instead of stopping every clock in the process.
const clockReadTimeout = time.Second

// SandboxClock is the sandbox's test clock: the real time plus an offset kept in the database, so every process on
// the database tells the same time (one that advanced it at once, the others within a second). It only moves
// forward. It satisfies invite.Clock.
type SandboxClock struct {
	s    *Store
	real invite.Clock

	mu       sync.Mutex
	offset   time.Duration
	loadedAt time.Time // real time of the last read of the offset; zero before the first
}

var _ invite.Clock = (*SandboxClock)(nil)

type sandboxClockRow struct {
	ID        int       `gorm:"column:id;primaryKey"`
	OffsetUS  int64     `gorm:"column:offset_us"`
	UpdatedAt time.Time `gorm:"column:updated_at"`
}

func (sandboxClockRow) TableName() string { return "sandbox_clock" }

// SandboxClock returns the test clock kept in this database, over the given real clock (SystemClock when nil).
func (s *Store) SandboxClock(real invite.Clock) *SandboxClock {
	if real == nil {
		real = invite.SystemClock{}
	}
	return &SandboxClock{s: s, real: real}
}

// Now returns the sandbox time. When the database cannot be read it keeps the offset it knew: a clock must answer.
func (c *SandboxClock) Now() time.Time {
	now := c.real.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.loadedAt.IsZero() || now.Sub(c.loadedAt) >= clockRefresh || now.Before(c.loadedAt) {
		ctx, cancel := context.WithTimeout(context.Background(), clockReadTimeout)
		off, err := c.load(ctx)
		cancel()
		if err == nil {
			c.offset = max(c.offset, off)
		}
		c.loadedAt = now
	}
	return now.Add(c.offset).UTC()
}

func (c *SandboxClock) load(ctx context.Context) (time.Duration, error) {
	var rows []sandboxClockRow
	if err := c.s.db.WithContext(ctx).Where("id = 1").Limit(1).Find(&rows).Error; err != nil {
		return 0, fmt.Errorf("store: read the sandbox clock: %w", err)
	}
	if len(rows) == 0 {
		return 0, nil
	}
	return time.Duration(rows[0].OffsetUS) * time.Microsecond, nil
}

// AdvanceTo moves the sandbox time forward to t (a time before the current sandbox time changes nothing and is
// CodeValidationFailed), for every process on the database, and returns the new sandbox time.
func (c *SandboxClock) AdvanceTo(ctx context.Context, t time.Time) (time.Time, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	real := c.real.Now()
	stored, err := c.load(ctx)
	if err != nil {
		return time.Time{}, err
	}
	current := real.Add(max(c.offset, stored))
	if t.Before(current) {
		return time.Time{}, invite.FieldProblem(invite.CodeValidationFailed, "to", "before the sandbox's current time",
			fmt.Sprintf("the sandbox clock only moves forward: it is %s there, after %s", current.UTC().Format(time.RFC3339), t.UTC().Format(time.RFC3339)))
	}
	// The offset is kept in microseconds, rounded up: the clock then reads t or later, never just before it.
	offset := t.Sub(real)
	if up := offset.Truncate(time.Microsecond); up < offset {
		offset = up + time.Microsecond
	} else {
		offset = up
	}
	row := sandboxClockRow{ID: 1, OffsetUS: offset.Microseconds(), UpdatedAt: dbTime(real)}
	// GREATEST/MAX keep a concurrent advance of another process that went further.
	err = c.s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns: []clause.Column{{Name: "id"}},
		DoUpdates: clause.Set{
			{Column: clause.Column{Name: "offset_us"}, Value: clause.Expr{SQL: c.s.dialect.greatest + "(sandbox_clock.offset_us, excluded.offset_us)"}},
			{Column: clause.Column{Name: "updated_at"}, Value: clause.Expr{SQL: "excluded.updated_at"}},
		},
	}).Create(&row).Error
	if err != nil {
		return time.Time{}, fmt.Errorf("store: advance the sandbox clock: %w", err)
	}
	if stored, err = c.load(ctx); err == nil {
		c.offset = max(c.offset, stored)
	}
	c.offset = max(c.offset, offset)
	c.loadedAt = real
	return real.Add(c.offset).UTC(), nil
}
