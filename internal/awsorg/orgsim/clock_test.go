package orgsim_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cloudreseller/aws-invites/internal/awsorg/orgsim"
	"github.com/cloudreseller/aws-invites/internal/store"
	"github.com/cloudreseller/aws-invites/internal/store/storetest"
	"github.com/cloudreseller/aws-invites/internal/testclock"
)

// TestSandboxClockOnSQLite: with the sandbox's wiring on SQLite (the simulator in the service's database, its time
// the sandbox clock, which reads that database too, over one connection), a call whose clock read is due does not
// wait for the connection its own transaction holds. Before the time was read ahead of the transaction, every such
// call waited for the clock's read to give up, and without that bound, forever (and so did every request).
func TestSandboxClockOnSQLite(t *testing.T) {
	st := storetest.MustOpen(t, storetest.URL(t, store.DialectSQLite), store.Options{})
	real := testclock.New(start)
	clock := st.SandboxClock(real)
	e := newEnv(t, store.DialectSQLite, orgsim.Options{Clock: clock.Now, World: orgsim.NewSQLStore(st.SQLDB())})
	org := e.as(mgmt)
	for i := range 3 {
		real.Advance(2 * time.Second) // the clock's next read goes to the database
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		began := time.Now()
		_, err := invite(ctx, org, fmt.Sprintf("2222222222%02d", i), "")
		cancel()
		if took := time.Since(began); err != nil || took > 900*time.Millisecond {
			t.Fatalf("invite %d: %v after %s", i, err, took)
		}
	}
}
