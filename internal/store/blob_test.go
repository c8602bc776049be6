package store_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"

	"github.com/cloudreseller/aws-invites/internal/store"
	"github.com/cloudreseller/aws-invites/internal/store/storetest"
)

func readBlob(t *testing.T, b *store.Blob) []byte {
	t.Helper()
	var got []byte
	if err := b.Transact(context.Background(), func(state []byte) ([]byte, error) {
		got = state
		return state, nil
	}); err != nil {
		t.Fatalf("read blob: %v", err)
	}
	return got
}

func TestBlobTransact(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		b := s.Blob("world")
		if got := readBlob(t, b); got != nil {
			t.Fatalf("new blob holds %q, want nil", got)
		}
		if err := b.Transact(ctx, func([]byte) ([]byte, error) { return []byte(`{"v":1}`), nil }); err != nil {
			t.Fatalf("write: %v", err)
		}
		if got := string(readBlob(t, b)); got != `{"v":1}` {
			t.Fatalf("blob holds %q after write", got)
		}
		boom := errors.New("boom")
		err := b.Transact(ctx, func([]byte) ([]byte, error) { return []byte("lost"), boom })
		if !errors.Is(err, boom) {
			t.Fatalf("Transact returned %v, want fn's error", err)
		}
		if got := string(readBlob(t, b)); got != `{"v":1}` {
			t.Fatalf("a failed fn wrote %q", got)
		}
		if got := readBlob(t, s.Blob("other")); got != nil {
			t.Fatalf("another name shares the content: %q", got)
		}
	})
}

// Two processes (two Stores on one database) incrementing one counter lose no update.
func TestBlobTransactAcrossStores(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			url := storetest.URL(t, d)
			a := storetest.MustOpen(t, url, store.Options{})
			b := storetest.MustOpenUnmigrated(t, url, store.Options{})
			const workers, rounds = 4, 25
			var wg sync.WaitGroup
			errs := make(chan error, workers*rounds)
			for w := range workers {
				s := a
				if w%2 == 1 {
					s = b
				}
				wg.Go(func() {
					for range rounds {
						err := s.Blob("counter").Transact(context.Background(), func(state []byte) ([]byte, error) {
							n := 0
							if state != nil {
								var err error
								if n, err = strconv.Atoi(string(state)); err != nil {
									return nil, err
								}
							}
							return []byte(strconv.Itoa(n + 1)), nil
						})
						if err != nil {
							errs <- err
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Errorf("increment: %v", err)
			}
			if got, want := string(readBlob(t, a.Blob("counter"))), strconv.Itoa(workers*rounds); got != want {
				t.Fatalf("counter = %s, want %s", got, want)
			}
		})
	}
}
