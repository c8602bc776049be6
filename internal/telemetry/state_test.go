package telemetry_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cloudreseller/aws-invites/internal/invite"
	"github.com/cloudreseller/aws-invites/internal/store"
	"github.com/cloudreseller/aws-invites/internal/telemetry"
	"github.com/cloudreseller/aws-invites/internal/testclock"
)

// source is a state source whose answers the test sets, counting its readings.
type source struct {
	counts   []store.InviteStateCount
	hooks    store.WebhookHealth
	jobs     []store.JobCount
	err      error
	readings int
}

func (s *source) InviteStateCounts(context.Context) ([]store.InviteStateCount, error) {
	s.readings++
	return s.counts, s.err
}
func (s *source) WebhookHealth(context.Context) (store.WebhookHealth, error) { return s.hooks, nil }
func (s *source) JobCounts(context.Context) ([]store.JobCount, error)        { return s.jobs, nil }

func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			out[f.GetName()+"{"+strings.Join(labels, ",")+"}"] = m.GetGauge().GetValue()
		}
	}
	return out
}

func TestStateCollector(t *testing.T) {
	now := testclock.NewAtStart().Now()
	at := func(ago time.Duration) *time.Time { v := now.Add(-ago); return &v }
	src := &source{
		counts: []store.InviteStateCount{
			{Payer: "111111111111", State: "invited", Count: 3, Oldest: at(2 * time.Hour)},
			{Payer: "222222222222", State: "invited", Count: 1, Oldest: at(16 * 24 * time.Hour)},
			{Payer: "222222222222", State: "awaiting_cur", Count: 2, Oldest: at(time.Hour)},
			{Payer: "222222222222", State: "active", Count: 7},
		},
		hooks: store.WebhookHealth{PendingDeliveries: 4, HealthyEndpoints: 2, DisabledByService: 1},
		jobs:  []store.JobCount{{Queue: "reconcile", Kind: "reconcile_payer", State: "retryable", Count: 5}},
	}
	clock := testclock.New(now)
	reg := prometheus.NewRegistry()
	reg.MustRegister(telemetry.NewStateCollector(src, telemetry.StateOptions{Clock: clock, MaxAge: time.Hour}))

	got := gather(t, reg)
	for name, want := range map[string]float64{
		"aws_invites_state_up{}":                                                           1,
		"aws_invites_invites{payer=111111111111,state=invited}":                            3,
		"aws_invites_invites{payer=222222222222,state=active}":                             7,
		"aws_invites_invite_oldest_wait_seconds{state=invited}":                            (16 * 24 * time.Hour).Seconds(), // the oldest of every payer
		"aws_invites_invite_oldest_wait_seconds{state=awaiting_cur}":                       3600,
		"aws_invites_invite_oldest_wait_seconds{state=accepted}":                           0, // none waits: 0, not absent
		"aws_invites_invite_wait_limit_seconds{state=awaiting_cur}":                        invite.SpendRule.Seconds(),
		"aws_invites_webhook_deliveries_pending{}":                                         4,
		"aws_invites_webhook_endpoints{status=disabled_failing}":                           1,
		"aws_invites_webhook_endpoints{status=failing}":                                    0,
		"aws_invites_job_queue_jobs{kind=reconcile_payer,queue=reconcile,state=retryable}": 5,
	} {
		if v, ok := got[name]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", name, v, ok, want)
		}
	}
	if _, ok := got["aws_invites_invite_oldest_wait_seconds{state=active}"]; ok {
		t.Error("active has a wait: nothing waits there")
	}

	// A second scrape within MaxAge reads the database no more.
	gather(t, reg)
	if src.readings != 1 {
		t.Errorf("%d readings for two scrapes within MaxAge, want 1", src.readings)
	}

	// A failed reading says so, and leaves out the series it could not read.
	failing := &source{err: errors.New("database down")}
	reg = prometheus.NewRegistry()
	reg.MustRegister(telemetry.NewStateCollector(failing, telemetry.StateOptions{Clock: clock}))
	got = gather(t, reg)
	if len(got) != 1 || got["aws_invites_state_up{}"] != 0 {
		t.Errorf("after a failed reading: %v, want only aws_invites_state_up 0", got)
	}
}
