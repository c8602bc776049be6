package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// uniqueWhileActive makes a job unique by kind and args among jobs that wait or run: a tick that finds the
// previous job of the same payer still pending, running or retrying adds nothing, while a completed job does not
// block the next period. River requires the pending, scheduled, available and running states in the set.
func uniqueWhileActive() river.UniqueOpts {
	return river.UniqueOpts{
		ByArgs: true,
		ByState: []rivertype.JobState{
			rivertype.JobStateAvailable,
			rivertype.JobStatePending,
			rivertype.JobStateRunning,
			rivertype.JobStateRetryable,
			rivertype.JobStateScheduled,
		},
	}
}

func insertOpts(queue string) river.InsertOpts {
	return river.InsertOpts{Queue: queue, MaxAttempts: maxAttempts, UniqueOpts: uniqueWhileActive()}
}

// task is one piece of the periodic work. The work is listed once, by tasks: River schedules each task's job (for
// a per-payer task, the fan-out that enqueues one job per payer), and RunOnce runs the tasks in this order, for
// reconcile --once and for the sandbox when its clock moves.
type task struct {
	kind      string                                        // the job that does the task (for one payer)
	perPayer  bool                                          // run once per payer, at most limit at a time
	limit     int                                           // how many payers at once
	scheduled river.JobArgs                                 // what River enqueues every period
	every     time.Duration                                 // the period
	run       func(ctx context.Context, payer string) error // payer is empty for a task that is not per payer
}

// tasks is the periodic work of cfg, in the order RunOnce runs it: reconciliation, then the CUR scan (it reads
// who joined), then the CloudHealth sync when configured (its grace is judged on what the two settled).
func tasks(cfg Config) []task {
	t := []task{
		{kind: KindReconcilePayer, perPayer: true, limit: cfg.Workers, scheduled: reconcileAllArgs{}, every: cfg.ReconcileEvery,
			run: cfg.Work.ReconcilePayer},
		{kind: KindCURScan, perPayer: true, limit: cfg.CURWorkers, scheduled: curScanAllArgs{}, every: cfg.CURScanEvery,
			run: leased(cfg.Lease, curLeasePrefix, cfg.Work.ScanCUR)},
	}
	if ch := cfg.CloudHealth; ch != nil {
		t = append(t, task{kind: KindCloudHealthSync, scheduled: cloudHealthArgs{}, every: cfg.CloudHealthEvery,
			run: func(ctx context.Context, _ string) error { return ch.SyncCloudHealth(ctx) }})
	}
	if h := cfg.Housekeeping; h != nil {
		t = append(t, task{kind: KindHousekeeping, scheduled: housekeepingArgs{}, every: cfg.HousekeepingEvery,
			run: func(ctx context.Context, _ string) error { return h.Housekeep(ctx) }})
	}
	return t
}

// curLeasePrefix keys a payer's CUR scan lease apart from its reconciliation's (the bare payer): the two may run
// at once, two scans of one payer may not.
const curLeasePrefix = "cur:"

// leased runs fn for a payer while holding the lease of prefix+payer; without lease it runs fn alone (River's
// uniqueness still keeps two jobs of one payer apart).
func leased(lease func(context.Context, string) (func() error, error), prefix string,
	fn func(context.Context, string) error) func(context.Context, string) error {
	if lease == nil {
		return fn
	}
	return func(ctx context.Context, payer string) (err error) {
		release, err := lease(ctx, prefix+payer)
		if err != nil {
			return err
		}
		defer func() { err = errors.Join(err, release()) }()
		return fn(ctx, payer)
	}
}

type reconcileAllArgs struct{}

func (reconcileAllArgs) Kind() string                 { return KindReconcileAll }
func (reconcileAllArgs) InsertOpts() river.InsertOpts { return insertOpts(QueueReconcile) }

type reconcilePayerArgs struct {
	Payer string `json:"payer"`
}

func (reconcilePayerArgs) Kind() string                 { return KindReconcilePayer }
func (reconcilePayerArgs) InsertOpts() river.InsertOpts { return insertOpts(QueueReconcile) }

type cloudHealthArgs struct{}

func (cloudHealthArgs) Kind() string                 { return KindCloudHealthSync }
func (cloudHealthArgs) InsertOpts() river.InsertOpts { return insertOpts(QueueReconcile) }

type housekeepingArgs struct{}

func (housekeepingArgs) Kind() string                 { return KindHousekeeping }
func (housekeepingArgs) InsertOpts() river.InsertOpts { return insertOpts(QueueReconcile) }

type housekeepingWorker struct {
	river.WorkerDefaults[housekeepingArgs]
	r *Runner
}

func (w *housekeepingWorker) Work(ctx context.Context, _ *river.Job[housekeepingArgs]) error {
	return w.r.observe(ctx, KindHousekeeping, "", w.r.cfg.Housekeeping.Housekeep)
}

func (w *housekeepingWorker) NextRetry(job *river.Job[housekeepingArgs]) time.Time {
	return cappedRetry(job.JobRow, w.r.cfg.HousekeepingEvery)
}

type curScanAllArgs struct{}

func (curScanAllArgs) Kind() string { return KindCURScanAll }

// The fan-out runs in the reconcile queue: it is quick, and must not wait behind long scans.
func (curScanAllArgs) InsertOpts() river.InsertOpts { return insertOpts(QueueReconcile) }

type curScanArgs struct {
	Payer string `json:"payer"`
}

func (curScanArgs) Kind() string                 { return KindCURScan }
func (curScanArgs) InsertOpts() river.InsertOpts { return insertOpts(QueueCUR) }

type reconcileAllWorker struct {
	river.WorkerDefaults[reconcileAllArgs]
	r *Runner
}

func (w *reconcileAllWorker) Work(ctx context.Context, _ *river.Job[reconcileAllArgs]) error {
	return w.r.observe(ctx, KindReconcileAll, "", func(ctx context.Context) error {
		return w.r.fanOut(ctx, KindReconcilePayer, func(payer string) river.JobArgs {
			return reconcilePayerArgs{Payer: payer}
		})
	})
}

func (w *reconcileAllWorker) NextRetry(job *river.Job[reconcileAllArgs]) time.Time {
	return cappedRetry(job.JobRow, w.r.cfg.ReconcileEvery)
}

type reconcilePayerWorker struct {
	river.WorkerDefaults[reconcilePayerArgs]
	r *Runner
}

func (w *reconcilePayerWorker) Work(ctx context.Context, job *river.Job[reconcilePayerArgs]) error {
	return w.r.observe(ctx, KindReconcilePayer, job.Args.Payer, func(ctx context.Context) error {
		return w.r.cfg.Work.ReconcilePayer(ctx, job.Args.Payer)
	})
}

func (w *reconcilePayerWorker) NextRetry(job *river.Job[reconcilePayerArgs]) time.Time {
	return cappedRetry(job.JobRow, w.r.cfg.ReconcileEvery)
}

type cloudHealthWorker struct {
	river.WorkerDefaults[cloudHealthArgs]
	r *Runner
}

func (w *cloudHealthWorker) Work(ctx context.Context, _ *river.Job[cloudHealthArgs]) error {
	return w.r.observe(ctx, KindCloudHealthSync, "", w.r.cfg.CloudHealth.SyncCloudHealth)
}

func (w *cloudHealthWorker) NextRetry(job *river.Job[cloudHealthArgs]) time.Time {
	return cappedRetry(job.JobRow, w.r.cfg.CloudHealthEvery)
}

type curScanAllWorker struct {
	river.WorkerDefaults[curScanAllArgs]
	r *Runner
}

func (w *curScanAllWorker) Work(ctx context.Context, _ *river.Job[curScanAllArgs]) error {
	return w.r.observe(ctx, KindCURScanAll, "", func(ctx context.Context) error {
		return w.r.fanOut(ctx, KindCURScan, func(payer string) river.JobArgs { return curScanArgs{Payer: payer} })
	})
}

func (w *curScanAllWorker) NextRetry(job *river.Job[curScanAllArgs]) time.Time {
	return cappedRetry(job.JobRow, w.r.cfg.CURScanEvery)
}

type curScanWorker struct {
	river.WorkerDefaults[curScanArgs]
	r *Runner
}

func (w *curScanWorker) Work(ctx context.Context, job *river.Job[curScanArgs]) error {
	scan := leased(w.r.cfg.Lease, curLeasePrefix, w.r.cfg.Work.ScanCUR)
	return w.r.observe(ctx, KindCURScan, job.Args.Payer, func(ctx context.Context) error {
		return scan(ctx, job.Args.Payer)
	})
}

func (w *curScanWorker) NextRetry(job *river.Job[curScanArgs]) time.Time {
	return cappedRetry(job.JobRow, w.r.cfg.CURScanEvery)
}

// cappedRetry is River's backoff (attempt^4 seconds, jittered) capped at one period of the job's schedule: a
// retrying job blocks its payer's next ticks (it is unique while retryable), so it must never wait longer than
// the tick it replaces.
func cappedRetry(job *rivertype.JobRow, period time.Duration) time.Time {
	next := (&river.DefaultClientRetryPolicy{}).NextRetry(job)
	if limit := time.Now().Add(period); next.After(limit) {
		return limit
	}
	return next
}

// fanOut enqueues one job per payer. A payer whose job is still waiting or running is skipped by River's
// uniqueness, so a slow or throttled payer never piles up and never delays the others.
func (r *Runner) fanOut(ctx context.Context, kind string, args func(payer string) river.JobArgs) error {
	payers, err := r.cfg.Work.Payers(ctx)
	if err != nil {
		return fmt.Errorf("list payers: %w", err)
	}
	if len(payers) == 0 {
		return nil
	}
	params := make([]river.InsertManyParams, len(payers))
	for i, p := range payers {
		params[i] = river.InsertManyParams{Args: args(p)}
	}
	res, err := r.engine.InsertMany(ctx, params)
	if err != nil {
		return fmt.Errorf("enqueue %s jobs: %w", kind, err)
	}
	for _, jr := range res {
		if jr.UniqueSkippedAsDuplicate {
			r.metrics.enqueued(kind, "duplicate")
		} else {
			r.metrics.enqueued(kind, "inserted")
		}
	}
	return nil
}

// observe runs one unit of work, records its outcome and duration, and logs a failure with its payer.
func (r *Runner) observe(ctx context.Context, kind, payer string, fn func(context.Context) error) error {
	start := time.Now()
	err := fn(ctx)
	elapsed := time.Since(start)
	outcome := "ok"
	switch {
	case err == nil:
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil:
		outcome = "canceled"
	default:
		outcome = "error"
	}
	r.metrics.observe(kind, outcome, elapsed)
	if err != nil {
		attrs := []any{"kind", kind, "outcome", outcome, "duration", elapsed, "error", err}
		if payer != "" {
			attrs = append(attrs, "payer", payer)
		}
		r.log.WarnContext(ctx, "jobs: job failed", attrs...)
		if payer != "" {
			return fmt.Errorf("%s %s: %w", kind, payer, err)
		}
		return fmt.Errorf("%s: %w", kind, err)
	}
	return nil
}
