package orgsim

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"sync"
	"time"
)

// Persistence keeps the simulator's state, a JSON document, between requests, so that several processes (or a
// restarted one) share it. Without one, a Sim keeps its state in memory.
type Persistence interface {
	// Transact calls fn once with the stored state (nil when there is none yet) and stores what fn returns, as one
	// atomic step: no other Transact on the same store may interleave. When fn fails, nothing is stored and its
	// error is returned.
	Transact(ctx context.Context, fn func(state []byte) ([]byte, error)) error
}

// MemoryPersistence keeps the state in memory; one value may be shared by several Sims.
type MemoryPersistence struct {
	mu    sync.Mutex
	state []byte
}

// NewMemoryPersistence returns an empty in-memory store.
func NewMemoryPersistence() *MemoryPersistence { return &MemoryPersistence{} }

// Transact runs fn under the store's lock.
func (m *MemoryPersistence) Transact(ctx context.Context, fn func(state []byte) ([]byte, error)) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	// fn gets its own copy so that it cannot alter the stored bytes when it fails.
	next, err := fn(append([]byte(nil), m.state...))
	if err != nil {
		return err
	}
	m.state = next
	return nil
}

// Account describes an account for the simulator (see Sim.PutAccount). The zero value is an ordinary standalone
// account.
type Account struct {
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
	// State is the account's state as DescribeAccount reports it; ACTIVE when empty.
	State string `json:"state,omitempty"`
	// MemberOf makes the account a member of the organization of this management account (JoinedMethod INVITED).
	MemberOf string `json:"-"`
	// Members makes the account the management account of an organization with these member accounts.
	Members []string `json:"-"`
	// EmailUnverified makes the account's invitations, as a management account, fail with
	// AccountOwnerNotVerifiedException.
	EmailUnverified bool `json:"emailUnverified,omitempty"`
	// InviteRefusal, when set, is the HandshakeConstraintViolationException reason with which invitations of this
	// account are refused (ALREADY_IN_AN_ORGANIZATION, PAYMENT_INSTRUMENT_REQUIRED, ...).
	InviteRefusal string `json:"inviteRefusal,omitempty"`
}

// state is the whole simulated world; it is stored as JSON by a Persistence.
type state struct {
	NextSeq    int64                `json:"nextSeq"`
	Orgs       map[string]*orgState `json:"orgs"`       // by management account id
	Handshakes []*handshakeState    `json:"handshakes"` // in the order they were created
	Accounts   map[string]Account   `json:"accounts"`   // accounts described with PutAccount
}

type orgState struct {
	ID        string                 `json:"id"`
	CreatedAt time.Time              `json:"createdAt"`
	Members   map[string]memberState `json:"members"` // the management account excluded
}

type memberState struct {
	JoinedMethod string    `json:"joinedMethod"`
	JoinedAt     time.Time `json:"joinedAt"`
}

type handshakeState struct {
	Seq         int64     `json:"seq"`
	ID          string    `json:"id"`
	MgmtID      string    `json:"mgmtId"`
	OrgID       string    `json:"orgId"`
	AccountID   string    `json:"accountId"`
	Notes       string    `json:"notes,omitempty"`
	State       string    `json:"state"`
	RequestedAt time.Time `json:"requestedAt"`
	EndedAt     time.Time `json:"endedAt,omitzero"`
}

// Lifetimes of handshakes, as AWS documents them.
const (
	handshakeLifetime = 15 * 24 * time.Hour
	purgeAfter        = 30 * 24 * time.Hour
)

func decodeState(b []byte) (*state, error) {
	st := &state{}
	if len(b) > 0 {
		if err := json.Unmarshal(b, st); err != nil {
			return nil, fmt.Errorf("decode simulator state: %w", err)
		}
	}
	if st.Orgs == nil {
		st.Orgs = map[string]*orgState{}
	}
	if st.Accounts == nil {
		st.Accounts = map[string]Account{}
	}
	return st, nil
}

// advance applies what time does on its own: expiry of open handshakes and purge of ended ones.
func (st *state) advance(now time.Time) {
	kept := st.Handshakes[:0]
	for _, h := range st.Handshakes {
		if h.State == "OPEN" && !now.Before(h.RequestedAt.Add(handshakeLifetime)) {
			h.State = "EXPIRED"
			h.EndedAt = h.RequestedAt.Add(handshakeLifetime)
		}
		if h.State != "OPEN" && !now.Before(h.EndedAt.Add(purgeAfter)) {
			continue
		}
		kept = append(kept, h)
	}
	st.Handshakes = kept
}

// org returns the organization managed by mgmt, creating it on first use.
func (st *state) org(mgmt string, now time.Time) *orgState {
	o, ok := st.Orgs[mgmt]
	if !ok {
		o = &orgState{ID: orgIDFor(mgmt), CreatedAt: now, Members: map[string]memberState{}}
		st.Orgs[mgmt] = o
	}
	return o
}

// memberOf returns the management account of the organization the account is a (non-management) member of.
func (st *state) memberOf(account string) (string, bool) {
	for mgmt, o := range st.Orgs {
		if _, ok := o.Members[account]; ok {
			return mgmt, true
		}
	}
	return "", false
}

// join makes account a member of mgmt's organization, leaving any other organization it belonged to; an
// organization the account managed itself, necessarily without members here, ceases to exist.
func (st *state) join(mgmt, account, method string, at time.Time) {
	for m, o := range st.Orgs {
		if m != mgmt {
			delete(o.Members, account)
		}
	}
	delete(st.Orgs, account)
	st.org(mgmt, at).Members[account] = memberState{JoinedMethod: method, JoinedAt: at}
}

func (st *state) handshake(id string) *handshakeState {
	for _, h := range st.Handshakes {
		if h.ID == id {
			return h
		}
	}
	return nil
}

const alnum = "0123456789abcdefghijklmnopqrstuvwxyz"

// orgIDFor derives a stable organization id from its management account id, so that the same account always
// manages the same organization, in every process.
func orgIDFor(mgmt string) string {
	sum := sha256.Sum256([]byte("orgsim organization " + mgmt))
	b := make([]byte, 10)
	for i := range b {
		b[i] = alnum[int(sum[i])%len(alnum)]
	}
	return "o-" + string(b)
}
