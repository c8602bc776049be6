// Package testclock is a clock that tests move by hand, so the lifecycle's five minutes, 48 hours and 15 days pass
// without waiting. It satisfies invite.Clock, and its Now method serves the simulators' clock options.
//
// It also decides when "now" is for a test: Start reads NowVar, so that the whole suite can be run as if it were
// another instant (the last day of a month at 23:30, a leap day, ...) and a rule that holds only on some days of the
// calendar shows up on any day, not just on the day it breaks.
package testclock

import (
	"fmt"
	"os"
	"sync"
	"time"
)

// NowVar names the environment variable that sets the instant tests run as if it were now (RFC 3339, for example
// 2028-02-29T12:00:00Z). Unset, tests start at the current time.
const NowVar = "AWS_INVITES_TEST_NOW"

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

// Start returns the instant a test that runs "now" starts its clock at: the one NowVar names, or else the current
// time, in UTC and to the millisecond (what the databases keep). A malformed NowVar is an error, never ignored: a
// run meant for another instant must not pass quietly as today.
func Start() (time.Time, error) {
	s := os.Getenv(NowVar)
	if s == "" {
		return time.Now().UTC().Truncate(time.Millisecond), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("testclock: %s=%q is not an RFC 3339 instant like 2028-02-29T12:00:00Z: %w", NowVar, s, err)
	}
	return t.UTC().Truncate(time.Millisecond), nil
}

// MustStart is Start for test set-up, where a malformed NowVar stops the run.
func MustStart() time.Time {
	t, err := Start()
	if err != nil {
		panic(err)
	}
	return t
}

// NewAtStart returns a clock standing at Start, for a test that moves its time by hand from "now".
func NewAtStart() *Clock { return New(MustStart()) }

// Running is a clock that runs at the real pace from the instant Start gave when it was made: the real clock of a
// process under test (a whole server whose time passes by itself) when the suite runs as if it were another instant.
type Running struct {
	start time.Time
	real  time.Time // the monotonic reading taken with start
}

// NewRunning returns a clock running from Start.
func NewRunning() *Running { return &Running{start: MustStart(), real: time.Now()} }

// Now returns the start plus the real time elapsed since.
func (r *Running) Now() time.Time { return r.start.Add(time.Since(r.real)) }
