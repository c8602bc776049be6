package mail

import (
	"context"

	"github.com/cloudreseller/aws-invites/internal/invite"
	"github.com/cloudreseller/aws-invites/internal/notify"
)

// Sender is anything that sends a Message: an SMTP server or a Memory mailbox.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// Domain is the domain's Mailer over a Sender.
type Domain struct{ Sender Sender }

var _ notify.Mailer = Domain{}

// Send sends the domain's mail.
func (d Domain) Send(ctx context.Context, m notify.Mail) error {
	return d.Sender.Send(ctx, Message{To: m.To, Subject: m.Subject, Text: m.Text, HTML: m.HTML,
		CustomerID: m.CustomerID, BillingProfileID: m.BillingProfileID})
}

// Mailbox shows a Memory mailbox to the sandbox.
type Mailbox struct{ Memory *Memory }

var _ invite.SandboxMailbox = Mailbox{}

// Sent returns what the mailbox kept, oldest first.
func (b Mailbox) Sent() []invite.SentMail {
	var out []invite.SentMail
	for _, m := range b.Memory.Sent() {
		out = append(out, invite.SentMail{CustomerID: m.CustomerID, BillingProfileID: m.BillingProfileID, ID: m.ID, At: m.At, From: m.From, To: m.To, Subject: m.Subject, Text: m.Text, HTML: m.HTML})
	}
	return out
}
