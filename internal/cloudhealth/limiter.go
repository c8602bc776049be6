package cloudhealth

import (
	"context"
	"sync"
	"time"
)

// DefaultRate is CloudHealth's published limit: 30 REST requests a minute per client (Broadcom KB 420604).
var DefaultRate = Rate{Requests: 30, Per: time.Minute}

// Rate is a request budget: at most Requests in any span of Per.
type Rate struct {
	Requests int
	Per      time.Duration
}

// Clock is the time the limiter reads and waits on; tests give one whose Sleep moves a virtual time, so the
// real rate can be measured without waiting for it.
type Clock interface {
	Now() time.Time
	// Sleep waits d or until ctx ends, whichever comes first; it returns ctx's error in the second case.
	Sleep(ctx context.Context, d time.Duration) error
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Limiter keeps one client within a Rate: no more than Requests sends in any window of Per. It is a sliding window
// rather than a token bucket with a burst of Requests, because CloudHealth does not say how it counts: a full
// bucket followed by its refill can put nearly twice the budget into one calendar minute, which a fixed-window
// server would refuse, while a sliding window stays within the limit however the server counts. A 429 or 503
// (Backoff) closes the budget for one whole window, since CloudHealth documents no Retry-After to say how long.
// It is safe for concurrent use; callers queue in the order they ask.
type Limiter struct {
	rate  Rate
	clock Clock

	mu      sync.Mutex
	sent    []time.Time // the send times of the last rate.Requests reservations, oldest first
	closed  time.Time   // no send before this (set by Backoff)
	waited  time.Duration
	granted int
}

// NewLimiter returns a limiter for the rate; a zero rate is DefaultRate, a nil clock the real time.
func NewLimiter(rate Rate, clock Clock) *Limiter {
	if rate.Requests <= 0 || rate.Per <= 0 {
		rate = DefaultRate
	}
	if clock == nil {
		clock = realClock{}
	}
	return &Limiter{rate: rate, clock: clock}
}

// Rate returns the limiter's budget.
func (l *Limiter) Rate() Rate { return l.rate }

// Wait blocks until one more request fits the budget and counts it as sent then. It fails only when ctx ends
// first; the slot it reserved is then lost, which errs on the side of sending less.
func (l *Limiter) Wait(ctx context.Context) error {
	l.mu.Lock()
	now := l.clock.Now()
	at := now
	if l.closed.After(at) {
		at = l.closed
	}
	// Reservations stay in order, so that the oldest of the last Requests is always sent[0].
	if n := len(l.sent); n > 0 && l.sent[n-1].After(at) {
		at = l.sent[n-1]
	}
	if len(l.sent) == l.rate.Requests {
		if free := l.sent[0].Add(l.rate.Per); free.After(at) {
			at = free
		}
		l.sent = l.sent[1:]
	}
	l.sent = append(l.sent, at)
	l.granted++
	wait := at.Sub(now)
	l.waited += wait
	l.mu.Unlock()
	return l.clock.Sleep(ctx, wait)
}

// Backoff closes the budget until one window from now: after a 429 or 503 without Retry-After, the next window is
// the first moment CloudHealth's count has surely started again. A longer wait the server asked for (retryAfter)
// wins.
func (l *Limiter) Backoff(retryAfter time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	until := l.clock.Now().Add(max(l.rate.Per, retryAfter))
	if until.After(l.closed) {
		l.closed = until
	}
}

// Stats returns how many requests the limiter let through and how long they waited for the budget in all.
func (l *Limiter) Stats() (granted int, waited time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.granted, l.waited
}
