package httpapi

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/cloudreseller/aws-invites/api"
	"github.com/cloudreseller/aws-invites/internal/testclock"
)

// The routes that take from the AWS bucket are the spec's operations with x-aws-calls, each with its calls.
func TestAWSCallsAreTheSpecs(t *testing.T) {
	spec, err := api.GetSpec()
	if err != nil {
		t.Fatal(err)
	}
	calls, err := awsCalls(spec)
	if err != nil {
		t.Fatal(err)
	}
	if got := calls["POST /billing-profiles/:billingProfileId/aws-invites"]; got < 1 {
		t.Errorf("createInvite takes %d AWS calls", got)
	}
	if got := calls["GET /billing-profiles/:billingProfileId/aws-invites"]; got != 0 {
		t.Errorf("listInvites takes %d AWS calls", got)
	}
	routes := specRoutes(spec, func(*openapi3.Operation) bool { return true })
	for r := range calls {
		if !routes[r] {
			t.Errorf("%s is not a route of the spec", r)
		}
	}
}

// A weight the limiter could not take as written is refused when the server is built.
func TestAWSCallsRefusesWhatItCannotTake(t *testing.T) {
	for _, v := range []string{"0", "-1", "1.5", "two", "[2]", "101"} {
		if _, err := awsCalls(loadSpec(t, "[]", "      x-aws-calls: "+v)); err == nil || !strings.Contains(err.Error(), "x-aws-calls must be a whole number") {
			t.Errorf("x-aws-calls: %s: err = %v", v, err)
		}
	}
	calls, err := awsCalls(loadSpec(t, "[]", "      x-aws-calls: 3"))
	if err != nil || len(calls) != 1 || calls["GET /x"] != 3 {
		t.Errorf("calls = %v, %v", calls, err)
	}
}

// A request takes as many tokens from the AWS bucket as the AWS calls it makes; the headers and the wait say so.
func TestWeightedTake(t *testing.T) {
	clock := testclock.NewAtStart()
	l := newLimiter(RateLimits{RPS: 100, Burst: 100, AWSRPS: 0.5, AWSBurst: 10}, clock, nil)
	header := func(d decision) string {
		h := http.Header{}
		l.describe(h, d)
		return h.Get("RateLimit")
	}
	for i, want := range []string{`"default";r=99;t=1, "aws";r=6;t=8`, `"default";r=98;t=1, "aws";r=2;t=16`} {
		if d := l.take("caller", 4); d.wait != 0 || header(d) != want {
			t.Fatalf("take %d: wait %v, RateLimit %q; want %q", i+1, d.wait, header(d), want)
		}
	}
	// Two tokens left of the four the next one needs: 4 s at half a token a second, and nothing taken meanwhile.
	d := l.take("caller", 4)
	if d.wait != 4*time.Second || header(d) != `"default";r=98;t=1, "aws";r=2;t=16` || !strings.Contains(l.refusal(d), "counts 4") {
		t.Errorf("refused: wait %v, RateLimit %q, %q", d.wait, header(d), l.refusal(d))
	}
	// A request that costs more than the bucket holds waits for a full bucket, then takes it whole.
	if d := l.take("caller", 30); d.wait != 16*time.Second {
		t.Errorf("beyond the burst: wait %v, want 16s", d.wait)
	}
	clock.Advance(16 * time.Second)
	if d := l.take("caller", 30); d.wait != 0 || d.level[1] != 0 {
		t.Errorf("a full bucket: wait %v, left %v", d.wait, d.level[1])
	}
	// A request that calls no AWS takes from the default bucket only.
	if d := l.take("caller", 0); d.wait != 0 || d.applied[1] {
		t.Errorf("a request without AWS calls: %+v", d)
	}
}

// The limiter's memory stays bounded: idle buckets (full again, so the same as none) go, and beyond the bound the
// least recently used go first.
func TestLimiterForgets(t *testing.T) {
	clock := testclock.NewAtStart()
	l := newLimiter(RateLimits{RPS: 10, Burst: 20}, clock, nil) // a bucket fills in 2 s
	l.max = 5
	for i := range 5 {
		l.take(fmt.Sprint("caller-", i), 0)
	}
	if n := l.size(); n != 5 {
		t.Fatalf("buckets = %d, want 5", n)
	}
	// A sixth caller pushes out the least recently used one, caller-0 (caller-1 was used again).
	l.take("caller-1", 0)
	l.take("caller-5", 0)
	if n := l.size(); n != 5 {
		t.Errorf("buckets beyond the bound = %d, want 5", n)
	}
	if _, kept := l.entries["caller-0"]; kept {
		t.Error("the least recently used bucket was kept")
	}
	if _, kept := l.entries["caller-1"]; !kept {
		t.Error("a recently used bucket was dropped")
	}
	// Once every bucket has had time to fill up, they all go but the one in use.
	clock.Advance(2 * time.Second)
	l.take("caller-6", 0)
	if n := l.size(); n != 1 {
		t.Errorf("buckets after they were all idle = %d, want 1", n)
	}
	// A caller that emptied its bucket is not forgotten early: it is still refused.
	for range 20 {
		l.take("greedy", 0)
	}
	clock.Advance(50 * time.Millisecond)
	if d := l.take("greedy", 0); d.wait == 0 {
		t.Error("an emptied bucket was refilled by eviction")
	}
}
