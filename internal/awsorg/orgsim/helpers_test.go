package orgsim_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/organizations/types"
	smithy "github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/cloudreseller/aws-invites/internal/awsorg/orgsim"
	"github.com/cloudreseller/aws-invites/internal/store"
	"github.com/cloudreseller/aws-invites/internal/store/storetest"
	"github.com/cloudreseller/aws-invites/internal/testclock"
)

const (
	mgmt    = "111111111111"
	target  = "222222222222"
	target2 = "333333333333"
	other   = "444444444444"
)

var start = time.Date(2026, 11, 26, 7, 0, 0, 0, time.UTC)

// storeKind names a Store implementation; every test of the simulator's rules runs on each.
type storeKind string

var storeKinds = []storeKind{"memory", store.DialectPostgres, store.DialectSQLite}

// eachStore runs the test once per kind of store.
func eachStore(t *testing.T, test func(t *testing.T, kind storeKind)) {
	for _, k := range storeKinds {
		t.Run(string(k), func(t *testing.T) { test(t, k) })
	}
}

// world opens n stores on one empty world, as n processes on one database would: SQL stores on one fresh,
// migrated database (each with its connections), or one memory store shared n times.
func (k storeKind) world(tb testing.TB, n int) []orgsim.World {
	tb.Helper()
	out := make([]orgsim.World, n)
	if k == "memory" {
		shared := orgsim.NewMemoryStore()
		for i := range out {
			out[i] = shared
		}
		return out
	}
	url := storetest.URL(tb, string(k))
	for i := range out {
		out[i] = orgsim.NewSQLStore(storetest.MustOpen(tb, url, store.Options{}).SQLDB())
	}
	return out
}

type env struct {
	sim   *orgsim.Sim
	url   string
	clock *testclock.Clock
}

// newEnv serves a simulator over real HTTP, on an empty store of the kind unless opts has one.
func newEnv(t *testing.T, kind storeKind, opts orgsim.Options) *env {
	t.Helper()
	clk := testclock.New(start)
	if opts.Clock == nil {
		opts.Clock = clk.Now
	}
	if opts.World == nil {
		opts.World = kind.world(t, 1)[0]
	}
	sim := orgsim.New(opts)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return &env{sim: sim, url: srv.URL, clock: clk}
}

// as returns a real SDK client signing as the given account, without retries so every fault is seen.
func (e *env) as(account string) *organizations.Client {
	return sdkClient(e.url, account)
}

func sdkClient(url, account string) *organizations.Client {
	return organizations.New(organizations.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(url),
		Credentials:  credentials.NewStaticCredentialsProvider(orgsim.AccessKeyFor(account), "secret", ""),
		Retryer:      aws.NopRetryer{},
		HTTPClient:   &http.Client{Transport: copiedBodies{http.DefaultTransport}},
	})
}

// copiedBodies hands net/http a copy of each request body. net/http may still read a body after the response has
// arrived (to check that nothing follows Content-Length), while the SDK closes its own as soon as the response is
// in; the transport then closes the connection under the response being read, and one call in a few thousand
// fails with "use of closed network connection" (aws/aws-sdk-go-v2#2737). The service's clients retry that; these,
// which retry nothing, must not meet it.
type copiedBodies struct{ next http.RoundTripper }

func (c copiedBodies) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return c.next.RoundTrip(r)
	}
	b, err := io.ReadAll(r.Body)
	if err := errors.Join(err, r.Body.Close()); err != nil {
		return nil, err
	}
	r = r.Clone(r.Context())
	r.Body = io.NopCloser(bytes.NewReader(b))
	return c.next.RoundTrip(r)
}

func invite(ctx context.Context, c *organizations.Client, account, notes string) (*types.Handshake, error) {
	in := &organizations.InviteAccountToOrganizationInput{
		Target: &types.HandshakeParty{Id: aws.String(account), Type: types.HandshakePartyTypeAccount},
	}
	if notes != "" {
		in.Notes = aws.String(notes)
	}
	out, err := c.InviteAccountToOrganization(ctx, in)
	if err != nil {
		return nil, err
	}
	return out.Handshake, nil
}

func mustInvite(t *testing.T, c *organizations.Client, account string) *types.Handshake {
	t.Helper()
	h, err := invite(context.Background(), c, account, "")
	if err != nil {
		t.Fatalf("invite %s: %v", account, err)
	}
	return h
}

func describe(c *organizations.Client, id string) (*types.Handshake, error) {
	out, err := c.DescribeHandshake(context.Background(), &organizations.DescribeHandshakeInput{HandshakeId: aws.String(id)})
	if err != nil {
		return nil, err
	}
	return out.Handshake, nil
}

// wantCode fails unless err is an AWS API error with the given code (and reason, when not empty).
func wantCode(t *testing.T, err error, code, reason string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error = %v, want API error %s", err, code)
	}
	if ae.ErrorCode() != code {
		t.Fatalf("error code = %s (%v), want %s", ae.ErrorCode(), err, code)
	}
	if reason == "" {
		return
	}
	var got string
	var hcv *types.HandshakeConstraintViolationException
	var cv *types.ConstraintViolationException
	var ii *types.InvalidInputException
	switch {
	case errors.As(err, &hcv):
		got = string(hcv.Reason)
	case errors.As(err, &cv):
		got = string(cv.Reason)
	case errors.As(err, &ii):
		got = string(ii.Reason)
	}
	if got != reason {
		t.Fatalf("reason = %q (%v), want %q", got, err, reason)
	}
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }

// statusCode returns the HTTP status of a failed call's answer.
func statusCode(err error) int {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// apiCode returns the AWS error code of a failed call, or "" when it is not an API error.
func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}
