package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cloudreseller/aws-invites/internal/auth"
	"github.com/cloudreseller/aws-invites/internal/httpapi"
)

func TestRateLimits(t *testing.T) {
	// The test clock stands still unless moved, so buckets refill only when the test says.
	e := newEnv(t, envOptions{sandbox: true, limits: httpapi.RateLimits{RPS: 1, Burst: 3, AWSRPS: 0.5, AWSBurst: 2}})
	alice, bob := e.token(), e.token(func(c *auth.Claims) { c.Subject = "bob" })
	list := invitesPath(profile)

	// Every answer says where the caller stands; the third request empties the bucket.
	for i, want := range []string{`"default";r=2;t=1`, `"default";r=1;t=2`, `"default";r=0;t=3`} {
		r := e.do("GET", list, alice, nil)
		if r.status != 200 || r.header.Get("RateLimit") != want || r.header.Get("RateLimit-Policy") != `"default";q=3;w=3` {
			t.Fatalf("request %d: %d RateLimit %q, RateLimit-Policy %q; want 200, %q", i+1, r.status,
				r.header.Get("RateLimit"), r.header.Get("RateLimit-Policy"), want)
		}
	}
	r := e.do("GET", list, alice, nil)
	p := e.problem(r, http.StatusTooManyRequests, "rate_limited")
	if r.header.Get("Retry-After") != "1" || r.header.Get("RateLimit") != `"default";r=0;t=3` || r.header.Get("RateLimit-Policy") != `"default";q=3;w=3` {
		t.Errorf("429 headers: Retry-After %q, RateLimit %q, RateLimit-Policy %q", r.header.Get("Retry-After"),
			r.header.Get("RateLimit"), r.header.Get("RateLimit-Policy"))
	}
	if d := p["detail"].(string); !strings.Contains(d, "3 at once") || !strings.Contains(d, "1 a second") {
		t.Errorf("detail does not say the limit: %q", d)
	}

	// Another caller has a bucket of its own; the same subject in another customer is another caller too.
	if r := e.do("GET", list, bob, nil); r.status != 200 {
		t.Errorf("bob: %d %s", r.status, r.body)
	}
	globex := e.token(func(c *auth.Claims) { c.CustomerID = "globex"; c.BillingProfiles = []string{"globex-main"} })
	if r := e.do("GET", invitesPath("globex-main"), globex, nil); r.status != 200 {
		t.Errorf("alice of globex: %d %s", r.status, r.body)
	}
	// Probes are never limited: a load balancer must not take a healthy replica out for someone else's burst.
	for range 5 {
		if r := e.do("GET", "/readyz", "", nil); r.status != 200 || r.header.Get("RateLimit") != "" {
			t.Fatalf("/readyz: %d RateLimit %q", r.status, r.header.Get("RateLimit"))
		}
	}

	// A second later there is one token again.
	e.clock.Advance(time.Second)
	if r := e.do("GET", list, alice, nil); r.status != 200 || r.header.Get("RateLimit") != `"default";r=0;t=3` {
		t.Errorf("after a second: %d RateLimit %q", r.status, r.header.Get("RateLimit"))
	}

	// Requests without a valid token share their address's bucket: three 401s, then 429.
	for i := range 3 {
		if r := e.do("GET", list, "not-a-jwt", nil); r.status != 401 || r.header.Get("RateLimit") == "" {
			t.Fatalf("anonymous request %d: %d RateLimit %q", i+1, r.status, r.header.Get("RateLimit"))
		}
	}
	e.problem(e.do("GET", list, "", nil), http.StatusTooManyRequests, "rate_limited")

	// The operations that call AWS also take from a tighter bucket: two invitations, then 429 with nothing written
	// and no AWS call, while reads go on from the default bucket.
	e.clock.Advance(10 * time.Second)
	carol := e.token(func(c *auth.Claims) { c.Subject = "carol" })
	for i := range 2 {
		r := e.do("POST", list, carol, map[string]any{"accountId": fmt.Sprintf("55556666777%d", i)})
		if r.status != 201 || r.header.Get("RateLimit-Policy") != `"default";q=3;w=3, "aws";q=2;w=4` {
			t.Fatalf("invite %d: %d RateLimit-Policy %q %s", i+1, r.status, r.header.Get("RateLimit-Policy"), r.body)
		}
	}
	invites, events := e.counts()
	calls := e.sim.TotalCalls()
	r = e.do("POST", list, carol, map[string]any{"accountId": "555566667779"})
	p = e.problem(r, http.StatusTooManyRequests, "rate_limited")
	if r.header.Get("Retry-After") != "2" || r.header.Get("RateLimit") != `"default";r=1;t=2, "aws";r=0;t=4` {
		t.Errorf("AWS 429: Retry-After %q RateLimit %q", r.header.Get("Retry-After"), r.header.Get("RateLimit"))
	}
	if !strings.Contains(p["detail"].(string), "call AWS") {
		t.Errorf("detail does not say which limit: %q", p["detail"])
	}
	if inv, ev := e.counts(); inv != invites || ev != events || e.sim.TotalCalls() != calls {
		t.Errorf("a refused invitation wrote %d invites, %d events, %d AWS calls", inv-invites, ev-events, e.sim.TotalCalls()-calls)
	}
	if r := e.do("GET", list, carol, nil); r.status != 200 || r.header.Get("RateLimit") != `"default";r=0;t=3` {
		t.Errorf("a read after the AWS bucket ran dry: %d RateLimit %q", r.status, r.header.Get("RateLimit"))
	}
}

// With the zero RateLimits nothing is limited and no RateLimit fields are sent.
func TestRateLimitsOff(t *testing.T) {
	e := newEnv(t, envOptions{})
	tok := e.token()
	for range 50 {
		r := e.do("GET", invitesPath(profile), tok, nil)
		if r.status != 200 || r.header.Get("RateLimit") != "" || r.header.Get("RateLimit-Policy") != "" {
			t.Fatalf("%d RateLimit %q", r.status, r.header.Get("RateLimit"))
		}
	}
}
