// Package testclock is a clock that tests move by hand, so the lifecycle's five minutes, 48 hours and 15 days pass
// without waiting. It satisfies invite.Clock, and its Now method serves the simulators' clock options.
package testclock

import (
	"sync"
	"time"
)

// Clock tells a time that moves only when told to. It is safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// New returns a clock standing at t.
func New(t time.Time) *Clock { return &Clock{now: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
