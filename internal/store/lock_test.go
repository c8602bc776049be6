package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cloudreseller/aws-invites/internal/store"
	"github.com/cloudreseller/aws-invites/internal/store/storetest"
)

func TestLockPayer(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) {
			url := storetest.URL(t, d)
			one := storetest.MustOpen(t, url, store.Options{})
			two := one
			if d == store.DialectPostgres {
				two = storetest.MustOpen(t, url, store.Options{}) // another process, as far as the server knows
			}
			ctx := context.Background()
			unlock, err := one.LockPayer(ctx, "111111111111")
			if err != nil {
				t.Fatal(err)
			}
			// The same payer waits; another payer does not.
			short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
			defer cancel()
			if _, err := two.LockPayer(short, "111111111111"); err == nil {
				t.Fatal("a second holder got the payer's lock")
			}
			other, err := two.LockPayer(ctx, "222222222222")
			if err != nil {
				t.Fatalf("another payer: %v", err)
			}
			if err := other(); err != nil {
				t.Fatal(err)
			}
			// Once released, a waiter gets it.
			got := make(chan error, 1)
			go func() {
				u, err := two.LockPayer(ctx, "111111111111")
				if err == nil {
					err = u()
				}
				got <- err
			}()
			time.Sleep(50 * time.Millisecond)
			if err := unlock(); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-got:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the waiter never got the released lock")
			}
		})
	}
}

// TestPayerLeaseHoldsNoConnection: a payer's lock is a lease row, not a session: a pool of two connections holds
// leases on far more payers than it has connections, and still answers other statements meanwhile.
func TestPayerLeaseHoldsNoConnection(t *testing.T) {
	url := storetest.URL(t, store.DialectPostgres)
	st := storetest.MustOpen(t, url, store.Options{MaxConns: 2})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var unlocks []func() error
	for i := range 20 {
		u, err := st.LockPayer(ctx, fmt.Sprintf("%012d", i))
		if err != nil {
			t.Fatalf("payer %d: %v", i, err)
		}
		unlocks = append(unlocks, u)
	}
	if err := st.Ping(ctx); err != nil {
		t.Fatalf("the pool is exhausted by held leases: %v", err)
	}
	for _, u := range unlocks {
		if err := u(); err != nil {
			t.Fatal(err)
		}
	}
	var left int
	if err := st.SQLDB().QueryRowContext(ctx, "SELECT count(*) FROM payer_leases").Scan(&left); err != nil || left != 0 {
		t.Fatalf("leases left after release: %d (%v)", left, err)
	}
}

// TestPayerLeaseOfDeadHolder: a lease whose holder stopped renewing it (a replica killed) is taken once expired,
// and not before.
func TestPayerLeaseOfDeadHolder(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) {
			st := storetest.MustOpen(t, storetest.URL(t, d), store.Options{})
			ctx := context.Background()
			now := time.Now()
			for _, l := range []struct {
				payer   string
				expires time.Time
			}{{"111111111111", now.Add(-time.Second)}, {"222222222222", now.Add(time.Hour)}} {
				if _, err := st.SQLDB().ExecContext(ctx, "INSERT INTO payer_leases (payer, holder, expires_at) VALUES ($1, 'dead-replica', $2)",
					l.payer, l.expires.UnixMilli()); err != nil {
					t.Fatal(err)
				}
			}
			unlock, err := st.LockPayer(ctx, "111111111111")
			if err != nil {
				t.Fatalf("an expired lease was not taken: %v", err)
			}
			if err := unlock(); err != nil {
				t.Fatal(err)
			}
			short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
			defer cancel()
			if _, err := st.LockPayer(short, "222222222222"); err == nil {
				t.Fatal("a lease still valid was taken")
			}
		})
	}
}

// TestPayerLeaseOutlivesItsTTLWhileHeldAndIsTakenOverWhenItsHolderDies: two processes on one database. While the
// first holds a payer's lease and lives, its renewals keep the second out for several times the lease's TTL; once
// it dies without giving the lease back (its connections gone, no renewal, no release), the second takes the lease
// after the TTL and not before.
func TestPayerLeaseOutlivesItsTTLWhileHeldAndIsTakenOverWhenItsHolderDies(t *testing.T) {
	t.Parallel()
	const ttl = 2 * time.Second // renewed every 667 ms, each renewal given as long: room for a loaded machine
	url := storetest.URL(t, store.DialectPostgres)
	holder := storetest.MustOpen(t, url, store.Options{PayerLeaseTTL: ttl})
	other := storetest.MustOpen(t, url, store.Options{PayerLeaseTTL: ttl})
	ctx := context.Background()
	if _, err := holder.LockPayer(ctx, "111111111111"); err != nil {
		t.Fatal(err)
	}
	alive, cancel := context.WithTimeout(ctx, 3*ttl)
	defer cancel()
	if _, err := other.LockPayer(alive, "111111111111"); err == nil {
		t.Fatalf("the lease was taken from a living holder within %s (renewals every %s)", 3*ttl, ttl/3)
	}

	// The holder dies: its connections close, nothing renews or releases the lease any more.
	if err := holder.Close(); err != nil {
		t.Fatal(err)
	}
	died := time.Now()
	unlock, err := other.LockPayer(ctx, "111111111111")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = unlock() }()
	// The last renewal was at most ttl/3 before the death, so the lease had at least 2/3 of the TTL left.
	if waited := time.Since(died); waited < ttl*2/3 || waited > ttl+2*time.Second {
		t.Errorf("took the dead holder's lease %s after its death, want between %s and the TTL plus the polling (%s)",
			waited.Round(time.Millisecond), ttl*2/3, ttl+2*time.Second)
	}
	var holders int
	if err := other.SQLDB().QueryRowContext(ctx, "SELECT count(*) FROM payer_leases WHERE payer = '111111111111'").Scan(&holders); err != nil || holders != 1 {
		t.Fatalf("leases of the payer: %d (%v), want the one taken over", holders, err)
	}
}
