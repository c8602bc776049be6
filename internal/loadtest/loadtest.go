// Package loadtest drives a running aws-invites with a mixed load at a constant arrival rate and reports what the
// service did with it: the rate achieved, errors by status, latency percentiles per kind of request and the
// service's resident memory over time (issue 12's proof that the sandbox holds its rate).
//
// The load is an open model: requests are started on a fixed schedule whatever the service does, each on its own
// goroutine, and a request's latency counts from the moment the schedule meant it to start. A slow service therefore
// shows as latency and as a lower completed rate, never as a politely lower offered load.
package loadtest

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Kind is one kind of request of the mix.
type Kind int

// The kinds of the mix. Reads are GetInvite and ListInvites.
const (
	GetInvite Kind = iota
	ListInvites
	CreateInvite
	CancelInvite
	RefreshInvite
	numKinds
)

func (k Kind) String() string {
	return [...]string{"get", "list", "create", "cancel", "refresh"}[k]
}

// Mix is the share of each kind, in percent; the shares add up to 100.
type Mix [numKinds]int

// DefaultMix is issue 12's: 80% reads (half GET of an invite, half a list page), 10% creates, 5% cancels, 5%
// refreshes.
var DefaultMix = Mix{GetInvite: 40, ListInvites: 40, CreateInvite: 10, CancelInvite: 5, RefreshInvite: 5}

// Config says what load to send where.
type Config struct {
	// BaseURL is the service's root, e.g. http://127.0.0.1:18120.
	BaseURL string
	// Secret, Issuer and Audience sign the tokens as the service verifies them (AUTH_HS256_SECRET, AUTH_ISSUER,
	// AUTH_AUDIENCE).
	Secret           []byte
	Issuer, Audience string
	// Rate is the arrivals per second; Duration how long they are sent.
	Rate     float64
	Duration time.Duration
	// Profiles is how many billing profiles (each with its own payer, customer and user) the load spreads over;
	// InvitesPerProfile how many invites each gets before the load starts, so that reads and cancels have targets.
	Profiles          int
	InvitesPerProfile int
	// Mix is the share of each kind; DefaultMix when zero.
	Mix Mix
	// PID is the service's process, whose VmRSS is sampled every SampleEvery (10 s when zero); 0 for none.
	PID         int
	SampleEvery time.Duration
	// MaxInFlight bounds the requests outstanding at once (4096 when zero); an arrival beyond it is not sent and is
	// counted as missed, so a stalled service cannot make the generator exhaust the machine.
	MaxInFlight int
	// Progress, when set, receives a line per sample: the window's rate, errors, read p99 and RSS.
	Progress io.Writer
	// Seed makes the choices repeatable; 0 picks one.
	Seed uint64
}

// Run sets up the billing profiles and invites, sends the load for cfg.Duration and returns the report.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if cfg.Mix == (Mix{}) {
		cfg.Mix = DefaultMix
	}
	if sum := cfg.Mix.total(); sum != 100 {
		return nil, fmt.Errorf("loadtest: the mix adds up to %d%%, not 100%%", sum)
	}
	if cfg.Rate <= 0 || cfg.Duration <= 0 || cfg.Profiles <= 0 {
		return nil, fmt.Errorf("loadtest: rate, duration and profiles must be positive")
	}
	if cfg.SampleEvery <= 0 {
		cfg.SampleEvery = 10 * time.Second
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = 4096
	}
	if cfg.Seed == 0 {
		cfg.Seed = uint64(time.Now().UnixNano())
	}
	client := &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			MaxIdleConns: cfg.MaxInFlight, MaxIdleConnsPerHost: cfg.MaxInFlight, IdleConnTimeout: 90 * time.Second,
		},
	}
	defer client.CloseIdleConnections()
	w, err := newWorld(ctx, client, cfg)
	if err != nil {
		return nil, err
	}
	setupStart := time.Now()
	if err := w.setUp(ctx); err != nil {
		return nil, err
	}
	r := &runner{cfg: cfg, w: w, rep: newReport(cfg), rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))}
	r.rep.Setup = time.Since(setupStart)
	r.rep.SeedInvites = w.count()
	r.run(ctx)
	return r.rep, nil
}

func (m Mix) total() int {
	sum := 0
	for _, v := range m {
		sum += v
	}
	return sum
}

// runner sends the load: one scheduler goroutine, one goroutine per request.
type runner struct {
	cfg      Config
	w        *world
	rep      *Report
	rng      *rand.Rand // the scheduler's only
	inFlight atomic.Int64
}

func (r *runner) run(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	interval := time.Duration(float64(time.Second) / r.cfg.Rate)
	start := time.Now()
	r.rep.start(start)
	sampler := r.sample(ctx, start)
	end := start.Add(r.cfg.Duration)
	for i := 0; ; i++ {
		at := start.Add(time.Duration(i) * interval)
		if !at.Before(end) {
			break
		}
		if d := time.Until(at); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil {
			break
		}
		op := r.next()
		if r.inFlight.Load() >= int64(r.cfg.MaxInFlight) {
			r.rep.missed(op.kind)
			continue
		}
		r.inFlight.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer r.inFlight.Add(-1)
			status, err := r.w.do(ctx, op)
			r.rep.record(op.kind, at, time.Now(), status, err)
		}()
	}
	wg.Wait()
	r.rep.finish(time.Now())
	cancel()
	<-sampler
}

// next picks the kind and target of the next arrival. A cancel takes its invite out of the open ones at once, so no
// two cancels ever target the same invite; with no open invite left it becomes a create.
func (r *runner) next() op {
	n := r.rng.IntN(100)
	k := Kind(0)
	for ; k < numKinds; k++ {
		if n < r.cfg.Mix[k] {
			break
		}
		n -= r.cfg.Mix[k]
	}
	switch k {
	case CancelInvite:
		if inv, ok := r.w.takeOpen(r.rng); ok {
			return op{kind: k, profile: inv.profile, invite: inv.id}
		}
		k = CreateInvite
	case GetInvite, RefreshInvite:
		inv := r.w.any(r.rng)
		return op{kind: k, profile: inv.profile, invite: inv.id}
	case ListInvites:
		return op{kind: k, profile: r.rng.IntN(r.cfg.Profiles), list: r.rng.IntN(4)}
	}
	return op{kind: CreateInvite, profile: r.rng.IntN(r.cfg.Profiles)}
}

// sample reads the service's RSS and closes a report window every SampleEvery, and once more at the end.
func (r *runner) sample(ctx context.Context, start time.Time) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(r.cfg.SampleEvery)
		defer t.Stop()
		r.rep.sample(time.Now(), rss(r.cfg.PID), nil)
		for {
			select {
			case now := <-t.C:
				r.rep.sample(now, rss(r.cfg.PID), r.cfg.Progress)
			case <-ctx.Done():
				r.rep.sample(time.Now(), rss(r.cfg.PID), r.cfg.Progress)
				return
			}
		}
	}()
	return done
}
