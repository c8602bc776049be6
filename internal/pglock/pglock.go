// Package pglock holds PostgreSQL session-level advisory locks, each on a connection of its own taken from a pgx
// pool, so that a lock lasts exactly as long as its holder wants and never leaks to another user of the pool.
// The store's and the job engine's migrations take their locks here: a lock that pins a connection suits a short
// run that must exclude every other replica. Per-payer work, which waits on AWS for most of its run, takes a lease
// instead (store.LockPayer), which holds no connection between its statements.
package pglock

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Key names one advisory lock. Advisory locks are per database: other databases on the server are unaffected.
type Key struct {
	lock, unlock string
	args         []any
	name         string // for error messages
}

// ID is the lock keyed by one 64-bit number.
func ID(id int64) Key {
	return Key{lock: "SELECT pg_advisory_lock($1)", unlock: "SELECT pg_advisory_unlock($1)",
		args: []any{id}, name: fmt.Sprintf("%#x", id)}
}

// Named is the lock keyed by a 32-bit space and a name (hashed by PostgreSQL), so that locks on many names in one
// space never collide with the ID locks.
func Named(space int32, name string) Key {
	return Key{lock: "SELECT pg_advisory_lock($1, hashtext($2))", unlock: "SELECT pg_advisory_unlock($1, hashtext($2))",
		args: []any{space, name}, name: name}
}

// Hold waits until it holds the lock (or ctx ends: then it returns ctx's error) and returns the function that
// releases it. Release uses a context of its own, so it works after ctx ended; when the unlock fails the
// connection is closed instead of going back to the pool, which ends the session and frees the lock.
func Hold(ctx context.Context, pool *pgxpool.Pool, k Key) (release func() error, err error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("pglock: connection for lock %s: %w", k.name, err)
	}
	if _, err := conn.Exec(ctx, k.lock, k.args...); err != nil {
		conn.Release()
		return nil, fmt.Errorf("pglock: take lock %s: %w", k.name, err)
	}
	bg := context.WithoutCancel(ctx)
	return func() error {
		defer conn.Release()
		var released bool
		err := conn.QueryRow(bg, k.unlock, k.args...).Scan(&released)
		if err == nil && released {
			return nil
		}
		if err == nil {
			err = errors.New("the lock was not held")
		}
		_ = conn.Conn().Close(bg)
		return fmt.Errorf("pglock: release lock %s (connection closed instead): %w", k.name, err)
	}, nil
}
