package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
	"gorm.io/gorm"

	"github.com/cloudreseller/aws-invites/internal/awsorg"
)

// InstrumentationName names the service's tracers.
const InstrumentationName = "github.com/cloudreseller/aws-invites"

// TracingEnabled reports whether the standard OpenTelemetry variables ask for traces: an OTLP endpoint
// (OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT), unless OTEL_SDK_DISABLED=true or
// OTEL_TRACES_EXPORTER=none. Only OTLP over HTTP is exported.
func TracingEnabled(getenv func(string) string) bool {
	if strings.EqualFold(getenv("OTEL_SDK_DISABLED"), "true") || strings.EqualFold(getenv("OTEL_TRACES_EXPORTER"), "none") {
		return false
	}
	return getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

// NewTracerProvider returns the tracer provider the OTEL_* variables configure: OTLP over HTTP with a batching
// processor when TracingEnabled, a no-op provider otherwise. The exporter and the SDK read the standard variables
// themselves (endpoint, headers, timeout, compression, OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES,
// OTEL_TRACES_SAMPLER); the service name defaults to aws-invites. shutdown flushes the spans still buffered.
func NewTracerProvider(ctx context.Context, getenv func(string) string) (trace.TracerProvider, func(context.Context) error, error) {
	if !TracingEnabled(getenv) {
		return noop.NewTracerProvider(), func(context.Context) error { return nil }, nil
	}
	if getenv("OTEL_EXPORTER_OTLP_PROTOCOL") != "" && getenv("OTEL_EXPORTER_OTLP_PROTOCOL") != "http/protobuf" {
		return nil, nil, fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL %q: only http/protobuf is supported", getenv("OTEL_EXPORTER_OTLP_PROTOCOL"))
	}
	// The endpoint is read from getenv (the command's environment); the exporter reads the other OTEL_EXPORTER_OTLP_*
	// variables (headers, timeout, compression, certificates) from the process's environment itself.
	endpoint := getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
	if endpoint == "" {
		endpoint = strings.TrimRight(getenv("OTEL_EXPORTER_OTLP_ENDPOINT"), "/") + "/v1/traces"
	}
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(endpoint))
	if err != nil {
		return nil, nil, fmt.Errorf("OpenTelemetry OTLP exporter: %w", err)
	}
	res := resource.Default() // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES, the SDK's attributes
	if getenv("OTEL_SERVICE_NAME") == "" && !strings.Contains(getenv("OTEL_RESOURCE_ATTRIBUTES"), "service.name=") {
		// resource.Default names an unnamed service "unknown_service:<binary>"; this one has a name.
		if res, err = resource.Merge(res, resource.NewSchemaless(attribute.String("service.name", "aws-invites"))); err != nil {
			return nil, nil, fmt.Errorf("OpenTelemetry resource: %w", err)
		}
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	return tp, tp.Shutdown, nil
}

// LogHandler adds the trace and span ids of the record's context (when a span is recording there) to every line,
// so that a log line leads to its trace and back.
func LogHandler(h slog.Handler) slog.Handler { return traceLogHandler{h} }

type traceLogHandler struct{ slog.Handler }

func (h traceLogHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r = r.Clone()
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return h.Handler.Handle(ctx, r)
}

func (h traceLogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return traceLogHandler{h.Handler.WithAttrs(attrs)}
}

func (h traceLogHandler) WithGroup(name string) slog.Handler {
	return traceLogHandler{h.Handler.WithGroup(name)}
}

// AWSCalls makes a client span of every AWS call (awsorg.CallObserver): its service and operation, the payer, AWS's
// request id, the attempts (retries) and throttles, and the error.
type AWSCalls struct{ tracer trace.Tracer }

// NewAWSCalls returns the AWS call observer over tp.
func NewAWSCalls(tp trace.TracerProvider) *AWSCalls {
	return &AWSCalls{tracer: tp.Tracer(InstrumentationName)}
}

// StartCall starts the call's span.
func (a *AWSCalls) StartCall(ctx context.Context, c awsorg.Call) (context.Context, func(awsorg.Call)) {
	ctx, span := a.tracer.Start(ctx, c.Service+"."+c.Operation, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("rpc.system", "aws-api"), attribute.String("rpc.service", c.Service),
			attribute.String("rpc.method", c.Operation)))
	if c.Payer != "" {
		span.SetAttributes(attribute.String("aws_invites.payer", c.Payer))
	}
	return ctx, func(c awsorg.Call) {
		span.SetAttributes(attribute.String("aws.request_id", c.RequestID), attribute.Int("aws_invites.attempts", c.Attempts),
			attribute.Int("aws_invites.retries", c.Attempts-1), attribute.Int("aws_invites.throttled_attempts", c.Throttled),
			attribute.String("aws_invites.outcome", c.Outcome))
		endSpan(span, c.Err)
	}
}

// CloudHealthSpans makes a client span of every CloudHealth call: Start is cloudhealth.Options.Start, End is called
// from its Observe.
type CloudHealthSpans struct{ tracer trace.Tracer }

// NewCloudHealthSpans returns the CloudHealth call spans over tp.
func NewCloudHealthSpans(tp trace.TracerProvider) *CloudHealthSpans {
	return &CloudHealthSpans{tracer: tp.Tracer(InstrumentationName)}
}

// Start starts a call's span.
func (s *CloudHealthSpans) Start(ctx context.Context, operation string) context.Context {
	ctx, _ = s.tracer.Start(ctx, "CloudHealth."+operation, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("rpc.system", "http"), attribute.String("rpc.service", "CloudHealth"),
			attribute.String("rpc.method", operation)))
	return ctx
}

// End ends the span Start put in ctx.
func (s *CloudHealthSpans) End(ctx context.Context, err error) {
	span := trace.SpanFromContext(ctx)
	span.SetAttributes(attribute.String("aws_invites.outcome", CloudHealthOutcome(ctx, err)))
	endSpan(span, err)
}

func endSpan(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// GORMTracing is a GORM plugin that makes a span of every statement the store runs through GORM: the operation, the
// table and the SQL with its parameters left out (they hold customers' data).
func GORMTracing(tp trace.TracerProvider) gorm.Plugin {
	return gormTracing{tracer: tp.Tracer(InstrumentationName)}
}

type gormTracing struct{ tracer trace.Tracer }

func (gormTracing) Name() string { return "aws-invites:tracing" }

type gormSpanKey struct{}

func (g gormTracing) Initialize(db *gorm.DB) error {
	before := func(op string) func(*gorm.DB) {
		return func(tx *gorm.DB) {
			if tx.Statement == nil || tx.Statement.Context == nil || !trace.SpanFromContext(tx.Statement.Context).SpanContext().IsValid() {
				return // a statement outside any trace (startup, the job engine's own) is not worth a root span each
			}
			ctx, _ := g.tracer.Start(tx.Statement.Context, "db."+op, trace.WithSpanKind(trace.SpanKindClient),
				trace.WithAttributes(attribute.String("db.operation.name", op)))
			tx.Statement.Context = context.WithValue(ctx, gormSpanKey{}, time.Now())
		}
	}
	after := func(tx *gorm.DB) {
		if tx.Statement == nil || tx.Statement.Context == nil || tx.Statement.Context.Value(gormSpanKey{}) == nil {
			return
		}
		span := trace.SpanFromContext(tx.Statement.Context)
		span.SetAttributes(attribute.String("db.system.name", tx.Dialector.Name()), attribute.String("db.collection.name", tx.Statement.Table),
			attribute.String("db.query.text", tx.Statement.SQL.String()), attribute.Int64("db.response.returned_rows", tx.Statement.RowsAffected))
		err := tx.Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			err = nil // an answer, not a failure
		}
		endSpan(span, err)
	}
	cb := db.Callback()
	for _, reg := range []struct {
		op     string
		before func(string, func(*gorm.DB)) error
		after  func(string, func(*gorm.DB)) error
	}{
		{"create", cb.Create().Before("gorm:create").Register, cb.Create().After("gorm:create").Register},
		{"query", cb.Query().Before("gorm:query").Register, cb.Query().After("gorm:query").Register},
		{"update", cb.Update().Before("gorm:update").Register, cb.Update().After("gorm:update").Register},
		{"delete", cb.Delete().Before("gorm:delete").Register, cb.Delete().After("gorm:delete").Register},
		{"row", cb.Row().Before("gorm:row").Register, cb.Row().After("gorm:row").Register},
		{"raw", cb.Raw().Before("gorm:raw").Register, cb.Raw().After("gorm:raw").Register},
	} {
		if err := reg.before("tracing:before_"+reg.op, before(reg.op)); err != nil {
			return err
		}
		if err := reg.after("tracing:after_"+reg.op, after); err != nil {
			return err
		}
	}
	return nil
}
