package chsim

import (
	"context"
	"slices"
	"sync"
	"time"
)

// World keeps the simulator's accounts, so that a restarted process, or a second one, sees the same accounts.
// NewMemoryStore keeps them in this process; NewSQLStore in the service's database. Only this package implements
// it.
type World interface {
	// put creates or updates accounts by owner id, and makes sure each of payers exists, in one atomic step. A new
	// account takes the next id and all of a; an existing one takes a's level, payer and update times, and a's role
	// and external id only when it has none yet. A payer that does not exist is created as given; one that exists
	// with no payer becomes its own payer, and is otherwise left alone.
	put(ctx context.Context, accounts, payers []Account) error
	// page returns up to limit accounts in id order, skipping the first offset.
	page(ctx context.Context, offset, limit int) ([]Account, error)
	// count returns how many accounts there are.
	count(ctx context.Context) (int, error)
	get(ctx context.Context, id int64) (Account, bool, error)
	// byOwner returns the accounts of these owner ids (the payers a page names), and which of them are the payer of
	// another account.
	byOwner(ctx context.Context, owners []string) (accounts map[string]Account, heads map[string]bool, err error)
}

// Account is one AWS account as the simulator keeps it. PayerAccountID is the simulator's own truth of which bill
// the account is on (the API never sends it: it shows the payer as CloudHealth documents, by account_type,
// cluster_name and the payer's own record): "" when CloudHealth has not placed the account yet ("Payer N/A"), the
// account's own id for a payer or a standalone account.
type Account struct {
	ID             int64
	Name           string
	OwnerID        string
	PayerAccountID string
	Level          string
	LastUpdate     time.Time
	ExternalID     string // the external id set in the account's authentication
	RoleArn        string // the role set in the account's authentication; "" for none (access_key)
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// firstID makes simulated ids look like CloudHealth's (large numbers), so int64 handling is exercised. Ids only
// grow, so an account created while a client pages through the list lands on a later page instead of shifting
// the ones it has seen.
const firstID = 206158430001

// NewMemoryStore returns an empty store in this process's memory; several simulators may share it.
func NewMemoryStore() World { return &memoryStore{byOwnerIdx: map[string]int{}} }

type memoryStore struct {
	mu         sync.Mutex
	accounts   []Account      // in id order; ids are firstID, firstID+1, ...
	byOwnerIdx map[string]int // index in accounts
}

func (m *memoryStore) add(a Account) {
	a.ID = firstID + int64(len(m.accounts))
	m.byOwnerIdx[a.OwnerID] = len(m.accounts)
	m.accounts = append(m.accounts, a)
}

func (m *memoryStore) put(ctx context.Context, accounts, payers []Account) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, a := range accounts {
		i, ok := m.byOwnerIdx[a.OwnerID]
		if !ok {
			m.add(a)
			continue
		}
		old := &m.accounts[i]
		old.Level, old.PayerAccountID, old.LastUpdate, old.UpdatedAt = a.Level, a.PayerAccountID, a.LastUpdate, a.UpdatedAt
		if old.RoleArn == "" {
			old.RoleArn = a.RoleArn
		}
		if old.ExternalID == "" {
			old.ExternalID = a.ExternalID
		}
	}
	for _, p := range payers {
		i, ok := m.byOwnerIdx[p.OwnerID]
		switch {
		case !ok:
			m.add(p)
		case m.accounts[i].PayerAccountID == "":
			m.accounts[i].PayerAccountID = p.OwnerID
		}
	}
	return nil
}

func (m *memoryStore) page(ctx context.Context, offset, limit int) ([]Account, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if offset >= len(m.accounts) {
		return nil, ctx.Err()
	}
	return slices.Clone(m.accounts[offset:min(len(m.accounts), offset+limit)]), ctx.Err()
}

func (m *memoryStore) count(ctx context.Context) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.accounts), ctx.Err()
}

func (m *memoryStore) get(ctx context.Context, id int64) (Account, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if i := id - firstID; i >= 0 && i < int64(len(m.accounts)) {
		return m.accounts[i], true, ctx.Err()
	}
	return Account{}, false, ctx.Err()
}

func (m *memoryStore) byOwner(ctx context.Context, owners []string) (map[string]Account, map[string]bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	accounts, heads := map[string]Account{}, map[string]bool{}
	for _, o := range owners {
		if i, ok := m.byOwnerIdx[o]; ok {
			accounts[o] = m.accounts[i]
		}
	}
	for _, a := range m.accounts {
		if a.PayerAccountID != "" && a.PayerAccountID != a.OwnerID {
			if _, asked := accounts[a.PayerAccountID]; asked {
				heads[a.PayerAccountID] = true
			}
		}
	}
	return accounts, heads, ctx.Err()
}
