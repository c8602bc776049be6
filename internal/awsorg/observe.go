package awsorg

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	"github.com/prometheus/client_golang/prometheus"
)

// Outcomes of an AWS call, the values of the outcome label.
const (
	OutcomeOK          = "ok"          // AWS answered with success
	OutcomeThrottled   = "throttled"   // AWS throttled it, still after the retries
	OutcomeRefused     = "refused"     // AWS answered with a client error (4xx): the request, not AWS, was at fault
	OutcomeUnavailable = "unavailable" // a server error (5xx), a timeout or no answer, still after the retries
	OutcomeCanceled    = "canceled"    // the caller gave up (its context ended) before AWS answered
)

// Metrics counts and times the calls of AWS clients: one series per service, operation and outcome, whatever the
// payer (a label per payer would grow with the reseller's customers; traces carry the payer). A nil *Metrics counts
// nothing.
type Metrics struct {
	calls     *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	attempts  *prometheus.CounterVec
	throttles *prometheus.CounterVec
}

// NewMetrics makes the AWS call metrics and registers them on reg (none when nil). Registering twice on one
// registry (two clients in one process) shares the first one's series.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aws_invites_aws_calls_total",
			Help: "AWS API calls, retries included in one call, by service, operation and outcome (ok, throttled, refused, unavailable, canceled).",
		}, []string{"service", "operation", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "aws_invites_aws_call_duration_seconds",
			Help:    "Duration of AWS API calls, retries and the payer's rate limit included, by service and operation.",
			Buckets: []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
		}, []string{"service", "operation"}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aws_invites_aws_attempts_total",
			Help: "HTTP attempts of AWS API calls (a call retried twice counts three), by service and operation.",
		}, []string{"service", "operation"}),
		throttles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aws_invites_aws_throttled_attempts_total",
			Help: "Attempts of AWS API calls that AWS throttled (retried or not), by service and operation.",
		}, []string{"service", "operation"}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	if m.calls, err = adopt(reg, m.calls); err != nil {
		return nil, err
	}
	if m.duration, err = adopt(reg, m.duration); err != nil {
		return nil, err
	}
	if m.attempts, err = adopt(reg, m.attempts); err != nil {
		return nil, err
	}
	if m.throttles, err = adopt(reg, m.throttles); err != nil {
		return nil, err
	}
	return m, nil
}

// adopt registers c, or returns the identical collector registered before it.
func adopt[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing, nil
			}
		}
		return c, fmt.Errorf("awsorg: register metrics: %w", err)
	}
	return c, nil
}

// CallObserver is told of every AWS call when it ends (traces, logs): which payer, service and operation, how
// long, the AWS request id of its last attempt, its attempts and the error, if any.
type CallObserver interface {
	// StartCall is called as the call begins; the context it returns is the call's (a span's); end is called once
	// with what happened.
	StartCall(ctx context.Context, c Call) (context.Context, func(Call))
}

// Call is one AWS API call as the observers see it.
type Call struct {
	Payer     string // the payer's management account; "" for calls of no payer (S3 of the CUR)
	Service   string // the SDK's service id: "Organizations", "STS", "S3"
	Operation string
	Duration  time.Duration
	RequestID string // AWS's request id of the last attempt, when AWS answered
	Attempts  int    // 1 when not retried
	Throttled int    // attempts AWS throttled
	Outcome   string // one of the Outcome constants; "" at the start
	Err       error
}

// APIOption returns the option that counts and times every call of an AWS client and tells obs (when not nil) of
// it. payer names the payer the client acts for, "" when none. It goes in a client's APIOptions.
func (m *Metrics) APIOption(payer string, obs CallObserver) func(*middleware.Stack) error {
	mw := middleware.InitializeMiddlewareFunc("awsinvitesObserve", func(
		ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler,
	) (middleware.InitializeOutput, middleware.Metadata, error) {
		call := Call{Payer: payer, Service: awsmiddleware.GetServiceID(ctx), Operation: awsmiddleware.GetOperationName(ctx)}
		end := func(Call) {}
		if obs != nil {
			ctx, end = obs.StartCall(ctx, call)
		}
		start := time.Now()
		out, md, err := next.HandleInitialize(ctx, in)
		call.Duration = time.Since(start)
		call.Err = err
		call.RequestID, _ = awsmiddleware.GetRequestIDMetadata(md)
		if results, ok := retry.GetAttemptResults(md); ok {
			call.Attempts = len(results.Results)
			for _, r := range results.Results {
				if r.Err != nil && throttled(r.Err) {
					call.Throttled++
				}
			}
		}
		if call.Attempts == 0 {
			call.Attempts = 1
		}
		if err != nil && call.RequestID == "" {
			// A failed call's request id is in its error, not in the metadata.
			var re interface{ ServiceRequestID() string }
			if errors.As(err, &re) {
				call.RequestID = re.ServiceRequestID()
			}
		}
		call.Outcome = outcomeOf(ctx, err)
		m.observe(call)
		end(call)
		return out, md, err
	})
	return func(s *middleware.Stack) error {
		// After the service metadata (the operation's name) is registered, before the retries: one observation a
		// call, its attempts inside.
		return s.Initialize.Add(mw, middleware.After)
	}
}

func (m *Metrics) observe(c Call) {
	if m == nil {
		return
	}
	m.calls.WithLabelValues(c.Service, c.Operation, c.Outcome).Inc()
	m.duration.WithLabelValues(c.Service, c.Operation).Observe(c.Duration.Seconds())
	m.attempts.WithLabelValues(c.Service, c.Operation).Add(float64(c.Attempts))
	if c.Throttled > 0 {
		m.throttles.WithLabelValues(c.Service, c.Operation).Add(float64(c.Throttled))
	}
}

// outcomeOf sorts a call's error into its outcome.
func outcomeOf(ctx context.Context, err error) string {
	var ae smithy.APIError
	switch {
	case err == nil:
		return OutcomeOK
	case throttled(err):
		return OutcomeThrottled
	case ctx.Err() != nil || errors.Is(err, context.Canceled):
		return OutcomeCanceled
	case errors.As(err, &ae) && statusOf(err) > 0 && statusOf(err) < 500:
		return OutcomeRefused
	}
	// Server errors, timeouts and connections refused or broken.
	return OutcomeUnavailable
}

// throttled reports whether AWS throttled the attempt: the codes the SDK retries as throttles and those the
// adapter maps to throttling.
func throttled(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) && isThrottle(ae.ErrorCode()) {
		return true
	}
	return retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err) == aws.TrueTernary
}
