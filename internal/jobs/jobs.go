// Package jobs runs the service's background work on River: the periodic reconciliation of every payer's
// handshakes and membership, the CloudHealth listing and the CUR scans. Every replica registers every job kind;
// River's elected leader enqueues the periodic jobs, and per-payer jobs are unique while they wait or run, so one
// payer is never reconciled twice at once however many replicas share the database.
package jobs

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivertype"
	"go.opentelemetry.io/otel/trace"
	"riverqueue.com/riverui"
	"riverqueue.com/riverui/uiendpoints"

	"github.com/cloudreseller/aws-invites/internal/invite"
)

// Work is what the jobs run. Every method is safe to call concurrently for different payers, and returns soon
// after its context ends: River cancels a job at JobTimeout and may run it again after RescueStuckAfter.
type Work interface {
	// Payers returns the payer keys (management account ids) to reconcile and scan.
	Payers(ctx context.Context) ([]string, error)
	// ReconcilePayer applies one payer's handshakes and membership to its invites.
	ReconcilePayer(ctx context.Context, payer string) error
	// ScanCUR reads one payer's Cost and Usage Report.
	ScanCUR(ctx context.Context, payer string) error
}

// CloudHealthWork is the CloudHealth sync, run when CloudHealth is configured.
type CloudHealthWork interface {
	// SyncCloudHealth reads one CloudHealth listing and applies it to all invites.
	SyncCloudHealth(ctx context.Context) error
}

// HousekeepingWork is what keeps the database from growing without end, run hourly when set.
type HousekeepingWork interface {
	// Housekeep deletes what is kept only for a while (Idempotency-Keys past their retention).
	Housekeep(ctx context.Context) error
}

// The job kinds, as stored in River's river_job.kind column.
const (
	KindHousekeeping    = "housekeeping"
	KindReconcileAll    = "reconcile_all"
	KindReconcilePayer  = "reconcile_payer"
	KindCloudHealthSync = "cloudhealth_sync"
	KindCURScanAll      = "cur_scan_all"
	KindCURScan         = "cur_scan"
)

// The queues the jobs run in. CUR scans get their own, so a long scan never holds up the reconciliation.
const (
	QueueReconcile = "reconcile"
	QueueCUR       = "cur"
	// QueueNotify carries webhook deliveries and email, so a slow receiver never holds up reconciliation.
	QueueNotify = "notify"
)

// Config tells New what to run and how often. Zero durations and counts take the documented defaults.
type Config struct {
	// PgxPool is the PostgreSQL pool River shares with the service; SQLite is the database/sql handle of the
	// embedded SQLite database. New needs exactly one of them; RunOnce neither.
	PgxPool *pgxpool.Pool
	SQLite  *sql.DB
	// Work is the domain work the jobs run (required).
	Work Work
	// CloudHealth is the CloudHealth sync; nil when CloudHealth is not configured, and then its job is neither
	// registered nor scheduled.
	CloudHealth CloudHealthWork
	// Housekeeping deletes what is kept only for a while, every HousekeepingEvery; nil: never.
	Housekeeping HousekeepingWork
	// HousekeepingEvery is the period of housekeeping; default an hour.
	HousekeepingEvery time.Duration
	// Notify turns events into webhook deliveries and email and makes each attempt; nil registers none of it.
	Notify NotifyWork
	// DeliveryBackoff is the wait before a delivery's next attempt after the given number of failed ones (how
	// many it gets is the Queue's, which enqueued it); required with Notify.
	DeliveryBackoff func(attempt int) time.Duration
	// Logger receives job failures and River's own messages; nil discards them.
	Logger *slog.Logger
	// ReconcileEvery is the period of reconcile_all; default invite.DefaultReconcileEvery.
	ReconcileEvery time.Duration
	// CloudHealthEvery is the period of cloudhealth_sync; default invite.DefaultCloudHealthEvery.
	CloudHealthEvery time.Duration
	// CURScanEvery is the period of cur_scan_all; default invite.DefaultCURScanEvery.
	CURScanEvery time.Duration
	// JobTimeout is how long one job may run before its context is canceled; default 5 minutes.
	JobTimeout time.Duration
	// RescueStuckAfter is how long a job may stay running before the leader assumes its replica died and
	// schedules it again. It must exceed JobTimeout, or a slow but live job would run twice at once; default
	// JobTimeout + 1 minute.
	RescueStuckAfter time.Duration
	// Workers is the concurrency of this replica's background work: how many reconcile (and CloudHealth, and
	// notification) jobs it runs at once; default DefaultWorkers. A payer's job spends nearly all its time waiting
	// on AWS, paced by the AWS client's per-payer rate, and holds no database connection meanwhile (its lease is a
	// row, see store.LockPayer), so this is sized to AWS's latency and the number of payers, not to the pool:
	// a pass takes about payers x (calls a payer x latency) / Workers.
	Workers int
	// CURWorkers is how many CUR scans this replica runs at once; default Workers/16, at least 2: a scan of a
	// changed report reads it whole and is bound by memory, while an unchanged one costs a manifest read.
	CURWorkers int
	// Lease, when set, holds an exclusive lease on a key until the function it returns is called, across every
	// process on the database (store.LockPayer); each CUR scan holds its payer's, so that a scan run by
	// `reconcile --once` never overlaps a replica's. Reconciliation takes its payer's lease itself (the domain's).
	Lease func(ctx context.Context, key string) (release func() error, err error)
	// Unscheduled leaves the periodic jobs out: the engine runs only what is enqueued (tests that run it for
	// the notifications alone).
	Unscheduled bool
	// PollInterval is how often a replica looks for jobs when no notification arrives (always, on SQLite);
	// default River's 1 second. Tests lower it.
	PollInterval time.Duration
	// ID names this replica in River's tables (leader, attempted_by); default a random name chosen by River.
	ID string
	// Registerer receives the job metrics; nil registers none.
	Registerer prometheus.Registerer
	// TracerProvider, when set, makes a span of every job's work, a child of the trace it was enqueued in.
	TracerProvider trace.TracerProvider
}

// Defaults used when Config leaves a field zero.
const (
	DefaultJobTimeout = 5 * time.Minute
	// DefaultWorkers is sized to AWS's latency: a payer of 100 invites costs 6 or 7 calls of about 100 ms, paced
	// by its own rate, so 10,000 payers need about 10,000 x 0.7 s / 60 s = 117 payers in flight to pass within
	// the default one-minute interval even on unlimited cores; 128 left no margin. Measured with
	// BenchmarkReconcilePass on 2 cores (docs/reconciliation-scale.md): a pass of 10,000 payers is then bound by
	// CPU (the service's, PostgreSQL's and the simulator's), not by waiting.
	DefaultWorkers = 256
	// DefaultCURWorkers is the fewest CUR scans a replica runs at once.
	DefaultCURWorkers = 2
	// WorkersPerConn is how many workers share one pooled connection: a payer's pass spends 1 to 2% of its time
	// in short statements (leases, reads, the writes of what changed; about 16 statements, 3 to 4 ms of the
	// server's CPU, measured) and the rest waiting on AWS, so twelve leave a margin of four to eight. The default
	// concurrency's pool (30 connections, plus the API's) lets two replicas share PostgreSQL's default 100.
	WorkersPerConn = 12
	// maxAttempts bounds retries of one job; a payer's next tick enqueues a fresh job after the last one fails.
	maxAttempts = 5
)

// MigrationLockID keys the PostgreSQL advisory lock Migrate holds while it applies River's schema. It differs from
// the store's migration lock so the two migrations never wait on each other.
const MigrationLockID int64 = 0x6177_7369_6e76_726a // "awsinvrj"

// Runner owns the River client of one replica.
type Runner struct {
	cfg     Config
	log     *slog.Logger
	engine  engine
	migrate func(ctx context.Context) error
	metrics *metrics
	ui      uiendpoints.Bundle // River UI's API over this Runner's client (ui.go)
}

// engine is the part of *river.Client[TTx] the Runner uses, so one Runner serves both drivers.
type engine interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	StopAndCancel(ctx context.Context) error
	InsertMany(ctx context.Context, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error)
}

// New builds a Runner on the service's database: River's pgx driver on PostgreSQL, its SQLite driver (on the
// embedded database's single connection) on SQLite. It does not touch the database (ctx is for future checks);
// Start migrates and starts.
func New(ctx context.Context, cfg Config) (*Runner, error) {
	r, err := newRunner(cfg)
	if err != nil {
		return nil, err
	}
	cfg = r.cfg
	rc := r.riverConfig()
	switch {
	case cfg.PgxPool != nil && cfg.SQLite != nil:
		return nil, errors.New("jobs: config with both a PostgreSQL pool and a SQLite database")
	case cfg.PgxPool != nil:
		pool := cfg.PgxPool
		if have, need := pool.Config().MaxConns, MinPoolConns(cfg); have < need {
			// River keeps a connection for LISTEN and runs its elector, producers, completer and maintenance on
			// others; with pgxpool's default (4 on a small machine) it does not fail but crawls.
			return nil, fmt.Errorf("jobs: the PostgreSQL pool allows %d connections; River with %d+%d workers needs at least %d (set store.Options.MaxConns)",
				have, cfg.Workers, cfg.CURWorkers, need)
		}
		driver := riverpgxv5.New(pool)
		r.engine, r.ui, err = newClient(driver, rc)
		r.migrate = func(ctx context.Context) error { return migratePostgres(ctx, pool, driver, cfg.Logger) }
	case cfg.SQLite != nil:
		driver := riversqlite.New(cfg.SQLite)
		r.engine, r.ui, err = newClient(driver, rc)
		r.migrate = func(ctx context.Context) error { return migrateUp(ctx, driver, cfg.Logger) }
	default:
		return nil, errors.New("jobs: config without a database (PgxPool or SQLite)")
	}
	if err != nil {
		return nil, fmt.Errorf("jobs: create River client: %w", err)
	}
	return r, nil
}

// newRunner is a Runner without a job engine: what RunOnce needs.
func newRunner(cfg Config) (*Runner, error) {
	if err := cfg.withDefaults(); err != nil {
		return nil, err
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	return &Runner{cfg: cfg, log: cfg.Logger, metrics: m}, nil
}

// MinPoolConns is the smallest PostgreSQL pool (store.Options.MaxConns) New accepts for cfg: a connection for
// every WorkersPerConn workers, whose Work uses the store between its waits on AWS, plus River's own (listener,
// elector, producers, completer, maintenance).
func MinPoolConns(cfg Config) int32 {
	workers := cmp.Or(cfg.Workers, DefaultWorkers)
	cur := cmp.Or(cfg.CURWorkers, curWorkersFor(workers))
	return int32(ceilDiv(workers, WorkersPerConn) + ceilDiv(cur, WorkersPerConn) + 6)
}

// curWorkersFor is the default CURWorkers for a concurrency.
func curWorkersFor(workers int) int { return max(DefaultCURWorkers, workers/16) }

func ceilDiv(a, b int) int { return (a + b - 1) / b }

func (c *Config) withDefaults() error {
	if c.Work == nil {
		return errors.New("jobs: config without work")
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	c.ReconcileEvery = cmp.Or(c.ReconcileEvery, invite.DefaultReconcileEvery)
	c.CloudHealthEvery = cmp.Or(c.CloudHealthEvery, invite.DefaultCloudHealthEvery)
	c.CURScanEvery = cmp.Or(c.CURScanEvery, invite.DefaultCURScanEvery)
	c.HousekeepingEvery = cmp.Or(c.HousekeepingEvery, time.Hour)
	c.JobTimeout = cmp.Or(c.JobTimeout, DefaultJobTimeout)
	c.RescueStuckAfter = cmp.Or(c.RescueStuckAfter, c.JobTimeout+time.Minute)
	c.Workers = cmp.Or(c.Workers, DefaultWorkers)
	c.CURWorkers = cmp.Or(c.CURWorkers, curWorkersFor(c.Workers))
	c.PollInterval = cmp.Or(c.PollInterval, river.FetchPollIntervalDefault)
	for name, d := range map[string]time.Duration{
		"ReconcileEvery": c.ReconcileEvery, "CloudHealthEvery": c.CloudHealthEvery, "CURScanEvery": c.CURScanEvery, "HousekeepingEvery": c.HousekeepingEvery,
		"JobTimeout": c.JobTimeout, "RescueStuckAfter": c.RescueStuckAfter, "PollInterval": c.PollInterval,
	} {
		if d < 0 {
			return fmt.Errorf("jobs: %s must not be negative, got %s", name, d)
		}
	}
	if c.Workers < 0 || c.CURWorkers < 0 {
		return errors.New("jobs: worker counts must not be negative")
	}
	if c.Notify != nil && c.DeliveryBackoff == nil {
		return errors.New("jobs: Notify needs DeliveryBackoff")
	}
	if c.RescueStuckAfter <= c.JobTimeout {
		// River would rescue (and so run a second time) a job that is still within its timeout.
		return fmt.Errorf("jobs: RescueStuckAfter (%s) must exceed JobTimeout (%s)", c.RescueStuckAfter, c.JobTimeout)
	}
	return nil
}

// riverConfig is the River configuration both drivers share.
func (r *Runner) riverConfig() *river.Config {
	cfg := r.cfg
	periodic := func(every time.Duration, args river.JobArgs) *river.PeriodicJob {
		// RunOnStart: the schedule lives in the leader's memory only, so a new leader (every deploy) would
		// otherwise wait a whole period, and an hourly scan might never run across frequent restarts.
		return river.NewPeriodicJob(river.PeriodicInterval(every),
			func() (river.JobArgs, *river.InsertOpts) { return args, nil },
			&river.PeriodicJobOpts{ID: args.Kind(), RunOnStart: true})
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, &reconcileAllWorker{r: r})
	river.AddWorker(workers, &reconcilePayerWorker{r: r})
	river.AddWorker(workers, &curScanAllWorker{r: r})
	river.AddWorker(workers, &curScanWorker{r: r})
	if cfg.CloudHealth != nil {
		river.AddWorker(workers, &cloudHealthWorker{r: r})
	}
	if cfg.Housekeeping != nil {
		river.AddWorker(workers, &housekeepingWorker{r: r})
	}
	var jobs []*river.PeriodicJob
	for _, t := range tasks(cfg) {
		if !cfg.Unscheduled {
			jobs = append(jobs, periodic(t.every, t.scheduled))
		}
	}
	queues := map[string]river.QueueConfig{
		QueueReconcile: {MaxWorkers: cfg.Workers},
		QueueCUR:       {MaxWorkers: cfg.CURWorkers},
	}
	if cfg.Notify != nil {
		river.AddWorker(workers, &dispatchWorker{r: r})
		river.AddWorker(workers, &deliverWorker{r: r})
		river.AddWorker(workers, &mailWorker{r: r})
		queues[QueueNotify] = river.QueueConfig{MaxWorkers: cfg.Workers}
	}

	return &river.Config{
		ID:                   cfg.ID,
		Logger:               cfg.Logger,
		JobTimeout:           cfg.JobTimeout,
		RescueStuckJobsAfter: cfg.RescueStuckAfter,
		MaxAttempts:          maxAttempts,
		FetchPollInterval:    cfg.PollInterval,
		FetchCooldown:        min(cfg.PollInterval, river.FetchCooldownDefault),
		Queues:               queues,
		Workers:              workers,
		PeriodicJobs:         jobs,
		Middleware:           r.middleware(),
	}
}

// EnqueueReconcileAll asks for a reconciliation pass now, beside the periodic ones: the fan-out of one job per
// payer, run by whichever replicas have room. It adds nothing while a fan-out already waits or runs.
func (r *Runner) EnqueueReconcileAll(ctx context.Context) error {
	if _, err := r.engine.InsertMany(ctx, []river.InsertManyParams{{Args: reconcileAllArgs{}}}); err != nil {
		return fmt.Errorf("jobs: enqueue a reconciliation pass: %w", err)
	}
	return nil
}

// Start migrates River's schema (a no-op when current) and starts fetching and working jobs, and, while this
// replica is River's leader, enqueuing the periodic ones. Canceling ctx after Start returns does not stop the
// Runner; call Stop, so that shutdown is always graceful.
func (r *Runner) Start(ctx context.Context) error {
	if err := r.Migrate(ctx); err != nil {
		return err
	}
	if err := r.engine.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("jobs: start River: %w", err)
	}
	return nil
}

// Stop stops fetching jobs and waits for the running ones to finish. When ctx ends first, it cancels them and
// waits for them to return (they must honor their context).
func (r *Runner) Stop(ctx context.Context) error {
	err := r.engine.Stop(ctx)
	if err == nil {
		return nil
	}
	if ctx.Err() == nil {
		return fmt.Errorf("jobs: stop River: %w", err)
	}
	r.log.Warn("jobs: graceful stop timed out; canceling running jobs")
	// ctx is over: give canceled jobs a short, separate deadline to report back, so their state is recorded.
	hardCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := r.engine.StopAndCancel(hardCtx); err != nil {
		return fmt.Errorf("jobs: stop River after canceling jobs: %w", err)
	}
	return nil
}

// middleware is the jobs' River middleware: trace spans (when tracing), then the log lines' job attributes.
func (r *Runner) middleware() []rivertype.Middleware {
	mw := []rivertype.Middleware{}
	if r.cfg.TracerProvider != nil {
		mw = append(mw, newJobTracing(r.cfg.TracerProvider))
	}
	return append(mw, &jobLogAttrs{})
}

// newClient builds a River client for either driver, and River UI's endpoints over it; the transaction type (pgx.Tx
// or *sql.Tx) stays inside.
func newClient[TTx any](driver riverdriver.Driver[TTx], cfg *river.Config) (engine, uiendpoints.Bundle, error) {
	c, err := river.NewClient(driver, cfg)
	if err != nil {
		return nil, nil, err
	}
	return c, riverui.NewEndpoints(c, nil), nil
}
