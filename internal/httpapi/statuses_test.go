package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/cloudreseller/aws-invites/internal/auth"
	"github.com/cloudreseller/aws-invites/internal/httpapi"
	"github.com/cloudreseller/aws-invites/internal/invite"
	"github.com/cloudreseller/aws-invites/internal/testdb"
)

// operation is one operation of openapi.yaml, made concrete enough to call.
type operation struct {
	id, method, path string // path as the spec writes it, with {parameters}
	body             bool
	secured          bool
}

// operations lists the spec's operations, by id.
func operations(t *testing.T) []operation {
	t.Helper()
	c := mustContract(t)
	var out []operation
	for path, item := range c.spec.Paths.Map() {
		for method, op := range item.Operations() {
			secured := len(c.spec.Security) > 0
			if op.Security != nil {
				secured = len(*op.Security) > 0
			}
			out = append(out, operation{id: op.OperationID, method: method, path: path, body: op.RequestBody != nil, secured: secured})
		}
	}
	slices.SortFunc(out, func(a, b operation) int { return strings.Compare(a.id, b.id) })
	return out
}

var pathParam = regexp.MustCompile(`\{([^}]+)\}`)

// url fills in the operation's path parameters; each must be given.
func (o operation) url(t *testing.T, params map[string]string) string {
	t.Helper()
	return pathParam.ReplaceAllStringFunc(o.path, func(m string) string {
		v, ok := params[m[1:len(m)-1]]
		if !ok {
			t.Fatalf("%s: no value for the path parameter %s", o.id, m)
		}
		return v
	})
}

// validBodies are bodies each operation that takes one accepts, so a request gets past the validator to the
// handler. A new operation with a body needs one here: the test fails until it has one.
var validBodies = map[string]string{
	"putBillingProfile":     `{"customerId":"acme","name":"Acme main","managementAccountId":"111111111111"}`,
	"createWebhook":         `{"url":"http://127.0.0.1:9/hooks"}`,
	"createResellerWebhook": `{"url":"http://127.0.0.1:9/hooks"}`,
	"updateWebhook":         `{"description":"the partner's receiver"}`,
	"updateResellerWebhook": `{"description":"the partner's receiver"}`,
	"putNotifications":      `{"recipients":["ops@acme.example"]}`,
	"createInvite":          `{"accountId":"123456789099"}`,
	"createInviteBatch":     `{"accounts":[{"accountId":"123456789099"}],"dryRun":true}`,
	"reassignInvite":        `{"billingProfileId":"acme-other"}`,
	"sandboxSetCloudHealth": `{"level":"green"}`,
	"sandboxDeliverCUR":     `{"unblendedCost":"1.00"}`,
	"sandboxChangeAccount":  `{"change":"leave"}`,
	"advanceSandboxClock":   `{"advance":"1s"}`,
	"advanceTestClock":      `{"advance":"1s"}`,
	"createTestClock":       `{"managementAccountId":"222222222222","customerId":"acme"}`,
}

func (o operation) validBody(t *testing.T) any {
	t.Helper()
	if !o.body {
		return nil
	}
	b, ok := validBodies[o.id]
	if !ok {
		t.Fatalf("%s takes a body and validBodies has none for it", o.id)
	}
	return b
}

// rootToken may do anything: a platform administrator and licenses manager assigned to acme-main.
func rootToken(e *env, mods ...func(*auth.Claims)) string {
	return e.token(append([]func(*auth.Claims){func(c *auth.Claims) {
		c.Roles = []string{invite.RolePlatformAdmin}
	}}, mods...)...)
}

// existing creates an invite and a webhook endpoint of acme-main and a reseller-wide one, and returns path
// parameters naming them.
func existing(e *env) map[string]string {
	e.t.Helper()
	inv := e.create("123456789012")
	hook := e.do("POST", "/billing-profiles/"+profile+"/webhooks", rootToken(e, setup("hook")), map[string]any{"url": "http://127.0.0.1:9/hooks"})
	if hook.status != http.StatusCreated {
		e.t.Fatalf("creating a webhook: %d %s", hook.status, hook.body)
	}
	// acme's payer gets a test clock of its own, where the sandbox keeps them.
	if c := e.do("POST", "/sandbox/test-clocks", rootToken(e, setup("clock")), map[string]any{"managementAccountId": management, "customerId": customer}); c.status != http.StatusCreated && c.status != http.StatusNotFound {
		e.t.Fatalf("creating a test clock: %d %s", c.status, c.body)
	}
	batch := e.do("POST", batchesPath(profile), rootToken(e, setup("batch")), map[string]any{"accounts": batchOf("123456789013"), "dryRun": true})
	if batch.status != http.StatusAccepted {
		e.t.Fatalf("creating a batch: %d %s", batch.status, batch.body)
	}
	return map[string]string{"billingProfileId": profile, "inviteId": inv["id"].(string),
		"webhookId": hook.json(e.t)["id"].(string), "managementAccountId": management, "batchId": batch.json(e.t)["id"].(string)}
}

// The reseller-wide webhook paths take the same {webhookId}; one endpoint of acme-main is not found there, which
// only the 404 case relies on. The others use an id that exists in the scope the path names.
func resellerHook(e *env, params map[string]string) map[string]string {
	e.t.Helper()
	hook := e.do("POST", "/webhooks", rootToken(e, setup("reseller-hook")), map[string]any{"url": "http://127.0.0.1:9/hooks"})
	if hook.status != http.StatusCreated {
		e.t.Fatalf("creating a reseller-wide webhook: %d %s", hook.status, hook.body)
	}
	out := map[string]string{}
	for k, v := range params {
		out[k] = v
	}
	out["webhookId"] = hook.json(e.t)["id"].(string)
	return out
}

// setup names a caller of the tests' preparations, whose requests take from no bucket a test then counts on.
func setup(name string) func(*auth.Claims) {
	return func(c *auth.Claims) { c.Subject = "setup-" + name }
}

func paramsFor(o operation, profileScoped, resellerScoped map[string]string) map[string]string {
	if strings.HasPrefix(o.path, "/webhooks/") {
		return resellerScoped
	}
	return profileScoped
}

// TestEveryOperationAnswersItsStatuses sends every operation of the spec the requests that make it answer each
// status it can: 400, 401, 403, 404, 413, 415, 422, 429, 500 and 503 (the harness checks each answer against the
// spec, and this test that the status is the expected one). 409, 412 and 502 have tests of their own.
func TestEveryOperationAnswersItsStatuses(t *testing.T) {
	ops := operations(t)
	// Operations that need only a valid token (of the customer, for its test clock): the sandbox's shared time
	// and its mail (filtered to what the caller may read).
	tokenOnly := []string{"getSandboxClock", "listSandboxMail", "getTestClock", "listBillingProfiles", "listAllInvites"}
	// Operations that never read the database (the probe, the sandbox's clock and mailbox).
	noDatabase := []string{"getHealth", "getSandboxClock", "listSandboxMail", "getCloudHealthHostedTemplate", "listCloudHealthTenants"}

	t.Run("400, 401, 403, 413, 415 and 422", func(t *testing.T) {
		e := newEnv(t, envOptions{testClocks: true, sandbox: true}).with(t)
		params := existing(e)
		reseller := resellerHook(e, params)
		root := rootToken(e)
		nobody := e.token(func(c *auth.Claims) { c.BillingProfiles, c.Permissions, c.Roles = nil, nil, nil })
		for _, o := range ops {
			t.Run(o.id, func(t *testing.T) {
				e := e.with(t)
				url := o.url(t, paramsFor(o, params, reseller))
				// A query string that does not parse: every operation, the probes too.
				e.problem(e.do(o.method, url+"?limit=%zz", root, o.validBody(t)), 400, "invalid_parameter")
				if o.secured {
					r := e.do(o.method, url, "", o.validBody(t))
					e.problem(r, 401, "unauthenticated")
					if r.header.Get("WWW-Authenticate") == "" {
						t.Error("401 without WWW-Authenticate")
					}
					r = e.do(o.method, url, nobody, o.validBody(t))
					if slices.Contains(tokenOnly, o.id) {
						if r.status >= 300 {
							t.Errorf("a caller without rights: %d %s", r.status, r.body)
						}
					} else if r.status != 403 {
						t.Errorf("a caller without rights: %d %s, want 403", r.status, r.body)
					}
				}
				if o.body {
					// Over every operation's limit, a batch's too.
					e.problem(e.do(o.method, url, root, `{"notes":"`+strings.Repeat("n", 1<<20)+`"}`), 413, "payload_too_large")
					e.problem(e.do(o.method, url, root, o.validBody(t), "Content-Type", "text/plain"), 415, "unsupported_media_type")
					e.problem(e.do(o.method, url, root, `[]`), 422, "validation_failed")
				}
			})
		}
		// Filters the domain validates.
		for _, path := range []string{invitesPath(profile), "/billing-profiles/" + profile + "/events", "/events"} {
			e.problem(e.do("GET", path+"?accountId=42", root, nil), 422, "invalid_account_id")
		}
		e.problem(e.do("GET", "/payers/12345678901x/handshakes", root, nil), 422, "invalid_account_id")
	})

	t.Run("404", func(t *testing.T) {
		e := newEnv(t, envOptions{testClocks: true, sandbox: true}).with(t)
		params := existing(e)
		unknown := map[string]string{"billingProfileId": "no-such-profile", "inviteId": "no-such-invite", "batchId": "no-such-batch",
			"webhookId": "no-such-webhook", "managementAccountId": "999999999999"}
		root := rootToken(e)
		for _, o := range ops {
			// PUT creates a billing profile that does not exist.
			if !strings.Contains(o.path, "{") || o.id == "putBillingProfile" {
				continue
			}
			t.Run(o.id, func(t *testing.T) {
				e := e.with(t)
				for name := range unknown {
					if !strings.Contains(o.path, "{"+name+"}") {
						continue
					}
					// One unknown at a time: each must be looked up.
					p := map[string]string{}
					for k, v := range params {
						p[k] = v
					}
					p[name] = unknown[name]
					e.problem(e.do(o.method, o.url(t, p), root, o.validBody(t)), 404, "not_found")
				}
			})
		}
		// Outside the sandbox its operations do not exist, and say so.
		out := newEnv(t, envOptions{}).with(t)
		outParams := existing(out)
		for _, o := range ops {
			if strings.Contains(o.path, "/sandbox") {
				out.problem(out.do(o.method, o.url(t, outParams), rootToken(out), o.validBody(t)), 404, "sandbox_only")
			}
		}
	})

	t.Run("429", func(t *testing.T) {
		e := newEnv(t, envOptions{testClocks: true, sandbox: true, limits: httpapi.RateLimits{RPS: 0.001, Burst: 1, AWSRPS: 0.001, AWSBurst: 1}}).with(t)
		params := existing(e)
		reseller := resellerHook(e, params)
		for _, o := range ops {
			t.Run(o.id, func(t *testing.T) {
				e := e.with(t)
				// A caller of its own for each operation: its bucket holds one request.
				tok := rootToken(e, func(c *auth.Claims) { c.Subject = "limited-" + o.id })
				url := o.url(t, paramsFor(o, params, reseller))
				first := e.do(o.method, url, tok, o.validBody(t))
				second := e.do(o.method, url, tok, o.validBody(t))
				if !o.secured { // the probes are never limited
					if first.status != 200 || second.status != 200 {
						t.Errorf("a probe answered %d, then %d", first.status, second.status)
					}
					return
				}
				e.problem(second, 429, "rate_limited")
				if second.header.Get("Retry-After") == "" || second.header.Get("RateLimit") == "" {
					t.Errorf("429 without Retry-After or RateLimit: %v", second.header)
				}
			})
		}
	})

	t.Run("500", func(t *testing.T) {
		e := newEnv(t, envOptions{testClocks: true, sandbox: true}).with(t)
		params := existing(e)
		reseller := resellerHook(e, params)
		// The service's own fault, which a client cannot act on: its tables are gone.
		if _, err := e.store.SQLDB().Exec("DROP SCHEMA public CASCADE; CREATE SCHEMA public"); err != nil {
			t.Fatal(err)
		}
		for _, o := range ops {
			t.Run(o.id, func(t *testing.T) {
				e := e.with(t)
				r := e.do(o.method, o.url(t, paramsFor(o, params, reseller)), rootToken(e), o.validBody(t))
				switch {
				case slices.Contains(noDatabase, o.id) || o.id == "getReadiness":
					// The readiness probe pings the server, which answers.
					if r.status != 200 {
						t.Errorf("%d %s, want 200", r.status, r.body)
					}
				default:
					p := e.problem(r, 500, "internal")
					if strings.Contains(p["detail"].(string), "relation") {
						t.Errorf("the detail tells the database's error: %v", p["detail"])
					}
				}
			})
		}
	})

	t.Run("503", func(t *testing.T) {
		e := newEnv(t, envOptions{testClocks: true, sandbox: true}).with(t)
		params := existing(e)
		reseller := resellerHook(e, params)
		cutOff(t, e)
		for _, o := range ops {
			t.Run(o.id, func(t *testing.T) {
				e := e.with(t)
				r := e.do(o.method, o.url(t, paramsFor(o, params, reseller)), rootToken(e), o.validBody(t))
				switch {
				case slices.Contains(noDatabase, o.id):
					if r.status != 200 {
						t.Errorf("%d %s, want 200", r.status, r.body)
					}
				case o.id == "getReadiness":
					if r.status != 503 {
						t.Errorf("readiness without a database: %d %s", r.status, r.body)
					}
				default:
					e.problem(r, 503, "database_unavailable")
					if r.header.Get("Retry-After") == "" {
						t.Error("503 without Retry-After")
					}
				}
			})
		}
	})
}

// cutOff makes the environment's PostgreSQL database refuse connections and ends those it has, as a database that
// went away would; the test's end lets them in again, for the cleanup.
func cutOff(t *testing.T, e *env) {
	t.Helper()
	ctx := context.Background()
	name := e.store.PgxPool().Config().ConnConfig.Database
	admin, err := pgx.Connect(ctx, testdb.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		defer func() { _ = admin.Close(ctx) }()
		if _, err := admin.Exec(ctx, fmt.Sprintf("ALTER DATABASE %s ALLOW_CONNECTIONS true", pgx.Identifier{name}.Sanitize())); err != nil {
			t.Errorf("letting connections in again: %v", err)
		}
	})
	if _, err := admin.Exec(ctx, fmt.Sprintf("ALTER DATABASE %s ALLOW_CONNECTIONS false", pgx.Identifier{name}.Sanitize())); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", name); err != nil {
		t.Fatal(err)
	}
}
