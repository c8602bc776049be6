package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/cloudreseller/aws-invites/internal/invite"
)

// Memory is the domain's Store port kept in memory, for fast tests of the use cases: no database, the same rows.
// It keeps the row types the databases keep, converted as the databases' store converts them, so what it gives
// back is what PostgreSQL and SQLite give back (times in UTC to the microsecond, the same fields dropped), and
// TestStoreContract runs the same checks on all three. It is safe for concurrent use; each method is atomic.
type Memory struct {
	clock invite.Clock

	mu         sync.Mutex
	profiles   map[string]billingProfileRow
	invites    map[string]inviteRow
	events     []eventRow // in sequence order
	seq        int64
	handshakes map[string]inviteHandshakeRow
	curScans   map[[2]string]curScanRow  // by payer and billing period
	curUsage   map[[3]string]curUsageRow // by payer, billing period and account
	locks      payerLocks
	webhooks   *memoryWebhooks // notify.WebhookStore's rows (memory_webhooks.go)
	// chChecks are the last CloudHealth validations by invite (cloudhealth.go), made on first use.
	chChecks map[string]cloudHealthValidationRow
	// batches are the batches of invites by id (batches.go), made on first use.
	batches map[string]batchRow
	// quota is the payers' invitation ledgers and holds (quota.go), made on first use.
	quota *memoryQuota
	// curFeeds are the last looks at each payer's report as a whole (cur.go), made on first use.
	curFeeds map[string]curFeedRow
}

var (
	_ invite.Store    = (*Memory)(nil)
	_ invite.CURStore = (*Memory)(nil)
)

// NewMemory returns an empty store whose zero timestamps are stamped with clock (SystemClock when nil).
func NewMemory(clock invite.Clock) *Memory {
	if clock == nil {
		clock = invite.SystemClock{}
	}
	return &Memory{clock: clock, profiles: map[string]billingProfileRow{}, invites: map[string]inviteRow{},
		handshakes: map[string]inviteHandshakeRow{}, curScans: map[[2]string]curScanRow{}, curUsage: map[[3]string]curUsageRow{},
		webhooks: newMemoryWebhooks()}
}

func (m *Memory) now() time.Time { return dbTime(m.clock.Now()) }

// PutBillingProfile creates or replaces a billing profile.
func (m *Memory) PutBillingProfile(ctx context.Context, bp invite.BillingProfile) (invite.BillingProfile, bool, error) {
	return m.PutBillingProfileIfMatch(ctx, bp, invite.IfMatch{})
}

// PutBillingProfileIfMatch is PutBillingProfile when the precondition holds for the current profile.
func (m *Memory) PutBillingProfileIfMatch(_ context.Context, bp invite.BillingProfile, match invite.IfMatch) (invite.BillingProfile, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	row := profileToRow(stamped(bp, m.now()))
	current, exists := m.profiles[row.ID]
	var cur *invite.BillingProfile
	if exists {
		d := current.domain()
		cur = &d
	}
	if err := ifMatchError(row.ID, match, cur); err != nil {
		return invite.BillingProfile{}, false, err
	}
	if !exists {
		m.profiles[row.ID] = row
		return row.domain(), true, nil
	}
	if current.ManagementAccountID != row.ManagementAccountID {
		holding := 0
		for _, inv := range m.invites {
			if inv.BillingProfileID == row.ID && !invite.State(inv.State).Terminal() {
				holding++
			}
		}
		if holding > 0 {
			return invite.BillingProfile{}, false, payerChangeRefused(row.ID, holding, current.ManagementAccountID)
		}
	}
	row.CreatedAt = current.CreatedAt
	m.profiles[row.ID] = row
	return row.domain(), false, nil
}

// BillingProfile returns one billing profile, or CodeNotFound.
func (m *Memory) BillingProfile(_ context.Context, id string) (invite.BillingProfile, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.profile(id)
}

func (m *Memory) profile(id string) (invite.BillingProfile, error) {
	row, ok := m.profiles[id]
	if !ok {
		return invite.BillingProfile{}, invite.Errorf(invite.CodeNotFound, "billing profile %s not found", id)
	}
	return row.domain(), nil
}

// ProfilesOfPayer returns the billing profiles that name a management account, ordered by id.
func (m *Memory) ProfilesOfPayer(_ context.Context, managementAccountID string) ([]invite.BillingProfile, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []invite.BillingProfile
	for _, row := range m.profiles {
		if row.ManagementAccountID == managementAccountID {
			out = append(out, row.domain())
		}
	}
	slices.SortFunc(out, func(a, b invite.BillingProfile) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// CreateInvite inserts a new invite and its first event; CodeAlreadyOpen when another invite holds the account on
// the payer.
func (m *Memory) CreateInvite(_ context.Context, inv invite.Invite, ev invite.Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if inv.CreatedAt.IsZero() {
		inv.CreatedAt = m.now()
	}
	if inv.UpdatedAt.IsZero() {
		inv.UpdatedAt = inv.CreatedAt
	}
	bp, ok := m.profiles[inv.BillingProfileID]
	if !ok {
		return invite.Errorf(invite.CodeNotFound, "billing profile %s not found", inv.BillingProfileID)
	}
	inv.Payer = bp.ManagementAccountID
	row := inviteToRow(inv)
	if _, dup := m.invites[row.ID]; dup {
		return fmt.Errorf("store: create invite %s: the id exists", row.ID)
	}
	if m.heldByAnother(row) {
		return alreadyHeld(inv, nil)
	}
	m.invites[row.ID] = row
	m.recordHandshake(inv, row.UpdatedAt)
	m.writeEvents(row.UpdatedAt, eventOf(ev, inv))
	return nil
}

// heldByAnother reports whether another invite holds the row's account on its payer while the row would.
func (m *Memory) heldByAnother(row inviteRow) bool {
	if !invite.State(row.State).HoldsAccount() {
		return false
	}
	for _, other := range m.invites {
		if other.ID != row.ID && other.Payer == row.Payer && other.AccountID == row.AccountID && invite.State(other.State).HoldsAccount() {
			return true
		}
	}
	return false
}

// UpdateInvite writes inv if the stored version still equals inv.Version, and appends ev.
func (m *Memory) UpdateInvite(_ context.Context, inv invite.Invite, ev invite.Event) (invite.Invite, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if inv.UpdatedAt.IsZero() {
		inv.UpdatedAt = m.now()
	}
	stored, err := m.current(inv)
	if err != nil {
		return invite.Invite{}, err
	}
	row := inviteToRow(inv)
	// What an update does not write keeps what the create wrote (the columns tagged <-:create).
	row.ID, row.Payer, row.AccountID, row.Kind, row.CreatedAt = stored.ID, stored.Payer, stored.AccountID, stored.Kind, stored.CreatedAt
	row.Version = stored.Version + 1
	if m.heldByAnother(row) {
		return invite.Invite{}, alreadyHeld(inv, nil)
	}
	m.invites[row.ID] = row
	m.recordHandshake(inv, row.UpdatedAt)
	m.writeEvents(row.UpdatedAt, eventOf(ev, inv))
	return row.domain(), nil
}

// current returns the stored row of inv when its version is still inv.Version.
func (m *Memory) current(inv invite.Invite) (inviteRow, error) {
	stored, ok := m.invites[inv.ID]
	if !ok || stored.BillingProfileID != inv.BillingProfileID {
		return inviteRow{}, invite.Errorf(invite.CodeNotFound, "invite %s not found", inv.ID)
	}
	if stored.Version != inv.Version {
		return inviteRow{}, staleVersion(inv)
	}
	return stored, nil
}

// DeleteInvite removes an invite that never reached AWS, with its history, and writes refusal unless empty.
func (m *Memory) DeleteInvite(_ context.Context, inv invite.Invite, refusal invite.Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := m.current(inv); err != nil {
		return err
	}
	delete(m.invites, inv.ID)
	m.events = slices.DeleteFunc(m.events, func(e eventRow) bool { return e.InviteID != nil && *e.InviteID == inv.ID })
	for id, h := range m.handshakes {
		if h.InviteID == inv.ID {
			delete(m.handshakes, id)
		}
	}
	if !refusal.Empty() {
		refusal = eventOf(refusal, inv)
		refusal.InviteID = ""
		m.writeEvents(m.now(), refusal)
	}
	return nil
}

// Invite returns one invite of a billing profile, or CodeNotFound.
func (m *Memory) Invite(_ context.Context, billingProfileID, inviteID string) (invite.Invite, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	row, ok := m.invites[inviteID]
	if !ok || row.BillingProfileID != billingProfileID {
		return invite.Invite{}, invite.Errorf(invite.CodeNotFound, "invite %s not found", inviteID)
	}
	return row.domain(), nil
}

// ProfileAndInvite returns a billing profile and one of its invites (nil when it has no such invite).
func (m *Memory) ProfileAndInvite(_ context.Context, billingProfileID, inviteID string) (invite.BillingProfile, *invite.Invite, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	bp, err := m.profile(billingProfileID)
	if err != nil {
		return bp, nil, err
	}
	row, ok := m.invites[inviteID]
	if !ok || row.BillingProfileID != billingProfileID {
		return bp, nil, nil
	}
	inv := row.domain()
	return bp, &inv, nil
}

// HolderOf returns the invite that holds an account on a payer, or CodeNotFound.
func (m *Memory) HolderOf(_ context.Context, payer, accountID string) (invite.Invite, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, row := range m.invites {
		if row.Payer == payer && row.AccountID == accountID && !invite.State(row.State).Terminal() {
			return row.domain(), nil
		}
	}
	return invite.Invite{}, invite.Errorf(invite.CodeNotFound, "no invite holds account %s on payer %s", accountID, payer)
}

// ReassignInvite moves an invite, with its handshakes and history, to another billing profile of its payer.
func (m *Memory) ReassignInvite(_ context.Context, inv invite.Invite, toProfileID string, out, in invite.Event) (invite.Invite, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if !in.At.IsZero() {
		now = dbTime(in.At)
	}
	target, ok := m.profiles[toProfileID]
	if !ok || target.ManagementAccountID != inv.Payer {
		return invite.Invite{}, differentPayer(toProfileID, inv.Payer)
	}
	row, err := m.current(inv)
	if err != nil {
		return invite.Invite{}, err
	}
	row.BillingProfileID, row.UpdatedAt, row.Version = toProfileID, now, row.Version+1
	m.invites[row.ID] = row
	for i, e := range m.events {
		if e.InviteID != nil && *e.InviteID == inv.ID && e.BillingProfileID == inv.BillingProfileID {
			m.events[i].BillingProfileID = toProfileID
		}
	}
	moved := inv
	moved.BillingProfileID = toProfileID
	m.writeEvents(now, eventOf(out, inv), eventOf(in, moved))
	return row.domain(), nil
}

// HandshakeOwners returns, for every handshake an invite of the payer has or had, which invite that is.
func (m *Memory) HandshakeOwners(_ context.Context, payer string) (map[string]invite.HandshakeOwner, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]invite.HandshakeOwner{}
	for id, h := range m.handshakes {
		if inv, ok := m.invites[h.InviteID]; ok && h.Payer == payer {
			out[id] = invite.HandshakeOwner{InviteID: h.InviteID, BillingProfileID: inv.BillingProfileID}
		}
	}
	return out, nil
}

// ProfileAndPage returns a billing profile and a page of its invites, newest first.
func (m *Memory) ProfileAndPage(_ context.Context, q invite.ListQuery) (invite.BillingProfile, invite.Page, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	bp, err := m.profile(q.BillingProfileID)
	if err != nil {
		return invite.BillingProfile{}, invite.Page{}, err
	}
	return bp, m.page(q), nil
}

// ListInvites returns a page of invites, newest first, of the profile or profiles q names (or of every profile).
func (m *Memory) ListInvites(_ context.Context, q invite.ListQuery) (invite.Page, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.page(q), nil
}

// page reads a page of invites as the databases' pageQuery does; m.mu is held.
func (m *Memory) page(q invite.ListQuery) invite.Page {
	inScope := func(profile string) bool {
		switch {
		case q.BillingProfileID != "":
			return profile == q.BillingProfileID
		case q.AllProfiles:
			return true
		}
		return slices.Contains(q.BillingProfileIDs, profile)
	}
	var rows []inviteRow
	for _, row := range m.invites {
		if !inScope(row.BillingProfileID) || (q.AccountID != "" && row.AccountID != q.AccountID) ||
			(q.Kind != "" && row.Kind != string(q.Kind)) || (q.After != "" && row.ID >= q.After) ||
			(len(q.States) > 0 && !slices.Contains(q.States, invite.State(row.State))) {
			continue
		}
		rows = append(rows, row)
	}
	slices.SortFunc(rows, func(a, b inviteRow) int { return cmp.Compare(b.ID, a.ID) })
	limit := pageLimit(q.Limit)
	return pageOf(rows[:min(len(rows), limit+1)], limit)
}

// Events returns an invite's history under its billing profile, oldest first.
func (m *Memory) Events(_ context.Context, billingProfileID, inviteID string) ([]invite.Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []invite.Event
	for _, e := range m.events {
		if e.InviteID != nil && *e.InviteID == inviteID && e.BillingProfileID == billingProfileID {
			out = append(out, e.domain())
		}
	}
	return out, nil
}

// ListEvents returns a page of the activity feed (events of a type), newest first.
func (m *Memory) ListEvents(_ context.Context, q invite.EventQuery) (invite.EventPage, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	limit := pageLimit(q.Limit)
	var rows []eventRow
	for i := len(m.events) - 1; i >= 0 && len(rows) <= limit; i-- {
		e := m.events[i]
		if e.Type == "" || (q.BillingProfileID != "" && e.BillingProfileID != q.BillingProfileID) ||
			(len(q.Types) > 0 && !slices.Contains(q.Types, invite.EventType(e.Type))) ||
			(!q.Since.IsZero() && e.At.Before(dbTime(q.Since))) || (q.AccountID != "" && e.AccountID != q.AccountID) ||
			(q.Before > 0 && e.ID >= q.Before) {
			continue
		}
		rows = append(rows, e)
	}
	return eventPageOf(rows, limit), nil
}

// InvitesOfPayer returns the invites in the given states of every billing profile of a payer, oldest first.
func (m *Memory) InvitesOfPayer(_ context.Context, managementAccountID string, states []invite.State) ([]invite.Invite, error) {
	return m.invitesWhere(func(r inviteRow) bool {
		return r.Payer == managementAccountID && slices.Contains(states, invite.State(r.State))
	}), nil
}

// InvitesInStates returns every invite in the given states, oldest first.
func (m *Memory) InvitesInStates(_ context.Context, states []invite.State) ([]invite.Invite, error) {
	return m.invitesWhere(func(r inviteRow) bool { return slices.Contains(states, invite.State(r.State)) }), nil
}

func (m *Memory) invitesWhere(keep func(inviteRow) bool) []invite.Invite {
	m.mu.Lock()
	defer m.mu.Unlock()
	var rows []inviteRow
	for _, r := range m.invites {
		if keep(r) {
			rows = append(rows, r)
		}
	}
	slices.SortFunc(rows, func(a, b inviteRow) int { return cmp.Compare(a.ID, b.ID) })
	out := make([]invite.Invite, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out
}

// Payers returns the management account of every billing profile, each once, in order.
func (m *Memory) Payers(context.Context) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, bp := range m.profiles {
		out = append(out, bp.ManagementAccountID)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// LockPayer holds an exclusive lock on a payer until unlock is called (within this process).
func (m *Memory) LockPayer(ctx context.Context, payer string) (func() error, error) {
	return m.locks.lock(ctx, payer)
}

func (m *Memory) recordHandshake(inv invite.Invite, at time.Time) {
	if inv.Handshake == nil {
		return
	}
	if _, ok := m.handshakes[inv.Handshake.ID]; !ok {
		m.handshakes[inv.Handshake.ID] = inviteHandshakeRow{HandshakeID: inv.Handshake.ID, InviteID: inv.ID, Payer: inv.Payer, RecordedAt: at}
	}
}

// writeEvents appends events (skipping empty ones) as the databases' store writes them, without a snapshot.
func (m *Memory) writeEvents(changedAt time.Time, events ...invite.Event) {
	for _, ev := range events {
		if ev.Empty() {
			continue
		}
		if ev.At.IsZero() {
			ev.At = changedAt
		}
		m.seq++
		row := eventToRow(ev)
		row.ID = m.seq
		m.events = append(m.events, row)
	}
}

// CURVersion returns the report version last scanned for a payer and billing period, or "".
func (m *Memory) CURVersion(_ context.Context, payer, period string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.curScans[[2]string{payer, period}].VersionID, nil
}

// SaveCURScan records a scan: each account's usage replaces the previous one, keeping when it was first seen.
func (m *Memory) SaveCURScan(_ context.Context, payer, period string, scan invite.CURScan, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	rows, scanned := scanRowsOf(payer, period, scan, dbTime(at))
	for _, r := range rows {
		key := [3]string{payer, period, r.AccountID}
		if before, ok := m.curUsage[key]; ok {
			r.FirstSeenAt = before.FirstSeenAt
		}
		m.curUsage[key] = r
	}
	m.curScans[[2]string{payer, period}] = scanned
	return nil
}

// CURFeed returns what the last look at a payer's report found of it as a whole; zero (with the payer) when none
// was kept.
func (m *Memory) CURFeed(_ context.Context, payer string) (invite.CURFeed, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.curFeeds[payer]
	if !ok {
		return invite.CURFeed{Payer: payer}, nil
	}
	return r.domain(), nil
}

// SaveCURFeed keeps what a look at a payer's report found of it as a whole, replacing the previous look.
func (m *Memory) SaveCURFeed(_ context.Context, feed invite.CURFeed) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.curFeeds == nil {
		m.curFeeds = map[string]curFeedRow{}
	}
	m.curFeeds[feed.Payer] = curFeedRowOf(feed)
	return nil
}

// CURUsage returns the stored usage of a payer's accounts in a billing period, by account id.
func (m *Memory) CURUsage(_ context.Context, payer, period string) (map[string]invite.CURUsage, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]invite.CURUsage{}
	for key, r := range m.curUsage {
		if key[0] == payer && key[1] == period {
			out[r.AccountID] = r.domain()
		}
	}
	return out, nil
}
