package cloudhealth_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/cloudreseller/aws-invites/internal/cloudhealth"
	"github.com/cloudreseller/aws-invites/internal/cloudhealth/chsim"
)

const (
	testKey   = "ch-test-key-5e1"
	testPayer = "111111111111"
)

// base is the tests' fixed instant: nothing depends on the date they run.
var base = time.Date(2027, 3, 15, 9, 0, 0, 0, time.UTC)

// fast is a budget small enough to run tests quickly but still exercise the window: 30 requests per 20ms.
var fast = cloudhealth.Rate{Requests: 30, Per: 20 * time.Millisecond}

func newSim(t testing.TB, opts chsim.Options) (*chsim.Simulator, string) {
	t.Helper()
	if opts.APIKey == "" {
		opts.APIKey = testKey
	}
	if opts.Now == nil {
		opts.Now = func() time.Time { return base }
	}
	if opts.Rate == (cloudhealth.Rate{}) {
		opts.Rate = fast
	}
	sim, err := chsim.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return sim, srv.URL
}

func newClient(t testing.TB, url string, opts cloudhealth.Options) *cloudhealth.Client {
	t.Helper()
	if opts.Rate == (cloudhealth.Rate{}) && opts.Limiter == nil {
		opts.Rate = fast
	}
	c, err := cloudhealth.New(url, testKey, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func accountID(i int) string { return fmt.Sprintf("%012d", 200000000000+i) }

// seed puts n accounts under payer, green, in one step.
func seed(t testing.TB, sim *chsim.Simulator, n int, payer string) {
	t.Helper()
	ups := make([]chsim.Update, n)
	for i := range ups {
		ups[i] = chsim.Update{OwnerID: accountID(i), Level: "green", PayerAccountID: payer}
	}
	if err := sim.Apply(context.Background(), ups...); err != nil {
		t.Fatal(err)
	}
}

// pages lists the pages of a path the simulator was asked for, in order.
func pages(sim *chsim.Simulator, path string) []int {
	var out []int
	for _, r := range sim.Requests() {
		if r.Path == path {
			out = append(out, r.Page)
		}
	}
	return out
}

// virtualClock is a time that moves only when someone sleeps on it: the real rate's waits cost nothing.
type virtualClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *virtualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *virtualClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d > 0 {
		c.now = c.now.Add(d)
	}
	return ctx.Err()
}
