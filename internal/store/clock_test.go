package store_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/cloudreseller/aws-invites/internal/invite"
	"github.com/cloudreseller/aws-invites/internal/store"
	"github.com/cloudreseller/aws-invites/internal/store/storetest"
	"github.com/cloudreseller/aws-invites/internal/testclock"
)

// TestSandboxClockIsSharedAndMonotonic: two stores on one database (two processes) tell the same sandbox time
// once one advanced it, and neither can move it back.
func TestSandboxClockIsSharedAndMonotonic(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) {
			ctx := context.Background()
			url := storetest.URL(t, d)
			one := storetest.MustOpen(t, url, store.Options{})
			two := one
			if d == store.DialectPostgres {
				two = storetest.MustOpen(t, url, store.Options{})
			}
			real := testclock.New(time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC))
			c1, c2 := one.SandboxClock(real), two.SandboxClock(real)
			if !c1.Now().Equal(real.Now()) {
				t.Fatalf("a new sandbox clock says %s, the real time is %s", c1.Now(), real.Now())
			}
			target := real.Now().Add(72 * time.Hour)
			got, err := c1.AdvanceTo(ctx, target)
			if err != nil || !got.Equal(target) || !c1.Now().Equal(target) {
				t.Fatalf("advance: %s %v; now %s", got, err, c1.Now())
			}
			real.Advance(2 * time.Second) // past the other's refresh interval
			if want := target.Add(2 * time.Second); !c2.Now().Equal(want) {
				t.Errorf("the other process says %s, want %s", c2.Now(), want)
			}
			_, err = c2.AdvanceTo(ctx, real.Now())
			if !invite.IsCode(err, invite.CodeValidationFailed) {
				t.Errorf("moving back: %v", err)
			}
			if !c1.Now().Equal(target.Add(2 * time.Second)) {
				t.Errorf("a refused move changed the time: %s", c1.Now())
			}
		})
	}
}

// A clock moved to an instant reads that instant or later, never just before it, whatever the real time's
// nanoseconds (the offset is kept in microseconds).
func TestSandboxClockReachesItsTarget(t *testing.T) {
	ctx := context.Background()
	s := storetest.Open(t, store.DialectSQLite, store.Options{})
	real := testclock.New(time.Date(2026, 12, 7, 13, 45, 2, 843846123, time.UTC))
	c := s.SandboxClock(real)
	target := time.Date(2027, 1, 1, 1, 0, 0, 0, time.UTC)
	got, err := c.AdvanceTo(ctx, target)
	if err != nil || got.Before(target) || got.Sub(target) >= time.Microsecond || c.Now().Before(target) {
		t.Fatalf("advanced to %s: %s (now %s), %v", target, got, c.Now(), err)
	}
}

// hangQueries makes every query wait until its context ends while on: a database that does not answer.
type hangQueries struct{ on atomic.Bool }

func (h *hangQueries) Name() string { return "hang-queries" }

func (h *hangQueries) Initialize(db *gorm.DB) error {
	return db.Callback().Query().Before("gorm:query").Register("hang-queries", func(tx *gorm.DB) {
		if h.on.Load() {
			<-tx.Statement.Context.Done()
			tx.AddError(tx.Statement.Context.Err())
		}
	})
}

// A database that does not answer delays the one caller refreshing the sandbox clock's offset, not the others:
// they answer at once from the offset known (before, every answer of the process waited behind the refresh).
func TestSandboxClockAnswersWhileTheDatabaseHangs(t *testing.T) {
	st := storetest.MustOpen(t, storetest.URL(t, store.DialectSQLite), store.Options{})
	hang := &hangQueries{}
	if err := st.Use(hang); err != nil {
		t.Fatal(err)
	}
	real := testclock.New(time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC))
	c := st.SandboxClock(real)
	target := real.Now().Add(time.Hour)
	if _, err := c.AdvanceTo(context.Background(), target); err != nil {
		t.Fatal(err)
	}
	hang.on.Store(true)
	real.Advance(2 * time.Second) // the offset is stale now
	refreshed := make(chan time.Time)
	go func() { refreshed <- c.Now() }()
	time.Sleep(100 * time.Millisecond) // the refresh is waiting on the database
	began := time.Now()
	got := c.Now()
	if took := time.Since(began); took > 300*time.Millisecond {
		t.Errorf("Now took %s while another caller refreshed", took)
	}
	if want := target.Add(2 * time.Second); !got.Equal(want) || !(<-refreshed).Equal(want) {
		t.Errorf("the clock says %s, want %s (the offset known)", got, want)
	}
}
