package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cloudreseller/aws-invites/internal/auth"
	"github.com/cloudreseller/aws-invites/internal/awsbc"
	"github.com/cloudreseller/aws-invites/internal/awsbc/bcsim"
	"github.com/cloudreseller/aws-invites/internal/awsiam"
	"github.com/cloudreseller/aws-invites/internal/awsiam/iamsim"
	"github.com/cloudreseller/aws-invites/internal/awsorg"
	"github.com/cloudreseller/aws-invites/internal/awsorg/orgsim"
	"github.com/cloudreseller/aws-invites/internal/cloudhealth"
	"github.com/cloudreseller/aws-invites/internal/cloudhealth/chsim"
	"github.com/cloudreseller/aws-invites/internal/cur"
	"github.com/cloudreseller/aws-invites/internal/httpapi"
	"github.com/cloudreseller/aws-invites/internal/invite"
	"github.com/cloudreseller/aws-invites/internal/jobs"
	"github.com/cloudreseller/aws-invites/internal/mail"
	"github.com/cloudreseller/aws-invites/internal/notify"
	"github.com/cloudreseller/aws-invites/internal/service"
	"github.com/cloudreseller/aws-invites/internal/store"
	"github.com/cloudreseller/aws-invites/internal/store/storetest"
	"github.com/cloudreseller/aws-invites/internal/testclock"
	"github.com/cloudreseller/aws-invites/internal/webhook"
)

const (
	customer   = "acme"
	profile    = "acme-main"
	management = "111111111111"
)

// env is one running API over a real database, the real SDK against the simulator, and real tokens.
type env struct {
	t       testing.TB
	url     string
	handler http.Handler // the server, for benchmarks that call it without a connection
	store   *store.Store
	sim     *orgsim.Sim
	orgs    *awsorg.Client
	bc      *bcsim.Sim // AWS Billing Conductor, asking sim (through the SDK) which accounts are members
	clock   *testclock.Clock
	secret  []byte
	ch      *chsim.Simulator
	iam     *iamsim.Sim  // with checkerPrincipal: IAM and STS, the customers' roles
	runner  *jobs.Runner // with notify: the job engine delivering webhooks and email
	mail    *mail.Memory // with notify and no SMTP: the mailbox
	sender  webhook.Domain
}

type envOptions struct {
	dialect     string
	sandbox     bool
	limits      httpapi.RateLimits // zero: no rate limits
	corsOrigins []string           // default: https://app.example.com
	// notify runs the job engine so that events reach webhooks and email; backoff replaces the delivery
	// schedule (tests cannot wait a day), smtpURL sends email to a real SMTP server instead of a mailbox.
	notify  bool
	backoff func(attempt int) time.Duration
	smtpURL string
	// aws makes webhook destinations be checked as in aws mode (https, public addresses only).
	aws bool
	// testClocks keeps the sandbox's clocks in the database as serve does (the shared one, moved by platform
	// administrators only, and the payers' own) over the test's clock, instead of moving the test's clock itself.
	testClocks bool
	// checkerPrincipal turns the CloudHealth permission check on, as CLOUDHEALTH_CHECKER_PRINCIPAL does, over the
	// IAM simulator (env.iam).
	checkerPrincipal string
	// logTo receives the log (io.Discard when nil); requestTimeout is the requests' deadline (none when zero), as
	// serve sets them.
	logTo          io.Writer
	requestTimeout time.Duration
}

func newEnv(t testing.TB, opts envOptions) *env {
	t.Helper()
	if opts.dialect == "" {
		opts.dialect = store.DialectPostgres
	}
	ctx := context.Background()
	clk := testclock.NewAtStart() // now, or the instant AWS_INVITES_TEST_NOW names
	st := storetest.Open(t, opts.dialect, store.Options{Clock: clk, MaxConns: jobs.MinPoolConns(jobs.Config{}) + 4})
	var clocks *store.SandboxClocks
	simOpts := orgsim.Options{Clock: clk.Now, MaxAccounts: 1000, Conventions: true}
	if opts.testClocks {
		clocks = st.SandboxClocks(st.SandboxClock(clk))
		simOpts.Clock, simOpts.ClockOf = clocks.Shared.Now, clocks.TimeOf
	}
	sim := orgsim.New(simOpts)
	simSrv := httptest.NewServer(sim)
	t.Cleanup(simSrv.Close)
	orgs := awsorg.New(aws.Config{Region: "us-east-1"}, awsorg.Options{
		OrganizationsEndpoint: simSrv.URL,
		CredentialsFor: func(p invite.Payer) aws.CredentialsProvider {
			return credentials.NewStaticCredentialsProvider(orgsim.AccessKeyFor(p.ManagementAccountID), "test", "")
		},
		MaxAttempts: 3, BaseBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, RetryAfter: 30 * time.Second,
	})
	bc := bcsim.New(bcsim.Options{Clock: clk.Now, InFamily: func(ctx context.Context, payer, acct string) (bool, error) {
		_, err := orgs.DescribeAccount(ctx, invite.Payer{ManagementAccountID: payer}, acct)
		if invite.IsCode(err, invite.CodeNotFound) {
			return false, nil
		}
		return err == nil, err
	}})
	bcSrv := httptest.NewServer(bc)
	t.Cleanup(bcSrv.Close)
	groups := awsbc.New(aws.Config{Region: "us-east-1"}, awsbc.Options{Endpoint: bcSrv.URL, CredentialsFor: orgs.Credentials,
		HTTPClient: orgs.HTTPClient(), MaxAttempts: 3, BaseBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond})
	secret := []byte(strings.Repeat("k", 32))
	verifier, err := auth.NewVerifier(ctx, auth.Config{HS256Secret: secret, Issuer: "test-issuer", Audience: "aws-invites"})
	if err != nil {
		t.Fatal(err)
	}
	logTo := opts.logTo
	if logTo == nil {
		logTo = io.Discard
	}
	log := slog.New(httpapi.LogHandler(slog.NewJSONHandler(logTo, nil)))
	ch, err := chsim.New(chsim.Options{APIKey: "ch-key", Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	chSrv := httptest.NewServer(ch)
	t.Cleanup(chSrv.Close)
	chClient, err := cloudhealth.New(chSrv.URL, "ch-key", cloudhealth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	chSource := cloudhealth.NewSource(chClient, cloudhealth.SourceOptions{TenantOf: cloudhealth.TenantOfProfiles(st, "")})
	curReader := cur.Reader{Store: cur.DirStore{Root: t.TempDir()}}
	sender := webhook.NewDomain(!opts.aws, clk.Now) // the real time of the test's world, as serve signs with the real time
	mailbox, err := mail.NewMemory("aws-invites@example.com", mail.MemoryOptions{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	var mailer notify.Mailer = mail.Domain{Sender: mailbox}
	if opts.smtpURL != "" {
		c, err := mail.New(opts.smtpURL, "aws-invites@example.com", mail.WithClock(clk.Now))
		if err != nil {
			t.Fatal(err)
		}
		mailer = mail.Domain{Sender: c}
	}
	backoff := opts.backoff
	if backoff == nil {
		backoff = func(int) time.Duration { return 100 * time.Millisecond }
	}
	// The service as serve builds it; the job engine runs (the notifications alone) only when a test asks.
	// The test's clock is the real time of its world: webhook deliveries read it (signing alone reads the machine's
	// clock, as receivers do), so a test can move it to a retry or past the disabling of an endpoint.
	chSetup := cloudhealth.NewSetupSource(chSource, "ext-fallback-1", cloudhealth.DeployOptions{TemplateURL: "https://templates.example/cloudhealth-role.yaml",
		CheckerPrincipal: opts.checkerPrincipal}, cloudhealth.PolicyOptions{})
	validator := &cloudhealth.Validator{Source: chSource, Setup: chSetup, Now: clk.Now}
	var iamSim *iamsim.Sim
	if opts.checkerPrincipal != "" {
		// The permission check as serve builds it: the real SDK, signing as the reseller's principal, against IAM
		// and STS simulated over HTTP; the test creates the customers' roles.
		iamSim = iamsim.New(iamsim.Options{Now: clk.Now})
		iamSrv := httptest.NewServer(iamSim)
		t.Cleanup(iamSrv.Close)
		key, err := iamSim.KeyFor(opts.checkerPrincipal)
		if err != nil {
			t.Fatal(err)
		}
		validator.CheckerPrincipal = opts.checkerPrincipal
		validator.Checker = awsiam.New(aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(key, "test", "")},
			awsiam.Options{IAMEndpoint: iamSrv.URL, STSEndpoint: iamSrv.URL, HTTPClient: orgs.HTTPClient()})
	}
	parts := service.Parts{Store: st, Clock: clk, RealClock: clk, AWS: orgs, BillingGroups: groups, CloudHealth: chSource,
		CloudHealthSetup: chSetup, CloudHealthValidator: validator,
		CUR: curReader, Webhooks: sender, Mailer: mailer, Quiet: !opts.notify, Log: log, Registry: prometheus.NewRegistry(),
		Jobs: jobs.Config{Unscheduled: true, DeliveryBackoff: backoff, PollInterval: 20 * time.Millisecond}}
	if opts.sandbox {
		parts.Sandbox = &invite.SandboxWorld{Accounts: orgs, CloudHealth: ch, CUR: curReader, Clock: testClockAdvancer{clk},
			Mail: mail.Mailbox{Memory: mailbox}, SharedClockCustomer: customer} // as the embedded default gives it to its demo customer
		if clocks != nil {
			parts.Sandbox.SharedClockCustomer = "" // a sandbox shared by partners
			parts.Clock, parts.Clocks, parts.Sandbox.Clock, parts.Sandbox.Clocks = clocks.Shared, clocks, clocks.Shared, clocks
		}
	}
	svc, err := service.New(ctx, parts)
	if err != nil {
		t.Fatal(err)
	}
	var runner *jobs.Runner
	if opts.notify {
		runner = svc.Runner
		if err := runner.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = runner.Stop(sctx)
		})
	}
	if opts.corsOrigins == nil {
		opts.corsOrigins = []string{"https://app.example.com"}
	}
	e, err := svc.API(httpapi.Config{Verifier: verifier, Logger: log, Registry: prometheus.NewRegistry(),
		CORSOrigins: opts.corsOrigins, RateLimits: opts.limits, RequestTimeout: opts.requestTimeout})
	if err != nil {
		t.Fatal(err)
	}
	st = svc.Store
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	ev := &env{t: t, url: srv.URL, handler: e, store: st, sim: sim, orgs: orgs, bc: bc, clock: clk, secret: secret, ch: ch,
		iam: iamSim, runner: runner, mail: mailbox, sender: sender}
	for _, bp := range []invite.BillingProfile{
		{ID: profile, CustomerID: customer, Name: "Acme main", ManagementAccountID: management},
		{ID: "acme-other", CustomerID: customer, Name: "Acme other", ManagementAccountID: "222222222222"},
		{ID: "globex-main", CustomerID: "globex", Name: "Globex", ManagementAccountID: "333333333333"},
	} {
		if _, _, err := st.PutBillingProfile(ctx, bp); err != nil {
			t.Fatal(err)
		}
	}
	return ev
}

// with returns the environment bound to a subtest, so helpers fail the subtest.
func (e *env) with(t *testing.T) *env {
	c := *e
	c.t = t
	return &c
}

// token mints a signed token; with no options, a licenses manager assigned to acme-main.
func (e *env) token(mods ...func(*auth.Claims)) string {
	c := auth.Claims{Subject: "alice", Email: "alice@acme.example", CustomerID: customer,
		BillingProfiles: []string{profile}, Permissions: []string{invite.PermissionLicensesManager},
		Issuer: "test-issuer", Audience: "aws-invites"}
	for _, m := range mods {
		m(&c)
	}
	tok, err := auth.Mint(e.secret, c, time.Hour, time.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response is not a JSON object: %v: %s", err, r.body)
	}
	return m
}

// do sends a request; body may be a string or bytes (sent as is), an io.Reader (sent chunked, its length unknown)
// or a value (sent as JSON). Every answer is checked against openapi.yaml (contract.check): a test fails on a
// status, header or body the spec does not declare, whatever else it asserts.
// harnessKeys numbers the Idempotency-Keys do adds.
var harnessKeys atomic.Int64

func (e *env) do(method, path, token string, body any, headers ...string) response {
	e.t.Helper()
	if method == "POST" && strings.HasSuffix(path, "/aws-invite-batches") && !slices.Contains(headers, "Idempotency-Key") {
		// A batch requires a key; a test that checks the key passes its own (an empty one to leave it out).
		headers = append(headers, "Idempotency-Key", fmt.Sprintf("harness-%d", harnessKeys.Add(1)))
	}
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	case io.Reader:
		rd = io.MultiReader(b) // a type http.NewRequest cannot measure
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	r := response{status: res.StatusCode, header: res.Header, body: raw}
	if err := mustContract(e.t).check(req, r); err != nil {
		e.t.Errorf("%s %s: the answer breaks the contract: %v", method, path, err)
	}
	return r
}

// problem asserts a problem+json answer with the status and code, and returns it.
func (e *env) problem(r response, status int, code string) map[string]any {
	e.t.Helper()
	if r.status != status {
		e.t.Fatalf("status = %d, want %d: %s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		e.t.Fatalf("Content-Type = %q, want application/problem+json: %s", ct, r.body)
	}
	p := r.json(e.t)
	if p["code"] != code {
		e.t.Fatalf("code = %v, want %s: %s", p["code"], code, r.body)
	}
	if p["status"] != float64(status) || p["title"] == "" || p["type"] == "" || p["requestId"] != r.header.Get("X-Request-Id") {
		e.t.Fatalf("incomplete problem: %s", r.body)
	}
	if d, _ := p["detail"].(string); d == "" || strings.Contains(d, "goroutine") || strings.Contains(strings.ToLower(d), "sql") {
		e.t.Fatalf("detail missing or leaking internals: %q", d)
	}
	// Details are for people: no Go types or library messages.
	for _, internal := range []string{"json.", "float64", "int64", "interface {}", "map[", "Go struct", "unmarshal", "Unmarshal", "nullable", "openapi3", "echo"} {
		if d, _ := p["detail"].(string); strings.Contains(d, internal) {
			e.t.Fatalf("detail speaks Go (%q): %q", internal, d)
		}
	}
	return p
}

func invitesPath(bp string) string { return "/billing-profiles/" + bp + "/aws-invites" }

// create invites an account into acme-main and returns the invite.
func (e *env) create(account string) map[string]any {
	e.t.Helper()
	r := e.do("POST", invitesPath(profile), e.token(), map[string]any{"accountId": account, "notes": "from the tests"})
	if r.status != http.StatusCreated {
		e.t.Fatalf("create %s: %d %s", account, r.status, r.body)
	}
	return r.json(e.t)
}

// counts is what the database holds: invites and history lines of acme-main.
func (e *env) counts() (invites, events int) {
	e.t.Helper()
	ctx := context.Background()
	after := ""
	for {
		page, err := e.store.ListInvites(ctx, invite.ListQuery{BillingProfileID: profile, Limit: 100, After: after})
		if err != nil {
			e.t.Fatal(err)
		}
		for _, inv := range page.Invites {
			invites++
			evs, err := e.store.Events(ctx, inv.BillingProfileID, inv.ID)
			if err != nil {
				e.t.Fatal(err)
			}
			events += len(evs)
		}
		if page.NextID == "" {
			return invites, events
		}
		after = page.NextID
	}
}

// testClockAdvancer lets the sandbox's clock endpoints move the test clock.
type testClockAdvancer struct{ *testclock.Clock }

func (c testClockAdvancer) AdvanceTo(_ context.Context, t time.Time) (time.Time, error) {
	if d := t.Sub(c.Now()); d > 0 {
		c.Advance(d)
	}
	return c.Now(), nil
}
