package invite

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"
)

// AWS lets a payer organization send about 20 invitations in any 24 hours; accepted ones stop counting at once
// (aws-organizations.md, "Quotas, more exactly"). The service keeps, per payer, a ledger of the invitations that
// count (from AWS's own handshake list, which every reconciliation pass reads anyway, so invitations sent from the
// console count too, plus its own sends since), decides from it before calling AWS, and queues what does not fit.
// AWS's refusal always wins over the ledger.

// QuotaWindow is the rolling window of AWS's daily invitation quota.
const QuotaWindow = 24 * time.Hour

// The quota defaults: QuotaRules' zero values mean these.
const (
	// DefaultDailyInviteLimit is AWS's default number of invitations a payer organization may send a rolling day.
	DefaultDailyInviteLimit = 20
	// DefaultReservedInvites are the slots a day kept for single invites and re-sends: a batch never uses them,
	// so one customer's large move never blocks another customer's one invite.
	DefaultReservedInvites = 2
	// quotaHoldFallback is how long a payer waits after AWS refused an invitation the ledger expected to fit,
	// when the ledger tells no better time (it counts nothing: AWS counts what the service cannot see).
	quotaHoldFallback = time.Hour
)

// QuotaRules configure the invitation quota. The limit is configuration (a default and per-payer overrides), not
// an API-settable value: AWS raises a quota only through a support case, for one organization, rarely; the
// reseller's operators then set the new value where the service's configuration lives, and it applies to every
// replica alike. AWS's Service Quotas API lists the invitations quota neither in the organizations namespace nor
// in the simulator, so it cannot be read from AWS here.
type QuotaRules struct {
	DailyLimit int            // invitations a rolling day per payer; DefaultDailyInviteLimit when 0
	PerPayer   map[string]int // per management account, overrides DailyLimit (support raised the quota)
	Reserved   int            // slots a day only single invites and re-sends use; DefaultReservedInvites when 0, none when negative
	// AccountLimit is the organization's account quota (management account, members and open invitations);
	// 0: not checked by the service (AWS's refusal still queues). AWS keeps it in Service Quotas
	// (organizations, L-29A0C5DF) which the simulator does not serve, so it is configuration here.
	AccountLimit int
	// SendPace is the pause between two sends of one payer's queue in one pass; 0 sends back to back.
	SendPace time.Duration
}

func (r QuotaRules) limit(payer string) int {
	if n, ok := r.PerPayer[payer]; ok && n > 0 {
		return n
	}
	if r.DailyLimit > 0 {
		return r.DailyLimit
	}
	return DefaultDailyInviteLimit
}

func (r QuotaRules) reserved(payer string) int {
	switch {
	case r.Reserved < 0:
		return 0
	case r.Reserved == 0:
		return min(DefaultReservedInvites, r.limit(payer)-1)
	}
	return min(r.Reserved, r.limit(payer)-1)
}

// QueueMode says what a create does when no slot of the daily quota is free.
type QueueMode string

// The queue modes.
const (
	// QueueNever refuses with daily_invite_limit_exceeded and a Retry-After (a single create; the default).
	QueueNever QueueMode = ""
	// QueueWhenFull queues the invite when no slot at all is free; it may use the reserved slots like a single
	// invite (Prefer: respond-async).
	QueueWhenFull QueueMode = "when_full"
	// QueueBatch never uses the reserved slots; the invite is queued when no unreserved slot is free, or when
	// the payer has a queue already (it takes its turn).
	QueueBatch QueueMode = "batch"
)

// QueueReason says why an invite waits in the queue.
type QueueReason string

// The queue reasons.
const (
	QueueDailyQuota   QueueReason = "daily_quota"   // the payer sent as many invitations as AWS allows a rolling day
	QueueAccountQuota QueueReason = "account_quota" // the payer's organization is at its account quota
)

// QueueSlot is where a queued invite stands: its place in its payer's queue (1 is next), when it is expected to
// go out, and why it waits.
type QueueSlot struct {
	Position     int
	ScheduledFor time.Time
	Reason       QueueReason
	Mode         QueueMode // how it was queued: QueueWhenFull may use the reserved slots
}

// QueuePlace is a queued invite's place, as a queue pass writes it.
type QueuePlace struct {
	InviteID string
	Slot     QueueSlot
}

// LedgerEntry is one invitation that counts against a payer's daily quota.
type LedgerEntry struct {
	HandshakeID      string
	BillingProfileID string // the profile whose invite sent it; empty when sent outside the service
	RequestedAt      time.Time
}

// Ledger is what counts against a payer's daily quota: the invitations of the last QuotaWindow, oldest first, and
// AWS's last refusal (HeldUntil: the payer sends nothing before it unless the count drops below HeldAtUsed, what
// the ledger counted after reading AWS's list; heldUnread while no pass read it since the refusal).
type Ledger struct {
	Entries    []LedgerEntry
	HeldUntil  time.Time
	HeldAtUsed int
}

// LedgerUpdate is the difference between a payer's ledger and what AWS listed: a pass writes only that, so a
// payer whose invitations did not change costs no write, and one acceptance costs one deleted row, not the whole
// ledger written again.
type LedgerUpdate struct {
	ExpiredBy time.Time
	Removed   []string // handshake ids
	Added     []LedgerEntry
}

// QuotaStore keeps the payers' ledgers.
type QuotaStore interface {
	// QuotaLedger returns the payer's entries requested after since, oldest first, and its hold.
	QuotaLedger(ctx context.Context, payer string, since time.Time) (Ledger, error)
	// RecordQuotaSend adds (or keeps) one entry: an invitation the service just sent.
	RecordQuotaSend(ctx context.Context, payer string, e LedgerEntry) error
	// UpdateQuotaLedger applies, in one transaction, what a pass found different from the ledger: it deletes the
	// entries requested at or before u.ExpiredBy (out of the quota's window) and those of u.Removed, and adds
	// u.Added (an entry already there keeps its billing profile unless the added one names one).
	UpdateQuotaLedger(ctx context.Context, payer string, u LedgerUpdate) error
	// SetQueuePlaces writes the places of a payer's queued invites (derived data: no version, no event); an
	// invite no longer queued is left alone.
	SetQueuePlaces(ctx context.Context, payer string, places []QueuePlace) error
	// HoldQuota records AWS's refusal: the payer sends nothing before until unless the ledger's count drops below
	// used; the zero until lifts the hold.
	HoldQuota(ctx context.Context, payer string, until time.Time, used int) error
}

// QueueStore is what the quota and the queue read and keep: the ledgers, and a payer's profiles and invites.
type QueueStore interface {
	QuotaStore
	// ProfilesOfPayer returns the billing profiles that name a management account, ordered by id.
	ProfilesOfPayer(ctx context.Context, managementAccountID string) ([]BillingProfile, error)
	// InvitesOfPayer returns the invites in the given states of every billing profile of a payer organization.
	InvitesOfPayer(ctx context.Context, managementAccountID string, states []State) ([]Invite, error)
}

// Quota is a payer's daily invitation quota as the ledger has it now.
type Quota struct {
	Payer     string
	Limit     int
	Used      int // invitations counted in the last 24 hours
	Reserved  int // slots only single invites and re-sends use
	Available int // slots free now for a single invite (Limit-Used, 0 while AWS's refusal holds)
	// AvailableToQueue are the slots free now for queued work (batches): Available less the reserve.
	AvailableToQueue int
	NextSlotAt       time.Time // when the next slot frees: the oldest counted invitation turns 24 hours; zero when one is free
	HeldUntil        time.Time // AWS refused more invitations than the ledger expected: nothing is sent before
	Queued           []QueuedCount
	Accounts         *AccountQuota
	At               time.Time
}

// QueuedCount is how many invites of one billing profile wait in the payer's queue.
type QueuedCount struct {
	BillingProfileID string
	Queued           int
	NextScheduledFor time.Time
}

// AccountQuota is the payer organization's account quota, when configured.
type AccountQuota struct {
	Limit   int // 0: not configured (the service learns it from AWS's refusals)
	Waiting int // queued invites waiting for the account quota
}

// quotaState is a ledger read at now, under a payer's rules.
type quotaState struct {
	payer                 string
	limit, reserved, used int
	expiries              []time.Time // when each counted entry stops counting, oldest first
	heldUntil             time.Time
	now                   time.Time
}

func (c *core) quotaState(ctx context.Context, st QuotaStore, payer string) (quotaState, Ledger, error) {
	now := c.now(payer)
	l, err := st.QuotaLedger(ctx, payer, now.Add(-QuotaWindow))
	if err != nil {
		return quotaState{}, l, err
	}
	return c.stateOf(payer, l, now), l, nil
}

func (c *core) stateOf(payer string, l Ledger, now time.Time) quotaState {
	q := quotaState{payer: payer, limit: c.quota.limit(payer), reserved: c.quota.reserved(payer), now: now}
	for _, e := range l.Entries {
		if exp := e.RequestedAt.Add(QuotaWindow); exp.After(now) {
			q.expiries = append(q.expiries, exp)
		}
	}
	slices.SortFunc(q.expiries, func(a, b time.Time) int { return a.Compare(b) })
	q.used = len(q.expiries)
	if l.HeldUntil.After(now) && q.used >= l.HeldAtUsed { // heldUnread (-1): held whatever the count
		q.heldUntil = l.HeldUntil
	}
	return q
}

// capacity is how many invitations a send of the mode may see counted: the reserve is not for batches.
func (q quotaState) capacity(mode QueueMode) int {
	if mode == QueueBatch {
		return q.limit - q.reserved
	}
	return q.limit
}

// free is how many sends of the mode fit now.
func (q quotaState) free(mode QueueMode) int {
	if q.heldUntil.After(q.now) {
		return 0
	}
	return max(0, q.capacity(mode)-q.used)
}

// nextSlot is when a send of the mode fits next: now when one is free, else when enough counted invitations
// turn 24 hours old (or AWS's hold ends, whichever is later).
func (q quotaState) nextSlot(mode QueueMode) time.Time {
	at := q.now
	if q.heldUntil.After(at) {
		at = q.heldUntil
	}
	over := q.used - q.capacity(mode) // this many must stop counting first, and one more
	if over >= 0 && over < len(q.expiries) {
		at = later(at, q.expiries[over])
	}
	return at
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// schedule predicts when each queued invite, in queue order, goes out: each takes the first slot free for its
// mode once those before it went out, and its own send counts for 24 hours after it. It assumes no acceptance
// (which only makes a slot free earlier) and no send from elsewhere.
func (q quotaState) schedule(queue []Invite) []time.Time {
	expiries := slices.Clone(q.expiries)
	used := q.used
	t := q.now
	if q.heldUntil.After(t) {
		t = q.heldUntil
	}
	out := make([]time.Time, len(queue))
	for i, inv := range queue {
		capacity := q.capacity(queueMode(inv))
		for used >= capacity && len(expiries) > 0 {
			t = later(t, expiries[0])
			expiries = expiries[1:]
			used--
		}
		out[i] = t
		used++
		expiries = append(expiries, t.Add(QuotaWindow))
	}
	return out
}

func queueMode(inv Invite) QueueMode {
	if inv.Queue == nil {
		return QueueBatch
	}
	return inv.Queue.Mode
}

// queueOrder puts a payer's queued invites in the order they go out: billing profiles take turns, the profile
// served least recently first (never served before any other; then the one waiting longest), and within a profile
// the oldest invite first. lastServed is when the ledger last counted a send of each profile.
func queueOrder(queued []Invite, lastServed map[string]time.Time) []Invite {
	byProfile := map[string][]Invite{}
	for _, inv := range queued {
		byProfile[inv.BillingProfileID] = append(byProfile[inv.BillingProfileID], inv)
	}
	oldestFirst := func(a, b Invite) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	}
	profiles := make([]string, 0, len(byProfile))
	for id, invs := range byProfile {
		slices.SortFunc(invs, oldestFirst)
		profiles = append(profiles, id)
	}
	slices.SortFunc(profiles, func(a, b string) int {
		return cmp.Or(lastServed[a].Compare(lastServed[b]), oldestFirst(byProfile[a][0], byProfile[b][0]))
	})
	out := make([]Invite, 0, len(queued))
	for round := 0; len(out) < len(queued); round++ {
		for _, id := range profiles {
			if invs := byProfile[id]; round < len(invs) {
				out = append(out, invs[round])
			}
		}
	}
	return out
}

func lastServedOf(l Ledger) map[string]time.Time {
	out := map[string]time.Time{}
	for _, e := range l.Entries {
		if e.BillingProfileID != "" && e.RequestedAt.After(out[e.BillingProfileID]) {
			out[e.BillingProfileID] = e.RequestedAt
		}
	}
	return out
}

// dailyLimitError is the refusal of a send at the quota: when the next slot frees, as the ledger says.
func dailyLimitError(q quotaState, mode QueueMode, what string) *Error {
	at := q.nextSlot(mode)
	return &Error{Code: CodeDailyInviteLimit, RetryAfter: max(at.Sub(q.now), time.Second),
		Detail: fmt.Sprintf("the payer organization has sent %d of the %d invitations AWS allows in 24 hours; %s is possible from %s",
			q.used, q.limit, what, at.UTC().Format(time.RFC3339))}
}

// Quota returns a payer's daily invitation quota as the service sees it (platform administrators): the ledger,
// the reserve, when the next slot frees and what waits in the queue per billing profile.
func (s *Invites) Quota(ctx context.Context, p Principal, payer string) (Quota, error) {
	if !p.IsPlatformAdmin() {
		return Quota{}, Errorf(CodeForbidden, "a payer's invitation quota needs the %q role", RolePlatformAdmin)
	}
	payer, err := NormalizeAccountID(payer)
	if err != nil {
		return Quota{}, err
	}
	profiles, err := s.store.ProfilesOfPayer(ctx, payer)
	if err != nil {
		return Quota{}, err
	}
	if len(profiles) == 0 {
		return Quota{}, Errorf(CodeNotFound, "no billing profile has the payer %s", payer)
	}
	q, _, err := s.quotaState(ctx, s.store, payer)
	if err != nil {
		return Quota{}, err
	}
	queued, err := s.store.InvitesOfPayer(ctx, payer, []State{StateQueued})
	if err != nil {
		return Quota{}, err
	}
	return quotaView(payer, q, queued, s.quota.AccountLimit), nil
}

// quotaView is the quota as the API shows it.
func quotaView(payer string, q quotaState, queued []Invite, accountLimit int) Quota {
	out := Quota{Payer: payer, Limit: q.limit, Used: q.used, Reserved: q.reserved, Available: q.free(QueueWhenFull),
		AvailableToQueue: q.free(QueueBatch), HeldUntil: q.heldUntil, At: q.now, Queued: []QueuedCount{}}
	if out.Available == 0 {
		out.NextSlotAt = q.nextSlot(QueueWhenFull)
	}
	counts := map[string]*QueuedCount{}
	waitingForAccounts := 0
	for _, inv := range queued {
		c, ok := counts[inv.BillingProfileID]
		if !ok {
			c = &QueuedCount{BillingProfileID: inv.BillingProfileID}
			counts[inv.BillingProfileID] = c
		}
		c.Queued++
		if inv.Queue != nil {
			if c.NextScheduledFor.IsZero() || inv.Queue.ScheduledFor.Before(c.NextScheduledFor) {
				c.NextScheduledFor = inv.Queue.ScheduledFor
			}
			if inv.Queue.Reason == QueueAccountQuota {
				waitingForAccounts++
			}
		}
	}
	for _, c := range counts {
		out.Queued = append(out.Queued, *c)
	}
	slices.SortFunc(out.Queued, func(a, b QueuedCount) int { return cmp.Compare(a.BillingProfileID, b.BillingProfileID) })
	if accountLimit > 0 || waitingForAccounts > 0 {
		out.Accounts = &AccountQuota{Limit: accountLimit, Waiting: waitingForAccounts}
	}
	return out
}

// Prediction is what the quota would do with one create: send it now, queue it (its expected place), or, for
// QueueNever, refuse it until RetryAfter.
type Prediction struct {
	Send       bool
	Queue      *QueueSlot
	RetryAfter time.Duration
}

// PredictCreates predicts, from the ledger and the payer's queue and without calling AWS, what n creates of new
// accounts under the billing profile in the mode would do, in order (a batch's dry run). It assumes AWS agrees
// with the ledger and that nothing else is sent or accepted meanwhile.
func (s *Invites) PredictCreates(ctx context.Context, p Principal, billingProfileID string, n int, mode QueueMode) ([]Prediction, error) {
	bp, err := s.profileFor(ctx, p, billingProfileID, write)
	if err != nil {
		return nil, err
	}
	q, l, err := s.quotaState(ctx, s.store, bp.ManagementAccountID)
	if err != nil {
		return nil, err
	}
	queued, err := s.store.InvitesOfPayer(ctx, bp.ManagementAccountID, []State{StateQueued})
	if err != nil {
		return nil, err
	}
	out := make([]Prediction, n)
	for i := range out {
		if (mode != QueueBatch || len(queued) == 0) && q.free(sendMode(mode)) > 0 {
			out[i].Send = true
			q.used++
			q.expiries = append(q.expiries, q.now.Add(QuotaWindow))
			continue
		}
		if mode == QueueNever {
			out[i].RetryAfter = max(q.nextSlot(QueueWhenFull).Sub(q.now), time.Second)
			continue
		}
		cand := Invite{ID: fmt.Sprintf("~predicted-%06d", i), BillingProfileID: bp.ID, CreatedAt: q.now.Add(time.Duration(i)),
			Queue: &QueueSlot{Reason: QueueDailyQuota, Mode: mode}}
		out[i].Queue = place(q, l, queued, cand)
		cand.Queue = out[i].Queue
		queued = append(queued, cand)
	}
	return out, nil
}
