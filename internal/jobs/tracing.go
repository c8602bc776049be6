package jobs

import (
	"context"
	"encoding/json"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// traceKey is the key of a job's metadata that carries the trace context it was enqueued in.
const traceKey = "otel"

// jobTracing carries the trace context of whoever enqueued a job (a request, another job) in the job's metadata,
// and makes a span of each work of the job, a child of that context: a create's trace goes on through the event's
// dispatch and the webhook deliveries it enqueued, whichever replica runs them.
type jobTracing struct {
	river.MiddlewareDefaults
	tracer trace.Tracer
	prop   propagation.TextMapPropagator
}

var (
	_ rivertype.JobInsertMiddleware = &jobTracing{}
	_ rivertype.WorkerMiddleware    = &jobTracing{}
)

func newJobTracing(tp trace.TracerProvider) *jobTracing {
	return &jobTracing{tracer: tp.Tracer("github.com/cloudreseller/aws-invites/internal/jobs"), prop: propagation.TraceContext{}}
}

func (t *jobTracing) InsertMany(ctx context.Context, many []*rivertype.JobInsertParams, doInner func(context.Context) ([]*rivertype.JobInsertResult, error)) ([]*rivertype.JobInsertResult, error) {
	carrier := propagation.MapCarrier{}
	t.prop.Inject(ctx, carrier)
	if len(carrier) > 0 {
		for _, p := range many {
			meta := map[string]any{}
			if len(p.Metadata) > 0 {
				if err := json.Unmarshal(p.Metadata, &meta); err != nil {
					continue // not an object: leave it as it is
				}
			}
			meta[traceKey] = map[string]string(carrier)
			if b, err := json.Marshal(meta); err == nil {
				p.Metadata = b
			}
		}
	}
	return doInner(ctx)
}

func (t *jobTracing) Work(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) error {
	var meta struct {
		Trace map[string]string `json:"otel"`
	}
	if len(job.Metadata) > 0 && json.Unmarshal(job.Metadata, &meta) == nil && len(meta.Trace) > 0 {
		ctx = t.prop.Extract(ctx, propagation.MapCarrier(meta.Trace))
	}
	attrs := []attribute.KeyValue{attribute.String("messaging.system", "river"), attribute.Int64("messaging.message.id", job.ID),
		attribute.String("aws_invites.job.kind", job.Kind), attribute.String("messaging.destination.name", job.Queue),
		attribute.Int("aws_invites.job.attempt", job.Attempt)}
	var about jobSubject
	if json.Unmarshal(job.EncodedArgs, &about) == nil && about.Payer != "" {
		attrs = append(attrs, attribute.String("aws_invites.payer", about.Payer))
	}
	ctx, span := t.tracer.Start(ctx, "job "+job.Kind, trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(attrs...))
	defer span.End()
	err := doInner(ctx)
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	return err
}
