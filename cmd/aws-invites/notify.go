package main

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/cloudreseller/aws-invites/internal/config"
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
