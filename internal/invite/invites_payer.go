package invite

import (
	"context"
	"fmt"
)

// The rules that make the payer organization the unit of truth: an account is held by one invite per payer,
// whatever the billing profile, and a handshake belongs to the invite that has (or had) it.

// heldElsewhere refuses an account that an invite of another billing profile of the payer holds. A customer is
// not told whose: the other profile may be another customer's. Platform administrators, and users assigned to
// the holding profile of their own customer, are told which invite it is.
func (s *Invites) heldElsewhere(ctx context.Context, p Principal, holder Invite) error {
	detail := fmt.Sprintf("AWS account %s is already being brought into this payer organization through another "+
		"billing profile. Contact your reseller's support to have it moved to this billing profile.", holder.AccountID)
	if other, err := s.store.BillingProfile(ctx, holder.BillingProfileID); err == nil &&
		(p.IsPlatformAdmin() || (other.CustomerID == p.CustomerID && p.AssignedTo(other.ID))) {
		detail = fmt.Sprintf("AWS account %s is held by invite %s of billing profile %s on this payer (%s). Reassign "+
			"that invite to this billing profile, or cancel it first.", holder.AccountID, holder.ID, holder.BillingProfileID, holder.State)
	}
	return FieldProblem(CodeHeldByAnotherProfile, "accountId", "held by another billing profile of this payer", detail)
}

// adopt creates an invite around an open handshake that AWS holds for the payer and no invite owns.
func (s *Invites) adopt(ctx context.Context, p Principal, bp BillingProfile, in CreateInput) (Invite, error) {
	if !p.IsPlatformAdmin() {
		return Invite{}, Errorf(CodeForbidden, "adopting a handshake needs the %q role", RolePlatformAdmin)
	}
	if r, err := rulesFor(in.Kind); err != nil || !r.adoptsHandshakes() {
		return Invite{}, FieldProblem(CodeValidationFailed, "kind", "join only with adoptHandshakeId", "adoptHandshakeId adopts invitations to join (kind join)")
	}
	field := func(msg string) error { return Invalid("adoptHandshakeId", msg) }
	h, err := s.orgs.DescribeHandshake(ctx, bp.Payer(), in.AdoptHandshakeID)
	if IsCode(err, CodeHandshakeNotFound) || IsCode(err, CodeAWSInvalidInput) {
		return Invite{}, field(fmt.Sprintf("AWS holds no handshake %q for payer %s", in.AdoptHandshakeID, bp.ManagementAccountID))
	}
	if err != nil {
		return Invite{}, err
	}
	if in.AccountID != "" {
		acct, err := NormalizeAccountID(in.AccountID)
		if err != nil {
			return Invite{}, err
		}
		if acct != h.AccountID {
			return Invite{}, field(fmt.Sprintf("handshake %s invites account %s, not %s", h.ID, h.AccountID, acct))
		}
	}
	if err := ValidateNotes(in.Notes); err != nil {
		return Invite{}, err
	}
	if !h.State.Pending() {
		return Invite{}, Errorf(CodeHandshakeNotAdoptable, "handshake %s is %s; only an open handshake can be adopted", h.ID, h.State)
	}
	owners, err := s.store.HandshakeOwners(ctx, bp.ManagementAccountID)
	if err != nil {
		return Invite{}, err
	}
	if o, ok := owners[h.ID]; ok {
		return Invite{}, Errorf(CodeHandshakeNotAdoptable, "handshake %s belongs to invite %s of billing profile %s", h.ID, o.InviteID, o.BillingProfileID)
	}
	if holder, err := s.store.HolderOf(ctx, bp.ManagementAccountID, h.AccountID); err == nil {
		return Invite{}, s.heldElsewhere(ctx, p, holder)
	} else if !IsCode(err, CodeNotFound) {
		return Invite{}, err
	}
	now := s.now(bp.ManagementAccountID)
	inv := Invite{
		ID: newID(), BillingProfileID: bp.ID, Payer: bp.ManagementAccountID, AccountID: h.AccountID, Notes: in.Notes,
		State: StateInvited, Handshake: &h, InvitedBy: p.Actor(), CreatedAt: now, UpdatedAt: now,
		LastSentAt: sentAt(h, true, now), Version: 1,
	}
	v := ViewOf(inv, now)
	err = s.store.CreateInvite(ctx, inv, s.stamp(Event{Type: EventCreated, At: now, Actor: p.Actor(), To: StateInvited, View: &v,
		Reason: "adopted the open handshake " + h.ID + " that AWS holds for this account (sent outside this service)"}, inv))
	if IsCode(err, CodeAlreadyOpen) {
		return Invite{}, Errorf(CodeHandshakeNotAdoptable, "another invite took account %s meanwhile", h.AccountID)
	}
	if err != nil {
		return Invite{}, err
	}
	return inv, nil
}

// Reassign moves an invite, its handshake and its history to another billing profile of the same payer (platform
// administrators only), with a history line naming both profiles.
func (s *Invites) Reassign(ctx context.Context, p Principal, billingProfileID, inviteID, toProfileID string) (View, error) {
	if !p.IsPlatformAdmin() {
		return View{}, Errorf(CodeForbidden, "reassigning an invite needs the %q role", RolePlatformAdmin)
	}
	_, inv, err := s.inviteFor(ctx, p, billingProfileID, inviteID, read)
	if err != nil {
		return View{}, err
	}
	if toProfileID == inv.BillingProfileID {
		return s.view(inv), nil
	}
	if _, err := s.store.BillingProfile(ctx, toProfileID); IsCode(err, CodeNotFound) {
		return View{}, FieldProblem(CodeValidationFailed, "billingProfileId", "no such billing profile",
			fmt.Sprintf("billingProfileId: billing profile %q was not found", toProfileID))
	} else if err != nil {
		return View{}, err
	}
	// One event on each side: the profile it leaves sees it go (as it was), the one it joins sees it come.
	now := s.now(inv.Payer)
	reason := fmt.Sprintf("reassigned from billing profile %s to billing profile %s", inv.BillingProfileID, toProfileID)
	before := ViewOf(inv, now)
	out := s.stamp(Event{Type: EventReassigned, At: now, Actor: p.Actor(), From: inv.State, To: inv.State, Reason: reason, View: &before}, inv)
	moved := inv
	moved.BillingProfileID, moved.UpdatedAt, moved.Version = toProfileID, now, inv.Version+1
	after := ViewOf(moved, now)
	in := s.stamp(Event{Type: EventReassigned, At: now, Actor: p.Actor(), From: inv.State, To: inv.State, Reason: reason, View: &after}, moved)
	return s.viewOrErr(s.store.ReassignInvite(ctx, inv, toProfileID, out, in))
}

// unlessOwnedElsewhere checks an open handshake AWS answered a send with: when it belongs to another invite (one
// that ended here while AWS kept its handshake open), it carries that invite's notes and history, so it is
// canceled and a fresh invitation sent instead of adopting it.
func (s *Invites) unlessOwnedElsewhere(ctx context.Context, bp BillingProfile, inv Invite, h Handshake) (Handshake, bool, error) {
	owners, err := s.store.HandshakeOwners(ctx, bp.ManagementAccountID)
	if err != nil {
		return Handshake{}, false, err
	}
	if o, owned := owners[h.ID]; !owned || o.InviteID == inv.ID {
		return h, true, nil
	}
	if _, err := s.cancelHandshake(ctx, bp.Payer(), inv, h); err != nil {
		return Handshake{}, false, err
	}
	return inv.Kind.rules().sendInvitation(ctx, s.core, bp, inv)
}
