package chsim

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Store keeps the simulator's state, so that a restarted process, or a second one, sees the same accounts.
type Store interface {
	// Transact calls fn with the stored state (nil when there is none yet) and stores what fn returns, as one
	// atomic step with respect to every other Transact on the same store, in any process. When fn fails nothing is
	// stored and its error is returned. fn may return the state it was given to change nothing; a store may then
	// skip the write.
	Transact(ctx context.Context, fn func(state []byte) ([]byte, error)) error
}

// MemoryStore is a Store in one process's memory, the default.
type MemoryStore struct {
	mu    sync.Mutex
	state []byte
}

// Transact runs fn under the store's lock.
func (m *MemoryStore) Transact(ctx context.Context, fn func(state []byte) ([]byte, error)) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	next, err := fn(m.state)
	if err != nil {
		return err
	}
	m.state = next
	return nil
}

// Account is one AWS account as the simulator keeps it.
type Account struct {
	ID             int64     `json:"id"`
	Name           string    `json:"name"`
	OwnerID        string    `json:"owner_id"`
	PayerAccountID string    `json:"payer_account_id,omitempty"` // "" when CloudHealth has no payer
	Level          string    `json:"level"`
	LastUpdate     time.Time `json:"last_update"`
	ExternalID     string    `json:"external_id,omitempty"`
	RoleArn        string    `json:"role_arn,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// state is what the Store holds, as JSON. Accounts stay sorted by ID, and IDs only grow, so an account created
// while a client pages through the list lands on a later page instead of shifting the ones it has seen.
type state struct {
	NextID   int64     `json:"next_id"`
	Accounts []Account `json:"accounts"`
}

// firstID makes simulated ids look like CloudHealth's (large numbers), so int64 handling is exercised.
const firstID = 206158430001

func decodeState(raw []byte) (*state, error) {
	st := &state{NextID: firstID}
	if len(raw) == 0 {
		return st, nil
	}
	if err := json.Unmarshal(raw, st); err != nil {
		return nil, fmt.Errorf("chsim: decode stored state: %w", err)
	}
	if st.NextID < firstID {
		st.NextID = firstID
	}
	return st, nil
}

func (st *state) clone() *state {
	return &state{NextID: st.NextID, Accounts: slices.Clone(st.Accounts)}
}

func (st *state) byOwner(ownerID string) int {
	return slices.IndexFunc(st.Accounts, func(a Account) bool { return a.OwnerID == ownerID })
}

func (st *state) byID(id int64) int {
	i, ok := slices.BinarySearchFunc(st.Accounts, id, func(a Account, id int64) int {
		switch {
		case a.ID < id:
			return -1
		case a.ID > id:
			return 1
		}
		return 0
	})
	if !ok {
		return -1
	}
	return i
}
