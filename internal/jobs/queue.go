package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivertype"
	"go.opentelemetry.io/otel/trace"

	"github.com/cloudreseller/aws-invites/internal/invite"
	"github.com/cloudreseller/aws-invites/internal/notify"
)

// Queue enqueues the service's jobs on its database, in a caller's transaction or on their own: the dispatch of
// the domain's events, webhook deliveries and email. It runs none of them: a Runner on the same database (in this
// process or another replica) works them. The use cases enqueue through it, so it is built before them, and the
// Runner that runs their work after.
type Queue struct {
	client           inserter
	insertTx         func(ctx context.Context, tx *sql.Tx, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error)
	deliveryAttempts int
	dispatch         bool
}

// inserter is the part of an insert-only River client the Queue uses, for either driver.
type inserter interface {
	InsertMany(ctx context.Context, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error)
	JobList(ctx context.Context, params *river.JobListParams) (*river.JobListResult, error)
	JobRetry(ctx context.Context, id int64) (*rivertype.JobRow, error)
}

var _ notify.Deliverer = (*Queue)(nil)

// QueueConfig is where the Queue enqueues, and what.
type QueueConfig struct {
	// PgxPool and TxDB are, on PostgreSQL, the pool and the database/sql handle over it that the service's
	// transactions run on; SQLite is the embedded database's handle. Exactly one database.
	PgxPool *pgxpool.Pool
	TxDB    *sql.DB
	SQLite  *sql.DB
	// Dispatch enqueues the dispatch of each event written (the Runner's Notify sends them), deliveries and
	// email; without it the queue enqueues nothing: events are kept and sent nowhere (tests that run no engine).
	Dispatch bool
	// DeliveryAttempts is how many attempts a webhook delivery gets; required with Dispatch.
	DeliveryAttempts int
	// Logger receives River's messages; nil discards them.
	Logger *slog.Logger
	// TracerProvider, when set, carries the trace context of whoever enqueues a job in the job (jobTracing).
	TracerProvider trace.TracerProvider
}

// NewQueue builds the Queue: insert-only River clients, which touch the database only to insert and list jobs.
func NewQueue(cfg QueueConfig) (*Queue, error) {
	if cfg.Dispatch && cfg.DeliveryAttempts <= 0 {
		return nil, errors.New("jobs: a queue that dispatches events needs DeliveryAttempts")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	q := &Queue{deliveryAttempts: cfg.DeliveryAttempts, dispatch: cfg.Dispatch}
	rc := &river.Config{Logger: cfg.Logger} // no workers: an insert-only client
	if cfg.TracerProvider != nil {
		rc.Middleware = []rivertype.Middleware{newJobTracing(cfg.TracerProvider)}
	}
	var err error
	switch {
	case cfg.PgxPool != nil && cfg.SQLite != nil:
		return nil, errors.New("jobs: a queue on both a PostgreSQL pool and a SQLite database")
	case cfg.PgxPool != nil:
		if cfg.TxDB == nil {
			return nil, errors.New("jobs: a queue on PostgreSQL needs TxDB, the database/sql handle the service's transactions run on")
		}
		if q.client, err = river.NewClient(riverpgxv5.New(cfg.PgxPool), rc); err == nil {
			var txc *river.Client[*sql.Tx]
			txc, err = river.NewClient(riverdatabasesql.New(cfg.TxDB), rc)
			if err == nil {
				q.insertTx = txc.InsertManyTx
			}
		}
	case cfg.SQLite != nil:
		var c *river.Client[*sql.Tx]
		c, err = river.NewClient(riversqlite.New(cfg.SQLite), rc)
		if err == nil {
			q.client, q.insertTx = c, c.InsertManyTx
		}
	default:
		return nil, errors.New("jobs: a queue without a database (PgxPool or SQLite)")
	}
	if err != nil {
		return nil, fmt.Errorf("jobs: create River's insert-only client: %w", err)
	}
	return q, nil
}

// EnqueueEventsTx enqueues, in the caller's transaction, the dispatch of each event: the store's event hook. A
// rolled-back change sends nothing; a committed one is dispatched even if the process dies right after.
func (q *Queue) EnqueueEventsTx(ctx context.Context, tx *sql.Tx, events []invite.Event) error {
	if !q.dispatch {
		return nil
	}
	params := make([]river.InsertManyParams, 0, len(events))
	for _, ev := range events {
		if ev.Type != invite.EventTest {
			params = append(params, river.InsertManyParams{Args: dispatchArgs{EventID: ev.ID}})
		}
	}
	if len(params) == 0 {
		return nil
	}
	if _, err := q.insertTx(ctx, tx, params); err != nil {
		return fmt.Errorf("jobs: enqueue event dispatch: %w", err)
	}
	return nil
}

// EnqueueDeliveries schedules the first attempt of each delivery (notify.Deliverer); one job per (endpoint,
// event), however often it is asked.
func (q *Queue) EnqueueDeliveries(ctx context.Context, ds []notify.Delivery) error {
	if !q.dispatch {
		return nil
	}
	params := make([]river.InsertManyParams, len(ds))
	for i, d := range ds {
		params[i] = river.InsertManyParams{Args: deliverArgs{EndpointID: d.EndpointID, EventID: d.EventID},
			InsertOpts: &river.InsertOpts{Queue: QueueNotify, MaxAttempts: q.deliveryAttempts, UniqueOpts: river.UniqueOpts{ByArgs: true}}}
	}
	if _, err := q.client.InsertMany(ctx, params); err != nil {
		return fmt.Errorf("jobs: enqueue deliveries: %w", err)
	}
	return nil
}

// EnqueueMail schedules an email about an event (notify.Deliverer).
func (q *Queue) EnqueueMail(ctx context.Context, eventID int64, to []string) error {
	if !q.dispatch {
		return nil
	}
	if _, err := q.client.InsertMany(ctx, []river.InsertManyParams{{Args: mailArgs{EventID: eventID, To: to}}}); err != nil {
		return fmt.Errorf("jobs: enqueue mail: %w", err)
	}
	return nil
}
