package jobs

import (
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the job counters and durations; a nil registerer keeps them unregistered (still counted).
type metrics struct {
	runs     *prometheus.CounterVec
	duration *prometheus.HistogramVec
	enqueues *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aws_invites_jobs_total",
			Help: "Background jobs run, by kind and outcome (ok, error, canceled).",
		}, []string{"kind", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "aws_invites_job_duration_seconds",
			Help:    "Duration of background jobs, by kind.",
			Buckets: []float64{0.01, 0.05, 0.1, 0.5, 1, 5, 15, 30, 60, 120, 300},
		}, []string{"kind"}),
		enqueues: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aws_invites_jobs_enqueued_total",
			Help: "Per-payer jobs enqueued by a fan-out, by kind and result (inserted, or duplicate: the payer's previous job still waits or runs).",
		}, []string{"kind", "result"}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	if m.runs, err = register(reg, m.runs); err != nil {
		return nil, err
	}
	if m.duration, err = register(reg, m.duration); err != nil {
		return nil, err
	}
	if m.enqueues, err = register(reg, m.enqueues); err != nil {
		return nil, err
	}
	return m, nil
}

// register adopts an identical collector already registered (a second Runner in the same process, as in tests)
// instead of failing.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing, nil
			}
		}
		return c, fmt.Errorf("jobs: register metrics: %w", err)
	}
	return c, nil
}

func (m *metrics) observe(kind, outcome string, d time.Duration) {
	m.runs.WithLabelValues(kind, outcome).Inc()
	m.duration.WithLabelValues(kind).Observe(d.Seconds())
}

func (m *metrics) enqueued(kind, result string) {
	m.enqueues.WithLabelValues(kind, result).Inc()
}
