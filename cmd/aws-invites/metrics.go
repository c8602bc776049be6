package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/cloudreseller/aws-invites/internal/awsorg"
	"github.com/cloudreseller/aws-invites/internal/cloudhealth"
	"github.com/cloudreseller/aws-invites/internal/telemetry"
)

// serveMetrics serves h at /metrics (and nothing else) on addr, a listener apart from the API's so that it can be
// bound to an internal interface; stop shuts it down.
func serveMetrics(addr string, h http.Handler, log *slog.Logger) (stop func(), err error) {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", h)
	return serveSide("METRICS_ADDR", "metrics", addr, mux, 30*time.Second, log)
}

// servePprof serves Go's profiler (/debug/pprof/...) on addr, which the configuration keeps on a loopback
// address: a CPU profile of a running service under load, without a rebuild. Off unless PPROF_ADDR is set.
func servePprof(addr string, log *slog.Logger) (stop func(), err error) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	// A CPU profile or a trace lasts as long as its ?seconds= asks.
	return serveSide("PPROF_ADDR", "profiler", addr, mux, 0, log)
}

// serveSide serves h on a listener of its own beside the API; stop shuts it down.
func serveSide(name, what, addr string, h http.Handler, writeTimeout time.Duration, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", name, addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: writeTimeout}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("serving "+what+" stopped", "addr", ln.Addr().String(), "error", err)
		}
	}()
	log.Info("serving "+what, "addr", ln.Addr().String())
	return func() {
		// A scrape takes milliseconds; one still running after this was stuck anyway.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			srv.Close()
		}
		<-done
	}, nil
}

// observability is what the adapters tell of their calls: the AWS and CloudHealth call metrics, and the calls'
// spans when tracing is on.
type observability struct {
	aws              *awsorg.Metrics
	cloudHealth      *telemetry.CloudHealthMetrics
	calls            awsorg.CallObserver         // nil without tracing
	cloudHealthSpans *telemetry.CloudHealthSpans // nil without tracing
}

// newObservability makes the call metrics on reg, and the calls' spans over tp (none when nil).
func newObservability(reg prometheus.Registerer, tp trace.TracerProvider) (observability, error) {
	var o observability
	var err error
	if o.aws, err = awsorg.NewMetrics(reg); err != nil {
		return o, err
	}
	if o.cloudHealth, err = telemetry.NewCloudHealthMetrics(reg); err != nil {
		return o, err
	}
	if tp != nil {
		o.calls, o.cloudHealthSpans = telemetry.NewAWSCalls(tp), telemetry.NewCloudHealthSpans(tp)
	}
	return o, nil
}

// cloudHealthOptions are the CloudHealth client's options that report its calls.
func (o observability) cloudHealthOptions() cloudhealth.Options {
	if o.cloudHealthSpans == nil {
		return cloudhealth.Options{Observe: o.cloudHealth.Observe}
	}
	return cloudhealth.Options{Start: o.cloudHealthSpans.Start,
		Observe: func(ctx context.Context, op string, d time.Duration, err error) {
			o.cloudHealth.Observe(ctx, op, d, err)
			o.cloudHealthSpans.End(ctx, err)
		}}
}

// tracerProvider is the tracer provider the OTEL_* variables configure, nil when they configure none (then nothing
// is traced, at no cost); stop flushes the spans still buffered.
func tracerProvider(ctx context.Context, getenv func(string) string, log *slog.Logger) (trace.TracerProvider, func(), error) {
	if !telemetry.TracingEnabled(getenv) {
		return nil, func() {}, nil
	}
	tp, shutdown, err := telemetry.NewTracerProvider(ctx, getenv)
	if err != nil {
		return nil, nil, err
	}
	log.Info("tracing", "exporter", "otlp/http")
	return tp, func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := shutdown(sctx); err != nil {
			log.Warn("flushing the traces", "error", err)
		}
	}, nil
}
