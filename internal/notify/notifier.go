package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"slices"
	"strings"
	textTemplate "text/template"

	"github.com/cloudreseller/aws-invites/internal/invite"
)

// MailTypes are the events people are told of by email.
func MailTypes() []invite.EventType {
	return []invite.EventType{invite.EventAccepted, invite.EventActive, invite.EventCloudHealthCritical, invite.EventExpiring, invite.EventExpired, invite.EventDeclined,
		invite.EventDeparted, invite.EventAccountState}
}

// MaxRecipients bounds a billing profile's notification recipients.
const MaxRecipients = 20

// NotificationSettings say who, beside the user who sent an invite, hears of a billing profile's events by email.
type NotificationSettings struct {
	BillingProfileID string
	Recipients       []string
	Events           []invite.EventType // empty: every one of MailTypes
}

// wants reports whether the settings' recipients hear of events of type t.
func (ns NotificationSettings) wants(t invite.EventType) bool {
	return len(ns.Events) == 0 || slices.Contains(ns.Events, t)
}

// Mail is one email message.
type Mail struct {
	To      []string
	Subject string
	Text    string
	HTML    string
	// CustomerID and BillingProfileID say whose the mail is, for a mailbox that shows it (the sandbox's) to
	// that customer's users only; they are not sent.
	CustomerID       string
	BillingProfileID string
}

// Mailer sends email.
type Mailer interface {
	Send(ctx context.Context, m Mail) error
}

// ErrEarlierPending says a delivery waits for an earlier one of the same invite to the same endpoint: per endpoint
// and invite, events arrive in order.
var ErrEarlierPending = errors.New("an earlier event of the invite is still on its way to the endpoint")

// ErrAttemptFailed says a delivery attempt failed and another one is due.
var ErrAttemptFailed = errors.New("the delivery attempt failed")

// Notifier tells people and systems what happened: it turns each event into webhook deliveries and email, and
// makes each delivery attempt.
type Notifier struct {
	reads  Reads
	clock  invite.Clock
	hooks  WebhookStore
	sender WebhookSender
	queue  Deliverer
	mailer Mailer // nil: no email is configured
}

// NewNotifier returns the notifier; mailer is nil when the service sends no email.
func NewNotifier(reads Reads, clock invite.Clock, hooks WebhookStore, sender WebhookSender, queue Deliverer, mailer Mailer) *Notifier {
	return &Notifier{reads: reads, clock: clock, hooks: hooks, sender: sender, queue: queue, mailer: mailer}
}

// Reads is what the notifier reads of the domain: the invite and the billing profile an event is about.
type Reads interface {
	invite.ProfileReader
	Invite(ctx context.Context, billingProfileID, inviteID string) (invite.Invite, error)
}

// Dispatch turns an event into a delivery for every endpoint that receives it and an email to the people who
// hear of it. Run again for the same event (a retried job), it adds nothing twice.
func (n *Notifier) Dispatch(ctx context.Context, eventID int64) error {
	ev, err := n.hooks.Event(ctx, eventID)
	if err != nil || ev.Type == "" || ev.Type == invite.EventTest {
		return err
	}
	eps, err := n.hooks.Subscribers(ctx, ev.BillingProfileID, ev.Type)
	if err != nil {
		return err
	}
	now := n.clock.Now()
	ds := make([]Delivery, 0, len(eps))
	for _, ep := range eps {
		ds = append(ds, Delivery{ID: newID(), EndpointID: ep.ID, EventID: ev.ID, EventType: ev.Type, PublicID: ev.PublicID,
			InviteID: ev.InviteID, State: DeliveryPending, CreatedAt: now, UpdatedAt: now})
	}
	if len(ds) > 0 {
		if err := n.hooks.CreateDeliveries(ctx, ds); err != nil {
			return err
		}
		if err := n.queue.EnqueueDeliveries(ctx, ds); err != nil {
			return err
		}
	}
	if n.mailer == nil || !slices.Contains(MailTypes(), ev.Type) {
		return nil
	}
	to, err := n.recipients(ctx, ev)
	if err != nil || len(to) == 0 {
		return err
	}
	return n.queue.EnqueueMail(ctx, ev.ID, to)
}

// recipients are who hears of an event by email: the user who sent the invite, and the billing profile's
// notification recipients who want that type.
func (n *Notifier) recipients(ctx context.Context, ev invite.Event) ([]string, error) {
	var to []string
	if ev.InviteID != "" {
		inv, err := n.reads.Invite(ctx, ev.BillingProfileID, ev.InviteID)
		if err != nil && !invite.IsCode(err, invite.CodeNotFound) {
			return nil, err
		}
		if inv.InvitedBy.Kind == invite.ActorUser && inv.InvitedBy.Email != "" {
			to = append(to, inv.InvitedBy.Email)
		}
	}
	ns, err := n.hooks.NotificationSettings(ctx, ev.BillingProfileID)
	if err != nil {
		return nil, err
	}
	if ns.wants(ev.Type) {
		to = append(to, ns.Recipients...)
	}
	for i := range to {
		to[i] = strings.ToLower(strings.TrimSpace(to[i]))
	}
	slices.Sort(to)
	return slices.Compact(to), nil
}

// Deliver makes one attempt of an event's delivery to an endpoint. It answers ErrEarlierPending when an earlier
// event of the same invite is still on its way there (try again later), ErrAttemptFailed when the attempt failed
// and final is false (another attempt is due); on the final attempt a failure gives the delivery up. An endpoint
// failing for DisableAfterFailing without a success is disabled.
func (n *Notifier) Deliver(ctx context.Context, endpointID string, eventID int64, final bool) error {
	d, err := n.hooks.Delivery(ctx, endpointID, eventID)
	if err != nil || d.State != DeliveryPending {
		return err
	}
	now := n.clock.Now()
	ep, err := n.hooks.EndpointByID(ctx, endpointID)
	switch {
	case invite.IsCode(err, invite.CodeNotFound):
		return n.hooks.RecordAttempt(ctx, d, DeliveryAttempt{At: now, Error: "the endpoint was removed"}, DeliveryFailed)
	case err != nil:
		return err
	case !ep.Enabled:
		return n.hooks.RecordAttempt(ctx, d, DeliveryAttempt{At: now, Error: "the endpoint is disabled"}, DeliveryFailed)
	}
	if waiting, err := n.hooks.EarlierPending(ctx, d); err != nil || waiting {
		if err == nil {
			err = ErrEarlierPending
		}
		return err
	}
	ev, err := n.hooks.Event(ctx, eventID)
	if err != nil {
		return err
	}
	a := n.sender.Send(ctx, ep.URL, ep.Secrets(now), ev)
	state := DeliveryDelivered
	if !a.OK() {
		state = DeliveryPending
		if final {
			state = DeliveryFailed
		}
	}
	if err := n.hooks.RecordAttempt(ctx, d, a, state); err != nil {
		return err
	}
	if state == DeliveryPending {
		return fmt.Errorf("%w: %s", ErrAttemptFailed, a.Error)
	}
	return nil
}

// SendMail writes and sends the email about an event.
func (n *Notifier) SendMail(ctx context.Context, eventID int64, to []string) error {
	if n.mailer == nil {
		return nil
	}
	ev, err := n.hooks.Event(ctx, eventID)
	if err != nil {
		return err
	}
	bp, err := n.reads.BillingProfile(ctx, ev.BillingProfileID)
	if err != nil {
		return err
	}
	var steps []invite.Step
	if ev.InviteID != "" {
		if inv, err := n.reads.Invite(ctx, ev.BillingProfileID, ev.InviteID); err == nil {
			steps = invite.NextSteps(inv, ev.At) // the steps as of the event, in its payer's time
		}
	}
	m, err := renderMail(ev, bp, steps)
	if err != nil {
		return err
	}
	m.To, m.CustomerID, m.BillingProfileID = to, bp.CustomerID, bp.ID
	return n.mailer.Send(ctx, m)
}

// headline says in a few words what an event means for the customer.
func headline(t invite.EventType) string {
	switch t {
	case invite.EventAccepted:
		return "accepted the invitation"
	case invite.EventActive:
		return "is active: its billing data arrived"
	case invite.EventCloudHealthCritical:
		return "needs attention: CloudHealth cannot read it"
	case invite.EventExpiring:
		return "has not accepted yet: the invitation expires soon"
	case invite.EventExpired:
		return "did not answer: the invitation expired"
	case invite.EventDeclined:
		return "declined the invitation"
	case invite.EventDeparted:
		return "is no longer in the payer organization"
	case invite.EventAccountState:
		return "changed state in AWS (suspended, closing or closed, or active again)"
	}
	return string(t)
}

type mailData struct {
	Account, Headline, Profile, ProfileID, Reason, At string
	Steps                                             []invite.Step
}

var (
	mailText = textTemplate.Must(textTemplate.New("text").Parse(`AWS account {{.Account}} {{.Headline}}.

Billing profile: {{.Profile}} ({{.ProfileID}})
What happened: {{.Reason}}
When: {{.At}}
{{if .Steps}}
What to do next:
{{range .Steps}}- {{.Title}}: {{.Detail}}
{{end}}{{end}}`))
	mailHTML = template.Must(template.New("html").Parse(`<!doctype html>
<html><body style="font-family: sans-serif">
<p><strong>AWS account {{.Account}} {{.Headline}}.</strong></p>
<table>
<tr><td>Billing profile</td><td>{{.Profile}} ({{.ProfileID}})</td></tr>
<tr><td>What happened</td><td>{{.Reason}}</td></tr>
<tr><td>When</td><td>{{.At}}</td></tr>
</table>
{{if .Steps}}<p>What to do next:</p>
<ul>{{range .Steps}}<li><strong>{{.Title}}</strong>: {{.Detail}}</li>{{end}}</ul>{{end}}
</body></html>
`))
)

// renderMail writes the plain-text and HTML bodies of an event's email.
func renderMail(ev invite.Event, bp invite.BillingProfile, steps []invite.Step) (Mail, error) {
	data := mailData{Account: ev.AccountID, Headline: headline(ev.Type), Profile: bp.Name, ProfileID: bp.ID,
		Reason: ev.Reason, At: ev.At.UTC().Format("2006-01-02 15:04 UTC"), Steps: steps}
	var text, html bytes.Buffer
	if err := mailText.Execute(&text, data); err != nil {
		return Mail{}, err
	}
	if err := mailHTML.Execute(&html, data); err != nil {
		return Mail{}, err
	}
	return Mail{Subject: "AWS account " + ev.AccountID + " " + headline(ev.Type), Text: text.String(), HTML: html.String()}, nil
}
