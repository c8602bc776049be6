package jobs_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/cloudreseller/aws-invites/internal/jobs"
	"github.com/cloudreseller/aws-invites/internal/store"
	"github.com/cloudreseller/aws-invites/internal/store/storetest"
)

// TestCURScanHoldsItsLease: every CUR scan runs under its payer's lease, keyed apart from the payer's
// reconciliation, and gives it back.
func TestCURScanHoldsItsLease(t *testing.T) {
	t.Parallel()
	st := storetest.MustOpenUnmigrated(t, storetest.URL(t, store.DialectSQLite), store.Options{})
	work := newFakeWork("100000000001", "100000000002")
	cfg := testConfig(t, st, work)
	var mu sync.Mutex
	var taken, released []string
	cfg.Lease = func(_ context.Context, key string) (func() error, error) {
		mu.Lock()
		defer mu.Unlock()
		taken = append(taken, key)
		return func() error {
			mu.Lock()
			defer mu.Unlock()
			released = append(released, key)
			return nil
		}, nil
	}
	if err := jobs.RunOnce(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	want := []string{"cur:100000000001", "cur:100000000002"}
	slices.Sort(taken)
	slices.Sort(released)
	if !slices.Equal(taken, want) || !slices.Equal(released, want) {
		t.Errorf("leases taken %v, released %v; want %v each", taken, released, want)
	}
}

// TestMinPoolConnsFollowsConcurrency: the pool grows by one connection per twelve workers, not one per worker.
func TestMinPoolConnsFollowsConcurrency(t *testing.T) {
	for _, tc := range []struct {
		workers int
		want    int32
	}{{0, 22 + 2 + 6}, {8, 1 + 1 + 6}, {128, 11 + 1 + 6}, {1024, 86 + 6 + 6}} {
		if got := jobs.MinPoolConns(jobs.Config{Workers: tc.workers}); got != tc.want {
			t.Errorf("MinPoolConns(Workers: %d) = %d, want %d", tc.workers, got, tc.want)
		}
	}
}
