package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cloudreseller/aws-invites/internal/config"
)

// reconcileOnce runs, in this process, what the background jobs do periodically: every payer's handshake
// reconciliation and CUR scan, then the CloudHealth sync. It prints one JSON line per step
// and fails if any step failed.
func reconcileOnce(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("reconcile", flag.ContinueOnError)
	fs.SetOutput(stderr)
	once := fs.Bool("once", false, "run every payer's reconciliation once and exit")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if !*once || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "aws-invites reconcile: only --once is supported (serve reconciles periodically)")
		return errUsage
	}
	cfg, err := config.FromEnv(getenv)
	if err != nil {
		return err
	}
	log := newLogger(stderr)
	a, err := build(ctx, cfg, log, prometheus.NewRegistry(), nil)
	if err != nil {
		return err
	}
	defer a.close()
	// What the pass changes is told as always: its events enqueue their delivery for the replicas that serve.
	if err := a.Runner.Migrate(ctx); err != nil {
		return err
	}
	a.Work.ReportTo(stdout)
	return a.RunOnce(ctx)
}
