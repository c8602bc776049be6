package webhook

import (
	"math/rand/v2"
	"time"
)

// MaxAttempts is how many attempts one delivery gets, the first included; after the last failed attempt the
// delivery has failed.
const MaxAttempts = 10

// floor is the shortest wait after each failed attempt: roughly exponential (each a factor of 2 to 6 over the one
// before), quick at first for a receiver that blinked, then slowing to hours so that a receiver down over a night
// still gets its messages. They add up to 15 h 42 min 35 s.
var floor = [MaxAttempts - 1]time.Duration{
	5 * time.Second,
	30 * time.Second,
	2 * time.Minute,
	10 * time.Minute,
	30 * time.Minute,
	1 * time.Hour,
	2 * time.Hour,
	4 * time.Hour,
	8 * time.Hour,
}

// Schedule is the retry schedule of deliveries. The zero value draws its jitter from the process-wide source and is
// safe for concurrent use.
type Schedule struct {
	// Rand is the source of jitter; nil means math/rand/v2's global source. A *rand.Rand is not safe for
	// concurrent use: tests give one with a fixed seed to get the same waits every run.
	Rand *rand.Rand
}

// Backoff returns how long to wait after attempt number attempt (1 for the first) failed, before the next one.
//
// It is equal jitter over a ceiling of twice the floor: the floor (5 s, 30 s, 2 min, 10 min, 30 min, 1 h, 2 h,
// 4 h and 8 h after attempts 1 to 9) plus a uniform draw from [0, floor), so each wait lies in [floor, 2*floor).
// Jitter keeps the deliveries of many messages that failed together (a partner's outage) from coming back in one
// burst. The ten attempts of a delivery span 15 h 43 min at the least, 31 h 25 min at the most, and about a day
// (23 h 34 min) on average.
//
// Callers stop at MaxAttempts: for attempt >= MaxAttempts Backoff keeps returning the last, capped wait, and for
// attempt < 1 the first one.
func (s Schedule) Backoff(attempt int) time.Duration {
	d := floor[min(max(attempt, 1), len(floor))-1]
	var jitter int64
	if s.Rand != nil {
		jitter = s.Rand.Int64N(int64(d))
	} else {
		jitter = rand.Int64N(int64(d))
	}
	return d + time.Duration(jitter)
}
