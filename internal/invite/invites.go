package invite

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Invites are the use cases of a customer's invites: create, re-send, cancel and read. Every method checks the
// caller's rights itself, so no adapter can forget to.
type Invites struct {
	*core
	store     InvitesStore
	setup     CloudHealthSetupSource
	validator CloudHealthValidator
}

// CloudHealthTools are what the invite use cases need of CloudHealth: the IAM setup shown for an invite and the
// validation of that setup; either may be nil (CloudHealth not configured: the use cases say so).
type CloudHealthTools struct {
	Setup     CloudHealthSetupSource
	Validator CloudHealthValidator
}

// NewInvites returns the invite use cases.
func NewInvites(st InvitesStore, d Deps, ch CloudHealthTools) *Invites {
	if ch.Setup == nil {
		ch.Setup = NoCloudHealthSetup{}
	}
	if ch.Validator == nil {
		ch.Validator = NoCloudHealthValidator{}
	}
	return &Invites{core: newCore(d, st), store: st, setup: ch.Setup, validator: ch.Validator}
}

// CreateInput is what a user enters to invite an account.
type CreateInput struct {
	AccountID string
	Notes     string
	// NotesSet says whether notes were given: re-entering an account keeps its invite's notes unless new ones are.
	NotesSet bool
	// AdoptHandshakeID (platform administrators) creates the invite around an open handshake AWS already holds
	// for the payer (sent from the console or by another tool) instead of sending a new one.
	AdoptHandshakeID string
	// Kind is join (the default) or a billing transfer, with its start (zero: DefaultTransferStart) and name
	// (empty: named after the billing profile).
	Kind          InviteKind
	TransferStart time.Time
	TransferName  string
	// Queue says what happens when the payer's daily invitation quota has no slot free: QueueNever (the default)
	// refuses with daily_invite_limit_exceeded; QueueWhenFull and QueueBatch create the invite in state queued.
	Queue QueueMode
}

// Get returns one invite of a billing profile.
func (s *Invites) Get(ctx context.Context, p Principal, billingProfileID, inviteID string) (View, error) {
	_, inv, err := s.inviteFor(ctx, p, billingProfileID, inviteID, read)
	return s.viewOrErr(inv, err)
}

// ViewPage is one page of invites as a client sees them, and the id to continue after (empty on the last page).
type ViewPage struct {
	Views  []View
	NextID string
}

// List returns a page of a billing profile's invites, newest first. A valid query reads the profile and the
// page together; an invalid one is refused after the caller's rights are checked, as any request on the profile.
func (s *Invites) List(ctx context.Context, p Principal, q ListQuery) (ViewPage, error) {
	q, invalid := checkList(q)
	if invalid != nil {
		if _, err := s.profileFor(ctx, p, q.BillingProfileID, read); err != nil {
			return ViewPage{}, err
		}
		return ViewPage{}, invalid
	}
	bp, page, err := s.store.ProfileAndPage(ctx, q)
	if _, err := authorize(p, q.BillingProfileID, bp, err, read); err != nil {
		return ViewPage{}, err
	}
	now := s.now(bp.ManagementAccountID)
	out := ViewPage{Views: make([]View, len(page.Invites)), NextID: page.NextID}
	for i, inv := range page.Invites {
		out.Views[i] = ViewOf(inv, now)
	}
	return out, nil
}

// ListAcross returns a page of the invites of every billing profile the caller may read, newest first: the
// profiles of its customer it is assigned to, or every profile for a platform administrator; with
// q.BillingProfileID, that profile's alone, as List.
func (s *Invites) ListAcross(ctx context.Context, p Principal, q ListQuery) (ViewPage, error) {
	if q.BillingProfileID != "" {
		return s.List(ctx, p, q)
	}
	q, invalid := checkList(q)
	if invalid != nil {
		return ViewPage{}, invalid
	}
	if p.IsPlatformAdmin() {
		q.AllProfiles = true
	} else {
		assigned, err := s.store.BillingProfilesByID(ctx, p.BillingProfiles)
		if err != nil {
			return ViewPage{}, err
		}
		for _, bp := range assigned {
			if _, err := authorize(p, bp.ID, bp, nil, read); err == nil {
				q.BillingProfileIDs = append(q.BillingProfileIDs, bp.ID)
			}
		}
		if len(q.BillingProfileIDs) == 0 {
			return ViewPage{Views: []View{}}, nil
		}
	}
	page, err := s.store.ListInvites(ctx, q)
	if err != nil {
		return ViewPage{}, err
	}
	out := ViewPage{Views: make([]View, len(page.Invites)), NextID: page.NextID}
	for i, inv := range page.Invites {
		out.Views[i] = s.view(inv)
	}
	return out, nil
}

// checkList validates a list query and fills its defaults.
func checkList(q ListQuery) (ListQuery, error) {
	for _, st := range q.States {
		if !st.Valid() {
			return q, Errorf(CodeValidationFailed, "unknown state %q", st)
		}
	}
	if q.AccountID != "" {
		acct, err := NormalizeAccountID(q.AccountID)
		if err != nil {
			return q, err
		}
		q.AccountID = acct
	}
	q.Limit = PageSize(q.Limit)
	return q, nil
}

// Events returns an invite's history, oldest first.
func (s *Invites) Events(ctx context.Context, p Principal, billingProfileID, inviteID string) ([]Event, error) {
	if _, _, err := s.inviteFor(ctx, p, billingProfileID, inviteID, read); err != nil {
		return nil, err
	}
	return s.store.Events(ctx, billingProfileID, inviteID)
}

// CloudHealthSetup returns what the invite's account owner must create for CloudHealth.
// The optional parts of the policy are checked before anything is asked of CloudHealth.
func (s *Invites) CloudHealthSetup(ctx context.Context, p Principal, billingProfileID, inviteID string, parts CloudHealthPolicyParts) (CloudHealthSetup, error) {
	_, inv, err := s.inviteFor(ctx, p, billingProfileID, inviteID, read)
	if err != nil {
		return CloudHealthSetup{}, err
	}
	for _, b := range parts.ReadBuckets {
		if !bucketName.MatchString(b) || strings.Contains(b, "..") {
			return CloudHealthSetup{}, Invalid("readBucket", fmt.Sprintf("%q is not an S3 bucket name (3 to 63 lowercase letters, digits, dots and hyphens)", b))
		}
	}
	return s.setup.Setup(ctx, inv, parts)
}

// bucketName is S3's rule for bucket names, minus its rarer exceptions.
var bucketName = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

// Create invites an account into the billing profile's payer organization. Entering an account that already has
// an open invite of this billing profile re-sends it once five minutes have passed (with the new notes, if any);
// an account held under another billing profile of the same payer is refused. created reports whether a new
// invite was made.
func (s *Invites) Create(ctx context.Context, p Principal, billingProfileID string, in CreateInput) (v View, created bool, err error) {
	bp, err := s.profileFor(ctx, p, billingProfileID, write)
	if err != nil {
		return View{}, false, err
	}
	if in.AdoptHandshakeID != "" {
		v, err := s.viewOrErr(s.adopt(ctx, p, bp, in))
		return v, err == nil, err
	}
	acct, kind, transfer, err := s.checkCreate(bp, in)
	if err != nil {
		return View{}, false, err
	}
	// Two rounds: a create that loses the race for the account re-reads the winner's invite.
	for range 2 {
		holder, err := s.store.HolderOf(ctx, bp.ManagementAccountID, acct)
		switch {
		case err == nil && holder.BillingProfileID != bp.ID:
			return View{}, false, s.heldElsewhere(ctx, p, holder)
		case err == nil:
			out, err := s.reenter(ctx, p, bp, holder, in)
			if IsCode(err, CodeConcurrentUpdate) {
				continue // the holder changed meanwhile (reconciliation ended an interrupted send): look again
			}
			v, err := s.viewOrErr(out, err)
			return v, false, err
		case !IsCode(err, CodeNotFound):
			return View{}, false, err
		}
		// The quota is decided from the ledger before AWS is called: at the limit a single create is refused,
		// a queued one waits.
		queue, err := s.admit(ctx, bp, in.Queue)
		if err != nil {
			return View{}, false, err
		}
		now := s.now(bp.ManagementAccountID)
		inv := Invite{
			ID: newID(), Kind: kind, BillingProfileID: bp.ID, Payer: bp.ManagementAccountID, AccountID: acct, Notes: in.Notes,
			State: StateInvited, Transfer: transfer, InvitedBy: p.Actor(), CreatedAt: now, UpdatedAt: now, LastSentAt: now, Version: 1,
		}
		reason := "invite requested"
		if queue != nil {
			inv.State, inv.Queue = StateQueued, queue
			reason = fmt.Sprintf("invite requested and queued (%s): expected to be sent at %s", queue.Reason, queue.ScheduledFor.UTC().Format(time.RFC3339))
		}
		// The reservation's history line has no type: consumers hear of the invite once its invitation went out.
		err = s.store.CreateInvite(ctx, inv, s.stamp(Event{At: now, Actor: p.Actor(), To: inv.State, Reason: reason}, inv))
		if IsCode(err, CodeAlreadyOpen) {
			continue
		}
		if err != nil {
			return View{}, false, err
		}
		if queue != nil {
			return s.view(inv), true, nil
		}
		v, err := s.viewOrErr(s.sendMode(ctx, bp, inv, p.Actor(), in.Queue))
		return v, err == nil, err
	}
	return View{}, false, Errorf(CodeConcurrentUpdate, "another request is inviting account %s right now; try again", acct)
}

// checkCreate checks a create's input against the billing profile and the clock: the account id (normalized), the
// notes, the kind, and what the kind checks itself (a billing transfer's start and name).
func (s *Invites) checkCreate(bp BillingProfile, in CreateInput) (acct string, kind InviteKind, transfer *Transfer, err error) {
	acct, err = NormalizeAccountID(in.AccountID)
	if err != nil {
		return "", "", nil, err
	}
	if err := ValidateNotes(in.Notes); err != nil {
		return "", "", nil, err
	}
	if acct == bp.ManagementAccountID {
		return "", "", nil, FieldProblem(CodeValidationFailed, "accountId", "the management account cannot invite itself",
			"accountId is the payer organization's own management account")
	}
	rules, err := rulesFor(in.Kind)
	if err != nil {
		return "", "", nil, err
	}
	if transfer, err = rules.checkCreate(bp, acct, in, s.now(bp.ManagementAccountID)); err != nil {
		return "", "", nil, err
	}
	return acct, rules.kind(), transfer, nil
}

// reenter handles a create for an account that already has an open invite of the same billing profile.
func (s *Invites) reenter(ctx context.Context, p Principal, bp BillingProfile, inv Invite, in CreateInput) (Invite, error) {
	switch {
	case inv.State.Joined() || inv.State == StateAccepted:
		return Invite{}, &Error{Code: CodeAlreadyJoined,
			Detail: fmt.Sprintf("account %s already accepted an invitation to this payer organization (invite %s)", inv.AccountID, inv.ID)}
	case inv.State == StateQueued && inv.Kind.OrJoin() == in.Kind.OrJoin():
		return inv, nil // it goes out when its turn comes; entering it again changes nothing
	case inv.State != StateInvited:
		return Invite{}, Errorf(CodeInvalidState, "invite %s is %s", inv.ID, inv.State)
	case inv.Kind.OrJoin() != in.Kind.OrJoin():
		return Invite{}, Errorf(CodeOtherKind, "account %s already has a %s invite in progress (invite %s); cancel it first to send a %s instead",
			inv.AccountID, inv.Kind.OrJoin(), inv.ID, in.Kind.OrJoin())
	}
	newNotes := in.NotesSet && in.Notes != inv.Notes
	if newNotes {
		inv.Notes = in.Notes
	}
	out, err := s.resend(ctx, bp, inv, p.Actor(), newNotes)
	if newNotes && (IsCode(err, CodeResendTooSoon) || IsCode(err, CodeSendInProgress)) {
		var e *Error
		if errors.As(err, &e) {
			e.Detail += fmt.Sprintf(". Invite %s keeps its notes: send the new notes again with the re-send.", inv.ID)
		}
	}
	return out, err
}

// Resend cancels the invite's open handshake and sends a new one, once five minutes have passed since the last send.
func (s *Invites) Resend(ctx context.Context, p Principal, billingProfileID, inviteID string) (View, error) {
	bp, inv, err := s.inviteFor(ctx, p, billingProfileID, inviteID, write)
	if err != nil {
		return View{}, err
	}
	if inv.State != StateInvited {
		return View{}, Errorf(CodeInvalidState, "only an invite in state invited can be re-sent; this one is %s", inv.State)
	}
	return s.viewOrErr(s.resend(ctx, bp, inv, p.Actor(), false))
}

// resend re-sends an invite's invitation; newNotes says the invite carries notes the user just changed, which the
// new invitation takes and its history line mentions.
func (s *Invites) resend(ctx context.Context, bp BillingProfile, inv Invite, actor Actor, newNotes bool) (Invite, error) {
	now := s.now(inv.Payer)
	if inv.Handshake == nil {
		return s.resume(ctx, bp, inv, actor)
	}
	if wait := inv.ResendAvailableAt().Sub(now); wait > 0 {
		return Invite{}, &Error{Code: CodeResendTooSoon, RetryAfter: wait,
			Detail: fmt.Sprintf("the invitation was sent at %s; AWS's email can take up to five minutes. Re-sending is possible from %s",
				inv.LastSentAt.UTC().Format(time.RFC3339), inv.ResendAvailableAt().UTC().Format(time.RFC3339))}
	}
	// The ledger first: with no slot free the re-send is refused before anything is asked of AWS, so an AWS that
	// checks duplicates before its quota (it documents neither order) cannot see the old handshake canceled and
	// the new one refused. A re-send may use the reserved slots.
	if q, _, err := s.quotaState(ctx, s.store, inv.Payer); err != nil {
		return Invite{}, err
	} else if q.free(QueueWhenFull) == 0 {
		return Invite{}, dailyLimitError(q, QueueWhenFull, "a re-send")
	}
	// Ask AWS first, before anything is canceled: a refusal (the daily quota, throttling, any error) leaves the
	// invite and its open handshake as they were. AWS answers an open handshake for the account as a duplicate,
	// which the adapter returns as adopted.
	probe, adopted, err := inv.Kind.rules().sendInvitation(ctx, s.core, bp, inv)
	if IsCode(err, CodeDailyInviteLimit) {
		// AWS checked its quota first and counts more than the ledger: the payer waits; nothing was canceled.
		return Invite{}, withRetryAfter(err, s.holdAfterRefusal(context.WithoutCancel(ctx), s.store, inv.Payer, false))
	}
	if err != nil {
		return Invite{}, err
	}
	if !adopted || probe.ID != inv.Handshake.ID {
		// AWS had no open handshake of ours any more (it ended meanwhile), so the probe sent a new one; or AWS holds
		// another open one for the account (sent from the console): either way that is the invite's handshake now.
		reason := fmt.Sprintf("re-sent: handshake %s sent (AWS no longer had %s open)", probe.ID, inv.Handshake.ID)
		if adopted {
			reason = fmt.Sprintf("re-send found the open handshake %s in AWS and adopted it", probe.ID)
		}
		return s.recordSend(ctx, inv, probe, adopted, now, actor, reason, newNotes)
	}
	old, err := s.cancelHandshake(ctx, bp.Payer(), inv, *inv.Handshake)
	if err != nil {
		return Invite{}, err
	}
	h, adopted, err := inv.Kind.rules().sendInvitation(ctx, s.core, bp, inv)
	if IsCode(err, CodeDailyInviteLimit) {
		// AWS counted more than the ledger (invitations sent elsewhere since the last pass) and checked the quota
		// only now: the invite is not lost, it waits in the queue for the next slot, which AWS's refusal holds.
		return s.requeue(ctx, s.store, inv, &old, err, actor)
	}
	if err != nil {
		// AWS accepted the cancel but refused the new invitation (its checks differ after a cancel): record
		// truthfully that the old handshake is gone, so a new re-send is possible at once.
		failed := inv
		failed.Handshake = &old
		failed.LastSentAt = now.Add(-ResendAfter)
		if _, uerr := s.note(context.WithoutCancel(ctx), failed, EventUpdated, actor,
			fmt.Sprintf("re-send failed (%s): handshake %s was canceled", ErrorCode(err), old.ID)); uerr != nil {
			s.log.ErrorContext(ctx, "recording a failed re-send", "invite", inv.ID, "error", uerr)
		}
		return Invite{}, err
	}
	reason := fmt.Sprintf("re-sent: handshake %s canceled, %s sent", old.ID, h.ID)
	if adopted {
		reason = fmt.Sprintf("re-sent: adopted the open handshake %s", h.ID)
	}
	return s.recordSend(ctx, inv, h, adopted, now, actor, reason, newNotes)
}

// resume sends the invitation of a reservation without a handshake: its send is under way (send_in_progress), or
// its process stopped mid-send. Reconciliation settles such reservations too, and may do so meanwhile: it adopts the
// handshake AWS got (the invite is then answered as it stands, nothing to send) or, when AWS got none, cancels the
// invite; a create re-entering the account then invites it afresh (CodeConcurrentUpdate makes it look again).
func (s *Invites) resume(ctx context.Context, bp BillingProfile, inv Invite, actor Actor) (Invite, error) {
	now := s.now(inv.Payer)
	claimed, err := s.applyToCurrent(ctx, inv, func(cur Invite) (Invite, error) {
		switch {
		case cur.State != StateInvited:
			return Invite{}, Errorf(CodeConcurrentUpdate, "invite %s became %s meanwhile", cur.ID, cur.State)
		case cur.Handshake != nil:
			return cur, nil
		}
		if wait, inFlight := cur.SendInFlight(now); inFlight {
			return Invite{}, &Error{Code: CodeSendInProgress, RetryAfter: wait,
				Detail: fmt.Sprintf("the invitation to account %s is being sent right now", cur.AccountID)}
		}
		cur.LastSentAt = now
		return s.note(ctx, cur, EventUpdated, actor, "resuming a send that was interrupted")
	})
	if err != nil || claimed.Handshake != nil {
		return claimed, err
	}
	return s.send(ctx, bp, claimed, actor)
}

// recordSend stores the handshake a re-send ended with.
func (s *Invites) recordSend(ctx context.Context, inv Invite, h Handshake, adopted bool, now time.Time, actor Actor, reason string, newNotes bool) (Invite, error) {
	if newNotes {
		reason += ", with the new notes"
	}
	sent := withHandshake(inv, h)
	sent.LastSentAt = sentAt(h, adopted, now)
	s.countSend(ctx, s.store, inv, h, sent.LastSentAt)
	out, err := s.note(ctx, sent, EventResent, actor, reason)
	if IsCode(err, CodeConcurrentUpdate) {
		// A concurrent re-send won; AWS allowed only one open handshake, so the stored invite holds it.
		return s.invite(ctx, inv.BillingProfileID, inv.ID)
	}
	return out, err
}

// send sends the first handshake of a reserved invite. When AWS refuses, the reservation is removed, so a refused
// invite leaves nothing behind.
func (s *Invites) send(ctx context.Context, bp BillingProfile, inv Invite, actor Actor) (Invite, error) {
	return s.sendMode(ctx, bp, inv, actor, QueueNever)
}

// sendMode is send for a create that asked to be queued at the quota (mode): AWS's refusal for the quota (daily,
// or the organization's accounts) then turns the reservation into a queued invite instead of removing it.
func (s *Invites) sendMode(ctx context.Context, bp BillingProfile, inv Invite, actor Actor, mode QueueMode) (Invite, error) {
	h, adopted, err := inv.Kind.rules().sendInvitation(ctx, s.core, bp, inv)
	if err == nil && adopted {
		h, adopted, err = s.unlessOwnedElsewhere(ctx, bp, inv, h)
	}
	if reason, ok := quotaRefusal(err); ok {
		if reason == QueueDailyQuota {
			err = withRetryAfter(err, s.holdAfterRefusal(context.WithoutCancel(ctx), s.store, inv.Payer, false))
		}
		if mode != QueueNever {
			queued := inv
			queued.State = StateQueued
			queued.Queue = s.slotAfterRefusal(context.WithoutCancel(ctx), s.store, inv, reason, mode)
			// Still a reservation's history line, without a type: consumers hear of the invite once it is sent.
			out, uerr := s.save(context.WithoutCancel(ctx), queued, Event{Actor: actor, From: inv.State, To: StateQueued,
				Code: ErrorCode(err), Reason: fmt.Sprintf("AWS refused the invitation for its %s (%s): queued, expected to be sent at %s",
					strings.ReplaceAll(string(reason), "_", " "), ErrorCode(err), queued.Queue.ScheduledFor.UTC().Format(time.RFC3339))})
			if uerr == nil {
				return out, nil
			}
			s.log.ErrorContext(ctx, "queueing an invite AWS refused for its quota", "invite", inv.ID, "error", uerr)
		}
	}
	if err != nil {
		refusal := Event{}
		if code := ErrorCode(err); refusedByAWS(code) {
			// The attempt stays in the activity feed, with the problem code, although no invite remains.
			refusal = s.stamp(Event{Type: EventRefused, Actor: actor, Code: code,
				Reason: "AWS Organizations refused the invitation: " + errorDetail(err)}, inv)
			refusal.InviteID = ""
		}
		if derr := s.store.DeleteInvite(context.WithoutCancel(ctx), inv, refusal); derr != nil {
			s.log.ErrorContext(ctx, "removing the reservation of a refused invite", "invite", inv.ID, "error", derr)
		}
		return Invite{}, err
	}
	sent := withHandshake(inv, h)
	sent.LastSentAt = sentAt(h, adopted, inv.LastSentAt)
	s.countSend(ctx, s.store, inv, h, sent.LastSentAt)
	reason := inv.Kind.rules().sentReason(inv, h)
	if adopted {
		reason = "adopted the open handshake " + h.ID + " that AWS already had for this account"
	}
	out, err := s.note(context.WithoutCancel(ctx), sent, EventCreated, actor, reason)
	if IsCode(err, CodeConcurrentUpdate) {
		// Someone recorded the handshake first (a reconciliation adopting it after a slow send): that is the same one.
		if cur, gerr := s.invite(ctx, inv.BillingProfileID, inv.ID); gerr == nil && handshakeID(cur) == h.ID {
			return cur, nil
		}
	}
	return out, err
}

// withHandshake records the handshake an invite's invitation went out as, with what its kind keeps of it.
func withHandshake(inv Invite, h Handshake) Invite {
	inv.Handshake = &h
	return inv.Kind.rules().recordSent(inv, h)
}

// refusedByAWS reports whether a failed send was AWS saying no (kept in the activity feed), rather than AWS or the
// service being unavailable.
func refusedByAWS(code Code) bool {
	switch code.ErrorKind() {
	case KindConflict, KindValidation, KindRateLimited, KindUpstream:
		return true
	}
	return false
}

// Cancel cancels an invite's open handshake in AWS and keeps the invite as canceled.
func (s *Invites) Cancel(ctx context.Context, p Principal, billingProfileID, inviteID string) (View, error) {
	bp, inv, err := s.inviteFor(ctx, p, billingProfileID, inviteID, write)
	if err != nil {
		return View{}, err
	}
	return s.viewOrErr(s.cancel(ctx, p, bp, inv))
}

func (s *Invites) cancel(ctx context.Context, p Principal, bp BillingProfile, inv Invite) (Invite, error) {
	switch {
	case inv.State == StateCanceled:
		return inv, nil // canceling twice is harmless
	case inv.State == StateQueued:
		// Nothing was sent: AWS holds nothing to cancel, so nothing is asked of it.
		return s.applyToCurrent(ctx, inv, func(cur Invite) (Invite, error) {
			if cur.State != StateQueued {
				return s.cancel(ctx, p, bp, cur)
			}
			cur.Queue = nil
			return s.transition(ctx, cur, StateCanceled, nil, p.Actor(), "canceled by the user while queued")
		})
	case inv.State.HoldsAccount() && inv.State != StateInvited:
		return inv.Kind.rules().cancelAccepted(ctx, s, p, bp, inv)
	case inv.State != StateInvited:
		return Invite{}, notCancelable(inv)
	}
	if wait, inFlight := inv.SendInFlight(s.now(inv.Payer)); inFlight {
		return Invite{}, &Error{Code: CodeSendInProgress, RetryAfter: wait,
			Detail: "the invitation is being sent right now; cancel it once it is sent"}
	}
	h := inv.Handshake
	if h == nil {
		// A send interrupted long ago: AWS may hold its handshake all the same; cancel that one too.
		found, err := s.openHandshakeFor(ctx, bp.Payer(), inv)
		if err != nil {
			return Invite{}, err
		}
		h = found
	}
	if h != nil {
		canceled, err := s.cancelHandshake(ctx, bp.Payer(), inv, *h)
		if err != nil {
			return Invite{}, err
		}
		h = &canceled
	}
	out, err := s.transition(ctx, inv, StateCanceled, h, p.Actor(), "canceled by the user")
	if IsCode(err, CodeConcurrentUpdate) {
		if cur, gerr := s.invite(ctx, inv.BillingProfileID, inv.ID); gerr == nil && cur.State == StateCanceled {
			return cur, nil
		}
	}
	return out, err
}

// notCancelable refuses the cancel of an invite past its invitation.
func notCancelable(inv Invite) error {
	return Errorf(CodeInvalidState, "only an invite in state invited can be canceled; this one is %s", inv.State)
}

// openHandshakeFor finds the open handshake of the invite's kind AWS holds for its account, if any.
func (s *Invites) openHandshakeFor(ctx context.Context, payer Payer, inv Invite) (*Handshake, error) {
	var found *Handshake
	err := inv.Kind.rules().listHandshakes(ctx, s.core, payer, func(h Handshake) error {
		if h.AccountID == inv.AccountID && h.State.Pending() {
			found = &h
		}
		return nil
	})
	return found, err
}

// Activity returns a page of a billing profile's activity feed: every event of its invites, and the attempts AWS
// refused, newest first. With no billing profile it is the feed of every profile, for platform administrators.
func (s *Invites) Activity(ctx context.Context, p Principal, q EventQuery) (EventPage, error) {
	if q.BillingProfileID == "" {
		if !p.IsPlatformAdmin() {
			return EventPage{}, Errorf(CodeForbidden, "the activity of every billing profile needs the %q role", RolePlatformAdmin)
		}
	} else if _, err := s.profileFor(ctx, p, q.BillingProfileID, read); err != nil {
		return EventPage{}, err
	}
	for _, t := range q.Types {
		if !t.Valid() {
			return EventPage{}, FieldProblem(CodeValidationFailed, "type", "not an event type", "unknown event type "+string(t))
		}
	}
	if q.AccountID != "" {
		acct, err := NormalizeAccountID(q.AccountID)
		if err != nil {
			return EventPage{}, err
		}
		q.AccountID = acct
	}
	q.Limit = PageSize(q.Limit)
	return s.store.ListEvents(ctx, q)
}
