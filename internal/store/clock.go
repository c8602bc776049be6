package store

import (
	"context"
	"fmt"
	"slices"
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

	mu         sync.Mutex
	offset     time.Duration
	loadedAt   time.Time // real time of the last read of the offset; zero before the first
	refreshing bool      // a caller is reading the offset again, outside the lock
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

// stale reports whether offsets read at loadedAt (zero: never) must be read again at now: they are over
// clockRefresh old, or the real clock went back.
func stale(loadedAt, now time.Time) bool {
	return loadedAt.IsZero() || now.Sub(loadedAt) >= clockRefresh || now.Before(loadedAt)
}

// Now returns the sandbox time. When the database cannot be read it keeps the offset it knew: a clock must answer.
// One caller refreshes a stale offset at a time, outside the lock; the others meanwhile answer from the offset
// known, so a database that hangs delays that one caller (up to clockReadTimeout), not every answer of the process.
// Only the first read waits for everyone: before it, no offset is known.
func (c *SandboxClock) Now() time.Time {
	now := c.real.Now()
	c.mu.Lock()
	if !stale(c.loadedAt, now) || (c.refreshing && !c.loadedAt.IsZero()) {
		off := c.offset
		c.mu.Unlock()
		return now.Add(off).UTC()
	}
	first := c.loadedAt.IsZero()
	if !first {
		c.refreshing = true
		c.mu.Unlock()
	}
	ctx, cancel := context.WithTimeout(context.Background(), clockReadTimeout)
	off, err := c.load(ctx)
	cancel()
	if !first {
		c.mu.Lock()
		c.refreshing = false
	}
	defer c.mu.Unlock()
	if err == nil {
		c.offset = max(c.offset, off)
	}
	c.loadedAt = now
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
	offset := roundUpMicros(t.Sub(real))
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

// payerOffset is a payer organization's own test clock as kept: how far it runs ahead of the real time.
type payerOffset struct {
	Payer      string
	CustomerID string
	Offset     time.Duration
	CreatedAt  time.Time
}

type payerClockRow struct {
	Payer      string    `gorm:"column:payer;primaryKey"`
	CustomerID string    `gorm:"column:customer_id"`
	OffsetUS   int64     `gorm:"column:offset_us"`
	CreatedAt  time.Time `gorm:"column:created_at"`
	UpdatedAt  time.Time `gorm:"column:updated_at"`
}

func (payerClockRow) TableName() string { return "sandbox_payer_clocks" }

func (r payerClockRow) domain() payerOffset {
	return payerOffset{Payer: r.Payer, CustomerID: r.CustomerID, Offset: time.Duration(r.OffsetUS) * time.Microsecond,
		CreatedAt: r.CreatedAt.UTC()}
}

// SandboxClocks are the sandbox's test clocks: the shared one, and the payers' own (invite.Clocks). Like the
// shared clock, the payers' offsets are kept in the database and read at most once a second, all in one query.
type SandboxClocks struct {
	Shared *SandboxClock

	mu       sync.Mutex
	payers   map[string]payerOffset
	loadedAt time.Time
}

var _ invite.Clocks = (*SandboxClocks)(nil)

// SandboxClocks returns the sandbox's clocks over the shared one.
func (s *Store) SandboxClocks(shared *SandboxClock) *SandboxClocks {
	return &SandboxClocks{Shared: shared}
}

// For returns the clock that applies to a payer: its own, else the shared one.
func (c *SandboxClocks) For(payer string) invite.Clock { return payerClock{c: c, payer: payer} }

type payerClock struct {
	c     *SandboxClocks
	payer string
}

func (p payerClock) Now() time.Time {
	if own, ok := p.c.own(p.payer); ok {
		return p.c.Shared.real.Now().Add(own.Offset).UTC()
	}
	return p.c.Shared.Now()
}

// TimeOf is the sandbox time of a call an account makes to the simulated AWS: a payer's own clock for the payer,
// and for an account one of the payer's invites holds (the invited account answering its handshake); else the
// shared time. With no test clock at all it reads nothing.
func (c *SandboxClocks) TimeOf(ctx context.Context, account string) time.Time {
	payers := c.OwnPayers()
	if len(payers) == 0 {
		return c.Shared.Now()
	}
	if slices.Contains(payers, account) {
		return c.For(account).Now()
	}
	// One query for all the payers with clocks of their own, not one each: every simulated call asks.
	if payer, ok := c.Shared.s.payerHolding(ctx, payers, account); ok {
		return c.For(payer).Now()
	}
	return c.Shared.Now()
}

// AnyOwn reports whether some payer has a clock of its own (as last read, at most a second ago). When none has,
// every payer reads the shared clock, and a caller need not find out which payer a request concerns.
func (c *SandboxClocks) AnyOwn() bool {
	c.own("") // refreshes what is known when it is over a second old
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.payers) > 0
}

// OwnPayers returns the payers that have a clock of their own, as last read.
func (c *SandboxClocks) OwnPayers() []string {
	c.own("") // refreshes what is known when it is over a second old
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, 0, len(c.payers))
	for p := range c.payers {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// own returns the payer's own clock, from what was read less than a second ago. When the database cannot be read
// it keeps what it knew: a clock must answer.
func (c *SandboxClocks) own(payer string) (payerOffset, bool) {
	now := c.Shared.real.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if stale(c.loadedAt, now) {
		ctx, cancel := context.WithTimeout(context.Background(), clockReadTimeout)
		all, err := c.Shared.s.payerClocks(ctx)
		cancel()
		if err == nil {
			c.merge(all)
		}
		c.loadedAt = now
	}
	pc, ok := c.payers[payer]
	return pc, ok
}

// merge takes what the database says, never moving a clock back (another process may not have seen an advance
// made here yet, but the database always has).
func (c *SandboxClocks) merge(all []payerOffset) {
	if c.payers == nil {
		c.payers = map[string]payerOffset{}
	}
	for _, pc := range all {
		if known, ok := c.payers[pc.Payer]; ok {
			pc.Offset = max(pc.Offset, known.Offset)
		}
		c.payers[pc.Payer] = pc
	}
}

func (s *Store) payerClocks(ctx context.Context) ([]payerOffset, error) {
	var rows []payerClockRow
	if err := s.db.WithContext(ctx).Order("payer").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: read the payers' test clocks: %w", err)
	}
	out := make([]payerOffset, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out, nil
}

// TestClock returns a payer's own clock; CodeNotFound when it has none.
func (c *SandboxClocks) TestClock(ctx context.Context, payer string) (invite.TestClock, error) {
	pc, err := c.load(ctx, payer)
	if err != nil {
		return invite.TestClock{}, err
	}
	return c.testClock(pc), nil
}

func (c *SandboxClocks) testClock(pc payerOffset) invite.TestClock {
	return invite.TestClock{Payer: pc.Payer, CustomerID: pc.CustomerID, Now: c.Shared.real.Now().Add(pc.Offset).UTC(), CreatedAt: pc.CreatedAt}
}

func (c *SandboxClocks) load(ctx context.Context, payer string) (payerOffset, error) {
	var rows []payerClockRow
	if err := c.Shared.s.db.WithContext(ctx).Where("payer = ?", payer).Limit(1).Find(&rows).Error; err != nil {
		return payerOffset{}, fmt.Errorf("store: read the test clock of payer %s: %w", payer, err)
	}
	if len(rows) == 0 {
		return payerOffset{}, invite.Errorf(invite.CodeNotFound, "payer %s has no test clock of its own", payer)
	}
	return rows[0].domain(), nil
}

// CreateTestClock gives a payer its own clock, starting at the shared clock's time, for customerID; CodeConflict
// when it has one already.
func (c *SandboxClocks) CreateTestClock(ctx context.Context, payer, customerID string) (invite.TestClock, error) {
	now := c.Shared.Now()
	real := c.Shared.real.Now()
	row := payerClockRow{Payer: payer, CustomerID: customerID, OffsetUS: roundUpMicros(now.Sub(real)).Microseconds(),
		CreatedAt: dbTime(real), UpdatedAt: dbTime(real)}
	res := c.Shared.s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&row)
	if res.Error != nil {
		return invite.TestClock{}, fmt.Errorf("store: create the test clock of payer %s: %w", payer, res.Error)
	}
	if res.RowsAffected == 0 {
		return invite.TestClock{}, invite.Errorf(invite.CodeTestClockExists, "payer %s has its own test clock already", payer)
	}
	c.mu.Lock()
	c.merge([]payerOffset{row.domain()})
	c.mu.Unlock()
	return c.testClock(row.domain()), nil
}

// AdvanceTestClock moves a payer's own clock forward to t (never back: CodeValidationFailed) and returns its time.
func (c *SandboxClocks) AdvanceTestClock(ctx context.Context, payer string, t time.Time) (time.Time, error) {
	pc, err := c.load(ctx, payer)
	if err != nil {
		return time.Time{}, err
	}
	real := c.Shared.real.Now()
	if current := real.Add(pc.Offset); t.Before(current) {
		return time.Time{}, invite.FieldProblem(invite.CodeValidationFailed, "to", "before the clock's current time",
			fmt.Sprintf("a test clock only moves forward: it is %s for payer %s, after %s", current.UTC().Format(time.RFC3339), payer, t.UTC().Format(time.RFC3339)))
	}
	offset := roundUpMicros(t.Sub(real))
	// The larger offset wins, so a concurrent advance of another process that went further is kept.
	err = c.Shared.s.db.WithContext(ctx).Model(&payerClockRow{}).Where("payer = ?", payer).Updates(map[string]any{
		"offset_us":  clause.Expr{SQL: c.Shared.s.dialect.greatest + "(offset_us, ?)", Vars: []any{offset.Microseconds()}},
		"updated_at": dbTime(real),
	}).Error
	if err != nil {
		return time.Time{}, fmt.Errorf("store: advance the test clock of payer %s: %w", payer, err)
	}
	if pc, err = c.load(ctx, payer); err != nil {
		return time.Time{}, err
	}
	c.mu.Lock()
	c.merge([]payerOffset{pc})
	c.mu.Unlock()
	return real.Add(max(pc.Offset, offset)).UTC(), nil
}

// roundUpMicros rounds an offset up to the microsecond, as offsets are kept: a clock then reads t or later, never
// just before it.
func roundUpMicros(d time.Duration) time.Duration {
	if up := d.Truncate(time.Microsecond); up < d {
		return up + time.Microsecond
	}
	return d.Truncate(time.Microsecond)
}
