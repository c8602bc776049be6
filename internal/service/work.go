package service

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cloudreseller/aws-invites/internal/invite"
)

// Work is what the background jobs run: the domain's periodic tasks, with their outcomes logged and counted.
type Work struct {
	reconciler  *invite.Reconciler
	batches     *invite.Batches
	cur         *invite.CURFollower
	cloudHealth *invite.CloudHealthFollower // nil without CloudHealth: then the jobs never call SyncCloudHealth
	clock       invite.Clock                // the service's shared time, which Idempotency-Keys are stamped with
	purgeKeys   func(ctx context.Context, before time.Time) (int64, error)
	log         *slog.Logger
	orphans     *prometheus.GaugeVec
	changed     prometheus.Counter
	activated   prometheus.Counter
	handshakes  *prometheus.GaugeVec
	curAccounts *prometheus.GaugeVec
	curReport   *prometheus.GaugeVec // the state of each payer's report as a whole, for the reseller
	lastOK      *prometheus.GaugeVec // when a payer's reconciliation, CUR scan, or the CloudHealth sync last succeeded
	lastFailed  *prometheus.GaugeVec // and last failed
	// groupProblems is the invites of each payer whose account AWS refuses to put in its profile's billing group.
	groupProblems *prometheus.GaugeVec
	// queued is each payer's queued invites by reason after its last pass; queueSent counts what passes sent.
	queued    *prometheus.GaugeVec
	queueSent prometheus.Counter

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
		reconciler: s.Reconciler, batches: s.Batches, cur: s.CUR, cloudHealth: s.CloudHealth, log: log,
		clock: cmp.Or[invite.Clock](s.Clock, invite.SystemClock{}), purgeKeys: s.Store.PurgeIdempotencyKeys,
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
		curReport: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "aws_invites_cur_report_state",
			Help: "1 for the state of a payer's CUR as of its last look, 0 for the others: not_configured, unreadable and report_late are the reseller's to fix (its customers' joined accounts show them as billingData.state); awaiting_first_report, present."},
			[]string{"payer", "state"}),
		lastOK: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "aws_invites_work_last_success_timestamp_seconds",
			Help: "When a periodic work (reconcile, cur, cloudhealth) last succeeded on this replica, for a payer (\"\" for cloudhealth, which reads every payer at once)."},
			[]string{"work", "payer"}),
		lastFailed: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "aws_invites_work_last_failure_timestamp_seconds",
			Help: "When a periodic work (reconcile, cur, cloudhealth) last failed on this replica, for a payer (\"\" for cloudhealth); failing when newer than the last success on every replica."},
			[]string{"work", "payer"}),
		groupProblems: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "aws_invites_billing_group_problems",
			Help: "Joined accounts of a payer that AWS Billing Conductor refuses to associate with their billing profile's billing group (billingGroup.state problem: not in the billing family a day after the join, in another group, or a misconfigured group), as of the last reconciliation: the reseller's to fix."},
			[]string{"payer"}),
		queued: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "aws_invites_queued_invites",
			Help: "Invites of a payer waiting in its queue after its last reconciliation, by reason: daily_quota (AWS's invitations a day: they go out as slots free) or account_quota (the organization's account quota: the reseller's to have raised by AWS)."},
			[]string{"payer", "reason"}),
		queueSent: prometheus.NewCounter(prometheus.CounterOpts{Name: "aws_invites_queue_sent_total",
			Help: "Queued invites sent by reconciliation passes as slots of the daily quota freed."}),
	}
	for _, c := range []prometheus.Collector{w.orphans, w.handshakes, w.changed, w.activated, w.curAccounts, w.curReport, w.lastOK, w.lastFailed, w.groupProblems, w.queued, w.queueSent} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("the work's metrics: %w", err)
		}
	}
	return w, nil
}

func (w *Work) Payers(ctx context.Context) ([]string, error) { return w.reconciler.Payers(ctx) }

func (w *Work) ReconcilePayer(ctx context.Context, payer string) error {
	rep, err := w.reconciler.ReconcilePayer(ctx, payer)
	if w.batches != nil {
		// A batch whose runner stopped (its process did) goes on here, after the pass settled the payer's invites.
		err = errors.Join(err, w.batches.Resume(ctx, payer))
	}
	w.orphans.WithLabelValues(payer).Set(float64(len(rep.Orphans)))
	w.handshakes.WithLabelValues(payer).Set(float64(rep.Handshakes))
	w.groupProblems.WithLabelValues(payer).Set(float64(rep.BillingGroupProblems))
	w.changed.Add(float64(rep.Changed))
	if q := rep.Queue; err == nil || q.Queued > 0 {
		waiting := max(0, q.Queued-q.Sent-q.Refused)
		w.queued.WithLabelValues(payer, string(invite.QueueAccountQuota)).Set(float64(q.ForAccount))
		w.queued.WithLabelValues(payer, string(invite.QueueDailyQuota)).Set(float64(max(0, waiting-q.ForAccount)))
		w.queueSent.Add(float64(q.Sent))
	}
	if t := tallyOf(ctx); t != nil {
		t.reconciled(rep.Changed)
	}
	w.outcome("reconcile", payer, err)
	w.step(ctx, "reconcile", err, "payer", payer, "handshakes", rep.Handshakes, "changed", rep.Changed, "orphans", len(rep.Orphans),
		"accounts", rep.Accounts, "departed", rep.Departed, "billingGroupsChanged", rep.BillingGroups, "billingGroupProblems", rep.BillingGroupProblems)
	return err
}

// IdempotencyRetention is how long an Idempotency-Key's record is kept: a retry within it gets the first answer;
// after it the key is free again (as Stripe and the IETF draft's examples keep them, a day).
const IdempotencyRetention = 24 * time.Hour

// Housekeep deletes the Idempotency-Key records older than IdempotencyRetention.
func (w *Work) Housekeep(ctx context.Context) error {
	n, err := w.purgeKeys(ctx, w.clock.Now().Add(-IdempotencyRetention))
	w.step(ctx, "housekeeping", err, "idempotency_keys_deleted", n)
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
	if rep.Feed != "" {
		for _, st := range []invite.BillingDataState{invite.BillingNotConfigured, invite.BillingUnreadable, invite.BillingReportLate,
			invite.BillingAwaitingFirstReport, invite.BillingPresent} {
			v := 0.0
			if st == rep.Feed {
				v = 1
			}
			w.curReport.WithLabelValues(payer, string(st)).Set(v)
		}
	}
	w.outcome("cur", payer, err)
	w.step(ctx, "cur", err, "payer", payer, "period", rep.Period, "version", rep.VersionID, "scanned", rep.Scanned,
		"accounts", rep.Accounts, "activated", rep.Activated, "report", rep.Feed, "problem", rep.Problem, "billingDataChanged", rep.BillingChanged)
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
