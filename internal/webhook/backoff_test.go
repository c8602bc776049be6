package webhook_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/cloudreseller/aws-invites/internal/webhook"
)

// floors are the documented shortest waits after attempts 1 to 9.
var floors = []time.Duration{
	5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 4 * time.Hour, 8 * time.Hour,
}

func TestBackoffStaysWithinTheDocumentedSchedule(t *testing.T) {
	if webhook.MaxAttempts != len(floors)+1 {
		t.Fatalf("MaxAttempts = %d, want one first attempt and %d retries", webhook.MaxAttempts, len(floors))
	}
	s := webhook.Schedule{Rand: rand.New(rand.NewPCG(1, 2))}
	for seed := range 200 {
		s.Rand = rand.New(rand.NewPCG(uint64(seed), 7))
		for i, floor := range floors {
			if d := s.Backoff(i + 1); d < floor || d >= 2*floor {
				t.Fatalf("seed %d: Backoff(%d) = %s, want in [%s, %s)", seed, i+1, d, floor, 2*floor)
			}
		}
	}
	// Outside 1..9 the schedule is clamped rather than zero, so a caller that miscounts does not retry at once.
	if d := s.Backoff(0); d < floors[0] || d >= 2*floors[0] {
		t.Fatalf("Backoff(0) = %s, want the first wait", d)
	}
	if d := s.Backoff(50); d < 8*time.Hour || d >= 16*time.Hour {
		t.Fatalf("Backoff(50) = %s, want the capped wait", d)
	}
}

func TestBackoffSpansAboutADay(t *testing.T) {
	const deliveries = 2000
	s := webhook.Schedule{Rand: rand.New(rand.NewPCG(42, 42))}
	var total time.Duration
	for range deliveries {
		var span time.Duration
		for attempt := 1; attempt < webhook.MaxAttempts; attempt++ {
			span += s.Backoff(attempt)
		}
		if span < 15*time.Hour+42*time.Minute || span >= 31*time.Hour+26*time.Minute {
			t.Fatalf("one delivery spans %s, want between 15h42m and 31h26m", span)
		}
		total += span
	}
	if mean := total / deliveries; mean < 23*time.Hour || mean > 24*time.Hour+10*time.Minute {
		t.Fatalf("deliveries span %s on average, want about a day", mean)
	}
}

func TestBackoffIsDeterministicWithASeededSource(t *testing.T) {
	run := func(seed uint64) []time.Duration {
		s := webhook.Schedule{Rand: rand.New(rand.NewPCG(seed, 0))}
		var ds []time.Duration
		for attempt := 1; attempt < webhook.MaxAttempts; attempt++ {
			ds = append(ds, s.Backoff(attempt))
		}
		return ds
	}
	a, b, c := run(3), run(3), run(4)
	same := func(x, y []time.Duration) bool {
		for i := range x {
			if x[i] != y[i] {
				return false
			}
		}
		return true
	}
	if !same(a, b) {
		t.Fatalf("the same seed gave %v and %v", a, b)
	}
	if same(a, c) {
		t.Fatalf("seeds 3 and 4 gave the same waits %v: the source is not used", a)
	}
}

func TestBackoffWithoutASourceIsJittered(t *testing.T) {
	var s webhook.Schedule
	seen := map[time.Duration]bool{}
	for range 20 {
		d := s.Backoff(9)
		if d < 8*time.Hour || d >= 16*time.Hour {
			t.Fatalf("Backoff(9) = %s, want in [8h, 16h)", d)
		}
		seen[d] = true
	}
	if len(seen) < 2 {
		t.Fatal("20 waits from the global source were all the same: no jitter")
	}
}
