package awsorg_test

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/cloudreseller/aws-invites/internal/awsorg"
	"github.com/cloudreseller/aws-invites/internal/awsorg/orgsim"
	"github.com/cloudreseller/aws-invites/internal/invite"
	"github.com/cloudreseller/aws-invites/internal/testclock"
)

const (
	mgmt    = "111111111111"
	target  = "222222222222"
	target2 = "333333333333"
	other   = "444444444444"
)

var (
	start = time.Date(2026, 11, 26, 7, 0, 0, 0, time.UTC)
	payer = invite.Payer{ManagementAccountID: mgmt}
)

type env struct {
	sim    *orgsim.Sim
	url    string
	clock  *testclock.Clock
	client *awsorg.Client
}

// fastRetries keeps the backoff tiny so that retry tests take milliseconds.
func fastRetries(o *awsorg.Options) {
	o.BaseBackoff = time.Millisecond
	o.MaxBackoff = 4 * time.Millisecond
}

// newEnv serves a simulator over real HTTP and points an adapter at it, signing as each payer's management
// account, as the sandbox does.
func newEnv(t *testing.T, simOpts orgsim.Options, adjust ...func(*awsorg.Options)) *env {
	t.Helper()
	clk := testclock.New(start)
	if simOpts.Clock == nil {
		simOpts.Clock = clk.Now
	}
	sim := orgsim.New(simOpts)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	opts := awsorg.Options{
		OrganizationsEndpoint: srv.URL,
		CredentialsFor: func(p invite.Payer) aws.CredentialsProvider {
			return credentials.NewStaticCredentialsProvider(orgsim.AccessKeyFor(p.ManagementAccountID), "secret", "")
		},
	}
	fastRetries(&opts)
	for _, fn := range adjust {
		fn(&opts)
	}
	return &env{sim: sim, url: srv.URL, clock: clk, client: awsorg.New(aws.Config{Region: "eu-west-1"}, opts)}
}

// domainError returns err as a domain error, failing the test when it is not one.
func domainError(t *testing.T, err error) *invite.Error {
	t.Helper()
	var de *invite.Error
	if !errors.As(err, &de) {
		t.Fatalf("error %v (%T) is not an *invite.Error", err, err)
	}
	return de
}

// wantDomain fails unless err is a domain error with the code and a detail free of AWS internals.
func wantDomain(t *testing.T, err error, code invite.Code) *invite.Error {
	t.Helper()
	de := domainError(t, err)
	if de.Code != code {
		t.Fatalf("code = %s (%v), want %s", de.Code, err, code)
	}
	if de.Detail == "" {
		t.Errorf("%s: empty detail", code)
	}
	for _, leak := range []string{"RequestID", "injected", "Exception", "api error"} {
		if strings.Contains(de.Detail, leak) {
			t.Errorf("%s: detail %q leaks %q", code, de.Detail, leak)
		}
	}
	return de
}
