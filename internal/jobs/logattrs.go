package jobs

import (
	"context"
	"encoding/json"
	"log/slog"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/cloudreseller/aws-invites/internal/reqlog"
)

// jobLogAttrs gives every line logged while a job works (the service's and River's own, when logged with the job's
// context) the job's id, kind and attempt, and the payer, endpoint or event it is about, so support finds a
// payer's failing reconciliation or an endpoint's failing delivery by searching the logs for it.
type jobLogAttrs struct{ river.MiddlewareDefaults }

var _ rivertype.WorkerMiddleware = &jobLogAttrs{}

// jobSubject is what a job's arguments say it is about (each kind has some of these; none has all).
type jobSubject struct {
	Payer      string `json:"payer"`
	EndpointID string `json:"endpoint_id"`
	EventID    int64  `json:"event_id"`
}

func (*jobLogAttrs) Work(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) error {
	attrs := []slog.Attr{slog.Int64("job_id", job.ID), slog.String("job_kind", job.Kind), slog.Int("job_attempt", job.Attempt)}
	var about jobSubject
	if json.Unmarshal(job.EncodedArgs, &about) == nil {
		if about.Payer != "" {
			attrs = append(attrs, slog.String("payer", about.Payer))
		}
		if about.EndpointID != "" {
			attrs = append(attrs, slog.String("endpoint_id", about.EndpointID))
		}
		if about.EventID != 0 {
			attrs = append(attrs, slog.Int64("event_id", about.EventID))
		}
	}
	return doInner(reqlog.WithAttrs(ctx, attrs...))
}
