package jobs_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cloudreseller/aws-invites/internal/jobs"
	"github.com/cloudreseller/aws-invites/internal/store"
	"github.com/cloudreseller/aws-invites/internal/store/storetest"
)

// TestScheduleSQLite: the embedded single-process setup runs the same schedule on River's SQLite driver, over the
// store's single connection: periodic fan-outs, a failing payer retried, a slow payer never run twice at once,
// CloudHealth and CUR on their own periods.
func TestScheduleSQLite(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t, store.DialectSQLite, store.Options{})
	work := newFakeWork("111111111111", "222222222222", "333333333333", "slow00000000")
	work.fail["333333333333"] = true
	work.slow["slow00000000"] = 800 * time.Millisecond
	cfg := testConfig(t, st, work)
	cfg.CloudHealthEvery = 700 * time.Millisecond
	cfg.CURScanEvery = 900 * time.Millisecond
	reg := cfg.Registerer.(*prometheus.Registry)
	startRunner(t, cfg)

	s0 := work.started(t)
	start := time.Now()
	time.Sleep(3 * time.Second)
	s := work.snapshot().since(s0)
	elapsed := time.Since(start)

	if maxFanOuts := int(elapsed/cfg.ReconcileEvery) + int(elapsed/cfg.CURScanEvery) + 4; s.payersCalls < 4 || s.payersCalls > maxFanOuts {
		t.Errorf("Payers called %d times in %s, want 4 to %d fan-outs", s.payersCalls, elapsed, maxFanOuts)
	}
	for _, p := range []string{"111111111111", "222222222222"} {
		if s.calls[p] < 4 {
			t.Errorf("payer %s reconciled %d times in %s (period %s), want at least 4", p, s.calls[p], elapsed, cfg.ReconcileEvery)
		}
	}
	if s.calls["333333333333"] < 2 {
		t.Errorf("failing payer reconciled %d times, want it retried", s.calls["333333333333"])
	}
	if n := s.calls["slow00000000"]; n < 2 || n > 5 {
		t.Errorf("slow payer reconciled %d times in %s of 800 ms runs, want 2-5", n, elapsed)
	}
	for p, n := range s.maxRunning {
		if n > 1 {
			t.Errorf("payer %s reconciled %d times at once", p, n)
		}
	}
	if s.chCalls < 2 {
		t.Errorf("CloudHealth synced %d times in %s (period %s), want at least 2", s.chCalls, elapsed, cfg.CloudHealthEvery)
	}
	for _, p := range work.payers {
		if s.curCalls[p] < 1 {
			t.Errorf("CUR of payer %s scanned %d times in %s, want at least 1", p, s.curCalls[p], elapsed)
		}
	}
	if got := counterValue(t, reg, "aws_invites_jobs_total", map[string]string{"kind": jobs.KindReconcilePayer, "outcome": "error"}); got < 2 {
		t.Errorf("aws_invites_jobs_total{reconcile_payer,error} = %v, want at least 2", got)
	}
}

// TestRunOnce: the command-line pass reconciles every payer once, at most Workers at a time, then syncs
// CloudHealth once and scans every CUR once, without River (never started, its schema never migrated); a failing
// payer is reported without stopping the others.
func TestRunOnce(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			st := storetest.MustOpenUnmigrated(t, storetest.URL(t, dialect), pgOptions())
			work := newFakeWork("100000000001", "100000000002", "100000000003", "100000000004", "100000000005", "100000000006")
			for _, p := range work.payers {
				work.slow[p] = 100 * time.Millisecond
			}
			work.fail["100000000004"] = true
			cfg := testConfig(t, st, work)
			cfg.Workers = 2
			reg := cfg.Registerer.(*prometheus.Registry)

			start := time.Now()
			err := jobs.RunOnce(context.Background(), cfg)
			elapsed := time.Since(start)
			if err == nil || !strings.Contains(err.Error(), "100000000004") {
				t.Errorf("RunOnce: %v, want the failing payer's error", err)
			}
			s := work.snapshot()
			for _, p := range work.payers {
				if s.calls[p] != 1 || s.curCalls[p] != 1 {
					t.Errorf("payer %s: reconciled %d, CUR scanned %d times; want once each", p, s.calls[p], s.curCalls[p])
				}
			}
			if s.chCalls != 1 || s.payersCalls != 1 || s.hkCalls != 1 {
				t.Errorf("CloudHealth synced %d times, payers listed %d times, housekeeping %d times; want once each", s.chCalls, s.payersCalls, s.hkCalls)
			}
			// 6 payers of 100 ms, 2 at a time: 300 ms; one at a time would be 600 ms.
			if s.maxAll != 2 || elapsed > 550*time.Millisecond {
				t.Errorf("%d reconciliations at once, %s in all; want 2 at once (Workers), about 300 ms", s.maxAll, elapsed)
			}
			if got := counterValue(t, reg, "aws_invites_jobs_total", map[string]string{"kind": jobs.KindReconcilePayer, "outcome": "ok"}); got != 5 {
				t.Errorf("aws_invites_jobs_total{reconcile_payer,ok} = %v, want 5", got)
			}
		})
	}
}
