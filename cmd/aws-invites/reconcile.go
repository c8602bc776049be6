package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"github.com/cloudreseller/aws-invites/internal/config"
)

// reconcileOnce runs, in this process, what the background jobs do periodically: every payer's handshake
// reconciliation and CUR scan, then the CloudHealth sync. It prints one JSON line per step and fails if any step failed.
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
	a, err := build(ctx, cfg, newLogger(stderr))
	if err != nil {
		return err
	}
	defer a.close()
	payers, err := a.svc.Payers(ctx)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	failed := 0
	for _, p := range payers {
		rep, err := a.svc.ReconcilePayer(ctx, p)
		line := map[string]any{"step": "reconcile", "payer": p, "handshakes": rep.Handshakes, "changed": rep.Changed, "orphans": len(rep.Orphans)}
		if err != nil {
			line["error"] = err.Error()
			failed++
		}
		if err := enc.Encode(line); err != nil {
			return err
		}
		cr, err := a.svc.ScanCUR(ctx, p)
		line = map[string]any{"step": "cur", "payer": p, "period": cr.Period, "version": cr.VersionID, "scanned": cr.Scanned,
			"accounts": cr.Accounts, "activated": cr.Activated}
		if err != nil {
			line["error"] = err.Error()
			failed++
		}
		if err := enc.Encode(line); err != nil {
			return err
		}
	}
	line := map[string]any{"step": "cloudhealth"}
	if err := a.svc.SyncCloudHealth(ctx); err != nil {
		line["error"] = err.Error()
		failed++
	}
	if err := enc.Encode(line); err != nil {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("%d step(s) failed", failed)
	}
	return nil
}
