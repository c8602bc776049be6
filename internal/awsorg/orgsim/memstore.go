package orgsim

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"
)

// NewMemoryStore returns an empty world kept in this process's memory; several Sims may share it. Its maps and
// per-organization lists play the SQL store's indexes, so a call never walks the whole world either. It assumes
// the simulators' clocks do not go back, so that handshakes are created in the order of their request times.
func NewMemoryStore() World {
	return &memStore{orgs: map[string]org{}, members: map[string]member{}, accounts: map[string]Account{},
		handshakes: map[string]*handshake{}, byOrg: map[string]*memOrg{},
		transfers: map[string]*transfer{}, bySource: map[string]*seqList[*transfer]{}, byTarget: map[string]*seqList[*transfer]{}}
}

type memStore struct {
	mu         sync.Mutex // held for a whole transaction
	seq        int64
	orgs       map[string]org     // by management account
	members    map[string]member  // by member account
	accounts   map[string]Account // described accounts
	handshakes map[string]*handshake
	byOrg      map[string]*memOrg // by management account; kept when the organization goes, like SQL rows
	tseq       int64
	transfers  map[string]*transfer
	bySource   map[string]*seqList[*transfer] // by the source's management account
	byTarget   map[string]*seqList[*transfer] // by the target's management account
}

// memOrg indexes one organization's members and handshakes.
type memOrg struct {
	members    map[string]bool
	all        seqList[*handshake]             // every handshake, for listing
	byAction   map[string]*seqList[*handshake] // every handshake, by action, for filtered listing
	open       map[openKey]*handshake          // stored OPEN, by action and invited account
	openList   seqList[*handshake]             // invitations stored OPEN
	unaccepted seqList[*handshake]             // invitations not ACCEPTED
}

// openKey is what the database keeps unique among OPEN handshakes of one organization.
type openKey struct{ action, account string }

func (s *memStore) transact(ctx context.Context, fn func(tx) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	t := &memTx{s: s}
	if err := fn(t); err != nil {
		for i := len(t.undo) - 1; i >= 0; i-- {
			t.undo[i]()
		}
		return err
	}
	return nil
}

// memTx records how to undo each change, so that a failed transaction leaves nothing behind.
type memTx struct {
	s    *memStore
	undo []func()
}

func (t *memTx) index(mgmt string) *memOrg {
	o, ok := t.s.byOrg[mgmt]
	if !ok {
		o = &memOrg{members: map[string]bool{}, byAction: map[string]*seqList[*handshake]{}, open: map[openKey]*handshake{}}
		t.s.byOrg[mgmt] = o
	}
	return o
}

func (t *memTx) lockOrg(mgmt string, now time.Time) (org, error) { return t.org(mgmt, now) }

func (t *memTx) org(mgmt string, now time.Time) (org, error) {
	if o, ok := t.s.orgs[mgmt]; ok {
		return o, nil
	}
	o := org{MgmtID: mgmt, ID: orgIDFor(mgmt), CreatedAt: now}
	t.s.orgs[mgmt] = o
	t.undo = append(t.undo, func() { delete(t.s.orgs, mgmt) })
	return o, nil
}

func (t *memTx) deleteOrg(mgmt string) error {
	o, ok := t.s.orgs[mgmt]
	if !ok {
		return nil
	}
	delete(t.s.orgs, mgmt)
	t.undo = append(t.undo, func() { t.s.orgs[mgmt] = o })
	for a := range t.index(mgmt).members {
		if err := t.deleteMember(mgmt, a); err != nil {
			return err
		}
	}
	return nil
}

func (t *memTx) member(account string) (member, bool, error) {
	m, ok := t.s.members[account]
	return m, ok, nil
}

func (t *memTx) setMember(account string, m member, ok bool) {
	if old, had := t.s.members[account]; had {
		delete(t.index(old.MgmtID).members, account)
	}
	delete(t.s.members, account)
	if ok {
		t.s.members[account] = m
		t.index(m.MgmtID).members[account] = true
	}
}

func (t *memTx) putMember(m member) error {
	old, had := t.s.members[m.AccountID]
	t.setMember(m.AccountID, m, true)
	t.undo = append(t.undo, func() { t.setMember(m.AccountID, old, had) })
	return nil
}

func (t *memTx) deleteMember(mgmt, account string) error {
	old, had := t.s.members[account]
	if !had || old.MgmtID != mgmt {
		return nil
	}
	t.setMember(account, member{}, false)
	t.undo = append(t.undo, func() { t.setMember(account, old, true) })
	return nil
}

func (t *memTx) countMembers(mgmt string, limit int) (int, error) {
	return min(len(t.index(mgmt).members), limit), nil
}

func (t *memTx) account(id string) (Account, bool, error) {
	a, ok := t.s.accounts[id]
	return a, ok, nil
}

func (t *memTx) putAccount(id string, a Account) error {
	old, had := t.s.accounts[id]
	t.s.accounts[id] = a
	t.undo = append(t.undo, func() {
		if had {
			t.s.accounts[id] = old
		} else {
			delete(t.s.accounts, id)
		}
	})
	return nil
}

func (t *memTx) addAccount(id string, a Account) (bool, error) {
	if _, ok := t.s.accounts[id]; ok {
		return false, nil
	}
	return true, t.putAccount(id, a)
}

func (t *memTx) handshake(id string) (handshake, bool, error) {
	if h, ok := t.s.handshakes[id]; ok {
		return *h, true, nil
	}
	return handshake{}, false, nil
}

// listMembers sorts the organization's members: an organization has at most its accounts quota of them.
func (t *memTx) listMembers(mgmt, afterAccount string, limit int) ([]member, error) {
	var ids []string
	for a := range t.index(mgmt).members {
		if a > afterAccount {
			ids = append(ids, a)
		}
	}
	slices.Sort(ids)
	out := make([]member, 0, min(limit, len(ids)))
	for _, a := range ids[:min(limit, len(ids))] {
		out = append(out, t.s.members[a])
	}
	return out, nil
}

func (t *memTx) openHandshake(mgmt, action, account string) (handshake, bool, error) {
	if h, ok := t.index(mgmt).open[openKey{action, account}]; ok {
		return *h, true, nil
	}
	return handshake{}, false, nil
}

// countBack counts, up to limit, the handshakes of l requested after since, walking back from the newest.
func countBack(l seqList[*handshake], since time.Time, limit int) int {
	n := 0
	for i := len(l) - 1; i >= 0 && n < limit && l[i].RequestedAt.After(since); i-- {
		n++
	}
	return n
}

func (t *memTx) countOpen(mgmt string, since time.Time, limit int) (int, error) {
	return countBack(t.index(mgmt).openList, since, limit), nil
}

func (t *memTx) countUnaccepted(mgmt string, since time.Time, limit int) (int, error) {
	return countBack(t.index(mgmt).unaccepted, since, limit), nil
}

func (t *memTx) listHandshakes(mgmt, action string, afterSeq int64, now time.Time, limit int) ([]handshake, error) {
	o := t.index(mgmt)
	all := o.all
	if action != "" {
		all = o.list(action)
	}
	start := all.after(afterSeq)
	out := make([]handshake, 0, max(0, min(limit, len(all)-start)))
	for i := start; i < len(all) && len(out) < limit; i++ {
		if all[i].visible(now) {
			out = append(out, *all[i])
		}
	}
	return out, nil
}

// list returns the organization's handshakes of one action.
func (o *memOrg) list(action string) seqList[*handshake] {
	if l, ok := o.byAction[action]; ok {
		return *l
	}
	return nil
}

// listed adds the handshake to (or removes it from) the lists of every handshake.
func (o *memOrg) listed(h *handshake, add bool) {
	o.all.set(h, add)
	l, ok := o.byAction[h.Action]
	if !ok {
		l = &seqList[*handshake]{}
		o.byAction[h.Action] = l
	}
	l.set(h, add)
}

// indexState adds the handshake to (or removes it from) the lists its state puts it in; only invitations count
// for the quotas.
func (t *memTx) indexState(h *handshake, add bool) {
	o := t.index(h.MgmtID)
	if h.State == "OPEN" {
		if add {
			o.open[openKey{h.Action, h.AccountID}] = h
		} else {
			delete(o.open, openKey{h.Action, h.AccountID})
		}
	}
	if h.Action != actionInvite {
		return
	}
	if h.State == "OPEN" {
		o.openList.set(h, add)
	}
	if h.State != "ACCEPTED" {
		o.unaccepted.set(h, add)
	}
}

func (t *memTx) insertHandshake(h *handshake) error {
	t.s.seq++
	h.Seq = t.s.seq
	stored := *h
	p := &stored
	t.s.handshakes[p.ID] = p
	o := t.index(p.MgmtID)
	o.listed(p, true)
	t.indexState(p, true)
	t.undo = append(t.undo, func() {
		t.indexState(p, false)
		o.listed(p, false)
		delete(t.s.handshakes, p.ID)
	})
	return nil
}

func (t *memTx) updateHandshake(h handshake) error {
	p, ok := t.s.handshakes[h.ID]
	if !ok {
		return nil
	}
	old := *p
	replace := func(v handshake) {
		t.indexState(p, false)
		p.State, p.EndedAt = v.State, v.EndedAt
		t.indexState(p, true)
	}
	replace(h)
	t.undo = append(t.undo, func() { replace(old) })
	return nil
}

// purge looks at the organization's oldest handshakes only: every handshake is purged within 45 days of its
// creation, so the oldest go first. It is not undone with the transaction: what it deletes was invisible already.
func (t *memTx) purge(mgmt string, now time.Time, limit int) error {
	o := t.index(mgmt)
	n := min(limit, len(o.all))
	kept := n
	for i := n - 1; i >= 0; i-- {
		h := o.all[i]
		if h.visible(now) {
			kept--
			o.all[kept] = h
			continue
		}
		t.indexState(h, false)
		if l, ok := o.byAction[h.Action]; ok {
			l.set(h, false)
		}
		delete(t.s.handshakes, h.ID)
	}
	o.all = o.all[kept:]
	return nil
}

func (t *memTx) transfer(id string) (transfer, bool, error) {
	if r, ok := t.s.transfers[id]; ok {
		return *r, true, nil
	}
	return transfer{}, false, nil
}

// side returns the list of transfers of one account on one side, created when missing.
func (t *memTx) side(m map[string]*seqList[*transfer], account string) *seqList[*transfer] {
	l, ok := m[account]
	if !ok {
		l = &seqList[*transfer]{}
		m[account] = l
	}
	return l
}

func (t *memTx) insertTransfer(r *transfer) error {
	t.s.tseq++
	r.Seq = t.s.tseq
	stored := *r
	p := &stored
	t.s.transfers[p.ID] = p
	t.side(t.s.bySource, p.SourceID).set(p, true)
	t.side(t.s.byTarget, p.TargetID).set(p, true)
	t.undo = append(t.undo, func() {
		t.side(t.s.bySource, p.SourceID).set(p, false)
		t.side(t.s.byTarget, p.TargetID).set(p, false)
		delete(t.s.transfers, p.ID)
	})
	return nil
}

func (t *memTx) updateTransfer(r transfer) error {
	p, ok := t.s.transfers[r.ID]
	if !ok {
		return nil
	}
	old := *p
	p.Status, p.EndAt = r.Status, r.EndAt
	t.undo = append(t.undo, func() { p.Status, p.EndAt = old.Status, old.EndAt })
	return nil
}

func (t *memTx) liveTransfers(source string, since time.Time) ([]transfer, error) {
	var out []transfer
	for _, r := range *t.side(t.s.bySource, source) {
		if r.Status == "REQUESTED" || r.Status == "ACCEPTED" || (r.Status == "WITHDRAWN" && r.EndAt.After(since)) {
			out = append(out, *r)
		}
	}
	return out, nil
}

func (t *memTx) listTransfers(side, account string, afterSeq int64, limit int) ([]transfer, error) {
	l := *t.side(t.s.bySource, account)
	if side == "target" {
		l = *t.side(t.s.byTarget, account)
	}
	var out []transfer
	for i := l.after(afterSeq); i < len(l) && len(out) < limit; i++ {
		out = append(out, *l[i])
	}
	return out, nil
}

// sequenced is what a seqList holds: rows numbered in creation order.
type sequenced interface {
	comparable
	seqNo() int64
}

// seqList is a list of rows in creation order.
type seqList[T sequenced] []T

// after returns the index of the first row created after the one numbered seq.
func (l seqList[T]) after(seq int64) int {
	i, _ := slices.BinarySearchFunc(l, seq+1, func(h T, s int64) int { return cmp.Compare(h.seqNo(), s) })
	return i
}

// set adds h (always the newest when added) or removes it.
func (l *seqList[T]) set(h T, add bool) {
	if add {
		*l = append(*l, h)
		return
	}
	i := l.after(h.seqNo() - 1)
	switch {
	case i >= len(*l) || (*l)[i] != h:
	case i == 0:
		// The oldest go first (purge, expiry): dropping the head moves nothing.
		*l = (*l)[1:]
	default:
		*l = slices.Delete(*l, i, i+1)
	}
}
