package store

import (
	"context"
	cryptorand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// A payer's lock is a lease: a row of payer_leases (migration 00012) naming its holder and an expiry, taken with one
// INSERT ... ON CONFLICT that only replaces an expired row, renewed while the holder works and deleted when it is
// done. It replaces a PostgreSQL session advisory lock, which pinned a pooled connection for the whole of a payer's
// pass, most of it spent waiting on AWS: with hundreds of payers in progress the pool ran dry. A lease costs a
// connection only for the length of each statement, works the same on SQLite (where it also keeps a
// `reconcile --once` process off the payers a serving process works), and a holder that dies without giving it
// back loses it after the lease's TTL (Options.PayerLeaseTTL, 30 s by default) instead of at the end of its TCP session.
//
// River's uniqueness alone would not do: it keeps two periodic jobs of one payer apart, but not a job from a
// refresh, a `reconcile --once` or the sandbox's clock, which call the work directly.
//
// Expiries are the holders' own real clocks (never the sandbox's clock, which jumps days): replicas' clocks must
// agree within a few seconds, far below the TTL, as they do under NTP.
const (
	// defaultLeaseTTL is how long a lease lasts without renewal: how long a payer waits after its holder died.
	// A held lease is renewed every third of it, surviving two failed renewals in a row.
	defaultLeaseTTL = 30 * time.Second
	// leasePollMin and leasePollMax bound the wait between two attempts to take a lease someone else holds.
	leasePollMin = 20 * time.Millisecond
	leasePollMax = time.Second
)

// The lease statements; $n binds by number on both databases (dialect.go).
const (
	takeLeaseSQL = `INSERT INTO payer_leases (payer, holder, expires_at) VALUES ($1, $2, $3)
ON CONFLICT (payer) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
WHERE payer_leases.expires_at < $4`
	renewLeaseSQL   = `UPDATE payer_leases SET expires_at = $3 WHERE payer = $1 AND holder = $2`
	releaseLeaseSQL = `DELETE FROM payer_leases WHERE payer = $1 AND holder = $2`
)

// payerLocks serialises the holders of one process before they take the database lease, so that waiters in the
// same process are woken as soon as the lease is given back instead of polling for it.
type payerLocks struct {
	mu   sync.Mutex
	held map[string]chan struct{}
}

// LockPayer holds an exclusive lease on one payer until unlock is called, across every process on the database
// (see above). It waits for the lease until ctx ends. The lease is renewed in the background while held; when a
// renewal finds it taken over (its holder was cut off from the database longer than the TTL) it logs so: the
// holder's writes are still guarded by each invite's version.
func (s *Store) LockPayer(ctx context.Context, payer string) (unlock func() error, err error) {
	local, err := s.locks.lock(ctx, payer)
	if err != nil {
		return nil, err
	}
	holder := newHolder()
	if err := s.takeLease(ctx, payer, holder); err != nil {
		_ = local()
		return nil, err
	}
	stop, done := make(chan struct{}), make(chan struct{})
	bg := context.WithoutCancel(ctx)
	go func() {
		defer close(done)
		t := time.NewTicker(s.leaseTTL / 3)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				s.renewLease(bg, payer, holder)
			}
		}
	}()
	var once sync.Once
	return func() error {
		var err error
		once.Do(func() {
			close(stop)
			<-done
			rctx, cancel := context.WithTimeout(bg, 10*time.Second)
			defer cancel()
			if _, derr := s.sqlDB.ExecContext(rctx, releaseLeaseSQL, payer, holder); derr != nil {
				// Not given back: it expires on its own after the TTL.
				err = fmt.Errorf("store: release the lease of payer %s: %w", payer, derr)
			}
			err = errors.Join(err, local())
		})
		return err
	}, nil
}

// takeLease waits until it holds the payer's lease, backing off from leasePollMin to leasePollMax (jittered, so
// that replicas waiting for one payer do not ask in step).
func (s *Store) takeLease(ctx context.Context, payer, holder string) error {
	wait := leasePollMin
	for {
		now := time.Now()
		res, err := s.sqlDB.ExecContext(ctx, takeLeaseSQL, payer, holder, now.Add(s.leaseTTL).UnixMilli(), now.UnixMilli())
		if err != nil {
			return fmt.Errorf("store: lock payer %s: %w", payer, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("store: lock payer %s: %w", payer, err)
		} else if n == 1 {
			return nil
		}
		t := time.NewTimer(wait/2 + rand.N(wait/2+1))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("store: lock payer %s: %w", payer, ctx.Err())
		}
		wait = min(2*wait, leasePollMax)
	}
}

func (s *Store) renewLease(ctx context.Context, payer, holder string) {
	ctx, cancel := context.WithTimeout(ctx, s.leaseTTL/3)
	defer cancel()
	res, err := s.sqlDB.ExecContext(ctx, renewLeaseSQL, payer, holder, time.Now().Add(s.leaseTTL).UnixMilli())
	if err != nil {
		s.log.WarnContext(ctx, "store: renewing a payer's lease failed; it expires unless a later renewal succeeds",
			"payer", payer, "error", err)
		return
	}
	if n, _ := res.RowsAffected(); n == 0 {
		s.log.ErrorContext(ctx, "store: a payer's lease was taken over while held (renewals failed longer than the lease lasts)",
			"payer", payer, "ttl", s.leaseTTL)
	}
}

// newHolder names one taking of a lease: unique across processes and within one, so that a release or renewal
// never touches a lease another holder took after this one expired.
func newHolder() string {
	var b [12]byte
	_, _ = cryptorand.Read(b[:])
	return hex.EncodeToString(b[:])
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
