// Package service builds the service from its parts: the one wiring of the domain's use cases, its notifications
// and its background jobs, over a database and an outside world (AWS, CloudHealth, the CUR, webhook receivers,
// email) that is real or simulated. The command (serve, reconcile --once) and the tests build it the same way.
//
// The order is what each piece needs and nothing is completed afterwards: the job queue first (the store's events
// enqueue their dispatch through it, in their own transaction), then the use cases over the store writing events,
// the notifications over the queue, and last the job runner, which runs their work.
package service

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/cloudreseller/aws-invites/internal/apiview"
	"github.com/cloudreseller/aws-invites/internal/httpapi"
	"github.com/cloudreseller/aws-invites/internal/invite"
	"github.com/cloudreseller/aws-invites/internal/jobs"
	"github.com/cloudreseller/aws-invites/internal/notify"
	"github.com/cloudreseller/aws-invites/internal/store"
	"github.com/cloudreseller/aws-invites/internal/telemetry"
	"github.com/cloudreseller/aws-invites/internal/webhook"
)

// AWS is AWS Organizations as the domain uses it: invitations to join, and billing transfers.
type AWS interface {
	invite.Organizations
	invite.Transfers
}

// Parts are what the service is built from.
type Parts struct {
	Store *store.Store // opened and migrated
	Clock invite.Clock // the time every rule reads: the real one, or the sandbox's shared test clock
	// Clocks is the time of each payer: in the sandbox its own test clock, if it has one; Clock for every payer
	// when nil.
	Clocks invite.Clocks
	// RealClock is the time of webhook deliveries (their signatures, retries and the disabling of failing
	// endpoints): what receivers check against their own clocks, so the real time even in the sandbox. SystemClock
	// when nil.
	RealClock invite.Clock
	AWS       AWS
	// BillingGroups is AWS Billing Conductor (the real client, or over its simulator in the sandbox); nil: billing
	// profiles cannot name billing groups.
	BillingGroups invite.BillingGroups
	// CloudHealth is the CloudHealth listing the follower reads, nil when CloudHealth is not followed; an account
	// unknown or payer N/A there for CloudHealthGrace is critical.
	CloudHealth      invite.CloudHealthStatuses
	CloudHealthGrace time.Duration
	// CloudHealthSetup tells the IAM setup of an invite's account, and CloudHealthValidator checks it; none when
	// nil.
	CloudHealthSetup     invite.CloudHealthSetupSource
	CloudHealthValidator invite.CloudHealthValidator
	CUR                  invite.CURReader
	Webhooks             notify.WebhookSender
	Mailer               notify.Mailer // nil: no email
	// Sandbox is the simulated world of the sandbox (its Jobs are the service's queue); nil outside it.
	Sandbox *invite.SandboxWorld
	// Jobs schedules the background work (periods, workers, timeouts, polling, the delivery backoff: webhook's
	// schedule when nil); the database, the work and the notifications are the service's.
	Jobs jobs.Config
	// Quota is the payers' daily invitation quota as the service keeps it (invite.QuotaRules; AWS's defaults
	// when zero): in the sandbox, the simulator's own quota.
	Quota invite.QuotaRules
	// Quiet keeps events in the history and the feed but sends them nowhere: for tests that run no job engine.
	Quiet    bool
	Log      *slog.Logger
	Registry prometheus.Registerer // the service's metrics: the jobs', the work's, the database's state and the build
	// TracerProvider, when set, makes spans of the database statements and of the jobs, which carry the trace
	// context they were enqueued in; nil traces nothing.
	TracerProvider trace.TracerProvider
}

// Service is the service built: its use cases, its queue, and the job runner (built, not started).
type Service struct {
	Store       *store.Store // writes events with their dispatch
	Clock       invite.Clock
	Clocks      invite.Clocks // nil: Clock for every payer
	Invites     *invite.Invites
	Batches     *invite.Batches // batches of invites: run in the background, resumed by the payer's pass
	Profiles    *invite.Profiles
	Reconciler  *invite.Reconciler
	CUR         *invite.CURFollower
	CloudHealth *invite.CloudHealthFollower // nil without CloudHealth
	chStatuses  invite.CloudHealthStatuses  // CloudHealth's listing, for the tenants' report; nil without CloudHealth
	Sandbox     *invite.Sandbox             // nil outside the sandbox
	Webhooks    *notify.Webhooks
	Notifier    *notify.Notifier
	Queue       *jobs.Queue
	Runner      *jobs.Runner
	Work        *Work
	jobs        jobs.Config
}

// New builds the service. It does not touch the database beyond what the store did when it opened.
func New(ctx context.Context, p Parts) (*Service, error) {
	if p.Log == nil {
		p.Log = slog.New(slog.DiscardHandler)
	}
	if p.Registry == nil {
		p.Registry = prometheus.NewRegistry()
	}
	qc := jobs.QueueConfig{Dispatch: !p.Quiet, DeliveryAttempts: webhook.MaxAttempts, Logger: p.Log, TracerProvider: p.TracerProvider}
	jc := p.Jobs
	jc.PgxPool, jc.SQLite, jc.Logger, jc.Registerer, jc.TracerProvider = nil, nil, p.Log, p.Registry, p.TracerProvider
	if p.TracerProvider != nil {
		if err := p.Store.Use(telemetry.GORMTracing(p.TracerProvider)); err != nil {
			return nil, fmt.Errorf("tracing the database: %w", err)
		}
		p.Store.TraceReads(p.TracerProvider)
	}
	if pool := p.Store.PgxPool(); pool != nil {
		qc.PgxPool, qc.TxDB, jc.PgxPool = pool, p.Store.SQLDB(), pool
	} else {
		qc.SQLite, jc.SQLite = p.Store.SQLDB(), p.Store.SQLDB()
	}
	queue, err := jobs.NewQueue(qc)
	if err != nil {
		return nil, err
	}
	// Events keep their invite as the API shows it (feed, webhooks) and enqueue their dispatch with the change.
	st := p.Store.WithEvents(queue.EnqueueEventsTx, apiview.EncodeInvite)
	if p.RealClock == nil {
		p.RealClock = invite.SystemClock{}
	}
	deps := invite.Deps{Orgs: p.AWS, Transfers: p.AWS, Clock: p.Clock, Clocks: p.Clocks, Log: p.Log, BillingGroups: p.BillingGroups, Quota: p.Quota}
	followers := invite.Deps{Clock: p.Clock, Clocks: p.Clocks, Log: p.Log} // the followers read no AWS
	s := &Service{Store: st, Clock: p.Clock, Clocks: p.Clocks, Queue: queue,
		Invites:    invite.NewInvites(st, deps, invite.CloudHealthTools{Setup: p.CloudHealthSetup, Validator: p.CloudHealthValidator}),
		Profiles:   invite.NewProfiles(st, deps),
		Reconciler: invite.NewReconciler(st, deps),
		CUR:        invite.NewCURFollower(st, followers, p.CUR, st),
		Webhooks:   notify.NewWebhooks(st, p.RealClock, st, p.Webhooks, queue),
		Notifier:   notify.NewNotifier(st, p.RealClock, st, p.Webhooks, queue, p.Mailer),
	}
	s.Batches = invite.NewBatches(st, s.Invites)
	s.chStatuses = p.CloudHealth
	if p.CloudHealth != nil {
		s.CloudHealth = invite.NewCloudHealthFollower(st, followers, p.CloudHealth, p.CloudHealthGrace)
	}
	if p.Sandbox != nil {
		world := *p.Sandbox
		world.Jobs = sandboxJobs{Queue: queue, s: s}
		s.Sandbox = invite.NewSandbox(st, deps, world, s.Reconciler, s.CloudHealth, s.CUR)
	}
	if s.Work, err = newWork(s, p.Log, p.Registry); err != nil {
		return nil, err
	}
	if _, err := telemetry.Register(p.Registry, telemetry.NewStateCollector(st, telemetry.StateOptions{Clock: p.Clock, Log: p.Log})); err != nil {
		return nil, err
	}
	if err := telemetry.RegisterBuildInfo(p.Registry); err != nil {
		return nil, err
	}
	jc.Work, jc.Housekeeping = s.Work, s.Work
	if jc.Lease == nil {
		// The per-payer work other than reconciliation (which takes its payer's lease itself) holds the same
		// kind of lease: a row, not a pooled connection, while it waits on AWS or S3.
		jc.Lease = st.LockPayer
	}
	if s.CloudHealth != nil {
		jc.CloudHealth = s.Work
	}
	if !p.Quiet {
		jc.Notify = s.Notifier
		if jc.DeliveryBackoff == nil {
			jc.DeliveryBackoff = webhook.Schedule{}.Backoff
		}
	}
	s.jobs = jc
	if s.Runner, err = jobs.New(ctx, jc); err != nil {
		return nil, fmt.Errorf("background jobs: %w", err)
	}
	return s, nil
}

// API is the HTTP API over the service's use cases. cfg says what only the API has (tokens, CORS, rate limits,
// metrics, logs); the use cases, the idempotency records, the clock and readiness are the service's.
func (s *Service) API(cfg httpapi.Config) (*echo.Echo, error) {
	cfg.Invites, cfg.Profiles, cfg.Reconciler, cfg.Sandbox, cfg.Webhooks = s.Invites, s.Profiles, s.Reconciler, s.Sandbox, s.Webhooks
	cfg.Batches = s.Batches
	cfg.Idempotency, cfg.Clock, cfg.Ready, cfg.DatabaseUnavailable = s.Store, s.Clock, s.Store.Ping, store.Unavailable
	cfg.CloudHealth, _ = s.chStatuses.(invite.CloudHealthReporter)
	if s.Clocks != nil {
		cfg.Clocks = s.Clocks
		cfg.ProfilePayer = func(ctx context.Context, id string) (string, bool) {
			bp, err := s.Store.BillingProfile(ctx, id)
			return bp.ManagementAccountID, err == nil
		}
	}
	return httpapi.New(cfg)
}

// RunOnce runs the periodic work once, in this process and without the job engine (reconcile --once).
func (s *Service) RunOnce(ctx context.Context) error { return jobs.RunOnce(ctx, s.jobs) }

// sandboxJobs is the background work as the sandbox drives it: the queue's waiting retries, and the periodic work
// run once as reconcile --once runs it (jobs.RunOnce: the one list of that work).
type sandboxJobs struct {
	*jobs.Queue
	s *Service
}

func (j sandboxJobs) RunDue(ctx context.Context, payers func(string) bool) (invite.DueWork, error) {
	if _, err := j.s.Reconciler.Payers(ctx); err != nil {
		return invite.DueWork{}, err // nothing can run: the database does not answer
	}
	var due tally
	err := jobs.RunOnceFor(withTally(ctx, &due), j.s.jobs, payers)
	w := due.work()
	w.Failures = failures(err)
	return w, nil
}

// failures lists the failures a run of work joined (errors.Join), each once.
func failures(err error) []string {
	if err == nil {
		return nil
	}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		var out []string
		for _, e := range joined.Unwrap() {
			out = append(out, failures(e)...)
		}
		return out
	}
	return []string{err.Error()}
}
