package jobs_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cloudreseller/aws-invites/internal/jobs"
	"github.com/cloudreseller/aws-invites/internal/store"
	"github.com/cloudreseller/aws-invites/internal/store/storetest"
)

// TestPeriodicReconcilePostgres: every period the leader fans out one reconcile_payer per payer, every payer is
// reconciled about once per period, a payer that always fails is retried without holding up the others, and
// CloudHealth and CUR run on their own schedules.
func TestPeriodicReconcilePostgres(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t, store.DialectPostgres, pgOptions())
	work := newFakeWork("111111111111", "222222222222", "333333333333", "444444444444")
	work.fail["333333333333"] = true
	cfg := testConfig(t, st, work)
	cfg.CloudHealthEvery = 700 * time.Millisecond
	cfg.CURScanEvery = 900 * time.Millisecond
	cfg.HousekeepingEvery = 800 * time.Millisecond
	reg := cfg.Registerer.(*prometheus.Registry)
	startRunner(t, cfg)

	s0 := work.started(t)
	start := time.Now()
	time.Sleep(2500 * time.Millisecond)
	s := work.snapshot().since(s0)
	elapsed := time.Since(start)
	// One fan-out per period of each schedule (plus one at start), never one per poll.
	maxFanOuts := int(elapsed/cfg.ReconcileEvery) + int(elapsed/cfg.CURScanEvery) + 4
	if s.payersCalls < 3 || s.payersCalls > maxFanOuts {
		t.Errorf("Payers called %d times in %s, want 4 to %d fan-outs", s.payersCalls, elapsed, maxFanOuts)
	}
	for _, p := range []string{"111111111111", "222222222222", "444444444444"} {
		if s.calls[p] < 3 {
			t.Errorf("payer %s reconciled %d times in %s (period %s), want at least 3", p, s.calls[p], elapsed, cfg.ReconcileEvery)
		}
	}
	if s.calls["333333333333"] < 2 {
		t.Errorf("failing payer reconciled %d times, want it retried", s.calls["333333333333"])
	}
	for p, n := range s.maxRunning {
		if n > 1 {
			t.Errorf("payer %s reconciled %d times at once", p, n)
		}
	}
	if s.chCalls < 2 {
		t.Errorf("CloudHealth synced %d times in %s (period %s), want at least 2", s.chCalls, elapsed, cfg.CloudHealthEvery)
	}
	if s.hkCalls < 2 {
		t.Errorf("housekeeping ran %d times in %s (period %s), want at least 2", s.hkCalls, elapsed, cfg.HousekeepingEvery)
	}
	for _, p := range work.payers {
		if s.curCalls[p] < 1 {
			t.Errorf("CUR of payer %s scanned %d times, want at least 1", p, s.curCalls[p])
		}
	}
	if got := counterValue(t, reg, "aws_invites_jobs_total", map[string]string{"kind": jobs.KindReconcilePayer, "outcome": "error"}); got < 2 {
		t.Errorf("aws_invites_jobs_total{reconcile_payer,error} = %v, want at least 2", got)
	}
	if got := counterValue(t, reg, "aws_invites_jobs_total", map[string]string{"kind": jobs.KindReconcilePayer, "outcome": "ok"}); got < 9 {
		t.Errorf("aws_invites_jobs_total{reconcile_payer,ok} = %v, want at least 9", got)
	}
}

// TestSlowPayerIsNeverRunTwiceAtOnce: a payer whose reconciliation outlasts several periods keeps one job; the
// ticks that find it still running add nothing, and the other payers keep their pace.
func TestSlowPayerIsNeverRunTwiceAtOnce(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t, store.DialectPostgres, pgOptions())
	work := newFakeWork("slow00000000", "fast00000001", "fast00000002")
	work.slow["slow00000000"] = time.Second
	cfg := testConfig(t, st, work)
	cfg.ReconcileEvery = 200 * time.Millisecond
	reg := cfg.Registerer.(*prometheus.Registry)
	startRunner(t, cfg)

	s0 := work.started(t)
	time.Sleep(3 * time.Second)
	s := work.snapshot().since(s0)
	if s.maxRunning["slow00000000"] != 1 {
		t.Errorf("slow payer ran %d times at once, want 1", s.maxRunning["slow00000000"])
	}
	// 3 s of 1 s runs: at most 3 started, plus one that began right as the sample was taken.
	if n := s.calls["slow00000000"]; n < 2 || n > 4 {
		t.Errorf("slow payer reconciled %d times in 3 s of 1 s runs, want 2-4", n)
	}
	if s.payersCalls < 5 {
		t.Errorf("%d fan-outs in 3 s with period 200 ms, want at least 5", s.payersCalls)
	}
	for _, p := range []string{"fast00000001", "fast00000002"} {
		if s.calls[p] < s.payersCalls/2 || s.calls[p] < 2*s.calls["slow00000000"] {
			t.Errorf("fast payer %s reconciled %d times for %d fan-outs (slow payer: %d): the slow one held it up",
				p, s.calls[p], s.payersCalls, s.calls["slow00000000"])
		}
	}
	if got := counterValue(t, reg, "aws_invites_jobs_enqueued_total", map[string]string{"kind": jobs.KindReconcilePayer, "result": "duplicate"}); got < 4 {
		t.Errorf("duplicate enqueues skipped = %v, want at least 4 (ticks that found the slow payer running)", got)
	}
}

// TestTwoReplicasShareTheSchedule: two Runners on one database (two store.Open, two River clients) call each
// payer once per fan-out and never the same payer at once; only the leader fans out.
func TestTwoReplicasShareTheSchedule(t *testing.T) {
	t.Parallel()
	url := storetest.URL(t, store.DialectPostgres)
	work := newFakeWork("100000000001", "100000000002", "100000000003", "100000000004", "100000000005", "100000000006")
	for _, p := range work.payers {
		work.slow[p] = 120 * time.Millisecond // long enough that the two replicas' jobs would overlap if both ran one
	}
	start := time.Now()
	var (
		cfgA    jobs.Config
		runners []*jobs.Runner
		st      *store.Store
	)
	for i, name := range []string{"replica-a", "replica-b"} {
		st = storetest.MustOpen(t, url, pgOptions())
		cfg := testConfig(t, st, work.replica(name))
		// Fewer workers than payers, so that one replica cannot take a whole fan-out (the default, 256, takes
		// every job a fetch finds) and the two must share it.
		cfg.ID, cfg.Workers = name, 3
		if i == 0 {
			cfgA = cfg
		}
		runners = append(runners, startRunner(t, cfg))
	}

	work.started(t)
	time.Sleep(3 * time.Second)
	for _, r := range runners {
		stopRunner(t, r) // graceful: every job taken is finished and recorded
	}
	s := work.snapshot()
	elapsed := time.Since(start)
	t.Logf("fan-outs %d in %s; jobs by replica %v", s.payersCalls, elapsed, s.byReplica)

	if maxFanOuts := int(elapsed/cfgA.ReconcileEvery) + 2; s.payersCalls > maxFanOuts {
		t.Errorf("Payers called %d times in %s with period %s: more than one replica fans out", s.payersCalls, elapsed, cfgA.ReconcileEvery)
	}
	completed := map[string]int{}
	rows, err := st.SQLDB().QueryContext(context.Background(),
		"SELECT args->>'payer', count(*) FROM river_job WHERE kind = $1 AND state = 'completed' GROUP BY 1", jobs.KindReconcilePayer)
	if err != nil {
		t.Fatalf("count jobs: %v", err)
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var payer string
		var n int
		if err := rows.Scan(&payer, &n); err != nil {
			t.Fatalf("scan: %v", err)
		}
		completed[payer] = n
	}
	for _, p := range work.payers {
		if s.maxRunning[p] > 1 {
			t.Errorf("payer %s reconciled by %d replicas at once", p, s.maxRunning[p])
		}
		// Each job ran exactly once, at most one job per fan-out, and most fan-outs found the last one done.
		if n := s.calls[p]; n != completed[p] || n > s.payersCalls || n < s.payersCalls/2 {
			t.Errorf("payer %s reconciled %d times for %d completed jobs and %d fan-outs", p, n, completed[p], s.payersCalls)
		}
	}
	if s.byReplica["replica-a"] == 0 || s.byReplica["replica-b"] == 0 {
		t.Errorf("jobs by replica %v: want both replicas working", s.byReplica)
	}
}

// TestConcurrentMigrationOnEmptyDatabase: five replicas migrating River's schema on one empty database at once
// all succeed, and each migration is recorded once.
func TestConcurrentMigrationOnEmptyDatabase(t *testing.T) {
	t.Parallel()
	url := storetest.URL(t, store.DialectPostgres)
	var runners []*jobs.Runner
	for range 5 {
		st := storetest.MustOpenUnmigrated(t, url, pgOptions())
		r, err := jobs.New(context.Background(), testConfig(t, st, newFakeWork()))
		if err != nil {
			t.Fatalf("jobs.New: %v", err)
		}
		runners = append(runners, r)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, len(runners))
	for i, r := range runners {
		wg.Go(func() { errs[i] = r.Migrate(ctx) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("replica %d: Migrate: %v", i, err)
		}
	}

	st := storetest.MustOpenUnmigrated(t, url, pgOptions())
	var rows, versions int
	if err := st.SQLDB().QueryRowContext(ctx,
		"SELECT count(*), count(DISTINCT version) FROM river_migration WHERE line = 'main'").Scan(&rows, &versions); err != nil {
		t.Fatalf("read river_migration: %v", err)
	}
	if rows == 0 || rows != versions {
		t.Errorf("river_migration has %d rows for %d versions, want each version once", rows, versions)
	}
	// The store's own schema was never touched: the two migrations are independent.
	var storeTables int
	if err := st.SQLDB().QueryRowContext(ctx,
		"SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' AND table_name NOT LIKE 'river%'").Scan(&storeTables); err != nil {
		t.Fatalf("count tables: %v", err)
	}
	if storeTables != 0 {
		t.Errorf("%d non-River tables after River's migration, want 0", storeTables)
	}
}

// TestStopWaitsForRunningJobs: Stop lets a running job finish when its context allows, and cancels it when not.
func TestStopWaitsForRunningJobs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		stopWithin time.Duration
		wantOK     bool
	}{
		{name: "graceful", stopWithin: 5 * time.Second, wantOK: true},
		{name: "deadline cancels", stopWithin: 200 * time.Millisecond, wantOK: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st := storetest.Open(t, store.DialectPostgres, pgOptions())
			work := newFakeWork("555555555555")
			work.slow["555555555555"] = 1500 * time.Millisecond
			cfg := testConfig(t, st, work)
			cfg.ReconcileEvery = time.Hour // only the run at start
			reg := cfg.Registerer.(*prometheus.Registry)
			r, err := jobs.New(context.Background(), cfg)
			if err != nil {
				t.Fatalf("jobs.New: %v", err)
			}
			if err := r.Start(context.Background()); err != nil {
				t.Fatalf("Start: %v", err)
			}
			eventually(t, 10*time.Second, "the job started", func() bool { return work.snapshot().calls["555555555555"] == 1 })

			ctx, cancel := context.WithTimeout(context.Background(), tc.stopWithin)
			defer cancel()
			err = r.Stop(ctx)
			if err != nil && !strings.Contains(err.Error(), "context") {
				t.Fatalf("Stop: %v", err)
			}
			ok := counterValue(t, reg, "aws_invites_jobs_total", map[string]string{"kind": jobs.KindReconcilePayer, "outcome": "ok"})
			canceled := counterValue(t, reg, "aws_invites_jobs_total", map[string]string{"kind": jobs.KindReconcilePayer, "outcome": "canceled"})
			if tc.wantOK && (ok != 1 || canceled != 0) {
				t.Errorf("after graceful Stop: ok=%v canceled=%v, want the job finished", ok, canceled)
			}
			if !tc.wantOK && (ok != 0 || canceled != 1) {
				t.Errorf("after Stop past its deadline: ok=%v canceled=%v, want the job canceled", ok, canceled)
			}
		})
	}
}

// TestConfigValidation: configurations River would reject, or that would let a live job run twice, fail in New.
func TestConfigValidation(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t, store.DialectSQLite, store.Options{})
	for _, tc := range []struct {
		name    string
		mod     func(*jobs.Config)
		store   func(*testing.T) *store.Store
		wantErr string
	}{
		{name: "defaults", mod: func(c *jobs.Config) { *c = jobs.Config{PgxPool: c.PgxPool, SQLite: c.SQLite, Work: c.Work} }},
		{name: "rescue not after timeout", mod: func(c *jobs.Config) { c.RescueStuckAfter = c.JobTimeout }, wantErr: "must exceed JobTimeout"},
		{name: "rescue default follows timeout", mod: func(c *jobs.Config) { c.RescueStuckAfter = 0; c.JobTimeout = time.Hour }},
		{name: "no database", mod: func(c *jobs.Config) { c.PgxPool, c.SQLite = nil, nil }, wantErr: "without a database"},
		{name: "no work", mod: func(c *jobs.Config) { c.Work = nil }, wantErr: "without work"},
		{
			name: "PostgreSQL pool too small for River", mod: func(*jobs.Config) {},
			store: func(t *testing.T) *store.Store {
				return storetest.MustOpenUnmigrated(t, storetest.URL(t, store.DialectPostgres), store.Options{MaxConns: 4})
			},
			wantErr: "needs at least 30", // DefaultWorkers (256) + the queue's own, within the pool's bounds
		},
		{name: "negative period", mod: func(c *jobs.Config) { c.ReconcileEvery = -time.Second }, wantErr: "ReconcileEvery must not be negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t, st, newFakeWork())
			tc.mod(&cfg)
			if tc.store != nil {
				cfg = withDB(cfg, tc.store(t))
			}
			_, err := jobs.New(context.Background(), cfg)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("New: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("New: error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}
