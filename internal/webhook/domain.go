package webhook

import (
	"context"
	"encoding/json"
	"time"

	"github.com/cloudreseller/aws-invites/internal/apiview"
	"github.com/cloudreseller/aws-invites/internal/invite"
	"github.com/cloudreseller/aws-invites/internal/notify"
)

// Domain is the domain's WebhookSender over this package: the event as the API shows it, signed as the Standard
// Webhooks specification says, to a destination the guard vetted.
type Domain struct {
	Guard  *Guard
	Sender *Sender
}

var _ notify.WebhookSender = Domain{}

// NewDomain returns the sender of the domain's events; allowPrivate lets URLs be http and private (the sandbox).
func NewDomain(allowPrivate bool, now func() time.Time) Domain {
	g := &Guard{AllowPrivate: allowPrivate}
	return Domain{Guard: g, Sender: NewSender(SenderOptions{Guard: g, Now: now})}
}

// NewSecret returns a new signing secret.
func (d Domain) NewSecret() (string, error) { return NewSecret() }

// CheckURL refuses a destination the guard does not allow.
func (d Domain) CheckURL(ctx context.Context, url string) error { return d.Guard.CheckURL(ctx, url) }

// Send delivers one event: its data is the event as the API shows it (with the invite as it was then).
func (d Domain) Send(ctx context.Context, url string, secrets []string, ev invite.Event) notify.DeliveryAttempt {
	data, err := apiview.Event(ev)
	var raw []byte
	if err == nil {
		raw, err = json.Marshal(data)
	}
	if err != nil {
		return notify.DeliveryAttempt{At: time.Now().UTC(), Error: "the event could not be encoded: " + err.Error()}
	}
	a := d.Sender.Send(ctx, url, secrets, Message{ID: ev.PublicID, Type: string(ev.Type), Timestamp: ev.At, Data: raw})
	return notify.DeliveryAttempt{At: a.At, StatusCode: a.StatusCode, Latency: a.Latency, Error: a.Error, ResponseSnippet: a.ResponseSnippet}
}
