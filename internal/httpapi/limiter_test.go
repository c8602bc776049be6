package httpapi

import (
	"fmt"
	"testing"
	"time"

	"github.com/cloudreseller/aws-invites/api"
	"github.com/cloudreseller/aws-invites/internal/testclock"
)

// Every operation named as calling AWS is in the spec, so a rename cannot quietly lift its tighter limit.
func TestAWSOperationsAreTheSpecs(t *testing.T) {
	spec, err := api.GetSpec()
	if err != nil {
		t.Fatal(err)
	}
	l := newLimiter(RateLimits{RPS: 1, Burst: 1, AWSRPS: 1, AWSBurst: 1}, testclock.NewAtStart(), spec)
	want := []string{
		"POST /billing-profiles/:billingProfileId/aws-invites",
		"POST /billing-profiles/:billingProfileId/aws-invites/:inviteId/resend",
		"DELETE /billing-profiles/:billingProfileId/aws-invites/:inviteId",
		"POST /billing-profiles/:billingProfileId/aws-invites/:inviteId/refresh",
	}
	for _, r := range want {
		if !l.awsRoute[r] {
			t.Errorf("%s does not take from the AWS bucket", r)
		}
	}
	if len(l.awsRoute) != len(want) {
		t.Errorf("AWS routes: %v", l.awsRoute)
	}
}

// The limiter's memory stays bounded: idle buckets (full again, so the same as none) go, and beyond the bound the
// least recently used go first.
func TestLimiterForgets(t *testing.T) {
	spec, err := api.GetSpec()
	if err != nil {
		t.Fatal(err)
	}
	clock := testclock.NewAtStart()
	l := newLimiter(RateLimits{RPS: 10, Burst: 20}, clock, spec) // a bucket fills in 2 s
	l.max = 5
	for i := range 5 {
		l.take(fmt.Sprint("caller-", i), false)
	}
	if n := l.size(); n != 5 {
		t.Fatalf("buckets = %d, want 5", n)
	}
	// A sixth caller pushes out the least recently used one, caller-0 (caller-1 was used again).
	l.take("caller-1", false)
	l.take("caller-5", false)
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
	l.take("caller-6", false)
	if n := l.size(); n != 1 {
		t.Errorf("buckets after they were all idle = %d, want 1", n)
	}
	// A caller that emptied its bucket is not forgotten early: it is still refused.
	for range 20 {
		l.take("greedy", false)
	}
	clock.Advance(50 * time.Millisecond)
	if d := l.take("greedy", false); d.wait == 0 {
		t.Error("an emptied bucket was refilled by eviction")
	}
}
