package invite

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"
)

// admit decides, from the ledger and before anything is asked of AWS, whether a create sends now (nil) or queues
// (the invite's place), or is refused at the quota (QueueNever).
func (s *Invites) admit(ctx context.Context, bp BillingProfile, mode QueueMode) (*QueueSlot, error) {
	payer := bp.ManagementAccountID
	q, l, err := s.quotaState(ctx, s.store, payer)
	if err != nil {
		return nil, err
	}
	free := q.free(sendMode(mode))
	var queued []Invite
	if mode == QueueBatch {
		// A batch takes its turn: while the payer has a queue, new batch items join it (the queue pass sends in
		// turns), so a batch created after a slot freed cannot overtake the invites that waited for it.
		if queued, err = s.store.InvitesOfPayer(ctx, payer, []State{StateQueued}); err != nil {
			return nil, err
		}
		if free > 0 && len(queued) == 0 {
			return nil, nil
		}
	} else if free > 0 {
		return nil, nil
	}
	if mode == QueueNever {
		return nil, dailyLimitError(q, QueueWhenFull, "a new invitation")
	}
	cand := Invite{ID: "~new", BillingProfileID: bp.ID, Payer: payer, CreatedAt: q.now, Queue: &QueueSlot{Reason: QueueDailyQuota, Mode: mode}}
	return placeIn(ctx, s.store, q, l, queued, cand)
}

// sendMode is the capacity a create of the mode sends under: a single invite may use the reserve.
func sendMode(mode QueueMode) QueueMode {
	if mode == QueueBatch {
		return QueueBatch
	}
	return QueueWhenFull
}

// placeIn is where cand stands in its payer's queue: with queued, the invites queued there already, or, when nil,
// those the store has.
func placeIn(ctx context.Context, st QueueStore, q quotaState, l Ledger, queued []Invite, cand Invite) (*QueueSlot, error) {
	if queued == nil {
		var err error
		if queued, err = st.InvitesOfPayer(ctx, cand.Payer, []State{StateQueued}); err != nil {
			return nil, err
		}
	}
	return place(q, l, queued, cand), nil
}

// place is where cand stands in its payer's queue, with the invites queued there already.
func place(q quotaState, l Ledger, queued []Invite, cand Invite) *QueueSlot {
	queued = slices.DeleteFunc(slices.Clone(queued), func(inv Invite) bool { return inv.ID == cand.ID })
	order := queueOrder(append(queued, cand), lastServedOf(l))
	at := q.schedule(order)
	for i, inv := range order {
		if inv.ID == cand.ID {
			slot := *cand.Queue
			slot.Position, slot.ScheduledFor = i+1, at[i]
			return &slot
		}
	}
	return cand.Queue
}

// quotaRefusal reports whether AWS refused an invitation for one of its quotas, and which.
func quotaRefusal(err error) (QueueReason, bool) {
	switch {
	case IsCode(err, CodeDailyInviteLimit):
		return QueueDailyQuota, true
	case IsCode(err, CodeAccountLimit):
		return QueueAccountQuota, true
	}
	return "", false
}

// holdAfterRefusal records that AWS refused an invitation the ledger expected to fit (AWS counts invitations the
// service has not seen yet: sent from the console since the last pass). The payer sends nothing until the oldest
// counted invitation turns 24 hours old (or an hour, when the ledger counts none), unless the ledger shows a slot
// freed first. A refusal outside a pass (a create, a re-send) came from a ledger that may be stale: the hold stands
// until the next pass has read AWS's list (heldUnread), which lifts it if that list leaves a slot free (an
// acceptance, or the refusal's cause aged out) and otherwise keeps it until the count drops. A refusal inside a
// pass, just after that read, holds until the count drops below what the ledger then counted.
// It returns how long the payer waits (zero when the hold could not be written).
func (c *core) holdAfterRefusal(ctx context.Context, st QuotaStore, payer string, ledgerFresh bool) time.Duration {
	q, _, err := c.quotaState(ctx, st, payer)
	if err == nil {
		until := q.now.Add(quotaHoldFallback)
		if len(q.expiries) > 0 {
			until = later(q.now.Add(time.Minute), q.expiries[0])
		}
		used := heldUnread
		if ledgerFresh {
			used = q.used
		}
		if err = st.HoldQuota(ctx, payer, until, used); err == nil {
			return until.Sub(q.now)
		}
	}
	c.log.ErrorContext(ctx, "holding a payer's invitations after AWS's refusal", "payer", payer, "error", err)
	return 0
}

// heldUnread is a hold's count while no pass read AWS's list since the refusal.
const heldUnread = -1

// withRetryAfter makes AWS's quota refusal tell the wait the hold says, rather than AWS's generic day.
func withRetryAfter(err error, wait time.Duration) error {
	var e *Error
	if wait > 0 && errors.As(err, &e) {
		e.RetryAfter = wait
	}
	return err
}

// slotAfterRefusal is the place of an invite queued because AWS refused it for a quota.
func (c *core) slotAfterRefusal(ctx context.Context, st QueueStore, inv Invite, reason QueueReason, mode QueueMode) *QueueSlot {
	cand := inv
	cand.Queue = &QueueSlot{Reason: reason, Mode: mode}
	q, l, err := c.quotaState(ctx, st, inv.Payer)
	if err != nil {
		return cand.Queue
	}
	slot, err := placeIn(ctx, st, q, l, nil, cand)
	if err != nil {
		return cand.Queue
	}
	return slot
}

// countSend adds a sent invitation to its payer's ledger. A failure only makes the ledger count less until the
// next pass reads AWS's list; AWS's refusal still wins.
func (c *core) countSend(ctx context.Context, st QuotaStore, inv Invite, h Handshake, at time.Time) {
	if h.Action != "" && h.Action != ActionInvite {
		// AWS does not document whether billing-transfer invitations draw on the same quota; the ledger counts
		// what AWS's INVITE list shows, and a transfer refused for the quota still holds the payer.
		return
	}
	if err := st.RecordQuotaSend(context.WithoutCancel(ctx), inv.Payer, LedgerEntry{HandshakeID: h.ID, BillingProfileID: inv.BillingProfileID, RequestedAt: at}); err != nil {
		c.log.ErrorContext(ctx, "counting an invitation in the payer's ledger", "invite", inv.ID, "error", err)
	}
}

// requeue puts back in the queue an invite whose re-send AWS refused for the daily quota after its old handshake
// was canceled: it keeps its account and goes out again when a slot frees.
func (c *core) requeue(ctx context.Context, st QueueStore, inv Invite, old *Handshake, refusal error, actor Actor) (Invite, error) {
	ctx = context.WithoutCancel(ctx)
	c.holdAfterRefusal(ctx, st, inv.Payer, false)
	queued := inv
	queued.Handshake = old
	queued.Queue = c.slotAfterRefusal(ctx, st, inv, QueueDailyQuota, QueueWhenFull)
	return c.transition(ctx, queued, StateQueued, nil, actor, fmt.Sprintf(
		"re-send refused by AWS (%s) after handshake %s was canceled: queued, to be sent again at %s",
		ErrorCode(refusal), old.ID, queued.Queue.ScheduledFor.UTC().Format(time.RFC3339)))
}

// QueueReport says what one queue pass of a payer did.
type QueueReport struct {
	Queued     int // invites waiting before the pass
	Sent       int // sent by the pass
	Refused    int // AWS refused for good (the invite is canceled with AWS's problem code)
	Held       bool
	ForAccount int // waiting for the organization's account quota after the pass
}

// queuePass runs inside ReconcilePayer, under the payer's lock, after the handshakes were applied (so an
// acceptance seen by this pass frees its slot in this pass): it refreshes the ledger from AWS's list (no extra
// call), sends the queued invites that fit, in turns between billing profiles, and writes the places and times
// of those still waiting when they changed.
func (s *Reconciler) queuePass(ctx context.Context, payer Payer, ps pass, listedAt time.Time, held []Invite) (QueueReport, error) {
	var rep QueueReport
	id := payer.ManagementAccountID
	now := s.now(id)
	l, err := s.refreshLedger(ctx, id, ps, listedAt, now)
	if err != nil {
		return rep, err
	}
	if l.HeldAtUsed == heldUnread && l.HeldUntil.After(now) {
		// The first read of AWS's list since a refusal outside a pass: a free slot in it lifts the hold; else
		// the hold stands until the count drops below what AWS shows now.
		used := s.stateOf(id, Ledger{Entries: l.Entries}, now).used
		until := l.HeldUntil
		if used < s.quota.limit(id) {
			until = time.Time{}
		}
		if err := s.store.HoldQuota(ctx, id, until, used); err != nil {
			return rep, err
		}
		l.HeldUntil, l.HeldAtUsed = until, used
	}
	var queued []Invite
	for _, inv := range held {
		if inv.State == StateQueued {
			queued = append(queued, inv)
		}
	}
	rep.Queued = len(queued)
	if len(queued) == 0 {
		return rep, nil
	}
	q := s.stateOf(id, l, now)
	order := queueOrder(queued, lastServedOf(l))
	accountsFree := -1                 // read when the first invite is due, so a pass with nothing to send lists no accounts
	var byID map[string]BillingProfile // read when the first invite is due
	var waiting []Invite
	var stop QueueReason // set when AWS refused for a quota: nothing more is sent this pass
	stopped := false
	for _, inv := range order {
		if stopped || q.free(queueMode(inv)) == 0 {
			switch {
			case stop == QueueAccountQuota:
				inv = withReason(inv, QueueAccountQuota)
			case accountsFree > 0 && inv.Queue != nil && inv.Queue.Reason == QueueAccountQuota:
				inv = withReason(inv, QueueDailyQuota) // the accounts are free again; the day's quota is what it waits for
			}
			waiting = append(waiting, inv)
			continue
		}
		if byID == nil {
			profiles, err := s.store.ProfilesOfPayer(ctx, id)
			if err != nil {
				return rep, err
			}
			byID = map[string]BillingProfile{}
			for _, bp := range profiles {
				byID[bp.ID] = bp
			}
		}
		bp, ok := byID[inv.BillingProfileID]
		if !ok {
			waiting = append(waiting, inv)
			continue
		}
		if accountsFree < 0 {
			if accountsFree, err = s.accountsFree(ctx, payer, ps); err != nil {
				return rep, err
			}
		}
		if accountsFree == 0 {
			waiting = append(waiting, withReason(inv, QueueAccountQuota))
			continue
		}
		if rep.Sent > 0 && s.quota.SendPace > 0 {
			// Paced per payer, with jitter, so many payers' passes do not hit AWS in step.
			pace := s.quota.SendPace + rand.N(s.quota.SendPace/2+1)
			select {
			case <-ctx.Done():
				return rep, ctx.Err()
			case <-time.After(pace):
			}
		}
		out, err := s.sendQueued(ctx, bp, inv)
		reason, quotaHit := quotaRefusal(err)
		switch {
		case err == nil:
			rep.Sent++
			q.used++
			q.expiries = append(q.expiries, out.LastSentAt.Add(QuotaWindow))
			accountsFree--
		case quotaHit:
			// AWS's refusal wins: the invite stays queued, and the payer waits.
			if reason == QueueDailyQuota {
				s.holdAfterRefusal(ctx, s.store, id, true)
				rep.Held = true
				if l, err = s.store.QuotaLedger(ctx, id, now.Add(-QuotaWindow)); err == nil {
					q = s.stateOf(id, l, now)
				}
			} else {
				s.log.WarnContext(ctx, "the payer organization is at its account quota: invitations wait; ask AWS to raise it",
					"payer", id, "queued", len(order))
			}
			waiting = append(waiting, withReason(inv, reason))
			stop, stopped = reason, true
		case IsCode(err, CodeConcurrentUpdate):
			// Sent, but the user canceled the invite meanwhile (sendQueued canceled the invitation again): it counted.
			q.used++
			q.expiries = append(q.expiries, now.Add(QuotaWindow))
		case IsCode(err, CodeAWSUnavailable):
			// Throttled or unavailable after the adapter's own jittered retries: the next pass tries again.
			waiting = append(waiting, inv)
			stopped = true
		case err != nil && refusedByAWS(ErrorCode(err)):
			rep.Refused++
		default:
			waiting = append(waiting, inv)
			s.log.ErrorContext(ctx, "sending a queued invite", "invite", inv.ID, "error", err)
		}
	}
	for _, inv := range waiting {
		if inv.Queue != nil && inv.Queue.Reason == QueueAccountQuota {
			rep.ForAccount++
		}
	}
	stored := map[string]*QueueSlot{}
	for _, inv := range queued {
		stored[inv.ID] = inv.Queue
	}
	return rep, s.replace(ctx, q, waiting, stored)
}

func withReason(inv Invite, reason QueueReason) Invite {
	slot := QueueSlot{Mode: QueueBatch}
	if inv.Queue != nil {
		slot = *inv.Queue
	}
	slot.Reason = reason
	inv.Queue = &slot
	return inv
}

// replace writes the places and expected times of the invites still waiting, in queue order, where they changed:
// in one statement (a few for a long queue), not one versioned write per invite, as a place is derived data that
// every slot freed changes for the whole queue. stored is each one's place as stored.
func (s *Reconciler) replace(ctx context.Context, q quotaState, waiting []Invite, stored map[string]*QueueSlot) error {
	at := q.schedule(waiting)
	var changed []QueuePlace
	for i, inv := range waiting {
		slot := QueueSlot{Mode: queueMode(inv), Reason: QueueDailyQuota, Position: i + 1, ScheduledFor: at[i]}
		if inv.Queue != nil && inv.Queue.Reason != "" {
			slot.Reason = inv.Queue.Reason
		}
		if was := stored[inv.ID]; was != nil && *was == slot {
			continue
		}
		changed = append(changed, QueuePlace{InviteID: inv.ID, Slot: slot})
	}
	if len(changed) == 0 {
		return nil
	}
	return s.store.SetQueuePlaces(ctx, q.payer, changed)
}

// sendQueued sends a queued invite's invitation: it moves to invited (invite.created), or, when AWS refuses it
// for good, to canceled with AWS's problem code; a quota refusal or AWS being unavailable leaves it queued.
func (s *Reconciler) sendQueued(ctx context.Context, bp BillingProfile, inv Invite) (Invite, error) {
	actor := Actor{Kind: ActorReconciliation}
	now := s.now(inv.Payer)
	claimed := inv
	claimed.LastSentAt = now // a send in flight, as a create's reservation
	h, adopted, err := inv.Kind.rules().sendInvitation(ctx, s.core, bp, claimed)
	if err != nil {
		code := ErrorCode(err)
		if _, quota := quotaRefusal(err); quota || !refusedByAWS(code) {
			return inv, err
		}
		refused := inv
		refused.State, refused.Queue = StateCanceled, nil
		_, serr := s.save(context.WithoutCancel(ctx), refused, Event{Type: EventCanceled, Actor: actor, From: StateQueued, To: StateCanceled,
			Code: code, Reason: "AWS Organizations refused the queued invitation: " + errorDetail(err)})
		if serr != nil {
			return inv, serr
		}
		return refused, err
	}
	sent := withHandshake(inv, h)
	sent.LastSentAt = sentAt(h, adopted, now)
	sent.Queue = nil
	s.countSend(ctx, s.store, inv, h, sent.LastSentAt)
	reason := inv.Kind.rules().sentReason(inv, h) + " (from the queue)"
	if adopted {
		reason = "adopted the open handshake " + h.ID + " that AWS already had for this account (from the queue)"
	}
	var out Invite
	if inv.Handshake != nil {
		// A re-send that AWS refused after its cancel, queued since: its consumers heard of it long ago, so this
		// is a re-send (invite.resent), not its creation.
		sent.State = StateInvited
		out, err = s.save(context.WithoutCancel(ctx), sent, Event{Type: EventResent, Actor: actor, From: StateQueued, To: StateInvited,
			Reason: "re-sent from the queue: handshake " + h.ID})
	} else {
		out, err = s.transition(context.WithoutCancel(ctx), sent, StateInvited, nil, actor, reason)
	}
	if IsCode(err, CodeConcurrentUpdate) {
		// The user canceled the queued invite while its invitation was going out: AWS must not keep it open.
		if cur, gerr := s.invite(ctx, inv.BillingProfileID, inv.ID); gerr == nil && cur.State == StateCanceled && !adopted {
			if _, cerr := s.cancelHandshake(context.WithoutCancel(ctx), bp.Payer(), cur, h); cerr != nil {
				s.log.ErrorContext(ctx, "canceling the invitation of a queued invite canceled during its send", "invite", inv.ID, "error", cerr)
			}
		}
	}
	return out, err
}

// accountsFree is how many more invitations the payer's organization's account quota allows: its accounts and
// open invitations against AccountLimit, from one ListAccounts (a page per 20 accounts) and the pass's
// handshakes. Without a configured limit it is not checked here (AWS's refusal queues all the same).
func (s *Reconciler) accountsFree(ctx context.Context, payer Payer, ps pass) (int, error) {
	if s.quota.AccountLimit <= 0 {
		return 1 << 30, nil
	}
	accounts := 0
	if err := s.orgs.ListAccounts(ctx, payer, func(Account) error { accounts++; return nil }); err != nil {
		return 0, err
	}
	open := 0
	for _, h := range ps.byID {
		if h.State.Pending() {
			open++
		}
	}
	return max(0, s.quota.AccountLimit-accounts-open), nil
}

// refreshLedger replaces the payer's ledger by what AWS listed in this pass, when it differs: every INVITE
// handshake requested in the last 24 hours that was not accepted (AWS: "accepted invitations don't count").
// Canceled, declined and expired ones still count: AWS documents only that accepted ones stop counting, so the
// others are taken to count as sent (the simulator counts them so too); AWS's refusal corrects the ledger if not.
func (s *Reconciler) refreshLedger(ctx context.Context, payer string, ps pass, listedAt, now time.Time) (Ledger, error) {
	since := now.Add(-QuotaWindow)
	l, err := s.store.QuotaLedger(ctx, payer, since)
	if err != nil {
		return l, err
	}
	var listed []LedgerEntry
	for _, h := range ps.byID {
		if h.State == HandshakeAccepted || !h.RequestedAt.After(since) {
			continue
		}
		listed = append(listed, LedgerEntry{HandshakeID: h.ID, BillingProfileID: ps.owners[h.ID].BillingProfileID, RequestedAt: h.RequestedAt})
	}
	slices.SortFunc(listed, func(a, b LedgerEntry) int { return a.RequestedAt.Compare(b.RequestedAt) })
	// What was requested until the list was read is what AWS listed; the service's sends after it stay.
	var kept []LedgerEntry
	u := LedgerUpdate{ExpiredBy: since}
	inList := make(map[string]bool, len(listed))
	for _, e := range listed {
		inList[e.HandshakeID] = true
	}
	inLedger := make(map[string]bool, len(l.Entries))
	for _, e := range l.Entries {
		switch {
		case e.RequestedAt.After(listedAt):
			kept = append(kept, e)
		case inList[e.HandshakeID]:
			inLedger[e.HandshakeID] = true
		default:
			u.Removed = append(u.Removed, e.HandshakeID)
		}
	}
	for _, e := range listed {
		if !inLedger[e.HandshakeID] {
			u.Added = append(u.Added, e)
		}
	}
	if len(u.Removed) == 0 && len(u.Added) == 0 {
		return l, nil
	}
	if err := s.store.UpdateQuotaLedger(ctx, payer, u); err != nil {
		return l, err
	}
	l.Entries = append(listed, kept...)
	return l, nil
}
