package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/cloudreseller/aws-invites/internal/config"
	"github.com/cloudreseller/aws-invites/internal/jobs"
	"github.com/cloudreseller/aws-invites/internal/mail"
	"github.com/cloudreseller/aws-invites/internal/notify"
)

// mailers builds the email transport: SMTP when SMTP_URL is set, else in the sandbox a memory mailbox (shown at
// /sandbox/mail), else none (and the start log says so).
func mailers(cfg config.Config, now func() time.Time, log *slog.Logger) (notify.Mailer, *mail.Memory, error) {
	if cfg.SMTPURL != "" {
		c, err := mail.New(cfg.SMTPURL, cfg.SMTPFrom, mail.WithClock(now))
		if err != nil {
			return nil, nil, fmt.Errorf("SMTP_URL / SMTP_FROM: %w", err)
		}
		return mail.Domain{Sender: c}, nil, nil
	}
	if cfg.Mode == config.ModeSandbox {
		box, err := mail.NewMemory(cfg.SMTPFrom, mail.MemoryOptions{Now: now})
		if err != nil {
			return nil, nil, err
		}
		return mail.Domain{Sender: box}, box, nil
	}
	log.Warn("SMTP_URL is not set: no email is sent (webhooks and the activity feed still tell what happens)")
	return nil, nil, nil
}

// queueRef forwards to the job runner, which is built after the use cases that enqueue through it.
type queueRef struct{ r *jobs.Runner }

func (q *queueRef) EnqueueDeliveries(ctx context.Context, ds []notify.Delivery) error {
	return q.r.EnqueueDeliveries(ctx, ds)
}

func (q *queueRef) EnqueueMail(ctx context.Context, eventID int64, to []string) error {
	return q.r.EnqueueMail(ctx, eventID, to)
}

func (q *queueRef) BringForward(ctx context.Context, by time.Duration) (int, error) {
	return q.r.BringForward(ctx, by)
}
