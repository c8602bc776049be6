package invite

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Deps are the ports the use cases share besides their store, which each takes narrowed to what it uses.
type Deps struct {
	Orgs      Organizations
	Transfers Transfers    // billing transfers, in the same AWS Organizations
	Clock     Clock        // the shared time; SystemClock when nil
	Clocks    Clocks       // the time of each payer; Clock for every payer when nil
	Log       *slog.Logger // slog.Default() when nil
	Quota     QuotaRules   // the daily invitation quota per payer (quota.go); AWS's defaults when zero
	// BillingGroups is AWS Billing Conductor (billinggroups.go); nil when not wired: profiles cannot name groups.
	BillingGroups BillingGroups
}

// core is what the use cases share: the ports, the rules of access, and the one way an invite changes (save and
// transition, each a versioned write with its history line) and learns from AWS (observe).
type core struct {
	store     CoreStore
	orgs      Organizations
	transfers Transfers
	clock     Clock  // the shared time, for what concerns no one payer
	clocks    Clocks // the time of each payer: every rule about an invite reads its payer's
	log       *slog.Logger
	quota     QuotaRules
	groups    BillingGroups
}

func newCore(d Deps, st CoreStore) *core {
	c := &core{store: st, orgs: d.Orgs, transfers: d.Transfers, clock: d.Clock, clocks: d.Clocks, log: d.Log, quota: d.Quota, groups: d.BillingGroups}
	if c.clock == nil {
		c.clock = SystemClock{}
	}
	if c.clocks == nil {
		c.clocks = OneClock{Clock: c.clock}
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	return c
}

// access is what a use case needs from the caller on a billing profile.
type access int

const (
	read access = iota
	write
)

// profileFor loads a billing profile and checks the caller's rights on it.
func (c *core) profileFor(ctx context.Context, p Principal, id string, need access) (BillingProfile, error) {
	bp, err := c.store.BillingProfile(ctx, id)
	return authorize(p, id, bp, err, need)
}

// authorize checks the caller's rights on a billing profile as the store answered it (bp, err). Another
// customer's profile answers exactly like a missing one, so ids of other tenants cannot be probed.
func authorize(p Principal, id string, bp BillingProfile, err error, need access) (BillingProfile, error) {
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
	if need == write && !p.HasPermission(PermissionLicensesManager) && !p.IsPlatformAdmin() {
		return BillingProfile{}, Errorf(CodeForbidden, "inviting, re-sending and canceling need the %q permission", PermissionLicensesManager)
	}
	return bp, nil
}

// ProfileReader reads billing profiles.
type ProfileReader interface {
	BillingProfile(ctx context.Context, id string) (BillingProfile, error)
}

// Access is who may read or change what under a billing profile, for the use cases of other packages (the
// notifications): the same checks and refusals as this package's own.
type Access struct{ profiles ProfileReader }

// NewAccess returns the access rules over the billing profiles profiles reads.
func NewAccess(profiles ProfileReader) Access { return Access{profiles: profiles} }

// Read returns a billing profile the caller may read.
func (a Access) Read(ctx context.Context, p Principal, id string) (BillingProfile, error) {
	bp, err := a.profiles.BillingProfile(ctx, id)
	return authorize(p, id, bp, err, read)
}

// Change returns a billing profile the caller may change things under.
func (a Access) Change(ctx context.Context, p Principal, id string) (BillingProfile, error) {
	bp, err := a.profiles.BillingProfile(ctx, id)
	return authorize(p, id, bp, err, write)
}

// invite loads one invite of a billing profile, with a not-found detail that names both.
func (c *core) invite(ctx context.Context, billingProfileID, inviteID string) (Invite, error) {
	inv, err := c.store.Invite(ctx, billingProfileID, inviteID)
	if IsCode(err, CodeNotFound) {
		return Invite{}, inviteNotFound(billingProfileID, inviteID)
	}
	return inv, err
}

// conflictRetries is how many times a user's action on an invite is applied before a concurrent writer's change wins.
const conflictRetries = 3

// applyToCurrent applies a user's change to inv and, when another writer (background work: a reconciliation pass,
// a follower) changed the invite first, to the invite as it now is, up to conflictRetries times: what the user
// asked is applied to the latest invite, so the caller does not see the race as a conflict. apply decides afresh
// from the invite it is given, which may no longer allow the change.
func (c *core) applyToCurrent(ctx context.Context, inv Invite, apply func(Invite) (Invite, error)) (Invite, error) {
	reread := false
	return retryConflicts(func() (Invite, error) {
		if reread {
			var err error
			if inv, err = c.invite(ctx, inv.BillingProfileID, inv.ID); err != nil {
				return Invite{}, err
			}
		}
		reread = true
		return apply(inv)
	})
}

// retryConflicts runs try again while it fails with CodeConcurrentUpdate, conflictRetries times in all; try reads
// what it changes afresh each time.
func retryConflicts[T any](try func() (T, error)) (T, error) {
	for attempt := 1; ; attempt++ {
		out, err := try()
		if !IsCode(err, CodeConcurrentUpdate) || attempt == conflictRetries {
			return out, err
		}
	}
}

func inviteNotFound(billingProfileID, inviteID string) error {
	return Errorf(CodeNotFound, "invite %q was not found in billing profile %q", inviteID, billingProfileID)
}

// inviteFor loads an invite with its billing profile (one round trip) and checks the caller's rights on the
// profile before saying anything about the invite.
func (c *core) inviteFor(ctx context.Context, p Principal, billingProfileID, inviteID string, need access) (BillingProfile, Invite, error) {
	bp, inv, err := c.store.ProfileAndInvite(ctx, billingProfileID, inviteID)
	if bp, err = authorize(p, billingProfileID, bp, err, need); err != nil {
		return BillingProfile{}, Invite{}, err
	}
	if inv == nil {
		return bp, Invite{}, inviteNotFound(billingProfileID, inviteID)
	}
	return bp, *inv, nil
}

// view renders an invite as a client sees it now.
func (c *core) view(inv Invite) View { return ViewOf(inv, c.now(inv.Payer)) }

// now is the time that applies to a payer organization's invites.
func (c *core) now(payer string) time.Time { return c.clocks.For(payer).Now() }

// viewOrErr renders the result of a use case that returns an invite.
func (c *core) viewOrErr(inv Invite, err error) (View, error) {
	if err != nil {
		return View{}, err
	}
	return c.view(inv), nil
}

// save writes a changed invite (stamped now) and its event (none when ev is empty: a change without a cause worth
// a history line), guarded by the invite's version. The event carries the invite as a client sees it after the
// change, so that what is delivered about it later shows that moment.
func (c *core) save(ctx context.Context, inv Invite, ev Event) (Invite, error) {
	now := c.now(inv.Payer)
	inv.UpdatedAt = now
	if !ev.Empty() {
		ev = c.stamp(ev, inv)
		after := inv
		after.Version++
		v := ViewOf(after, now)
		ev.View = &v
	}
	return c.store.UpdateInvite(ctx, inv, ev)
}

// stamp fills in what every event of an invite says: whose it is, and when.
func (c *core) stamp(ev Event, inv Invite) Event {
	ev.InviteID, ev.BillingProfileID, ev.Payer, ev.AccountID = inv.ID, inv.BillingProfileID, inv.Payer, inv.AccountID
	if ev.At.IsZero() {
		ev.At = c.now(inv.Payer)
	}
	if ev.PublicID == "" {
		ev.PublicID = newID()
	}
	return ev
}

// note writes a change of an invite that keeps its state, with an event of the given type saying why.
func (c *core) note(ctx context.Context, inv Invite, typ EventType, actor Actor, reason string) (Invite, error) {
	return c.save(ctx, inv, Event{Type: typ, Actor: actor, From: inv.State, To: inv.State, Reason: reason})
}

// transition moves an invite to another state and records why, in one write guarded by the invite's version.
func (c *core) transition(ctx context.Context, inv Invite, to State, h *Handshake, actor Actor, reason string) (Invite, error) {
	if !CanTransition(inv.State, to) {
		return inv, Errorf(CodeInvalidState, "invite %s cannot move from %s to %s", inv.ID, inv.State, to)
	}
	from := inv.State
	inv.State = to
	if h != nil {
		inv.Handshake = h
		if _, ended := stateForHandshake(h.State); ended {
			inv = inv.Kind.rules().recordAnswer(inv, *h)
		}
	}
	return c.save(ctx, inv, Event{Type: typeOfTransition(from, to), Actor: actor, From: from, To: to, Reason: reason})
}

// payerOf finds how to reach an invite's payer organization.
func (c *core) payerOf(ctx context.Context, inv Invite) (Payer, error) {
	bp, err := c.store.BillingProfile(ctx, inv.BillingProfileID)
	if err != nil {
		return Payer{}, err
	}
	return bp.Payer(), nil
}

// observe applies what AWS reports about an invite's handshake: an ended handshake ends the invite, or, when
// accepted, moves it on and confirms membership. A handshake other than the recorded one (an orphan found in AWS)
// is attached when the invite has none. Reconciliation, cancel, re-send and the sandbox use this one mechanism.
func (c *core) observe(ctx context.Context, inv Invite, h Handshake, actor Actor) (Invite, error) {
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
		// An invite without a handshake is a send that died before it recorded AWS's answer: only now is the
		// invitation known to have gone out, which invite.created tells its consumers (as a send or an adoption
		// by the user does). Another handshake of an invite that had one is an update.
		typ := EventUpdated
		if inv.Handshake == nil {
			typ = EventCreated
		}
		var err error
		if inv, err = c.note(ctx, attached, typ, actor, "adopted the handshake "+h.ID+" found in AWS"); err != nil {
			return inv, err
		}
	}
	if inv.State == StateInvited {
		to, ended := stateForHandshake(h.State)
		if !ended {
			if inv.Handshake.State != h.State || !inv.Handshake.ExpiresAt.Equal(h.ExpiresAt) {
				inv.Handshake = &h
				return c.save(ctx, inv, Event{}) // a refreshed handshake is no event
			}
			return inv, nil
		}
		var err error
		inv, err = c.transition(ctx, inv, to, &h, actor, "AWS reports the handshake "+h.ID+" "+string(h.State))
		if err != nil {
			return inv, err
		}
	}
	if inv.State == StateAccepted && inv.Kind.rules().confirmsMembership() {
		return c.confirmMembership(ctx, inv, actor, nil)
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

// sentAt is when the current handshake was sent: an adopted one counts from when AWS recorded it.
func sentAt(h Handshake, adopted bool, fallback time.Time) time.Time {
	if adopted && !h.RequestedAt.IsZero() {
		return h.RequestedAt
	}
	return fallback
}

// confirmMembership moves an accepted invite on once AWS lists the account as a member. known is what AWS already
// said about the account in this pass, if anything, so it is not asked twice.
func (c *core) confirmMembership(ctx context.Context, inv Invite, actor Actor, known *Account) (Invite, error) {
	acct, err := c.describeMember(ctx, inv, known)
	if IsCode(err, CodeNotFound) {
		return inv, nil // not a member yet: AWS is eventually consistent; the next look will tell
	}
	if err != nil {
		return inv, err
	}
	joined := acct.JoinedAt
	if joined.IsZero() {
		joined = c.now(inv.Payer)
	}
	inv.JoinedAt = &joined
	if inv.AccountState == "" && acct.State == AccountActive {
		// The first look at an active account is no news (firstLookActive): kept with the join, so the next pass's
		// account list finds nothing to write.
		inv.AccountState = acct.State
	}
	return c.transition(ctx, inv, StateAwaitingCUR, nil, actor,
		fmt.Sprintf("account %s is a member of the payer organization (joined %s by %s)", acct.ID, joined.UTC().Format(time.RFC3339), strings.ToLower(acct.JoinedMethod)))
}

// describeMember asks AWS whether the invite's account is a member of its payer organization (CodeNotFound when
// not), unless known already says.
func (c *core) describeMember(ctx context.Context, inv Invite, known *Account) (Account, error) {
	if known != nil {
		return *known, nil
	}
	payer, err := c.payerOf(ctx, inv)
	if err != nil {
		return Account{}, err
	}
	return c.orgs.DescribeAccount(ctx, payer, inv.AccountID)
}

// cancelHandshake cancels a pending handshake in AWS before the invite gives it up, and returns it as AWS now has
// it. A handshake AWS no longer knows is returned as it was. When the owner answered meanwhile (AWS refuses the
// cancel), the answer is applied to the invite instead and the result is a CodeInvalidState error saying so.
func (c *core) cancelHandshake(ctx context.Context, payer Payer, inv Invite, h Handshake) (Handshake, error) {
	if !h.State.Pending() {
		return h, nil
	}
	canceled, err := c.orgs.CancelHandshake(ctx, payer, h.ID)
	switch {
	case err == nil:
		return canceled, nil
	case IsCode(err, CodeHandshakeNotFound):
		return h, nil
	case !IsCode(err, CodeHandshakeFinalized):
		return Handshake{}, err
	}
	got, err := c.orgs.DescribeHandshake(ctx, payer, h.ID)
	if err != nil {
		return Handshake{}, err
	}
	if got.State == HandshakeCanceled {
		return got, nil
	}
	after, err := c.observe(ctx, inv, got, Actor{Kind: ActorReconciliation})
	if err != nil {
		return Handshake{}, err
	}
	return Handshake{}, Errorf(CodeInvalidState, "the invitation was %s meanwhile; invite %s is now %s",
		strings.ToLower(string(got.State)), after.ID, after.State)
}

func handshakeID(inv Invite) string {
	if inv.Handshake == nil {
		return ""
	}
	return inv.Handshake.ID
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }
