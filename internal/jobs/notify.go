package jobs

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/riverqueue/river"

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
	return river.InsertOpts{Queue: QueueNotify, MaxAttempts: dispatchAttempts, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// dispatchAttempts bounds the attempts of an event's dispatch. It only reads the database and enqueues the
// deliveries, so what fails it is the database: it is tried again soon (2 s, 4 s, ... up to 5 minutes apart, about
// 8 hours in all), so that an outage neither delays the event by River's default backoff (81 s at the third
// attempt) nor, past River's last attempt, drops it.
const dispatchAttempts = 100

// maxDispatchWait is the longest wait between two attempts of a dispatch.
const maxDispatchWait = 5 * time.Minute

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

type dispatchWorker struct {
	river.WorkerDefaults[dispatchArgs]
	r *Runner
}

func (w *dispatchWorker) Work(ctx context.Context, job *river.Job[dispatchArgs]) error {
	return w.r.observe(ctx, KindDispatchEvent, "", func(ctx context.Context) error {
		return w.r.cfg.Notify.Dispatch(ctx, job.Args.EventID)
	})
}

// NextRetry doubles the wait from 2 s, up to maxDispatchWait.
func (w *dispatchWorker) NextRetry(job *river.Job[dispatchArgs]) time.Time {
	return time.Now().Add(min(time.Second<<min(job.Attempt, 9), maxDispatchWait))
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
