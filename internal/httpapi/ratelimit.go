package httpapi

import (
	"container/list"
	"fmt"
	"math"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"

	"github.com/cloudreseller/aws-invites/internal/invite"
)

// RateLimits are the token buckets every caller gets: one for all its requests, and a tighter one for the operations
// that call AWS Organizations (those openapi.yaml marks with x-aws-calls), whose quotas are AWS's and shared by every
// customer of a payer. A request takes one token from the first, and from the second as many as the AWS calls its
// operation makes. A policy with a rate or a burst of 0 is off; the zero value turns rate limiting off.
type RateLimits struct {
	RPS      float64 // requests a second a caller may sustain
	Burst    int     // requests a caller may send at once
	AWSRPS   float64 // AWS calls a second a caller's requests may sustain
	AWSBurst int     // AWS calls a caller's requests may make at once
}

// awsCallsExtension is the operation extension that says how many AWS Organizations calls one request of the
// operation makes (openapi.yaml's description says how they are counted); an operation without it makes none.
const awsCallsExtension = "x-aws-calls"

// maxAWSCalls bounds a declared weight: a larger one is a mistake in the spec, not a cost.
const maxAWSCalls = 100

// awsCalls reads every operation's x-aws-calls, by route ("METHOD /echo/:path"). A value that is not a whole number
// from 1 to maxAWSCalls is an error: the spec is the one place the operations that call AWS are declared.
func awsCalls(spec *openapi3.T) (map[string]int, error) {
	out := map[string]int{}
	for path, item := range spec.Paths.Map() {
		for method, op := range item.Operations() {
			raw, ok := op.Extensions[awsCallsExtension]
			if !ok {
				continue
			}
			var n float64
			switch v := raw.(type) {
			case float64:
				n = v
			case int:
				n = float64(v)
			default:
				n = math.NaN()
			}
			if n != math.Trunc(n) || n < 1 || n > maxAWSCalls {
				return nil, fmt.Errorf("%s %s: %s must be a whole number of AWS calls from 1 to %d, not %v", method, path, awsCallsExtension, maxAWSCalls, raw)
			}
			out[echoRoute(method, path)] = int(n)
		}
	}
	return out, nil
}

// unlimitedPaths are the probes and metrics: an orchestrator or load balancer that sees 429 on /readyz would take a
// healthy replica out of service because someone else sent too many requests from the same address. The hosted
// CloudHealth template is static bytes built once, as cheap to serve as a probe.
var unlimitedPaths = map[string]bool{"/healthz": true, "/readyz": true, "/metrics": true, "/cloudhealth-template.yaml": true}

// maxBuckets bounds the limiter's memory: about a hundred bytes per caller seen within the last few seconds.
const maxBuckets = 100_000

// policy is one token bucket's shape, named as the RateLimit headers name it.
type policy struct {
	name  string
	rate  float64 // tokens a second
	burst float64 // the bucket's size
}

func (p policy) on() bool { return p.rate > 0 && p.burst >= 1 }

// window is how long an empty bucket takes to fill: the "w" of its RateLimit-Policy item.
func (p policy) window() time.Duration {
	return time.Duration(p.burst / p.rate * float64(time.Second))
}

// bucket is one caller's tokens under one policy, as of a time.
type bucket struct {
	tokens float64
	at     time.Time
}

// level returns the bucket's tokens at now.
func (b bucket) level(p policy, now time.Time) float64 {
	if b.at.IsZero() {
		return p.burst
	}
	return math.Min(p.burst, b.tokens+now.Sub(b.at).Seconds()*p.rate)
}

type entry struct {
	key     string
	buckets [2]bucket // default, aws
	used    time.Time
}

// limiter keeps the buckets of every caller. The state is this process's: with N replicas behind a load balancer
// a caller may get up to N times the configured rates, which the defaults allow for.
type limiter struct {
	policies [2]policy // default, aws
	clock    invite.Clock
	awsCalls map[string]int // "METHOD /echo/:path": the AWS calls a request makes, from awsCalls

	mu      sync.Mutex
	entries map[string]*list.Element
	lru     *list.List // front: least recently used
	max     int
}

// newLimiter builds the buckets of cfg; awsCalls are the routes that call AWS, with their calls (awsCalls).
func newLimiter(cfg RateLimits, clock invite.Clock, awsCalls map[string]int) *limiter {
	return &limiter{
		policies: [2]policy{
			{name: "default", rate: cfg.RPS, burst: float64(cfg.Burst)},
			{name: "aws", rate: cfg.AWSRPS, burst: float64(cfg.AWSBurst)},
		},
		clock: clock, awsCalls: awsCalls,
		entries: map[string]*list.Element{}, lru: list.New(), max: maxBuckets,
	}
}

func (l *limiter) on() bool { return l.policies[0].on() || l.policies[1].on() }

// decision is what one request's take left: which policies applied, what the request cost in each, and their
// buckets afterwards.
type decision struct {
	applied [2]bool
	cost    [2]float64
	level   [2]float64
	wait    time.Duration // > 0: refused; when the refusing buckets hold the request's cost again
}

// take takes a request's cost from each bucket that applies to it, or nothing when any of them holds less: one
// token from the default bucket, and awsCalls tokens (0: the request calls no AWS) from the AWS bucket. A cost
// beyond a bucket's size takes the whole bucket, so that such a request waits for a full bucket instead of never
// passing.
func (l *limiter) take(key string, awsCalls int) decision {
	now := l.clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.evict(now)
	el, ok := l.entries[key]
	if !ok {
		el = l.lru.PushBack(&entry{key: key})
		l.entries[key] = el
	} else {
		l.lru.MoveToBack(el)
	}
	e := el.Value.(*entry)
	e.used = now
	var d decision
	costs := [2]float64{1, float64(awsCalls)}
	for i, p := range l.policies {
		if !p.on() || costs[i] == 0 {
			continue
		}
		d.applied[i] = true
		d.cost[i] = math.Min(costs[i], p.burst)
		d.level[i] = e.buckets[i].level(p, now)
		if d.level[i] < d.cost[i] {
			d.wait = max(d.wait, time.Duration((d.cost[i]-d.level[i])/p.rate*float64(time.Second)))
		}
	}
	for i := range l.policies {
		if !d.applied[i] {
			continue
		}
		if d.wait == 0 {
			d.level[i] -= d.cost[i]
		}
		e.buckets[i] = bucket{tokens: d.level[i], at: now}
	}
	return d
}

// evict drops buckets that have been idle long enough to be full again (a full bucket is the same as none, so this
// changes no answer), and beyond max the least recently used, which only gives those callers a fresh bucket.
func (l *limiter) evict(now time.Time) {
	var idle time.Duration
	for _, p := range l.policies {
		if p.on() {
			idle = max(idle, p.window())
		}
	}
	for el := l.lru.Front(); el != nil; el = l.lru.Front() {
		e := el.Value.(*entry)
		if now.Sub(e.used) < idle && l.lru.Len() < l.max {
			return
		}
		l.lru.Remove(el)
		delete(l.entries, e.key)
	}
}

func (l *limiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lru.Len()
}

// middleware limits each caller: a verified token's subject within its customer, or, without one, the client's
// address. Every limited response says where the caller stands (RateLimit, RateLimit-Policy); a refused one is 429
// with Retry-After.
func (l *limiter) middleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if unlimitedPaths[req.URL.Path] {
				return next(c)
			}
			key := "ip " + clientIP(req)
			if p, ok := identified(req.Context()); ok {
				key = "sub " + p.CustomerID + "\x00" + p.Subject
			}
			d := l.take(key, l.awsCalls[req.Method+" "+c.Path()])
			l.describe(c.Response().Header(), d)
			if d.wait > 0 {
				return &invite.Error{Code: invite.CodeRateLimited, RetryAfter: d.wait, Detail: l.refusal(d)}
			}
			return next(c)
		}
	}
}

// clientIP is the address the connection comes from. X-Forwarded-For is not read: any client can write it, and
// trusting it would give each made-up address a bucket of its own.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// describe writes the RateLimit-Policy and RateLimit fields of draft-ietf-httpapi-ratelimit-headers-10 (structured
// field lists of items named by a string: q quota and w window in seconds for a policy; r remaining and t seconds
// until the bucket is full again for its state), e.g. RateLimit-Policy: "default";q=40;w=2 and
// RateLimit: "default";r=39;t=1.
func (l *limiter) describe(h http.Header, d decision) {
	var policies, states []string
	for i, p := range l.policies {
		if !d.applied[i] {
			continue
		}
		policies = append(policies, fmt.Sprintf("%q;q=%d;w=%d", p.name, int(p.burst), ceilSeconds(p.window())))
		left := math.Max(0, d.level[i])
		full := time.Duration((p.burst - left) / p.rate * float64(time.Second))
		states = append(states, fmt.Sprintf("%q;r=%d;t=%d", p.name, int(math.Floor(left)), ceilSeconds(full)))
	}
	if len(policies) > 0 {
		h.Set("RateLimit-Policy", strings.Join(policies, ", "))
		h.Set("RateLimit", strings.Join(states, ", "))
	}
}

// refusal says which limit was reached and when to try again.
func (l *limiter) refusal(d decision) string {
	if p := l.policies[1]; d.applied[1] && d.level[1] < d.cost[1] {
		return fmt.Sprintf("too many requests that call AWS: each caller's requests may make %d AWS calls at once and %s a second "+
			"after that, and this one counts %d; try again in %d s", int(p.burst), formatRate(p.rate), int(d.cost[1]), invite.RetryAfterSeconds(d.wait))
	}
	p := l.policies[0]
	return fmt.Sprintf("too many requests: each caller may send %d at once and %s a second after that; try again in %d s",
		int(p.burst), formatRate(p.rate), invite.RetryAfterSeconds(d.wait))
}

func ceilSeconds(d time.Duration) int { return int(math.Ceil(d.Seconds())) }

func formatRate(r float64) string {
	if r == math.Trunc(r) {
		return fmt.Sprintf("%d", int(r))
	}
	return fmt.Sprintf("%g", r)
}
