package jobs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
)

// RunOnce runs the periodic work once, in this process and without River (for `aws-invites reconcile --once`,
// and for the sandbox when its clock moves): every task of tasks in order, a per-payer one for every payer, with
// the same metrics and logs as the jobs. Payers run a task's limit at a time; one payer's failure does not stop
// the others, and all failures are returned joined.
func RunOnce(ctx context.Context, cfg Config) error { return RunOnceFor(ctx, cfg, nil) }

// RunOnceFor is RunOnce for the payers only keeps (every payer when nil): the sandbox runs the work of the payers
// whose clock moved.
func RunOnceFor(ctx context.Context, cfg Config, only func(payer string) bool) error {
	r, err := newRunner(cfg)
	if err != nil {
		return err
	}
	payers, err := r.cfg.Work.Payers(ctx)
	if err != nil {
		return r.observe(ctx, KindReconcileAll, "", func(context.Context) error {
			return fmt.Errorf("list payers: %w", err)
		})
	}
	if only != nil {
		payers = slices.DeleteFunc(payers, func(p string) bool { return !only(p) })
	}
	var errs []error
	for _, t := range tasks(r.cfg) {
		if t.perPayer {
			errs = append(errs, r.eachPayer(ctx, payers, t.limit, t.kind, t.run))
			continue
		}
		errs = append(errs, r.observe(ctx, t.kind, "", func(ctx context.Context) error { return t.run(ctx, "") }))
	}
	return errors.Join(errs...)
}

// eachPayer calls fn for every payer, at most limit at a time, and joins the failures.
func (r *Runner) eachPayer(ctx context.Context, payers []string, limit int, kind string,
	fn func(context.Context, string) error) error {
	sem := make(chan struct{}, max(limit, 1))
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	for _, payer := range payers {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return errors.Join(append(errs, ctx.Err())...)
		}
		wg.Go(func() {
			defer func() { <-sem }()
			err := r.observe(ctx, kind, payer, func(ctx context.Context) error { return fn(ctx, payer) })
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}
