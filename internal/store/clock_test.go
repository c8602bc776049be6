package store_test

import (
	"context"
	"testing"
	"time"

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
