package store

import (
	"context"
	"fmt"
	"sync"

	"github.com/cloudreseller/aws-invites/internal/pglock"
)

// payerLockSpace is the first key of the two-key PostgreSQL advisory locks that LockPayer takes (the second is a
// hash of the payer), so they never collide with the migration locks.
const payerLockSpace int32 = 0x6177_7370 // "awsp"

// payerLocks serialises the payers of one SQLite process (SQLite serves a single process).
type payerLocks struct {
	mu   sync.Mutex
	held map[string]chan struct{}
}

// LockPayer holds an exclusive lock on one payer's reconciliation until unlock is called, across every process on
// the database: a PostgreSQL session advisory lock on a connection of its own; on SQLite, a lock of this process.
// It waits for the lock until ctx ends.
func (s *Store) LockPayer(ctx context.Context, payer string) (unlock func() error, err error) {
	if s.pool == nil {
		return s.locks.lock(ctx, payer)
	}
	unlock, err = pglock.Hold(ctx, s.pool, pglock.Named(payerLockSpace, payer))
	if err != nil {
		return nil, fmt.Errorf("store: lock payer %s: %w", payer, err)
	}
	return unlock, nil
}

func (l *payerLocks) lock(ctx context.Context, payer string) (func() error, error) {
	for {
		l.mu.Lock()
		if l.held == nil {
			l.held = map[string]chan struct{}{}
		}
		wait, busy := l.held[payer]
		if !busy {
			done := make(chan struct{})
			l.held[payer] = done
			l.mu.Unlock()
			var once sync.Once
			return func() error {
				once.Do(func() {
					l.mu.Lock()
					delete(l.held, payer)
					l.mu.Unlock()
					close(done)
				})
				return nil
			}, nil
		}
		l.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, fmt.Errorf("store: lock payer %s: %w", payer, ctx.Err())
		}
	}
}
