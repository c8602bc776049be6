package notify

import (
	"context"
	"fmt"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/cloudreseller/aws-invites/internal/invite"
	"github.com/google/uuid"
)

// Rules of webhook delivery.
const (
	// SecretOverlap is how long a rotated-out signing secret keeps signing beside the new one.
	SecretOverlap = 24 * time.Hour
	// DisableAfterFailing is how long an endpoint may fail without a success before it is disabled.
	DisableAfterFailing = 5 * 24 * time.Hour
	// MaxWebhookURL is the longest endpoint URL accepted.
	MaxWebhookURL = 2048
	// MaxDescription is the longest description of an endpoint or notification accepted.
	MaxDescription = 256
)

// WebhookEndpoint is a URL that receives events, of one billing profile or, with no billing profile, of every one
// (the reseller's own systems).
type WebhookEndpoint struct {
	ID               string
	BillingProfileID string // empty: reseller-wide
	URL              string
	Description      string
	Events           []invite.EventType // empty: every type
	Enabled          bool
	DisabledReason   string // why it was disabled by the service, when it was
	Secret           string // signs every delivery; shown once, when created or rotated
	PreviousSecret   string // the secret before the last rotation, signing beside the new one until PreviousUntil
	PreviousUntil    time.Time
	FailingSince     time.Time // the first failed attempt since the last success; zero when healthy
	CreatedBy        invite.Actor
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// Wants reports whether the endpoint receives events of type t.
func (ep WebhookEndpoint) Wants(t invite.EventType) bool {
	return t == invite.EventTest || len(ep.Events) == 0 || slices.Contains(ep.Events, t)
}

// Secrets are the secrets that sign a delivery at now: the current one, and the previous one within the overlap.
func (ep WebhookEndpoint) Secrets(now time.Time) []string {
	out := []string{ep.Secret}
	if ep.PreviousSecret != "" && now.Before(ep.PreviousUntil) {
		out = append(out, ep.PreviousSecret)
	}
	return out
}

// DeliveryState is where a delivery stands.
type DeliveryState string

// The delivery states.
const (
	DeliveryPending   DeliveryState = "pending"
	DeliveryDelivered DeliveryState = "delivered"
	DeliveryFailed    DeliveryState = "failed" // given up: every attempt failed, or the endpoint was disabled or removed
)

// Delivery is one event on its way to one endpoint.
type Delivery struct {
	ID         string
	EndpointID string
	EventID    int64 // the store's event sequence: per endpoint and invite, deliveries go in this order
	EventType  invite.EventType
	PublicID   string // the event's public id (webhook-id)
	InviteID   string
	State      DeliveryState
	Attempts   []DeliveryAttempt
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// DeliveryAttempt is one try to deliver.
type DeliveryAttempt struct {
	At              time.Time
	StatusCode      int // 0 when no answer came
	Latency         time.Duration
	Error           string // empty on success
	ResponseSnippet string // at most 1 KiB of the receiver's answer
}

// OK reports whether the attempt delivered.
func (a DeliveryAttempt) OK() bool { return a.Error == "" && a.StatusCode >= 200 && a.StatusCode < 300 }

// WebhookStore keeps endpoints and deliveries.
type WebhookStore interface {
	CreateEndpoint(ctx context.Context, ep WebhookEndpoint) error
	// Endpoint returns an endpoint of a billing profile ("" for reseller-wide ones), or CodeNotFound.
	Endpoint(ctx context.Context, billingProfileID, id string) (WebhookEndpoint, error)
	// EndpointByID returns an endpoint whatever its scope, or CodeNotFound.
	EndpointByID(ctx context.Context, id string) (WebhookEndpoint, error)
	Endpoints(ctx context.Context, billingProfileID string) ([]WebhookEndpoint, error)
	UpdateEndpoint(ctx context.Context, ep WebhookEndpoint) error
	DeleteEndpoint(ctx context.Context, billingProfileID, id string) error
	// Subscribers returns the enabled endpoints that receive an event of the type for the billing profile: its
	// own and the reseller-wide ones.
	Subscribers(ctx context.Context, billingProfileID string, t invite.EventType) ([]WebhookEndpoint, error)
	// Event returns an event by its sequence number, or CodeNotFound.
	Event(ctx context.Context, id int64) (invite.Event, error)
	// WriteTestEvent stores an event that reaches no one by itself (a test, delivered to one endpoint).
	WriteTestEvent(ctx context.Context, ev invite.Event) (invite.Event, error)
	// CreateDeliveries stores deliveries, keeping those of an (endpoint, event) that exist already.
	CreateDeliveries(ctx context.Context, ds []Delivery) error
	// Delivery returns the delivery of an event to an endpoint, or CodeNotFound.
	Delivery(ctx context.Context, endpointID string, eventID int64) (Delivery, error)
	// EarlierPending reports whether an earlier delivery of the same invite to the same endpoint is still pending.
	EarlierPending(ctx context.Context, d Delivery) (bool, error)
	// RecordAttempt appends an attempt and sets the delivery's state.
	RecordAttempt(ctx context.Context, d Delivery, a DeliveryAttempt, state DeliveryState) error
	// Deliveries returns a page of an endpoint's deliveries, newest first, with their attempts.
	Deliveries(ctx context.Context, endpointID string, limit int, before string) ([]Delivery, string, error)
	// NotificationSettings returns a billing profile's email settings (zero when none were set).
	NotificationSettings(ctx context.Context, billingProfileID string) (NotificationSettings, error)
	PutNotificationSettings(ctx context.Context, ns NotificationSettings) error
}

// WebhookSender delivers events over HTTP, as the Standard Webhooks specification says.
type WebhookSender interface {
	// NewSecret returns a new signing secret.
	NewSecret() (string, error)
	// CheckURL refuses a URL the service must not call (not https in production, private addresses).
	CheckURL(ctx context.Context, url string) error
	// Send delivers one event, signed with every secret given.
	Send(ctx context.Context, url string, secrets []string, ev invite.Event) DeliveryAttempt
}

// Deliverer is the queue deliveries and mail go through (the job engine).
type Deliverer interface {
	// EnqueueDeliveries schedules the deliveries' first attempts.
	EnqueueDeliveries(ctx context.Context, ds []Delivery) error
	// EnqueueMail schedules an email about an event to the recipients.
	EnqueueMail(ctx context.Context, eventID int64, to []string) error
}

// Webhooks are the use cases of webhook endpoints: a billing profile's (licenses managers) and the reseller-wide
// ones (platform administrators).
type Webhooks struct {
	access invite.Access
	clock  invite.Clock
	hooks  WebhookStore
	sender WebhookSender
	queue  Deliverer
}

// NewWebhooks returns the webhook use cases.
func NewWebhooks(profiles invite.ProfileReader, clock invite.Clock, hooks WebhookStore, sender WebhookSender, queue Deliverer) *Webhooks {
	return &Webhooks{access: invite.NewAccess(profiles), clock: clock, hooks: hooks, sender: sender, queue: queue}
}

// need is what a caller needs on a billing profile's endpoints and settings: to read them, or to change them.
type need int

const (
	read need = iota
	write
)

// newID is a new entity id: a UUIDv7, so ids sort by creation.
func newID() string { return uuid.Must(uuid.NewV7()).String() }

// EndpointInput is what a caller sets on an endpoint; nil fields of an update are left as they are.
type EndpointInput struct {
	URL         *string
	Description *string
	Events      *[]invite.EventType
	Enabled     *bool
}

// profile returns a billing profile the caller may read, or change things under.
func (s *Webhooks) profile(ctx context.Context, p invite.Principal, id string, n need) (invite.BillingProfile, error) {
	if n == write {
		return s.access.Change(ctx, p, id)
	}
	return s.access.Read(ctx, p, id)
}

// scope checks the caller's rights on a billing profile's endpoints ("" for the reseller-wide ones).
func (s *Webhooks) scope(ctx context.Context, p invite.Principal, billingProfileID string, need need) error {
	if billingProfileID == "" {
		if !p.IsPlatformAdmin() {
			return invite.Errorf(invite.CodeForbidden, "reseller-wide webhooks need the %q role", invite.RolePlatformAdmin)
		}
		return nil
	}
	_, err := s.profile(ctx, p, billingProfileID, need)
	return err
}

func (s *Webhooks) endpoint(ctx context.Context, p invite.Principal, billingProfileID, id string, need need) (WebhookEndpoint, error) {
	if err := s.scope(ctx, p, billingProfileID, need); err != nil {
		return WebhookEndpoint{}, err
	}
	ep, err := s.hooks.Endpoint(ctx, billingProfileID, id)
	if invite.IsCode(err, invite.CodeNotFound) {
		return WebhookEndpoint{}, invite.Errorf(invite.CodeNotFound, "webhook endpoint %q was not found", id)
	}
	return ep, err
}

// check validates what an endpoint is set to.
func (s *Webhooks) check(ctx context.Context, ep WebhookEndpoint) error {
	u, err := url.Parse(ep.URL)
	switch {
	case ep.URL == "" || len(ep.URL) > MaxWebhookURL:
		return invite.Invalid("url", fmt.Sprintf("give an http(s) URL of at most %d characters", MaxWebhookURL))
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.User != nil || u.Fragment != "":
		return invite.Invalid("url", "not an absolute http(s) URL without credentials or fragment")
	case len(ep.Description) > MaxDescription:
		return invite.Invalid("description", fmt.Sprintf("at most %d characters", MaxDescription))
	}
	for _, t := range ep.Events {
		if !t.Valid() || t == invite.EventTest {
			return invite.Invalid("events", fmt.Sprintf("%q is not an event type one can subscribe to", t))
		}
	}
	if err := s.sender.CheckURL(ctx, ep.URL); err != nil {
		return invite.FieldProblem(invite.CodeWebhookURLRefused, "url", err.Error(), "url: "+err.Error()).Because(err)
	}
	return nil
}

// Create registers an endpoint and returns it with its signing secret, which is shown only now.
func (s *Webhooks) Create(ctx context.Context, p invite.Principal, billingProfileID string, in EndpointInput) (WebhookEndpoint, error) {
	if err := s.scope(ctx, p, billingProfileID, write); err != nil {
		return WebhookEndpoint{}, err
	}
	now := s.clock.Now()
	ep := WebhookEndpoint{ID: newID(), BillingProfileID: billingProfileID, Enabled: true, CreatedBy: p.Actor(),
		CreatedAt: now, UpdatedAt: now}
	apply(&ep, in)
	if in.Enabled != nil {
		ep.Enabled = *in.Enabled
	}
	if err := s.check(ctx, ep); err != nil {
		return WebhookEndpoint{}, err
	}
	secret, err := s.sender.NewSecret()
	if err != nil {
		return WebhookEndpoint{}, err
	}
	ep.Secret = secret
	if err := s.hooks.CreateEndpoint(ctx, ep); err != nil {
		return WebhookEndpoint{}, err
	}
	return ep, nil
}

func apply(ep *WebhookEndpoint, in EndpointInput) {
	if in.URL != nil {
		ep.URL = strings.TrimSpace(*in.URL)
	}
	if in.Description != nil {
		ep.Description = *in.Description
	}
	if in.Events != nil {
		ep.Events = slices.Clone(*in.Events)
		slices.Sort(ep.Events)
		ep.Events = slices.Compact(ep.Events)
	}
}

// Get returns an endpoint, without its secrets.
func (s *Webhooks) Get(ctx context.Context, p invite.Principal, billingProfileID, id string) (WebhookEndpoint, error) {
	ep, err := s.endpoint(ctx, p, billingProfileID, id, read)
	return ep.withoutSecrets(), err
}

// List returns the endpoints of a billing profile ("" for the reseller-wide ones), without their secrets.
func (s *Webhooks) List(ctx context.Context, p invite.Principal, billingProfileID string) ([]WebhookEndpoint, error) {
	if err := s.scope(ctx, p, billingProfileID, read); err != nil {
		return nil, err
	}
	eps, err := s.hooks.Endpoints(ctx, billingProfileID)
	for i := range eps {
		eps[i] = eps[i].withoutSecrets()
	}
	return eps, err
}

func (ep WebhookEndpoint) withoutSecrets() WebhookEndpoint {
	ep.Secret, ep.PreviousSecret = "", ""
	return ep
}

// Update changes an endpoint's URL, events, description or enabled flag. Enabling an endpoint the service
// disabled starts it afresh.
func (s *Webhooks) Update(ctx context.Context, p invite.Principal, billingProfileID, id string, in EndpointInput) (WebhookEndpoint, error) {
	ep, err := s.endpoint(ctx, p, billingProfileID, id, write)
	if err != nil {
		return WebhookEndpoint{}, err
	}
	apply(&ep, in)
	if in.Enabled != nil {
		if *in.Enabled && !ep.Enabled {
			ep.DisabledReason, ep.FailingSince = "", time.Time{}
		}
		ep.Enabled = *in.Enabled
	}
	if err := s.check(ctx, ep); err != nil {
		return WebhookEndpoint{}, err
	}
	ep.UpdatedAt = s.clock.Now()
	if err := s.hooks.UpdateEndpoint(ctx, ep); err != nil {
		return WebhookEndpoint{}, err
	}
	return ep.withoutSecrets(), nil
}

// Delete removes an endpoint; its pending deliveries are given up.
func (s *Webhooks) Delete(ctx context.Context, p invite.Principal, billingProfileID, id string) error {
	if _, err := s.endpoint(ctx, p, billingProfileID, id, write); err != nil {
		return err
	}
	return s.hooks.DeleteEndpoint(ctx, billingProfileID, id)
}

// RotateSecret gives the endpoint a new signing secret, returned only now; the old one keeps signing beside it
// for SecretOverlap, so the receiver can switch without losing a delivery.
func (s *Webhooks) RotateSecret(ctx context.Context, p invite.Principal, billingProfileID, id string) (WebhookEndpoint, error) {
	ep, err := s.endpoint(ctx, p, billingProfileID, id, write)
	if err != nil {
		return WebhookEndpoint{}, err
	}
	secret, err := s.sender.NewSecret()
	if err != nil {
		return WebhookEndpoint{}, err
	}
	now := s.clock.Now()
	ep.PreviousSecret, ep.PreviousUntil, ep.Secret, ep.UpdatedAt = ep.Secret, now.Add(SecretOverlap), secret, now
	if err := s.hooks.UpdateEndpoint(ctx, ep); err != nil {
		return WebhookEndpoint{}, err
	}
	ep.PreviousSecret = ""
	return ep, nil
}

// SendTest delivers a webhook.test event to the endpoint (as any event: signed, retried, listed in its
// deliveries) and returns its delivery.
func (s *Webhooks) SendTest(ctx context.Context, p invite.Principal, billingProfileID, id string) (Delivery, error) {
	ep, err := s.endpoint(ctx, p, billingProfileID, id, write)
	if err != nil {
		return Delivery{}, err
	}
	now := s.clock.Now()
	ev, err := s.hooks.WriteTestEvent(ctx, invite.Event{PublicID: newID(), Type: invite.EventTest, BillingProfileID: billingProfileID,
		At: now, Actor: p.Actor(), Reason: "a test event, sent on request to webhook endpoint " + ep.ID})
	if err != nil {
		return Delivery{}, err
	}
	d := Delivery{ID: newID(), EndpointID: ep.ID, EventID: ev.ID, EventType: ev.Type, PublicID: ev.PublicID,
		State: DeliveryPending, CreatedAt: now, UpdatedAt: now}
	if err := s.hooks.CreateDeliveries(ctx, []Delivery{d}); err != nil {
		return Delivery{}, err
	}
	if err := s.queue.EnqueueDeliveries(ctx, []Delivery{d}); err != nil {
		return Delivery{}, err
	}
	return d, nil
}

// Deliveries returns a page of the endpoint's deliveries, newest first, with each attempt.
func (s *Webhooks) Deliveries(ctx context.Context, p invite.Principal, billingProfileID, id string, limit int, before string) ([]Delivery, string, error) {
	if _, err := s.endpoint(ctx, p, billingProfileID, id, read); err != nil {
		return nil, "", err
	}
	return s.hooks.Deliveries(ctx, id, invite.PageSize(limit), before)
}

// Notifications returns a billing profile's email settings.
func (s *Webhooks) Notifications(ctx context.Context, p invite.Principal, billingProfileID string) (NotificationSettings, error) {
	if _, err := s.profile(ctx, p, billingProfileID, read); err != nil {
		return NotificationSettings{}, err
	}
	ns, err := s.hooks.NotificationSettings(ctx, billingProfileID)
	ns.BillingProfileID = billingProfileID
	return ns, err
}

// PutNotifications sets who hears of a billing profile's events by email, and of which.
func (s *Webhooks) PutNotifications(ctx context.Context, p invite.Principal, ns NotificationSettings) (NotificationSettings, error) {
	if _, err := s.profile(ctx, p, ns.BillingProfileID, write); err != nil {
		return NotificationSettings{}, err
	}
	if len(ns.Recipients) > MaxRecipients {
		return NotificationSettings{}, invite.Invalid("recipients", fmt.Sprintf("at most %d", MaxRecipients))
	}
	for i, r := range ns.Recipients {
		a, err := mail.ParseAddress(r)
		if err != nil || a.Name != "" || strings.ContainsAny(r, "\r\n") {
			return NotificationSettings{}, invite.Invalid("recipients", fmt.Sprintf("%q is not an email address", r))
		}
		ns.Recipients[i] = strings.ToLower(a.Address)
	}
	slices.Sort(ns.Recipients)
	ns.Recipients = slices.Compact(ns.Recipients)
	for _, t := range ns.Events {
		if !slices.Contains(MailTypes(), t) {
			return NotificationSettings{}, invite.Invalid("events", fmt.Sprintf("%q is not an event sent by email (%v)", t, MailTypes()))
		}
	}
	if err := s.hooks.PutNotificationSettings(ctx, ns); err != nil {
		return NotificationSettings{}, err
	}
	return ns, nil
}
