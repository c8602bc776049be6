package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/cloudreseller/aws-invites/internal/invite"
	"github.com/cloudreseller/aws-invites/internal/store"
)

func TestIdempotencyKeyLifecycle(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 11, 26, 7, 0, 0, 123456789, time.UTC)

		rec, reserved, err := s.ReserveIdempotencyKey(ctx, "user-1", "k1", "hash-a", now)
		if err != nil || !reserved {
			t.Fatalf("first reserve: reserved=%v err=%v", reserved, err)
		}
		want := store.IdempotencyRecord{Scope: "user-1", Key: "k1", RequestHash: "hash-a", CreatedAt: now.Truncate(time.Microsecond),
			ReservedAt: now.Truncate(time.Microsecond)}
		wantEqual(t, "reservation", rec, want)

		// While the first request runs, a retry sees the reservation in progress.
		rec, reserved, err = s.ReserveIdempotencyKey(ctx, "user-1", "k1", "hash-b", now.Add(time.Second))
		if err != nil || reserved {
			t.Fatalf("second reserve: reserved=%v err=%v", reserved, err)
		}
		wantEqual(t, "record in progress", rec, want)
		if rec.Complete() {
			t.Fatal("a reservation reads as complete")
		}

		// The same key in another scope is independent.
		if _, reserved, err := s.ReserveIdempotencyKey(ctx, "user-2", "k1", "hash-a", now); err != nil || !reserved {
			t.Fatalf("other scope: reserved=%v err=%v", reserved, err)
		}

		body := []byte(`{"id":"inv-1"}`)
		if err := s.CompleteIdempotencyKey(ctx, "user-1", "k1", 201, "/billing-profiles/bp/aws-invites/inv-1", body); err != nil {
			t.Fatalf("complete: %v", err)
		}
		rec, reserved, err = s.ReserveIdempotencyKey(ctx, "user-1", "k1", "hash-a", now.Add(time.Minute))
		if err != nil || reserved {
			t.Fatalf("reserve after completion: reserved=%v err=%v", reserved, err)
		}
		want.Status, want.Location, want.Body = 201, "/billing-profiles/bp/aws-invites/inv-1", body
		wantEqual(t, "completed record", rec, want)

		// Releasing a completed key keeps its response.
		if err := s.ReleaseIdempotencyKey(ctx, "user-1", "k1"); err != nil {
			t.Fatalf("release completed: %v", err)
		}
		if rec, _, _ := s.ReserveIdempotencyKey(ctx, "user-1", "k1", "hash-a", now); rec.Status != 201 {
			t.Fatalf("release removed a completed record: %+v", rec)
		}

		// A failed request releases its reservation and the key can be used again.
		if _, reserved, err := s.ReserveIdempotencyKey(ctx, "user-1", "k2", "hash-a", now); err != nil || !reserved {
			t.Fatalf("reserve k2: reserved=%v err=%v", reserved, err)
		}
		if err := s.ReleaseIdempotencyKey(ctx, "user-1", "k2"); err != nil {
			t.Fatalf("release: %v", err)
		}
		if _, reserved, err := s.ReserveIdempotencyKey(ctx, "user-1", "k2", "hash-c", now); err != nil || !reserved {
			t.Fatalf("reserve after release: reserved=%v err=%v", reserved, err)
		}
		wantCode(t, s.CompleteIdempotencyKey(ctx, "user-1", "never-reserved", 200, "", nil), invite.CodeNotFound)

		// An empty body is stored as empty, not as "no response".
		if err := s.CompleteIdempotencyKey(ctx, "user-1", "k2", 204, "", nil); err != nil {
			t.Fatalf("complete without body: %v", err)
		}
		if rec, _, _ := s.ReserveIdempotencyKey(ctx, "user-1", "k2", "hash-c", now); rec.Status != 204 || rec.Body == nil || len(rec.Body) != 0 {
			t.Fatalf("record without body read back as %+v", rec)
		}

		// Purging drops records older than the cut-off only.
		if _, _, err := s.ReserveIdempotencyKey(ctx, "user-1", "new", "h", now.Add(48*time.Hour)); err != nil {
			t.Fatalf("reserve new: %v", err)
		}
		n, err := s.PurgeIdempotencyKeys(ctx, now.Add(24*time.Hour))
		if err != nil || n != 3 {
			t.Fatalf("purged %d (%v), want 3", n, err)
		}
		if _, reserved, _ := s.ReserveIdempotencyKey(ctx, "user-1", "new", "h", now); reserved {
			t.Fatal("purge removed a record newer than the cut-off")
		}
		if _, reserved, _ := s.ReserveIdempotencyKey(ctx, "user-1", "k1", "h", now); !reserved {
			t.Fatal("purge kept a record older than the cut-off")
		}
	})
}

func TestIdempotencyReserveRace(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *store.Store) {
		const n = 20
		reserved := make([]bool, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				_, reserved[i], errs[i] = s.ReserveIdempotencyKey(context.Background(), "user-1", "race", "hash", base)
			})
		}
		close(start)
		wg.Wait()
		won := 0
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("reserve %d: %v", i, errs[i])
			}
			if reserved[i] {
				won++
			}
		}
		if won != 1 {
			t.Fatalf("%d concurrent reservations won, want exactly 1", won)
		}
	})
}

// A reservation whose request died is taken over by one retry only once it is older than the bound it is given,
// and a request may mark its own reservation as dead at once; a completed record is never taken over.
func TestReclaimIdempotencyKey(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		reserved := time.Date(2026, 11, 26, 7, 0, 0, 0, time.UTC)
		if _, ok, err := s.ReserveIdempotencyKey(ctx, "u", "k", "h", reserved); err != nil || !ok {
			t.Fatalf("reserve: %v %v", ok, err)
		}
		// Not yet dead: a retry 10 s later with a 35 s bound does not take it.
		now := reserved.Add(10 * time.Second)
		if took, err := s.ReclaimIdempotencyKey(ctx, "u", "k", now.Add(-35*time.Second), now); err != nil || took {
			t.Fatalf("reclaim of a live reservation: %v %v", took, err)
		}
		// Dead: of concurrent retries exactly one takes it.
		now = reserved.Add(40 * time.Second)
		var wg sync.WaitGroup
		var mu sync.Mutex
		took := 0
		for range 8 {
			wg.Go(func() {
				ok, err := s.ReclaimIdempotencyKey(ctx, "u", "k", now.Add(-35*time.Second), now)
				if err != nil {
					t.Error(err)
				}
				if ok {
					mu.Lock()
					took++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if took != 1 {
			t.Fatalf("%d retries took the dead reservation over, want 1", took)
		}
		rec, ok, err := s.ReserveIdempotencyKey(ctx, "u", "k", "h", now)
		if err != nil || ok || !rec.CreatedAt.Equal(now) || rec.Complete() {
			t.Fatalf("after the take-over: %+v %v %v", rec, ok, err)
		}
		// Its request marks it dead at once (stamped as old as a dead one).
		if ok, err := s.ReclaimIdempotencyKey(ctx, "u", "k", now.Add(time.Hour), now.Add(-36*time.Second)); err != nil || !ok {
			t.Fatalf("marking: %v %v", ok, err)
		}
		if ok, err := s.ReclaimIdempotencyKey(ctx, "u", "k", now.Add(-35*time.Second), now); err != nil || !ok {
			t.Fatalf("retry after the mark: %v %v", ok, err)
		}
		if err := s.CompleteIdempotencyKey(ctx, "u", "k", 201, "/x", []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
		if ok, err := s.ReclaimIdempotencyKey(ctx, "u", "k", now.Add(time.Hour), now); err != nil || ok {
			t.Fatalf("a completed record was reclaimed: %v %v", ok, err)
		}
	})
}
