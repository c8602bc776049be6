package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cloudreseller/aws-invites/internal/jobs"
	"github.com/cloudreseller/aws-invites/internal/store"
)

// fakeWork stands in for the domain: it counts calls, tracks how many calls of one payer overlap (across every
// Runner that shares it), and can be made slow or failing per payer.
type fakeWork struct {
	payers []string
	slow   map[string]time.Duration // how long ReconcilePayer takes for a payer (honoring ctx)
	fail   map[string]bool          // payers whose ReconcilePayer always fails

	mu          sync.Mutex
	payersCalls int
	calls       map[string]int
	running     map[string]int
	maxRunning  map[string]int
	chCalls     int
	hkCalls     int // Housekeep calls
	curCalls    map[string]int
	byReplica   map[string]int
	runningAll  int // ReconcilePayer calls in progress, all payers
	maxAll      int
}

func newFakeWork(payers ...string) *fakeWork {
	return &fakeWork{
		payers: payers, slow: map[string]time.Duration{}, fail: map[string]bool{},
		calls: map[string]int{}, running: map[string]int{}, maxRunning: map[string]int{},
		curCalls: map[string]int{}, byReplica: map[string]int{},
	}
}

// replica returns a Work that records which replica called it, over the same counters.
func (w *fakeWork) replica(name string) jobs.Work { return &replicaWork{fakeWork: w, name: name} }

func (w *fakeWork) Payers(context.Context) ([]string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.payersCalls++
	return slices.Clone(w.payers), nil
}

func (w *fakeWork) ReconcilePayer(ctx context.Context, payer string) error {
	return w.reconcile(ctx, payer, "")
}

func (w *fakeWork) reconcile(ctx context.Context, payer, replica string) error {
	w.mu.Lock()
	w.calls[payer]++
	w.running[payer]++
	w.maxRunning[payer] = max(w.maxRunning[payer], w.running[payer])
	w.runningAll++
	w.maxAll = max(w.maxAll, w.runningAll)
	if replica != "" {
		w.byReplica[replica]++
	}
	slow, fail := w.slow[payer], w.fail[payer]
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		w.running[payer]--
		w.runningAll--
		w.mu.Unlock()
	}()
	if slow > 0 {
		select {
		case <-time.After(slow):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if fail {
		return fmt.Errorf("payer %s: throttled", payer)
	}
	return nil
}

func (w *fakeWork) SyncCloudHealth(context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.chCalls++
	return nil
}

func (w *fakeWork) Housekeep(context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.hkCalls++
	return nil
}

func (w *fakeWork) ScanCUR(_ context.Context, payer string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.curCalls[payer]++
	return nil
}

// snapshot is a copy of the counters at one moment.
type snapshot struct {
	payersCalls, chCalls, hkCalls int
	calls, maxRunning, curCalls   map[string]int
	byReplica                     map[string]int
	maxAll                        int
}

func (w *fakeWork) snapshot() snapshot {
	w.mu.Lock()
	defer w.mu.Unlock()
	return snapshot{
		payersCalls: w.payersCalls, chCalls: w.chCalls, hkCalls: w.hkCalls,
		calls: cloneMap(w.calls), maxRunning: cloneMap(w.maxRunning), curCalls: cloneMap(w.curCalls),
		byReplica: cloneMap(w.byReplica), maxAll: w.maxAll,
	}
}

// since returns the counts accumulated after an earlier snapshot.
func (s snapshot) since(before snapshot) snapshot {
	d := snapshot{
		payersCalls: s.payersCalls - before.payersCalls, chCalls: s.chCalls - before.chCalls, hkCalls: s.hkCalls - before.hkCalls,
		calls: map[string]int{}, maxRunning: s.maxRunning, curCalls: map[string]int{}, byReplica: map[string]int{},
	}
	for k, v := range s.calls {
		d.calls[k] = v - before.calls[k]
	}
	for k, v := range s.curCalls {
		d.curCalls[k] = v - before.curCalls[k]
	}
	for k, v := range s.byReplica {
		d.byReplica[k] = v - before.byReplica[k]
	}
	return d
}

// started waits until the leader's first fan-out has run, so measurements exclude leader election and start-up.
func (w *fakeWork) started(t *testing.T) snapshot {
	t.Helper()
	eventually(t, 20*time.Second, "the first fan-out", func() bool { return w.snapshot().payersCalls > 0 })
	return w.snapshot()
}

func cloneMap(m map[string]int) map[string]int {
	c := make(map[string]int, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

type replicaWork struct {
	*fakeWork
	name string
}

func (w *replicaWork) ReconcilePayer(ctx context.Context, payer string) error {
	return w.reconcile(ctx, payer, w.name)
}

// pgOptions opens test stores with the smallest pool New accepts for default worker counts, so the tests show
// that this minimum is enough.
func pgOptions() store.Options {
	return store.Options{MaxConns: jobs.MinPoolConns(jobs.Config{})}
}

// testConfig is a Config with test-sized periods: reconciliation every 300 ms, the other schedules idle unless
// a test shortens them, River polling every 50 ms, and a job rescued 3 s after its replica vanished.
func testConfig(t *testing.T, st *store.Store, work jobs.Work) jobs.Config {
	t.Helper()
	cfg := jobs.Config{
		Work:             work,
		Logger:           slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
		ReconcileEvery:   300 * time.Millisecond,
		CloudHealthEvery: time.Hour,
		CURScanEvery:     time.Hour,
		JobTimeout:       2 * time.Second,
		RescueStuckAfter: 3 * time.Second,
		PollInterval:     50 * time.Millisecond,
		Registerer:       prometheus.NewRegistry(),
	}
	if ch, ok := work.(jobs.CloudHealthWork); ok {
		cfg.CloudHealth = ch
	}
	if h, ok := work.(jobs.HousekeepingWork); ok {
		cfg.Housekeeping = h
	}
	return withDB(cfg, st)
}

// withDB points a Config at a store's database.
func withDB(cfg jobs.Config, st *store.Store) jobs.Config {
	cfg.PgxPool, cfg.SQLite = nil, nil
	if pool := st.PgxPool(); pool != nil {
		cfg.PgxPool = pool
	} else {
		cfg.SQLite = st.SQLDB()
	}
	return cfg
}

// startRunner builds and starts a Runner, stopping it when the test ends.
func startRunner(t *testing.T, cfg jobs.Config) *jobs.Runner {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := jobs.New(ctx, cfg)
	if err != nil {
		t.Fatalf("jobs.New: %v", err)
	}
	if err := r.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { stopRunner(t, r) })
	return r
}

func stopRunner(t *testing.T, r *jobs.Runner) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.Stop(ctx); err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("Stop: %v", err)
	}
}

// eventually polls cond until it holds or the timeout passes, and reports how long it took.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < timeout {
		if cond() {
			return time.Since(start)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("after %s: %s", timeout, what)
	return 0
}

// counterValue reads one series of a counter vector from a registry.
func counterValue(t *testing.T, reg prometheus.Gatherer, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather metrics: %v", err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	metric:
		for _, m := range f.GetMetric() {
			for _, lp := range m.GetLabel() {
				if v, ok := labels[lp.GetName()]; ok && v != lp.GetValue() {
					continue metric
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}
