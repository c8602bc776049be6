package orgsim_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/organizations/types"

	"github.com/cloudreseller/aws-invites/internal/awsorg/orgsim"
	"github.com/cloudreseller/aws-invites/internal/testclock"
)

// TestConcurrentSims runs two simulators on one world, as two service processes on one database, and sends them
// the same requests at once: nothing is applied twice, and the quotas hold.
func TestConcurrentSims(t *testing.T) { eachStore(t, testConcurrentSims) }

func testConcurrentSims(t *testing.T, kind storeKind) {
	stores := kind.world(t, 2)
	clk := testclock.New(start)
	const maxAccounts = 4
	sims := []*env{
		newEnv(t, kind, orgsim.Options{World: stores[0], Clock: clk.Now, MaxAccounts: maxAccounts}),
		newEnv(t, kind, orgsim.Options{World: stores[1], Clock: clk.Now, MaxAccounts: maxAccounts}),
	}
	ctx := context.Background()
	const callers = 12

	// concurrently calls fn from callers goroutines, alternating between the simulators, and returns the errors.
	concurrently := func(fn func(e *env, i int) error) []error {
		errs := make([]error, callers)
		var wg sync.WaitGroup
		for i := range callers {
			wg.Go(func() { errs[i] = fn(sims[i%2], i) })
		}
		wg.Wait()
		return errs
	}
	// succeeded fails the test unless every error but the successes has the code, and counts the successes.
	succeeded := func(errs []error, code, reason string) int {
		t.Helper()
		n := 0
		for _, err := range errs {
			if err == nil {
				n++
				continue
			}
			wantCode(t, err, code, reason)
		}
		return n
	}

	t.Run("one account invited at once", func(t *testing.T) {
		errs := concurrently(func(e *env, _ int) error {
			_, err := invite(ctx, e.as(mgmt), target, "")
			return err
		})
		if n := succeeded(errs, "DuplicateHandshakeException", ""); n != 1 {
			t.Fatalf("%d invitations succeeded, want 1", n)
		}
		open := 0
		for _, h := range listAll(t, sims[0].as(mgmt)) {
			if h.State == types.HandshakeStateOpen && aws.ToString(h.Parties[1].Id) == target {
				open++
			}
		}
		if open != 1 {
			t.Fatalf("%d OPEN handshakes for %s, want 1", open, target)
		}
	})

	t.Run("accounts quota", func(t *testing.T) {
		// target's invitation is open: with the management account, two more fit.
		errs := concurrently(func(e *env, i int) error {
			_, err := invite(ctx, e.as(mgmt), fmt.Sprintf("8000000000%02d", i), "")
			return err
		})
		if n := succeeded(errs, "HandshakeConstraintViolationException", "ACCOUNT_NUMBER_LIMIT_EXCEEDED"); n != maxAccounts-2 {
			t.Fatalf("%d invitations succeeded, want %d", n, maxAccounts-2)
		}
	})

	t.Run("accept and cancel at once", func(t *testing.T) {
		var id *string
		for _, h := range listAll(t, sims[0].as(mgmt)) {
			if aws.ToString(h.Parties[1].Id) == target {
				id = h.Id
			}
		}
		errs := concurrently(func(e *env, i int) error {
			if i%4 < 2 {
				_, err := e.as(target).AcceptHandshake(ctx, &organizations.AcceptHandshakeInput{HandshakeId: id})
				return err
			}
			_, err := e.as(mgmt).CancelHandshake(ctx, &organizations.CancelHandshakeInput{HandshakeId: id})
			return err
		})
		n := 0
		for _, err := range errs {
			if err == nil {
				n++
				continue
			}
			if code := apiCode(err); code != "HandshakeAlreadyInStateException" && code != "InvalidHandshakeTransitionException" {
				t.Errorf("unexpected error %v", err)
			}
		}
		if n != 1 {
			t.Fatalf("%d of the calls ended the handshake, want 1", n)
		}
	})
}

// listAll pages through the caller's handshakes.
func listAll(t *testing.T, c *organizations.Client) []types.Handshake {
	t.Helper()
	var out []types.Handshake
	p := organizations.NewListHandshakesForOrganizationPaginator(c, &organizations.ListHandshakesForOrganizationInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, page.Handshakes...)
	}
	return out
}
