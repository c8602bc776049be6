package invite

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Service holds the use cases of aws-invites. Every method checks the caller's rights itself, so no adapter can
// forget to.
type Service struct {
	store   Store
	orgs    Organizations
	clock   Clock
	log     *slog.Logger
	sandbox Sandbox // nil outside the sandbox

	cloudHealth        CloudHealth // nil when CloudHealth is not configured
	cloudHealthGrace   time.Duration
	cloudHealthSetup   CloudHealthSetupSource
	sandboxCloudHealth SandboxCloudHealth

	cur        CURReader
	curStore   CURStore
	sandboxCUR SandboxCUR
}

// Sandbox plays the invited account in the sandbox (accept or decline a handshake as that account).
type Sandbox interface {
	AcceptHandshakeAs(ctx context.Context, accountID, handshakeID string) (Handshake, error)
	DeclineHandshakeAs(ctx context.Context, accountID, handshakeID string) (Handshake, error)
}

// Options configure a Service.
type Options struct {
	Clock   Clock        // default SystemClock
	Logger  *slog.Logger // default slog.Default()
	Sandbox Sandbox      // set only in sandbox mode

	CloudHealth        CloudHealth            // nil: CloudHealth is not followed
	CloudHealthGrace   time.Duration          // default DefaultCloudHealthGrace
	CloudHealthSetup   CloudHealthSetupSource // the IAM setup customers create for CloudHealth
	SandboxCloudHealth SandboxCloudHealth     // set only in sandbox mode

	CUR        CURReader  // nil: CUR data is not read
	CURStore   CURStore   // where scans are kept (the database)
	SandboxCUR SandboxCUR // set only in sandbox mode
}

// NewService returns the use cases over a store and AWS Organizations.
func NewService(store Store, orgs Organizations, opts Options) *Service {
	s := &Service{store: store, orgs: orgs, clock: opts.Clock, log: opts.Logger, sandbox: opts.Sandbox,
		cloudHealth: opts.CloudHealth, cloudHealthGrace: opts.CloudHealthGrace, cloudHealthSetup: opts.CloudHealthSetup,
		sandboxCloudHealth: opts.SandboxCloudHealth, cur: opts.CUR, curStore: opts.CURStore, sandboxCUR: opts.SandboxCUR}
	if s.cloudHealthGrace <= 0 {
		s.cloudHealthGrace = DefaultCloudHealthGrace
	}
	if s.clock == nil {
		s.clock = SystemClock{}
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	return s
}

// Now is the service's clock reading, used by adapters that render time-dependent views (next steps).
func (s *Service) Now() time.Time { return s.clock.Now() }

// CreateInput is what a user enters to invite an account.
type CreateInput struct {
	AccountID string
	Notes     string
}

// access is what a use case needs from the caller on a billing profile.
type access int

const (
	read access = iota
	write
)

// profileFor loads a billing profile and checks the caller's rights on it. Another customer's profile answers
// exactly like a missing one, so ids of other tenants cannot be probed.
func (s *Service) profileFor(ctx context.Context, p Principal, id string, need access) (BillingProfile, error) {
	bp, err := s.store.BillingProfile(ctx, id)
	if IsCode(err, CodeNotFound) || (err == nil && bp.CustomerID != p.CustomerID && !p.IsPlatformAdmin()) {
		return BillingProfile{}, Errorf(CodeNotFound, "billing profile %q was not found", id)
	}
	if err != nil {
		return BillingProfile{}, err
	}
	if !p.AssignedTo(bp.ID) && !p.IsPlatformAdmin() {
		return BillingProfile{}, Errorf(CodeNotAssigned,
			"you must be assigned to billing profile %q to see or invite its accounts; ask an administrator of your organization to assign you", bp.ID)
	}
	if need == write && !p.HasPermission(PermissionLicensesManager) {
		return BillingProfile{}, Errorf(CodeForbidden, "inviting, re-sending and canceling need the %q permission", PermissionLicensesManager)
	}
	return bp, nil
}

// PutBillingProfile creates or replaces a billing profile (platform administrators only).
func (s *Service) PutBillingProfile(ctx context.Context, p Principal, bp BillingProfile) (BillingProfile, bool, error) {
	if !p.IsPlatformAdmin() {
		return BillingProfile{}, false, Errorf(CodeForbidden, "managing billing profiles needs the %q role", RolePlatformAdmin)
	}
	acct, err := NormalizeAccountID(bp.ManagementAccountID)
	if err != nil {
		var e *Error
		errors.As(err, &e)
		return BillingProfile{}, false, &Error{Code: CodeValidationFailed, Detail: "managementAccountId must be a 12-digit AWS account id",
			Fields: []FieldError{{Field: "managementAccountId", Message: e.Fields[0].Message}}}
	}
	bp.ManagementAccountID = acct
	now := s.clock.Now()
	bp.CreatedAt, bp.UpdatedAt = now, now
	return s.store.PutBillingProfile(ctx, bp)
}

// GetBillingProfile returns a billing profile the caller is assigned to.
func (s *Service) GetBillingProfile(ctx context.Context, p Principal, id string) (BillingProfile, error) {
	return s.profileFor(ctx, p, id, read)
}

// GetInvite returns one invite of a billing profile.
func (s *Service) GetInvite(ctx context.Context, p Principal, billingProfileID, inviteID string) (Invite, error) {
	if _, err := s.profileFor(ctx, p, billingProfileID, read); err != nil {
		return Invite{}, err
	}
	return s.invite(ctx, billingProfileID, inviteID)
}

func (s *Service) invite(ctx context.Context, billingProfileID, inviteID string) (Invite, error) {
	inv, err := s.store.Invite(ctx, billingProfileID, inviteID)
	if IsCode(err, CodeNotFound) {
		return Invite{}, Errorf(CodeNotFound, "invite %q was not found in billing profile %q", inviteID, billingProfileID)
	}
	return inv, err
}

// ListInvites returns a page of a billing profile's invites, newest first.
func (s *Service) ListInvites(ctx context.Context, p Principal, q ListQuery) (Page, error) {
	if _, err := s.profileFor(ctx, p, q.BillingProfileID, read); err != nil {
		return Page{}, err
	}
	for _, st := range q.States {
		if !st.Valid() {
			return Page{}, Errorf(CodeValidationFailed, "unknown state %q", st)
		}
	}
	if q.AccountID != "" {
		acct, err := NormalizeAccountID(q.AccountID)
		if err != nil {
			return Page{}, err
		}
		q.AccountID = acct
	}
	return s.store.ListInvites(ctx, q)
}

// Events returns an invite's history, oldest first.
func (s *Service) Events(ctx context.Context, p Principal, billingProfileID, inviteID string) ([]Event, error) {
	if _, err := s.GetInvite(ctx, p, billingProfileID, inviteID); err != nil {
		return nil, err
	}
	return s.store.Events(ctx, inviteID)
}

// CreateInvite invites an account into the billing profile's payer organization. Entering an account that already
// has an open invite re-sends it once five minutes have passed; created reports whether a new invite was made.
func (s *Service) CreateInvite(ctx context.Context, p Principal, billingProfileID string, in CreateInput) (inv Invite, created bool, err error) {
	bp, err := s.profileFor(ctx, p, billingProfileID, write)
	if err != nil {
		return Invite{}, false, err
	}
	acct, err := NormalizeAccountID(in.AccountID)
	if err != nil {
		return Invite{}, false, err
	}
	if err := validateNotes(in.Notes); err != nil {
		return Invite{}, false, err
	}
	if acct == bp.ManagementAccountID {
		return Invite{}, false, &Error{Code: CodeValidationFailed,
			Detail: "accountId is the payer organization's own management account",
			Fields: []FieldError{{Field: "accountId", Message: "the management account cannot invite itself"}}}
	}
	// Two rounds: a create that loses the race for the open-invite slot re-reads the winner's invite.
	for range 2 {
		open, err := s.store.OpenInvite(ctx, bp.ID, acct)
		switch {
		case err == nil:
			inv, err := s.reenter(ctx, p, bp, open)
			return inv, false, err
		case !IsCode(err, CodeNotFound):
			return Invite{}, false, err
		}
		now := s.clock.Now()
		inv := Invite{
			ID: newID(), BillingProfileID: bp.ID, AccountID: acct, Notes: in.Notes, State: StateInvited,
			InvitedBy: p.Actor(), CreatedAt: now, UpdatedAt: now, LastSentAt: now, Version: 1,
		}
		err = s.store.CreateInvite(ctx, inv, Event{InviteID: inv.ID, At: now, Actor: p.Actor(), To: StateInvited, Reason: "invite requested"})
		if IsCode(err, CodeAlreadyOpen) {
			continue
		}
		if err != nil {
			return Invite{}, false, err
		}
		inv, err = s.send(ctx, bp, inv, p.Actor())
		return inv, err == nil, err
	}
	return Invite{}, false, Errorf(CodeConcurrentUpdate, "another request is inviting account %s right now; try again", acct)
}

// reenter handles a create for an account that already has an open invite.
func (s *Service) reenter(ctx context.Context, p Principal, bp BillingProfile, inv Invite) (Invite, error) {
	switch {
	case inv.State.Joined() || inv.State == StateAccepted:
		return Invite{}, &Error{Code: CodeAlreadyJoined,
			Detail: fmt.Sprintf("account %s already accepted an invitation to this payer organization (invite %s)", inv.AccountID, inv.ID)}
	case inv.State != StateInvited:
		return Invite{}, Errorf(CodeInvalidState, "invite %s is %s", inv.ID, inv.State)
	}
	return s.resend(ctx, bp, inv, p.Actor())
}

// Resend cancels the invite's open handshake and sends a new one, once five minutes have passed since the last send.
func (s *Service) Resend(ctx context.Context, p Principal, billingProfileID, inviteID string) (Invite, error) {
	bp, err := s.profileFor(ctx, p, billingProfileID, write)
	if err != nil {
		return Invite{}, err
	}
	inv, err := s.invite(ctx, billingProfileID, inviteID)
	if err != nil {
		return Invite{}, err
	}
	if inv.State != StateInvited {
		return Invite{}, Errorf(CodeInvalidState, "only an invite in state invited can be re-sent; this one is %s", inv.State)
	}
	return s.resend(ctx, bp, inv, p.Actor())
}

func (s *Service) resend(ctx context.Context, bp BillingProfile, inv Invite, actor Actor) (Invite, error) {
	now := s.clock.Now()
	if inv.Handshake == nil {
		// A reservation without a handshake: either a send is under way, or its process stopped mid-send.
		if wait := inv.LastSentAt.Add(SendTimeout).Sub(now); wait > 0 {
			return Invite{}, &Error{Code: CodeSendInProgress, RetryAfter: wait,
				Detail: fmt.Sprintf("the invitation to account %s is being sent right now", inv.AccountID)}
		}
		claimed := inv
		claimed.LastSentAt = now
		claimed, err := s.save(ctx, claimed, Event{InviteID: inv.ID, At: now, Actor: actor,
			From: inv.State, To: inv.State, Reason: "resuming a send that was interrupted"})
		if err != nil {
			return Invite{}, err
		}
		return s.send(ctx, bp, claimed, actor)
	}
	if wait := inv.ResendAvailableAt().Sub(now); wait > 0 {
		return Invite{}, &Error{Code: CodeResendTooSoon, RetryAfter: wait,
			Detail: fmt.Sprintf("the invitation was sent at %s; AWS's email can take up to five minutes. Re-sending is possible from %s",
				inv.LastSentAt.UTC().Format(time.RFC3339), inv.ResendAvailableAt().UTC().Format(time.RFC3339))}
	}
	old := *inv.Handshake
	if old.State.Pending() {
		canceled, err := s.orgs.CancelHandshake(ctx, bp.Payer(), old.ID)
		switch {
		case err == nil:
			old = canceled
		case IsCode(err, CodeHandshakeNotFound):
		case IsCode(err, CodeHandshakeFinalized):
			// The owner answered meanwhile: apply their answer instead of re-sending.
			h, derr := s.orgs.DescribeHandshake(ctx, bp.Payer(), old.ID)
			if derr != nil {
				return Invite{}, derr
			}
			if h.State != HandshakeCanceled {
				inv, oerr := s.Observe(ctx, inv, h, Actor{Kind: ActorReconciliation})
				if oerr != nil {
					return Invite{}, oerr
				}
				return Invite{}, Errorf(CodeInvalidState, "the invitation was %s meanwhile; invite %s is now %s",
					lower(h.State), inv.ID, inv.State)
			}
			old = h
		default:
			return Invite{}, err
		}
	}
	h, adopted, err := s.orgs.InviteAccount(ctx, bp.Payer(), inv.AccountID, inv.Notes)
	if err != nil {
		if old.State != inv.Handshake.State {
			// The old handshake is gone in AWS: record that truthfully, so a new re-send is possible at once.
			failed := inv
			failed.Handshake = &old
			failed.LastSentAt = now.Add(-ResendAfter)
			if _, uerr := s.save(context.WithoutCancel(ctx), failed, Event{InviteID: inv.ID, At: now, Actor: actor,
				From: inv.State, To: inv.State, Reason: fmt.Sprintf("re-send failed (%s): handshake %s was canceled", ErrorCode(err), old.ID)}); uerr != nil {
				s.log.ErrorContext(ctx, "recording a failed re-send", "invite", inv.ID, "error", uerr)
			}
		}
		return Invite{}, err
	}
	sent := inv
	sent.Handshake = &h
	sent.LastSentAt = sentAt(h, adopted, now)
	reason := fmt.Sprintf("re-sent: handshake %s canceled, %s sent", old.ID, h.ID)
	if adopted {
		reason = fmt.Sprintf("re-sent: adopted the open handshake %s", h.ID)
	}
	out, err := s.save(ctx, sent, Event{InviteID: inv.ID, At: now, Actor: actor, From: inv.State, To: inv.State, Reason: reason})
	if IsCode(err, CodeConcurrentUpdate) {
		// A concurrent re-send won; AWS allowed only one open handshake, so the stored invite holds it.
		return s.invite(ctx, inv.BillingProfileID, inv.ID)
	}
	return out, err
}

// send sends the first handshake of a reserved invite. When AWS refuses, the reservation is removed, so a refused
// invite leaves nothing behind.
func (s *Service) send(ctx context.Context, bp BillingProfile, inv Invite, actor Actor) (Invite, error) {
	h, adopted, err := s.orgs.InviteAccount(ctx, bp.Payer(), inv.AccountID, inv.Notes)
	if err != nil {
		if derr := s.store.DeleteInvite(context.WithoutCancel(ctx), inv); derr != nil {
			s.log.ErrorContext(ctx, "removing the reservation of a refused invite", "invite", inv.ID, "error", derr)
		}
		return Invite{}, err
	}
	now := s.clock.Now()
	sent := inv
	sent.Handshake = &h
	sent.LastSentAt = sentAt(h, adopted, inv.LastSentAt)
	reason := "invitation sent as handshake " + h.ID
	if adopted {
		reason = "adopted the open handshake " + h.ID + " that AWS already had for this account"
	}
	out, err := s.save(context.WithoutCancel(ctx), sent, Event{InviteID: inv.ID, At: now, Actor: actor,
		From: inv.State, To: inv.State, Reason: reason})
	if IsCode(err, CodeConcurrentUpdate) {
		// Someone recorded the handshake first (a reconciliation adopting it after a slow send): that is the same one.
		if cur, gerr := s.invite(ctx, inv.BillingProfileID, inv.ID); gerr == nil && handshakeID(cur) == h.ID {
			return cur, nil
		}
	}
	return out, err
}

// sentAt is when the current handshake was sent: an adopted one counts from when AWS recorded it.
func sentAt(h Handshake, adopted bool, fallback time.Time) time.Time {
	if adopted && !h.RequestedAt.IsZero() {
		return h.RequestedAt
	}
	return fallback
}

// Cancel cancels an invite's open handshake in AWS and keeps the invite as canceled.
func (s *Service) Cancel(ctx context.Context, p Principal, billingProfileID, inviteID string) (Invite, error) {
	bp, err := s.profileFor(ctx, p, billingProfileID, write)
	if err != nil {
		return Invite{}, err
	}
	inv, err := s.invite(ctx, billingProfileID, inviteID)
	if err != nil {
		return Invite{}, err
	}
	switch {
	case inv.State == StateCanceled:
		return inv, nil // canceling twice is harmless
	case inv.State != StateInvited:
		return Invite{}, Errorf(CodeInvalidState, "only an invite in state invited can be canceled; this one is %s", inv.State)
	case inv.Handshake == nil && s.clock.Now().Before(inv.LastSentAt.Add(SendTimeout)):
		return Invite{}, &Error{Code: CodeSendInProgress, RetryAfter: inv.LastSentAt.Add(SendTimeout).Sub(s.clock.Now()),
			Detail: "the invitation is being sent right now; cancel it once it is sent"}
	}
	h := inv.Handshake
	if h == nil {
		// A send interrupted long ago: AWS may hold its handshake all the same; cancel that one too.
		found, err := s.openHandshakeFor(ctx, bp.Payer(), inv.AccountID)
		if err != nil {
			return Invite{}, err
		}
		h = found
	}
	if h != nil && h.State.Pending() {
		canceled, err := s.orgs.CancelHandshake(ctx, bp.Payer(), h.ID)
		switch {
		case err == nil:
			h = &canceled
		case IsCode(err, CodeHandshakeNotFound):
		case IsCode(err, CodeHandshakeFinalized):
			got, derr := s.orgs.DescribeHandshake(ctx, bp.Payer(), h.ID)
			if derr != nil {
				return Invite{}, derr
			}
			if got.State != HandshakeCanceled {
				inv, oerr := s.Observe(ctx, inv, got, Actor{Kind: ActorReconciliation})
				if oerr != nil {
					return Invite{}, oerr
				}
				return Invite{}, Errorf(CodeInvalidState, "the invitation was %s meanwhile; invite %s is now %s", lower(got.State), inv.ID, inv.State)
			}
			h = &got
		default:
			return Invite{}, err
		}
	}
	out, err := s.transition(ctx, inv, StateCanceled, h, p.Actor(), "canceled by the user")
	if IsCode(err, CodeConcurrentUpdate) {
		if cur, gerr := s.invite(ctx, billingProfileID, inviteID); gerr == nil && cur.State == StateCanceled {
			return cur, nil
		}
	}
	return out, err
}

// openHandshakeFor finds the open INVITE handshake AWS holds for an account, if any.
func (s *Service) openHandshakeFor(ctx context.Context, payer Payer, accountID string) (*Handshake, error) {
	var found *Handshake
	err := s.orgs.ListInviteHandshakes(ctx, payer, func(h Handshake) error {
		if h.AccountID == accountID && h.State.Pending() {
			found = &h
		}
		return nil
	})
	return found, err
}

// Observe applies what AWS reports about an invite's handshake: an ended handshake ends the invite, or, when
// accepted, moves it on and confirms membership. A handshake other than the recorded one (an orphan found in AWS)
// is attached when the invite has none. Reconciliation and the sandbox use this one mechanism.
func (s *Service) Observe(ctx context.Context, inv Invite, h Handshake, actor Actor) (Invite, error) {
	if inv.State.Terminal() {
		return inv, nil
	}
	if inv.Handshake == nil || inv.Handshake.ID != h.ID {
		if !adoptable(inv, h) {
			return inv, nil // another handshake of the account (an older one of a re-sent invite, say)
		}
		attached := inv
		attached.Handshake = &h
		attached.LastSentAt = sentAt(h, true, inv.LastSentAt)
		var err error
		inv, err = s.save(ctx, attached, Event{InviteID: inv.ID, At: s.clock.Now(), Actor: actor,
			From: inv.State, To: inv.State, Reason: "adopted the handshake " + h.ID + " found in AWS"})
		if err != nil {
			return inv, err
		}
	}
	if inv.State == StateInvited {
		to, ended := stateForHandshake(h.State)
		if !ended {
			if inv.Handshake.State != h.State || !inv.Handshake.ExpiresAt.Equal(h.ExpiresAt) {
				return s.refreshHandshake(ctx, inv, h)
			}
			return inv, nil
		}
		var err error
		inv, err = s.transition(ctx, inv, to, &h, actor, "AWS reports the handshake "+h.ID+" "+string(h.State))
		if err != nil {
			return inv, err
		}
	}
	if inv.State == StateAccepted {
		return s.confirmMembership(ctx, inv, actor, nil)
	}
	return inv, nil
}

// adoptable reports whether a handshake found in AWS that is not the invite's recorded one belongs to it: an open
// one when the invite has no open handshake, or one sent while the invite's own send was in flight.
func adoptable(inv Invite, h Handshake) bool {
	if h.State.Pending() {
		return inv.Handshake == nil || !inv.Handshake.State.Pending()
	}
	return inv.Handshake == nil && !h.RequestedAt.Before(inv.CreatedAt.Add(-SendTimeout))
}

// refreshHandshake stores a changed handshake without an event (no state change).
func (s *Service) refreshHandshake(ctx context.Context, inv Invite, h Handshake) (Invite, error) {
	inv.Handshake = &h
	return s.save(ctx, inv, Event{})
}

// confirmMembership moves an accepted invite on once AWS lists the account as a member. known is what AWS already
// said about the account in this pass, if anything, so it is not asked twice.
func (s *Service) confirmMembership(ctx context.Context, inv Invite, actor Actor, known *Account) (Invite, error) {
	acct, err := s.describeMember(ctx, inv, known)
	if IsCode(err, CodeNotFound) {
		return inv, nil // not a member yet: AWS is eventually consistent; the next look will tell
	}
	if err != nil {
		return inv, err
	}
	joined := acct.JoinedAt
	if joined.IsZero() {
		joined = s.clock.Now()
	}
	inv.JoinedAt = &joined
	return s.transition(ctx, inv, StateAwaitingCUR, nil, actor,
		fmt.Sprintf("account %s is a member of the payer organization (joined %s by %s)", acct.ID, joined.UTC().Format(time.RFC3339), strings.ToLower(acct.JoinedMethod)))
}

// save writes a changed invite (stamped now) and its event, guarded by the invite's version.
func (s *Service) save(ctx context.Context, inv Invite, ev Event) (Invite, error) {
	inv.UpdatedAt = s.clock.Now()
	return s.store.UpdateInvite(ctx, inv, ev)
}

// describeMember asks AWS whether the invite's account is a member of its payer organization (CodeNotFound when
// not), unless known already says.
func (s *Service) describeMember(ctx context.Context, inv Invite, known *Account) (Account, error) {
	if known != nil {
		return *known, nil
	}
	bp, err := s.store.BillingProfile(ctx, inv.BillingProfileID)
	if err != nil {
		return Account{}, err
	}
	return s.orgs.DescribeAccount(ctx, bp.Payer(), inv.AccountID)
}

// transition moves an invite to another state and records why, in one write guarded by the invite's version.
func (s *Service) transition(ctx context.Context, inv Invite, to State, h *Handshake, actor Actor, reason string) (Invite, error) {
	if !CanTransition(inv.State, to) {
		return inv, Errorf(CodeInvalidState, "invite %s cannot move from %s to %s", inv.ID, inv.State, to)
	}
	from := inv.State
	inv.State = to
	if h != nil {
		inv.Handshake = h
	}
	return s.save(ctx, inv, Event{InviteID: inv.ID, At: s.clock.Now(), Actor: actor, From: from, To: to, Reason: reason})
}

// sandboxInvite loads the invite a sandbox endpoint acts on; outside the sandbox (enabled false) the endpoints do
// not exist.
func (s *Service) sandboxInvite(ctx context.Context, p Principal, billingProfileID, inviteID string, enabled bool) (BillingProfile, Invite, error) {
	if !enabled {
		return BillingProfile{}, Invite{}, Errorf(CodeNotFound, "sandbox endpoints exist only in the sandbox")
	}
	bp, err := s.profileFor(ctx, p, billingProfileID, read)
	if err != nil {
		return BillingProfile{}, Invite{}, err
	}
	inv, err := s.invite(ctx, billingProfileID, inviteID)
	return bp, inv, err
}

// SandboxAnswer plays the invited account in the sandbox: it accepts or declines the invite's current handshake in
// the simulator, then applies the answer to the invite.
func (s *Service) SandboxAnswer(ctx context.Context, p Principal, billingProfileID, inviteID string, accept bool) (Invite, error) {
	_, inv, err := s.sandboxInvite(ctx, p, billingProfileID, inviteID, s.sandbox != nil)
	if err != nil {
		return Invite{}, err
	}
	if inv.State != StateInvited || inv.Handshake == nil {
		return Invite{}, Errorf(CodeInvalidState, "only an invite in state invited with a handshake can be answered; this one is %s", inv.State)
	}
	answer := s.sandbox.DeclineHandshakeAs
	if accept {
		answer = s.sandbox.AcceptHandshakeAs
	}
	h, err := answer(ctx, inv.AccountID, inv.Handshake.ID)
	if err != nil {
		return Invite{}, err
	}
	return s.Observe(ctx, inv, h, Actor{Kind: ActorSandbox, Subject: p.Subject, Email: p.Email})
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

func lower(h HandshakeState) string { return strings.ToLower(string(h)) }

// RetryAfterSeconds rounds a wait up to whole seconds, at least one, for a Retry-After header.
func RetryAfterSeconds(d time.Duration) int {
	return int(math.Max(1, math.Ceil(d.Seconds())))
}
