package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/cloudreseller/aws-invites/internal/apiview"
	"github.com/cloudreseller/aws-invites/internal/config"
	"github.com/cloudreseller/aws-invites/internal/invite"
	"github.com/cloudreseller/aws-invites/internal/jobs"
	"github.com/cloudreseller/aws-invites/internal/mail"
	"github.com/cloudreseller/aws-invites/internal/webhook"
)

// webhookSender is the domain's WebhookSender over the webhook package: the event as the API shows it, signed as
// the Standard Webhooks specification says, to a destination the guard vetted.
type webhookSender struct {
	guard  *webhook.Guard
	sender *webhook.Sender
}

func newWebhookSender(allowPrivate bool, now func() time.Time) webhookSender {
	g := &webhook.Guard{AllowPrivate: allowPrivate}
	return webhookSender{guard: g, sender: webhook.NewSender(webhook.SenderOptions{Guard: g, Now: now})}
}

func (w webhookSender) NewSecret() (string, error) { return webhook.NewSecret() }

func (w webhookSender) CheckURL(ctx context.Context, url string) error { return w.guard.CheckURL(ctx, url) }

func (w webhookSender) Send(ctx context.Context, url string, secrets []string, ev invite.Event) invite.DeliveryAttempt {
	data, err := apiview.Event(ev)
	var raw []byte
	if err == nil {
		raw, err = json.Marshal(data)
	}
	if err != nil {
		return invite.DeliveryAttempt{At: time.Now().UTC(), Error: "the event could not be encoded: " + err.Error()}
	}
	a := w.sender.Send(ctx, url, secrets, webhook.Message{ID: ev.PublicID, Type: string(ev.Type), Timestamp: ev.At, Data: raw})
	return invite.DeliveryAttempt{At: a.At, StatusCode: a.StatusCode, Latency: a.Latency, Error: a.Error, ResponseSnippet: a.ResponseSnippet}
}

// mailer is the domain's Mailer over an SMTP server or the sandbox's mailbox.
type mailer struct {
	send func(context.Context, mail.Message) error
}

func (m mailer) Send(ctx context.Context, msg invite.Mail) error {
	return m.send(ctx, mail.Message{To: msg.To, Subject: msg.Subject, Text: msg.Text, HTML: msg.HTML})
}

// sandboxMailbox shows the sandbox's memory mailbox to the domain.
type sandboxMailbox struct{ m *mail.Memory }

func (b sandboxMailbox) Sent() []invite.SentMail {
	var out []invite.SentMail
	for _, m := range b.m.Sent() {
		out = append(out, invite.SentMail{ID: m.ID, At: m.At, From: m.From, To: m.To, Subject: m.Subject, Text: m.Text, HTML: m.HTML})
	}
	return out
}

// mailers builds the email transport: SMTP when SMTP_URL is set, else in the sandbox a memory mailbox (shown at
// /sandbox/mail), else none (and the start log says so).
func mailers(cfg config.Config, now func() time.Time, log *slog.Logger) (invite.Mailer, *mail.Memory, error) {
	if cfg.SMTPURL != "" {
		c, err := mail.New(cfg.SMTPURL, cfg.SMTPFrom, mail.WithClock(now))
		if err != nil {
			return nil, nil, fmt.Errorf("SMTP_URL / SMTP_FROM: %w", err)
		}
		return mailer{send: c.Send}, nil, nil
	}
	if cfg.Mode == config.ModeSandbox {
		box, err := mail.NewMemory(cfg.SMTPFrom, mail.MemoryOptions{Now: now})
		if err != nil {
			return nil, nil, err
		}
		return mailer{send: box.Send}, box, nil
	}
	log.Warn("SMTP_URL is not set: no email is sent (webhooks and the activity feed still tell what happens)")
	return nil, nil, nil
}

// queueRef forwards to the job runner, which is built after the use cases that enqueue through it.
type queueRef struct{ r *jobs.Runner }

func (q *queueRef) EnqueueDeliveries(ctx context.Context, ds []invite.Delivery) error {
	return q.r.EnqueueDeliveries(ctx, ds)
}

func (q *queueRef) EnqueueMail(ctx context.Context, eventID int64, to []string) error {
	return q.r.EnqueueMail(ctx, eventID, to)
}

func (q *queueRef) BringForward(ctx context.Context, by time.Duration) (int, error) {
	return q.r.BringForward(ctx, by)
}
