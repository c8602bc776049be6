package awsorg_test

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/cloudreseller/aws-invites/internal/awsorg"
	"github.com/cloudreseller/aws-invites/internal/awsorg/orgsim"
	"github.com/cloudreseller/aws-invites/internal/invite"
)

// recorder keeps the calls an observer was told of.
type recorder struct {
	mu    sync.Mutex
	calls []awsorg.Call
}

func (r *recorder) StartCall(ctx context.Context, c awsorg.Call) (context.Context, func(awsorg.Call)) {
	return ctx, func(c awsorg.Call) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.calls = append(r.calls, c)
	}
}

func TestCallsAreCountedByOperationAndOutcome(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := awsorg.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	e := newEnv(t, orgsim.Options{}, func(o *awsorg.Options) { o.Metrics, o.Observer = m, rec })
	ctx := context.Background()

	// Throttled twice, then sent: one call, ok, three attempts of which two throttled.
	e.sim.Inject(orgsim.Fault{Op: "InviteAccountToOrganization", Times: 2, Code: "TooManyRequestsException"})
	if _, _, err := e.client.InviteAccount(ctx, payer, target, ""); err != nil {
		t.Fatal(err)
	}
	// Throttled on every attempt: a throttled call.
	e.sim.Inject(orgsim.Fault{Op: "DescribeAccount", Code: "TooManyRequestsException"})
	if _, err := e.client.DescribeAccount(ctx, payer, target2); err == nil {
		t.Fatalf("DescribeAccount under throttling: %v", err)
	}
	e.sim.ClearFaults()
	// A client error: refused.
	if _, err := e.client.DescribeHandshake(ctx, payer, "h-nosuchhandshake0000000000000000"); err == nil {
		t.Fatal("DescribeHandshake of an unknown handshake succeeded")
	}
	// A server error on every attempt: unavailable.
	e.sim.Inject(orgsim.Fault{Op: "ListHandshakesForOrganization", Code: "ServiceException"})
	if err := e.client.ListInviteHandshakes(ctx, payer, func(invite.Handshake) error { return nil }); err == nil {
		t.Fatal("listing under server errors succeeded")
	}

	got := series(t, reg)
	for name, want := range map[string]float64{
		`aws_invites_aws_calls_total{operation="DescribeAccount",outcome="throttled",service="Organizations"}`:                 1,
		`aws_invites_aws_calls_total{operation="DescribeHandshake",outcome="refused",service="Organizations"}`:                 1,
		`aws_invites_aws_calls_total{operation="InviteAccountToOrganization",outcome="ok",service="Organizations"}`:            1,
		`aws_invites_aws_calls_total{operation="ListHandshakesForOrganization",outcome="unavailable",service="Organizations"}`: 1,
		`aws_invites_aws_throttled_attempts_total{operation="DescribeAccount",service="Organizations"}`:                        5,
		`aws_invites_aws_throttled_attempts_total{operation="InviteAccountToOrganization",service="Organizations"}`:            2,
		`aws_invites_aws_attempts_total{operation="InviteAccountToOrganization",service="Organizations"}`:                      3,
		`aws_invites_aws_call_duration_seconds_count{operation="InviteAccountToOrganization",service="Organizations"}`:         1,
	} {
		if got[name] != want {
			t.Errorf("%s = %v, want %v", name, got[name], want)
		}
	}
	calls := 0
	for name := range got {
		if strings.HasPrefix(name, "aws_invites_aws_calls_total{") {
			calls++
		}
	}
	if calls != 4 {
		t.Errorf("%d call series, want 4: %v", calls, got)
	}

	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.calls) != 4 {
		t.Fatalf("observer saw %d calls, want 4: %+v", len(rec.calls), rec.calls)
	}
	first := rec.calls[0]
	if first.Payer != mgmt || first.Operation != "InviteAccountToOrganization" || first.Attempts != 3 || first.Throttled != 2 ||
		first.RequestID == "" || first.Outcome != awsorg.OutcomeOK {
		t.Errorf("first call = %+v, want the payer, 3 attempts of which 2 throttled, a request id, ok", first)
	}
	if refused := rec.calls[2]; refused.RequestID == "" || refused.Err == nil {
		t.Errorf("refused call = %+v, want its request id and error", refused)
	}
}

// series gathers reg as "name{labels}" -> value (counters, gauges, and histograms' _count).
func series(t *testing.T, reg *prometheus.Registry) map[string]float64 {
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
				labels = append(labels, l.GetName()+"="+strconv.Quote(l.GetValue()))
			}
			key := "{" + strings.Join(labels, ",") + "}"
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				out[f.GetName()+key] = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				out[f.GetName()+key] = m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				out[f.GetName()+"_count"+key] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}
