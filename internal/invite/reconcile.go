package invite

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ReconcileReport says what one reconciliation of a payer found and did.
type ReconcileReport struct {
	Payer      string
	Handshakes int         // INVITE handshakes AWS listed for the payer's organization
	Changed    int         // invites that changed state or adopted a handshake
	Orphans    []Handshake // OPEN handshakes for accounts without an open invite (sent from the console, say)
	Accounts   int         // accounts AWS listed in the payer's organization (0 when it had no joined invite to check)
	Departed   int         // joined invites whose account was no longer listed, now departed
	Queue      QueueReport // what the queue pass sent (queue.go)
	// BillingGroups counts the invites whose billing group association changed (associated, removed, a problem).
	BillingGroups int
	// BillingGroupProblems counts the invites whose account AWS refuses to associate with its profile's billing
	// group (billingGroup.state problem), after the pass.
	BillingGroupProblems int
}

// Reconciler applies what AWS Organizations says (handshakes, membership) to the invites, one payer at a time.
type Reconciler struct {
	*core
	store ReconcilerStore
}

// NewReconciler returns the reconciliation use cases.
func NewReconciler(st ReconcilerStore, d Deps) *Reconciler {
	return &Reconciler{core: newCore(d, st), store: st}
}

// ReconcilePayer applies what AWS Organizations says about a payer's handshakes to the open invites of every
// billing profile of that payer, and about its accounts to the joined ones (departures, account states). It costs
// one ListHandshakesForOrganization call per page of 20 handshakes, one DescribeAccount per newly accepted account
// or handshake AWS no longer knows, and, when the payer has joined invites, one ListAccounts call per page of 20
// accounts: never one call per invite.
// A failure on one invite does not stop the others; they are all reported together.
//
// One payer is reconciled by one caller at a time, whatever the path (periodic job, refresh, reconcile --once) and
// however many replicas: the others wait for the lock, then find the work done.
func (s *Reconciler) ReconcilePayer(ctx context.Context, managementAccountID string) (rep ReconcileReport, err error) {
	rep = ReconcileReport{Payer: managementAccountID}
	unlock, err := s.store.LockPayer(ctx, managementAccountID)
	if err != nil {
		return rep, err
	}
	defer func() { err = errors.Join(err, unlock()) }()
	payer, err := s.payer(ctx, managementAccountID)
	if err != nil {
		return rep, err
	}
	readAt := s.now(managementAccountID) // a handshake requested after this may belong to an invite being created now
	held, err := s.store.InvitesOfPayer(ctx, managementAccountID, StatesWhere(State.HoldsAccount))
	if err != nil {
		return rep, err
	}
	// Each kind says which of its invites reconciliation follows (joins until they joined, transfers until they
	// end) and how. Terminal invites cost nothing.
	followed := followedByKind(held)
	ps, err := s.listPass(ctx, payer, &rep)
	if err != nil {
		return rep, err
	}
	actor := Actor{Kind: ActorReconciliation}
	var errs []error
	for _, r := range inviteKinds {
		changed, kerrs := r.reconcile(ctx, s, payer, ps, followed[r.kind()], actor)
		rep.Changed += changed
		errs = append(errs, kerrs...)
	}
	// The joined invites as read at the start of the pass: one that joins during it is checked from the next.
	changed, merrs := s.reconcileMembership(ctx, payer, held, actor, &rep)
	rep.Changed += changed
	errs = append(errs, merrs...)
	// After membership, so a departure found in this pass takes its account out of its billing group in the same pass.
	var gerrs []error
	changed, rep.BillingGroupProblems, gerrs = s.reconcileBillingGroups(ctx, payer, held, actor)
	rep.BillingGroups += changed
	errs = append(errs, gerrs...)
	rep.Orphans = s.orphans(ctx, managementAccountID, ps, followed, readAt)
	// The queue last, so that an acceptance this pass saw frees its slot at once; from the same list of handshakes.
	qrep, qerr := s.queuePass(ctx, payer, ps, readAt, held)
	rep.Queue = qrep
	errs = append(errs, qerr)
	return rep, errors.Join(errs...)
}

// listPass reads, once per pass, what AWS holds for the payer (every page of its invitation handshakes) and which
// invite owns which handshake.
func (s *Reconciler) listPass(ctx context.Context, payer Payer, rep *ReconcileReport) (pass, error) {
	owners, err := s.store.HandshakeOwners(ctx, payer.ManagementAccountID)
	if err != nil {
		return pass{}, err
	}
	// Sized by the handshakes the payer's invites own: about what AWS lists, so the maps are not regrown page by page.
	ps := pass{byID: make(map[string]Handshake, len(owners)), newest: make(map[string]Handshake, len(owners)), owners: owners}
	err = s.orgs.ListInviteHandshakes(ctx, payer, func(h Handshake) error {
		rep.Handshakes++
		ps.byID[h.ID] = h
		if cur, ok := ps.newest[h.AccountID]; !ok || h.RequestedAt.After(cur.RequestedAt) {
			ps.newest[h.AccountID] = h
		}
		return nil
	})
	return ps, err
}

// reconcileJoins moves each join invite to what AWS says of its handshake, and warns of an expiry once; it counts
// the invites whose state or handshake changed.
func (s *Reconciler) reconcileJoins(ctx context.Context, joins []Invite, ps pass, actor Actor) (changed int, errs []error) {
	for _, inv := range joins {
		after, err := s.reconcileInvite(ctx, inv, ps, actor)
		if err == nil {
			after, err = s.warnOfExpiry(ctx, after, actor)
		}
		switch {
		case IsCode(err, CodeConcurrentUpdate):
			// A user changed the invite meanwhile; the next pass sees the result.
		case err != nil:
			errs = append(errs, fmt.Errorf("invite %s: %w", inv.ID, err))
		case after.Version != inv.Version && (after.State != inv.State || handshakeID(after) != handshakeID(inv)):
			changed++
		}
	}
	return changed, errs
}

// orphans are the accounts' newest pending handshakes that no invite owns and no open invite is for: sent from the
// console or by another tool. They are logged, and listed at GET /payers/{id}/handshakes?unclaimed=true. One
// requested after readAt, when the pass read the invites, is most likely a create's between its send and its record
// (the payer's lock serialises reconciliations, not creates): the next pass tells.
func (s *Reconciler) orphans(ctx context.Context, managementAccountID string, ps pass, followed map[InviteKind][]Invite, readAt time.Time) []Handshake {
	open := map[string]bool{}
	for _, invites := range followed {
		for _, inv := range invites {
			open[inv.AccountID] = true
		}
	}
	var orphans []Handshake
	for acct, h := range ps.newest {
		if _, owned := ps.owners[h.ID]; h.State.Pending() && !open[acct] && !owned && !h.RequestedAt.After(readAt) {
			orphans = append(orphans, h)
			s.log.WarnContext(ctx, "open handshake without an invite (sent outside this service?)",
				"payer", managementAccountID, "account", acct, "handshake", h.ID, "requested_at", h.RequestedAt)
		}
	}
	return orphans
}

// followedByKind groups the invites reconciliation follows by the kind that follows them (joins until they joined,
// transfers until they end). Each group is allocated once at its size: a payer's invites are copied once, not
// regrown invite by invite.
func followedByKind(held []Invite) map[InviteKind][]Invite {
	n := map[InviteKind]int{}
	for _, inv := range held {
		if r := inv.Kind.rules(); r.reconciledIn(inv.State) {
			n[r.kind()]++
		}
	}
	followed := make(map[InviteKind][]Invite, len(n))
	for k, c := range n {
		followed[k] = make([]Invite, 0, c)
	}
	for _, inv := range held {
		if r := inv.Kind.rules(); r.reconciledIn(inv.State) {
			followed[r.kind()] = append(followed[r.kind()], inv)
		}
	}
	return followed
}

// pass is what one reconciliation of a payer learned: AWS's handshakes by id and the newest per account, and which
// invite owns (or owned) each handshake.
type pass struct {
	byID, newest map[string]Handshake
	owners       map[string]HandshakeOwner
}

// newestFor is the account's newest handshake that the invite may take: one that no other invite owns, so a
// handshake of one billing profile (its notes, its history) never attaches to another.
func (ps pass) newestFor(inv Invite) (Handshake, bool) {
	h, ok := ps.newest[inv.AccountID]
	if !ok {
		return Handshake{}, false
	}
	if o, owned := ps.owners[h.ID]; owned && o.InviteID != inv.ID {
		return Handshake{}, false
	}
	return h, adoptable(inv, h)
}

func (s *Reconciler) reconcileInvite(ctx context.Context, inv Invite, ps pass, actor Actor) (Invite, error) {
	if inv.State == StateAccepted {
		return s.confirmMembership(ctx, inv, actor, nil)
	}
	if _, inFlight := inv.SendInFlight(s.now(inv.Payer)); inFlight {
		return inv, nil // its first send is under way; the sender records the handshake
	}
	if inv.Handshake != nil {
		if h, ok := ps.byID[inv.Handshake.ID]; ok {
			if h.State.Pending() {
				// A newer handshake for the account (sent from the console after a cancel, say) is not ours.
				return s.observe(ctx, inv, h, actor)
			}
			if nh, ok := ps.newestFor(inv); ok && nh.ID != h.ID && nh.State.Pending() {
				return s.observe(ctx, inv, nh, actor)
			}
			return s.observe(ctx, inv, h, actor)
		}
	}
	if h, ok := ps.newestFor(inv); ok {
		return s.observe(ctx, inv, h, actor)
	}
	return s.settleWithoutHandshake(ctx, inv, actor)
}

// warnOfExpiry announces, once per handshake, that an open invitation expires within ExpiryWarning
// (invite.expiring), so people and systems hear of it before it is gone.
func (s *Reconciler) warnOfExpiry(ctx context.Context, inv Invite, actor Actor) (Invite, error) {
	h := inv.Handshake
	if inv.State != StateInvited || h == nil || !h.State.Pending() || inv.ExpiryWarnedFor == h.ID || h.ExpiresAt.IsZero() {
		return inv, nil
	}
	left := h.ExpiresAt.Sub(s.now(inv.Payer))
	if left > ExpiryWarning || left <= 0 {
		return inv, nil
	}
	warned := inv
	warned.ExpiryWarnedFor = h.ID
	return s.note(ctx, warned, EventExpiring, actor, fmt.Sprintf("the invitation (handshake %s) expires at %s, in %s, unless the account's owner accepts it",
		h.ID, h.ExpiresAt.UTC().Format(time.RFC3339), humanDuration(left)))
}

// settleWithoutHandshake ends or completes an invite whose handshake AWS no longer lists (purged 30 days after it
// ended) or never received (a send interrupted before AWS): membership decides.
func (s *Reconciler) settleWithoutHandshake(ctx context.Context, inv Invite, actor Actor) (Invite, error) {
	acct, err := s.describeMember(ctx, inv, nil)
	switch {
	case err == nil:
		inv, err = s.transition(ctx, inv, StateAccepted, nil, actor,
			"AWS no longer lists the invitation, and the account is a member of the payer organization")
		if err != nil {
			return inv, err
		}
		return s.confirmMembership(ctx, inv, actor, &acct)
	case !IsCode(err, CodeNotFound):
		return inv, err
	}
	if inv.Handshake == nil {
		return s.transition(ctx, inv, StateCanceled, nil, actor,
			"the invitation never reached AWS (its send was interrupted) and the account is not a member; invite it again")
	}
	h := *inv.Handshake
	h.State = HandshakeExpired
	return s.transition(ctx, inv, StateExpired, &h, actor, fmt.Sprintf(
		"AWS no longer lists handshake %s (ended handshakes are purged after 30 days) and the account is not a member; invite it again",
		inv.Handshake.ID))
}

// payer finds how to reach a payer organization: through its billing profiles (they name the same management
// account; a role, if any, is taken from the first that names one).
func (s *Reconciler) payer(ctx context.Context, managementAccountID string) (Payer, error) {
	profiles, err := s.store.ProfilesOfPayer(ctx, managementAccountID)
	if err != nil {
		return Payer{}, err
	}
	if len(profiles) == 0 {
		return Payer{}, Errorf(CodeNotFound, "no billing profile has the payer %s", managementAccountID)
	}
	p := Payer{ManagementAccountID: managementAccountID}
	for _, bp := range profiles {
		if p.RoleARN == "" && bp.RoleARN != "" {
			p.RoleARN, p.ExternalID = bp.RoleARN, bp.ExternalID
		}
	}
	return p, nil
}

// Payers lists the payer organizations (management accounts) that have billing profiles.
func (s *Reconciler) Payers(ctx context.Context) ([]string, error) { return s.store.Payers(ctx) }

// Refresh reconciles the invite's payer now and returns the invite as it then stands.
func (s *Reconciler) Refresh(ctx context.Context, p Principal, billingProfileID, inviteID string) (View, error) {
	bp, _, err := s.inviteFor(ctx, p, billingProfileID, inviteID, read)
	if err != nil {
		return View{}, err
	}
	if _, err := s.ReconcilePayer(ctx, bp.ManagementAccountID); err != nil {
		// What could be applied was; the rest waits for the next pass. AWS being unavailable is the caller's news.
		if IsCode(err, CodeAWSUnavailable) {
			return View{}, err
		}
		s.log.WarnContext(ctx, "refresh: reconciliation incomplete", "payer", bp.ManagementAccountID, "error", err)
	}
	return s.viewOrErr(s.invite(ctx, billingProfileID, inviteID))
}
