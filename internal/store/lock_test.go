package store_test

import (
	"context"
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
