package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cloudreseller/aws-invites/internal/invite"
)

// Work is what the background jobs run: the domain's periodic tasks, with their outcomes logged and counted.
type Work struct {
	reconciler  *invite.Reconciler
	cur         *invite.CURFollower
	cloudHealth *invite.CloudHealthFollower // nil without CloudHealth: then the jobs never call SyncCloudHealth
	log         *slog.Logger
	orphans     *prometheus.GaugeVec
	changed     prometheus.Counter
	activated   prometheus.Counter
	handshakes  *prometheus.GaugeVec
	curAccounts *prometheus.GaugeVec
	lastOK      *prometheus.GaugeVec // when a payer's reconciliation, CUR scan, or the CloudHealth sync last succeeded
	lastFailed  *prometheus.GaugeVec // and last failed

	mu     sync.Mutex
	report *json.Encoder // one JSON line per step, when set (reconcile --once)
}

// ReportTo makes every step also print a JSON line to out (reconcile --once).
func (w *Work) ReportTo(out io.Writer) { w.report = json.NewEncoder(out) }

// step logs a finished step, and prints it when reporting.
func (w *Work) step(ctx context.Context, name string, err error, attrs ...any) {
	w.log.InfoContext(ctx, name, append(attrs, "error", err)...)
	if w.report == nil {
		return
	}
	line := map[string]any{"step": name}
	for i := 0; i+1 < len(attrs); i += 2 {
		line[attrs[i].(string)] = attrs[i+1]
	}
	if err != nil {
		line["error"] = err.Error()
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if eerr := w.report.Encode(line); eerr != nil {
		w.log.WarnContext(ctx, "printing a step", "error", eerr)
	}
}

func newWork(s *Service, log *slog.Logger, reg prometheus.Registerer) (*Work, error) {
	w := &Work{
		reconciler: s.Reconciler, cur: s.CUR, cloudHealth: s.CloudHealth, log: log,
		orphans: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "aws_invites_orphan_handshakes",
			Help: "Open AWS handshakes of a payer for accounts without an invite here (sent from the console?), as of the last reconciliation."}, []string{"payer"}),
		handshakes: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "aws_invites_payer_handshakes",
			Help: "INVITE handshakes AWS lists for a payer's organization, as of the last reconciliation."}, []string{"payer"}),
		changed: prometheus.NewCounter(prometheus.CounterOpts{Name: "aws_invites_reconciled_changes_total",
			Help: "Invites whose state or handshake a reconciliation changed."}),
		activated: prometheus.NewCounter(prometheus.CounterOpts{Name: "aws_invites_cur_activations_total",
			Help: "Invites moved to active because the payer's CUR has line items for the account."}),
		curAccounts: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "aws_invites_cur_accounts",
			Help: "Usage accounts in the last scanned version of a payer's CUR."}, []string{"payer"}),
		lastOK: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "aws_invites_work_last_success_timestamp_seconds",
			Help: "When a periodic work (reconcile, cur, cloudhealth) last succeeded on this replica, for a payer (\"\" for cloudhealth, which reads every payer at once)."},
			[]string{"work", "payer"}),
		lastFailed: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "aws_invites_work_last_failure_timestamp_seconds",
			Help: "When a periodic work (reconcile, cur, cloudhealth) last failed on this replica, for a payer (\"\" for cloudhealth); failing when newer than the last success on every replica."},
			[]string{"work", "payer"}),
	}
	for _, c := range []prometheus.Collector{w.orphans, w.handshakes, w.changed, w.activated, w.curAccounts, w.lastOK, w.lastFailed} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("the work's metrics: %w", err)
		}
	}
	return w, nil
}

func (w *Work) Payers(ctx context.Context) ([]string, error) { return w.reconciler.Payers(ctx) }

func (w *Work) ReconcilePayer(ctx context.Context, payer string) error {
	rep, err := w.reconciler.ReconcilePayer(ctx, payer)
	w.orphans.WithLabelValues(payer).Set(float64(len(rep.Orphans)))
	w.handshakes.WithLabelValues(payer).Set(float64(rep.Handshakes))
	w.changed.Add(float64(rep.Changed))
	if t := tallyOf(ctx); t != nil {
		t.reconciled(rep.Changed)
	}
	w.outcome("reconcile", payer, err)
	w.step(ctx, "reconcile", err, "payer", payer, "handshakes", rep.Handshakes, "changed", rep.Changed, "orphans", len(rep.Orphans),
		"accounts", rep.Accounts, "departed", rep.Departed)
	return err
}

func (w *Work) SyncCloudHealth(ctx context.Context) error {
	err := w.cloudHealth.Sync(ctx)
	w.outcome("cloudhealth", "", err)
	w.step(ctx, "cloudhealth", err)
	return err
}

func (w *Work) ScanCUR(ctx context.Context, payer string) error {
	rep, err := w.cur.Scan(ctx, payer)
	w.activated.Add(float64(rep.Activated))
	if rep.Scanned {
		w.curAccounts.WithLabelValues(payer).Set(float64(rep.Accounts))
	}
	w.outcome("cur", payer, err)
	w.step(ctx, "cur", err, "payer", payer, "period", rep.Period, "version", rep.VersionID, "scanned", rep.Scanned,
		"accounts", rep.Accounts, "activated", rep.Activated)
	return err
}

// outcome stamps a work's last success or failure, in real time (replicas compare them); a run canceled (shutdown)
// is neither.
func (w *Work) outcome(work, payer string, err error) {
	switch {
	case err == nil:
		w.lastOK.WithLabelValues(work, payer).SetToCurrentTime()
	case !errors.Is(err, context.Canceled):
		w.lastFailed.WithLabelValues(work, payer).SetToCurrentTime()
	}
}

// tally counts what a run of the periodic work covered, for whoever started it (the sandbox's clock).
type tally struct {
	mu              sync.Mutex
	payers, changed int
}

func (t *tally) reconciled(changed int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.payers++
	t.changed += changed
}

func (t *tally) work() invite.DueWork {
	t.mu.Lock()
	defer t.mu.Unlock()
	return invite.DueWork{Payers: t.payers, Changed: t.changed}
}

type tallyKey struct{}

// withTally makes the work done under ctx count into t.
func withTally(ctx context.Context, t *tally) context.Context {
	return context.WithValue(ctx, tallyKey{}, t)
}

func tallyOf(ctx context.Context) *tally {
	t, _ := ctx.Value(tallyKey{}).(*tally)
	return t
}
