package chsim

import (
	"context"
	"slices"
	"sync"
	"time"
)

// Store keeps the simulator's accounts, so that a restarted process, or a second one, sees the same accounts.
// NewMemoryStore keeps them in this process; NewSQLStore in the service's database. Only this package implements
// it.
type World interface {
	// put creates or updates accounts by owner id, in one atomic step. A new account takes the next id and all of
	// a; an existing one takes a's level, payer and update times, and a's role only when it has none yet.
	put(ctx context.Context, accounts []Account) error
	// page returns up to limit accounts in id order, skipping the first offset.
	page(ctx context.Context, offset, limit int) ([]Account, error)
	get(ctx context.Context, id int64) (Account, bool, error)
	// externalID gives the account the external id fresh unless it has one, and returns the one it keeps; found
	// is false when there is no such account.
	externalID(ctx context.Context, id int64, fresh string) (ext string, found bool, err error)
}

// Account is one AWS account as the simulator keeps it.
type Account struct {
	ID             int64
	Name           string
	OwnerID        string
	PayerAccountID string // "" when CloudHealth has no payer
	Level          string
	LastUpdate     time.Time
	ExternalID     string
	RoleArn        string
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// firstID makes simulated ids look like CloudHealth's (large numbers), so int64 handling is exercised. Ids only
// grow, so an account created while a client pages through the list lands on a later page instead of shifting
// the ones it has seen.
const firstID = 206158430001

// NewMemoryStore returns an empty store in this process's memory; several simulators may share it.
func NewMemoryStore() World { return &memoryStore{byOwner: map[string]int{}} }

type memoryStore struct {
	mu       sync.Mutex
	accounts []Account      // in id order; ids are firstID, firstID+1, ...
	byOwner  map[string]int // index in accounts
}

func (m *memoryStore) put(ctx context.Context, accounts []Account) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, a := range accounts {
		i, ok := m.byOwner[a.OwnerID]
		if !ok {
			a.ID = firstID + int64(len(m.accounts))
			m.byOwner[a.OwnerID] = len(m.accounts)
			m.accounts = append(m.accounts, a)
			continue
		}
		old := &m.accounts[i]
		old.Level, old.PayerAccountID, old.LastUpdate, old.UpdatedAt = a.Level, a.PayerAccountID, a.LastUpdate, a.UpdatedAt
		if old.RoleArn == "" {
			old.RoleArn = a.RoleArn
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

// at returns the index of the account with this id, or -1.
func (m *memoryStore) at(id int64) int {
	if i := id - firstID; i >= 0 && i < int64(len(m.accounts)) {
		return int(i)
	}
	return -1
}

func (m *memoryStore) get(ctx context.Context, id int64) (Account, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if i := m.at(id); i >= 0 {
		return m.accounts[i], true, ctx.Err()
	}
	return Account{}, false, ctx.Err()
}

func (m *memoryStore) externalID(ctx context.Context, id int64, fresh string) (string, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	i := m.at(id)
	if i < 0 {
		return "", false, ctx.Err()
	}
	if m.accounts[i].ExternalID == "" {
		m.accounts[i].ExternalID = fresh
	}
	return m.accounts[i].ExternalID, true, ctx.Err()
}
