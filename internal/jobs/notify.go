package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/cloudreseller/aws-invites/internal/invite"
	"github.com/cloudreseller/aws-invites/internal/notify"
)

// NotifyWork is what the notification jobs run (the domain's Notifier).
type NotifyWork interface {
	Dispatch(ctx context.Context, eventID int64) error
	Deliver(ctx context.Context, endpointID string, eventID int64, final bool) error
	SendMail(ctx context.Context, eventID int64, to []string) error
}

// The notification job kinds.
const (
	KindDispatchEvent  = "dispatch_event"
	KindDeliverWebhook = "deliver_webhook"
	KindSendMail       = "send_mail"
)

// earlierPendingWait is how long a delivery waits for an earlier one of the same invite to the same endpoint
// before it looks again.
const earlierPendingWait = 2 * time.Second

// mailAttempts bounds the attempts of one email.
const mailAttempts = 8

type dispatchArgs struct {
	EventID int64 `json:"event_id"`
}

func (dispatchArgs) Kind() string { return KindDispatchEvent }
func (dispatchArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueNotify, MaxAttempts: maxAttempts, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

type deliverArgs struct {
	EndpointID string `json:"endpoint_id"`
	EventID    int64  `json:"event_id"`
}

func (deliverArgs) Kind() string { return KindDeliverWebhook }

type mailArgs struct {
	EventID int64    `json:"event_id"`
	To      []string `json:"to"`
}

func (mailArgs) Kind() string { return KindSendMail }
func (mailArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueNotify, MaxAttempts: mailAttempts, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// EnqueueEventsTx enqueues, in the caller's transaction, the dispatch of each event: the store's event hook. A
// rolled-back change sends nothing; a committed one is dispatched even if the process dies right after.
func (r *Runner) EnqueueEventsTx(ctx context.Context, tx *sql.Tx, events []invite.Event) error {
	if r.cfg.Notify == nil {
		return nil
	}
	if r.insertTx == nil {
		return errors.New("jobs: no transactional insert (set Config.TxDB on PostgreSQL)")
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
	if _, err := r.insertTx(ctx, tx, params); err != nil {
		return fmt.Errorf("jobs: enqueue event dispatch: %w", err)
	}
	return nil
}

// EnqueueDeliveries schedules the first attempt of each delivery (notify.Deliverer); one job per (endpoint,
// event), however often it is asked.
func (r *Runner) EnqueueDeliveries(ctx context.Context, ds []notify.Delivery) error {
	params := make([]river.InsertManyParams, len(ds))
	for i, d := range ds {
		params[i] = river.InsertManyParams{Args: deliverArgs{EndpointID: d.EndpointID, EventID: d.EventID},
			InsertOpts: &river.InsertOpts{Queue: QueueNotify, MaxAttempts: r.cfg.DeliveryAttempts, UniqueOpts: river.UniqueOpts{ByArgs: true}}}
	}
	if _, err := r.engine.InsertMany(ctx, params); err != nil {
		return fmt.Errorf("jobs: enqueue deliveries: %w", err)
	}
	return nil
}

// EnqueueMail schedules an email about an event (notify.Deliverer).
func (r *Runner) EnqueueMail(ctx context.Context, eventID int64, to []string) error {
	if _, err := r.engine.InsertMany(ctx, []river.InsertManyParams{{Args: mailArgs{EventID: eventID, To: to}}}); err != nil {
		return fmt.Errorf("jobs: enqueue mail: %w", err)
	}
	return nil
}

// BringForward makes every delivery and email waiting for a retry due within d due now: the sandbox's clock moved
// d ahead of River's, which schedules by the real time.
func (r *Runner) BringForward(ctx context.Context, d time.Duration) (int, error) {
	due := time.Now().Add(d)
	params := river.NewJobListParams().Kinds(KindDeliverWebhook, KindSendMail).
		States(rivertype.JobStateRetryable, rivertype.JobStateScheduled).First(10000)
	res, err := r.engine.JobList(ctx, params)
	if err != nil {
		return 0, fmt.Errorf("jobs: list jobs to bring forward: %w", err)
	}
	n := 0
	for _, j := range res.Jobs {
		if j.ScheduledAt.After(due) {
			continue
		}
		if _, err := r.engine.JobRetry(ctx, j.ID); err != nil {
			return n, fmt.Errorf("jobs: bring job %d forward: %w", j.ID, err)
		}
		n++
	}
	return n, nil
}

type dispatchWorker struct {
	river.WorkerDefaults[dispatchArgs]
	r *Runner
}

func (w *dispatchWorker) Work(ctx context.Context, job *river.Job[dispatchArgs]) error {
	return w.r.observe(ctx, KindDispatchEvent, "", func(ctx context.Context) error {
		return w.r.cfg.Notify.Dispatch(ctx, job.Args.EventID)
	})
}

type deliverWorker struct {
	river.WorkerDefaults[deliverArgs]
	r *Runner
}

func (w *deliverWorker) Work(ctx context.Context, job *river.Job[deliverArgs]) error {
	final := job.Attempt >= job.MaxAttempts
	err := w.r.cfg.Notify.Deliver(ctx, job.Args.EndpointID, job.Args.EventID, final)
	switch {
	case errors.Is(err, notify.ErrEarlierPending):
		return river.JobSnooze(earlierPendingWait)
	case errors.Is(err, notify.ErrAttemptFailed):
		w.r.metrics.observe(KindDeliverWebhook, "error", 0)
		return err // River retries it after NextRetry
	case err != nil:
		return w.r.observe(ctx, KindDeliverWebhook, "", func(context.Context) error { return err })
	}
	w.r.metrics.observe(KindDeliverWebhook, "ok", 0)
	return nil
}

// NextRetry follows the delivery schedule (about a day in all), not River's default.
func (w *deliverWorker) NextRetry(job *river.Job[deliverArgs]) time.Time {
	return time.Now().Add(w.r.cfg.DeliveryBackoff(job.Attempt))
}

// Timeout leaves room for the receiver's 10 seconds and the database around it.
func (w *deliverWorker) Timeout(*river.Job[deliverArgs]) time.Duration { return 30 * time.Second }

type mailWorker struct {
	river.WorkerDefaults[mailArgs]
	r *Runner
}

func (w *mailWorker) Work(ctx context.Context, job *river.Job[mailArgs]) error {
	return w.r.observe(ctx, KindSendMail, strconv.FormatInt(job.Args.EventID, 10), func(ctx context.Context) error {
		return w.r.cfg.Notify.SendMail(ctx, job.Args.EventID, job.Args.To)
	})
}
