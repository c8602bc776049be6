// Package telemetry is what the service tells its operators beyond its answers: the metrics that read the
// database at scrape time (invites by state, webhook deliveries, job queues), the CloudHealth call metrics, the
// build, and OpenTelemetry tracing (off unless the standard OTEL_* variables configure it).
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/cloudreseller/aws-invites/internal/cloudhealth"
	"github.com/cloudreseller/aws-invites/internal/invite"
)

// Register registers c, or returns the identical collector registered before it (two services built in one
// process on one registry, as in tests).
func Register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing, nil
			}
		}
		return c, fmt.Errorf("telemetry: register metrics: %w", err)
	}
	return c, nil
}

// RegisterRuntime registers the Go runtime's and the process's collectors (go_*, process_*).
func RegisterRuntime(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})} {
		if _, err := Register(reg, c); err != nil {
			return err
		}
	}
	return nil
}

// RegisterBuildInfo registers aws_invites_build_info: 1, labeled with the module version, the VCS commit and the
// Go version of this build ("(devel)" and "unknown" where the toolchain recorded none, as under go run and tests).
func RegisterBuildInfo(reg prometheus.Registerer) error {
	version, revision := "(devel)", "unknown"
	if info, ok := debug.ReadBuildInfo(); ok {
		if info.Main.Version != "" {
			version = info.Main.Version
		}
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && s.Value != "" {
				revision = s.Value
			}
		}
	}
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "aws_invites_build_info",
		Help:        "The build running: always 1, labeled with its module version, VCS revision and Go version.",
		ConstLabels: prometheus.Labels{"version": version, "revision": revision, "goversion": runtime.Version()}})
	g.Set(1)
	_, err := Register(reg, g)
	return err
}

// CloudHealthMetrics counts and times the calls to CloudHealth's API. A nil *CloudHealthMetrics counts nothing.
type CloudHealthMetrics struct {
	calls    *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// CloudHealth outcomes, the values of aws_invites_cloudhealth_calls_total's outcome label.
const (
	CloudHealthOK          = "ok"
	CloudHealthKeyRefused  = "key_refused" // 401 or 403: the reseller's key, or the tenant it may act for
	CloudHealthRateLimited = "rate_limited"
	CloudHealthUnavailable = "unavailable" // 5xx or no answer, after the retries
	CloudHealthNotFound    = "not_found"
	CloudHealthCanceled    = "canceled"
	CloudHealthError       = "error" // another answer, or one that could not be read
)

// NewCloudHealthMetrics makes the CloudHealth call metrics and registers them on reg.
func NewCloudHealthMetrics(reg prometheus.Registerer) (*CloudHealthMetrics, error) {
	m := &CloudHealthMetrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "aws_invites_cloudhealth_calls_total",
			Help: "CloudHealth API calls, retries included in one call, by operation and outcome (ok, key_refused, rate_limited, unavailable, not_found, canceled, error)."},
			[]string{"operation", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "aws_invites_cloudhealth_call_duration_seconds",
			Help:    "Duration of CloudHealth API calls, waits for the key's request budget and retries included, by operation.",
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 180}}, []string{"operation"}),
	}
	var err error
	if m.calls, err = Register(reg, m.calls); err != nil {
		return nil, err
	}
	if m.duration, err = Register(reg, m.duration); err != nil {
		return nil, err
	}
	return m, nil
}

// Observe records one call; it is cloudhealth.Options.Observe.
func (m *CloudHealthMetrics) Observe(ctx context.Context, operation string, d time.Duration, err error) {
	if m == nil {
		return
	}
	m.calls.WithLabelValues(operation, CloudHealthOutcome(ctx, err)).Inc()
	m.duration.WithLabelValues(operation).Observe(d.Seconds())
}

// CloudHealthOutcome sorts a CloudHealth call's error into its outcome.
func CloudHealthOutcome(ctx context.Context, err error) string {
	switch {
	case err == nil:
		return CloudHealthOK
	case errors.Is(err, cloudhealth.ErrKeyRefused):
		return CloudHealthKeyRefused
	case errors.Is(err, cloudhealth.ErrRateLimited):
		return CloudHealthRateLimited
	case ctx.Err() != nil || errors.Is(err, context.Canceled):
		return CloudHealthCanceled
	case errors.Is(err, cloudhealth.ErrUnavailable):
		return CloudHealthUnavailable
	case errors.Is(err, cloudhealth.ErrNotFound):
		return CloudHealthNotFound
	}
	return CloudHealthError
}

// WaitLimits is how long an invite may wait in each waiting state before something is wrong, from the lifecycle's
// rules: an invitation is answered or expires within its handshake's lifetime (plus a reconciliation's margin);
// a joined account is confirmed a member at the next reconciliation (an hour is many); its spend shows in the
// CUR within the spend rule, after which the customer is told to open a support ticket. The alert "invites stuck
// beyond their rule's time" compares the oldest wait of each state with these (aws_invites_invite_wait_limit_seconds).
var WaitLimits = map[invite.State]time.Duration{
	invite.StateInvited:     invite.HandshakeLifetime + time.Hour,
	invite.StateAccepted:    time.Hour,
	invite.StateAwaitingCUR: invite.SpendRule,
}
