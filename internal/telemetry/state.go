package telemetry

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cloudreseller/aws-invites/internal/invite"
	"github.com/cloudreseller/aws-invites/internal/store"
)

// StateSource is what the state collector reads at scrape time: three statements, each one grouped pass.
type StateSource interface {
	InviteStateCounts(ctx context.Context) ([]store.InviteStateCount, error)
	WebhookHealth(ctx context.Context) (store.WebhookHealth, error)
	JobCounts(ctx context.Context) ([]store.JobCount, error)
}

// StateOptions tune the state collector.
type StateOptions struct {
	// Clock is the time waits are measured against (the rules' clock: in the sandbox, its test clock).
	Clock invite.Clock
	// MaxAge is how long one reading serves scrapes (several Prometheus servers, or a dashboard refreshing, cost
	// the database one reading); 10s when zero.
	MaxAge time.Duration
	// Timeout bounds one reading; 5s when zero. A reading that fails or times out is reported as
	// aws_invites_state_up 0, and the other series of the collector are left out of that scrape.
	Timeout time.Duration
	Log     *slog.Logger
}

// StateCollector exports what the database holds: invites by payer and state, the oldest wait per waiting state,
// webhook deliveries pending, failing and disabled endpoints, and the job queues' unfinished jobs. Each series is
// read at scrape time (no counter to drift from the truth, and every replica reports the same), cached MaxAge.
type StateCollector struct {
	src  StateSource
	opts StateOptions

	up, invites, oldest, limit, pending, endpoints, jobs *prometheus.Desc

	mu   sync.Mutex
	at   time.Time
	last []prometheus.Metric
}

// NewStateCollector returns the collector over src.
func NewStateCollector(src StateSource, opts StateOptions) *StateCollector {
	if opts.Clock == nil {
		opts.Clock = invite.SystemClock{}
	}
	if opts.MaxAge <= 0 {
		opts.MaxAge = 10 * time.Second
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Second
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	return &StateCollector{src: src, opts: opts,
		up: prometheus.NewDesc("aws_invites_state_up",
			"Whether the last reading of the database's state (the invites, webhook and job gauges) succeeded.", nil, nil),
		invites: prometheus.NewDesc("aws_invites_invites",
			"Invites by payer (management account) and state, as the database holds them.", []string{"payer", "state"}, nil),
		oldest: prometheus.NewDesc("aws_invites_invite_oldest_wait_seconds",
			"How long the oldest invite of a waiting state has waited: invited since its invitation was sent, accepted and awaiting_cur since the account joined, cloudhealth_critical since it became so.",
			[]string{"state"}, nil),
		limit: prometheus.NewDesc("aws_invites_invite_wait_limit_seconds",
			"How long the lifecycle's rules let an invite wait in a state before it is stuck (compare aws_invites_invite_oldest_wait_seconds).",
			[]string{"state"}, nil),
		pending: prometheus.NewDesc("aws_invites_webhook_deliveries_pending",
			"Webhook deliveries waiting for their first or a further attempt.", nil, nil),
		endpoints: prometheus.NewDesc("aws_invites_webhook_endpoints",
			"Webhook endpoints by status: healthy, failing (enabled, failing since their last success; disabled if it lasts), disabled_failing (disabled by the service after failing too long), disabled (by their owner).",
			[]string{"status"}, nil),
		jobs: prometheus.NewDesc("aws_invites_job_queue_jobs",
			"Background jobs not finished, by queue, kind and state (available, scheduled, retryable, running, pending): the queues' depth.",
			[]string{"queue", "kind", "state"}, nil),
	}
}

// Describe sends the collector's descriptions.
func (c *StateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.up, c.invites, c.oldest, c.limit, c.pending, c.endpoints, c.jobs} {
		ch <- d
	}
}

// Collect reads the database (or the last reading, when fresh enough) and sends its series.
func (c *StateCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock() // one reading at a time: concurrent scrapes wait for it rather than repeat it
	if c.last == nil || time.Since(c.at) >= c.opts.MaxAge {
		c.last, c.at = c.read(), time.Now()
	}
	for _, m := range c.last {
		ch <- m
	}
}

func (c *StateCollector) read() []prometheus.Metric {
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.Timeout)
	defer cancel()
	failed := func(what string, err error) []prometheus.Metric {
		c.opts.Log.WarnContext(ctx, "reading the state for the metrics", "what", what, "error", err)
		return []prometheus.Metric{prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 0)}
	}
	counts, err := c.src.InviteStateCounts(ctx)
	if err != nil {
		return failed("invites", err)
	}
	hooks, err := c.src.WebhookHealth(ctx)
	if err != nil {
		return failed("webhooks", err)
	}
	jobs, err := c.src.JobCounts(ctx)
	if err != nil {
		return failed("jobs", err)
	}
	now := c.opts.Clock.Now()
	out := []prometheus.Metric{prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 1)}
	oldest := map[string]time.Time{}
	for _, n := range counts {
		out = append(out, prometheus.MustNewConstMetric(c.invites, prometheus.GaugeValue, float64(n.Count), n.Payer, n.State))
		if n.Oldest != nil {
			if o, ok := oldest[n.State]; !ok || n.Oldest.Before(o) {
				oldest[n.State] = *n.Oldest
			}
		}
	}
	// Every waiting state has its series, 0 when none waits: an alert compares it, and a missing series would read
	// as "no data", not as "nothing stuck".
	for _, s := range []invite.State{invite.StateInvited, invite.StateAccepted, invite.StateAwaitingCUR, invite.StateCloudHealthCritical} {
		wait := 0.0
		if o, ok := oldest[string(s)]; ok {
			wait = max(now.Sub(o).Seconds(), 0)
		}
		out = append(out, prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, wait, string(s)))
	}
	for s, d := range WaitLimits {
		out = append(out, prometheus.MustNewConstMetric(c.limit, prometheus.GaugeValue, d.Seconds(), string(s)))
	}
	out = append(out,
		prometheus.MustNewConstMetric(c.pending, prometheus.GaugeValue, float64(hooks.PendingDeliveries)),
		prometheus.MustNewConstMetric(c.endpoints, prometheus.GaugeValue, float64(hooks.HealthyEndpoints), "healthy"),
		prometheus.MustNewConstMetric(c.endpoints, prometheus.GaugeValue, float64(hooks.FailingEndpoints), "failing"),
		prometheus.MustNewConstMetric(c.endpoints, prometheus.GaugeValue, float64(hooks.DisabledByService), "disabled_failing"),
		prometheus.MustNewConstMetric(c.endpoints, prometheus.GaugeValue, float64(hooks.DisabledByOwner), "disabled"))
	for _, j := range jobs {
		out = append(out, prometheus.MustNewConstMetric(c.jobs, prometheus.GaugeValue, float64(j.Count), j.Queue, j.Kind, j.State))
	}
	return out
}
