package httpapi_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/cloudreseller/aws-invites/internal/auth"
	"github.com/cloudreseller/aws-invites/internal/invite"
	"github.com/cloudreseller/aws-invites/internal/store"
)

func adminToken(e *env) string {
	return e.token(func(c *auth.Claims) {
		c.CustomerID, c.Roles, c.Permissions, c.BillingProfiles = "reseller", []string{invite.RolePlatformAdmin}, nil, nil
	})
}

// NUL characters are refused with the field named, before either database sees them (PostgreSQL answered 500,
// SQLite stored them).
func TestNULIsRefusedNamingTheField(t *testing.T) {
	for _, dialect := range []string{store.DialectPostgres, store.DialectSQLite} {
		t.Run(dialect, func(t *testing.T) {
			e := newEnv(t, envOptions{dialect: dialect, sandbox: true})
			tok, admin := e.token(), adminToken(e)
			id := e.create("123456789012")["id"].(string)
			wantInvites, wantEvents := e.counts()
			calls := e.sim.TotalCalls()
			// In a body, an invalid value (422); in a parameter, a malformed one (400), as the validator says of
			// any parameter its schema refuses.
			for _, tc := range []struct {
				name, method, path, token string
				body                      any
				field                     string
				status                    int
			}{
				{"notes", "POST", invitesPath(profile), tok, `{"accountId":"123456789013","notes":"first line\u0000"}`, "notes", 422},
				{"account id", "POST", invitesPath(profile), tok, `{"accountId":"\u0000123456789013"}`, "accountId", 422},
				{"billing profile's customer", "PUT", "/billing-profiles/acme-nul", admin,
					`{"customerId":"acme\u0000","name":"Acme NUL","managementAccountId":"444455556666"}`, "customerId", 422},
				{"nested CUR bucket", "PUT", "/billing-profiles/acme-nul", admin,
					`{"customerId":"acme","name":"Acme NUL","managementAccountId":"444455556666","cur":{"bucket":"b\u0000b","reportName":"r"}}`, "cur.bucket", 422},
				{"billing profile id in the path", "GET", "/billing-profiles/acme%00main", tok, nil, "billingProfileId", 400},
				{"invite id in the path", "DELETE", invitesPath(profile) + "/" + id + "%00", tok, nil, "inviteId", 400},
				{"account filter", "GET", invitesPath(profile) + "?accountId=1234%00", tok, nil, "accountId", 400},
				{"state filter", "GET", invitesPath(profile) + "?state=invited%00", tok, nil, "state", 400},
			} {
				t.Run(tc.name, func(t *testing.T) {
					e := e.with(t)
					code := map[int]string{400: "invalid_parameter", 422: "validation_failed"}[tc.status]
					p := e.problem(e.do(tc.method, tc.path, tc.token, tc.body), tc.status, code)
					if d := p["detail"].(string); !strings.Contains(d, tc.field) || !strings.Contains(d, "NUL") {
						t.Errorf("detail does not name %s and NUL: %q", tc.field, d)
					}
					fields, _ := p["errors"].([]any)
					if len(fields) != 1 || fields[0].(map[string]any)["field"] != tc.field {
						t.Errorf("errors = %v, want the field %s", p["errors"], tc.field)
					}
				})
			}
			// A cursor is base64 of JSON anyone can write; one holding NUL is not one this service issued.
			list := sha256.Sum256([]byte(`["invites","` + profile + `","","",""]`)) // the list and its filters: profile, states, account, kind
			forge := func(after string) string {
				return base64.RawURLEncoding.EncodeToString([]byte(`{"p":"` + after + `","l":"` + hex.EncodeToString(list[:8]) + `"}`))
			}
			if r := e.do("GET", invitesPath(profile)+"?cursor="+forge("x"), tok, nil); r.status != 200 {
				t.Fatalf("a forged cursor without NUL: %d %s", r.status, r.body)
			}
			e.problem(e.do("GET", invitesPath(profile)+"?cursor="+forge(`x\u0000`), tok, nil), 400, "invalid_cursor")
			if inv, ev := e.counts(); inv != wantInvites || ev != wantEvents {
				t.Errorf("NUL input wrote: invites %d -> %d, events %d -> %d", wantInvites, inv, wantEvents, ev)
			}
			if got := e.sim.TotalCalls(); got != calls {
				t.Errorf("NUL input reached AWS: %d calls", got-calls)
			}
			if _, err := e.store.BillingProfile(context.Background(), "acme-nul"); !invite.IsCode(err, invite.CodeNotFound) {
				t.Errorf("billing profile with NUL: err = %v, want it not stored", err)
			}
		})
	}
}

// Media types are case-insensitive and may carry charset=utf-8; anything else on a body operation is 415.
func TestJSONMediaTypes(t *testing.T) {
	e := newEnv(t, envOptions{sandbox: true})
	tok := e.token()
	for i, ct := range []string{"Application/JSON", "application/json; charset=utf-8", "APPLICATION/JSON;charset=\"UTF-8\""} {
		body := `{"accountId":"12345678901` + string(rune('1'+i)) + `"}`
		if r := e.do("POST", invitesPath(profile), tok, body, "Content-Type", ct); r.status != http.StatusCreated {
			t.Errorf("Content-Type %q: %d %s", ct, r.status, r.body)
		}
	}
	bp := `{"customerId":"acme","name":"Acme EU","managementAccountId":"444455556666"}`
	if r := e.do("PUT", "/billing-profiles/acme-eu", adminToken(e), bp, "Content-Type", "Application/Json"); r.status != http.StatusCreated {
		t.Errorf("PUT with Application/Json: %d %s", r.status, r.body)
	}
	for _, ct := range []string{"", "text/plain", "application/x-www-form-urlencoded", "application/jsonx", "application/json; charset=utf-16"} {
		p := e.problem(e.do("POST", invitesPath(profile), tok, `{"accountId":"123456789019"}`, "Content-Type", ct), 415, "unsupported_media_type")
		if !strings.Contains(p["detail"].(string), "application/json") {
			t.Errorf("Content-Type %q: detail does not say what to send: %v", ct, p["detail"])
		}
	}
}

// What the validator finds is said in words: which field, what it must be, what it was.
func TestDetailsSayWhatIsWrong(t *testing.T) {
	e := newEnv(t, envOptions{sandbox: true})
	tok, admin := e.token(), adminToken(e)
	for _, tc := range []struct {
		method, path, token string
		body                any
		status              int
		detail              string
	}{
		{"POST", invitesPath(profile), tok, `{"accountId": 1e400}`, 422, "accountId must be a string, not a number"},
		{"POST", invitesPath(profile), tok, `{"accountId": 123}`, 422, "accountId must be a string, not a number"},
		{"POST", invitesPath(profile), tok, `{"accountId": true}`, 422, "accountId must be a string, not true or false"},
		{"POST", invitesPath(profile), tok, `{"accountId": "123456789013", "notes": []}`, 422, "notes must be a string, not a list"},
		{"POST", invitesPath(profile), tok, `{"accountId": "123456789013", "notes": {}}`, 422, "notes must be a string, not an object"},
		{"POST", invitesPath(profile), tok, `{"accountId": "123456789013", "notes": null}`, 422, "notes must be a string, not null"},
		{"POST", invitesPath(profile), tok, `{"notes": "x"}`, 422, "accountId is required"},
		{"POST", invitesPath(profile), tok, `{"accountId": "123456789013", "acountId": "x"}`, 400, `the request body has an unknown field "acountId"; the fields here are accountId`},
		{"POST", invitesPath(profile), tok, `null`, 422, "the request body must be an object, not null"},
		{"POST", invitesPath(profile), tok, `[]`, 422, "the request body must be an object, not a list"},
		{"POST", invitesPath(profile), tok, `{"accountId": "` + strings.Repeat("1", 33) + `"}`, 422, "accountId must be at most 32 characters"},
		{"PUT", "/billing-profiles/acme-x", admin, `{"customerId": "", "name": "n", "managementAccountId": "444455556666"}`, 422, "customerId must be 1 to 128 characters"},
		{"PUT", "/billing-profiles/acme-x", admin, `{"customerId": "acme", "name": "n", "managementAccountId": "444455556666", "roleArn": "role"}`, 422, "roleArn must match the pattern ^arn:aws"},
		{"PUT", "/billing-profiles/acme-x", admin, `{"customerId": "acme", "name": "n", "managementAccountId": "444455556666", "cur": {"bucket": "bkt", "reportName": "r", "format": "cur3"}}`, 422, "cur.format must be one of legacy, cur2"},
		{"PUT", "/billing-profiles/acme-x", admin, `{"customerId": "acme", "name": "n", "managementAccountId": "444455556666", "cur": {"bucket": 5, "reportName": "r"}}`, 422, "cur.bucket must be a string, not a number"},
		{"GET", invitesPath(profile) + "?limit=ten", tok, nil, 400, "query parameter limit must be an integer from 1 to 100"},
		{"GET", invitesPath(profile) + "?limit=1.5", tok, nil, 400, "query parameter limit must be an integer from 1 to 100"},
		{"GET", invitesPath(profile) + "?limit=0", tok, nil, 400, "query parameter limit must be an integer from 1 to 100"},
		{"GET", invitesPath(profile) + "?state=pending", tok, nil, 400, "query parameter state must be one of queued, invited, accepted"},
		{"GET", invitesPath(profile) + "?cursor=" + strings.Repeat("c", 513), tok, nil, 400, "query parameter cursor must be at most 512 characters"},
		{"GET", "/billing-profiles/bad%20id", tok, nil, 400, "path parameter billingProfileId must match the pattern"},
		{"GET", invitesPath(profile) + "?limit=%zz", tok, nil, 400, `the query string has "%zz", which is not a percent-encoded byte`},
		{"POST", invitesPath(profile), tok, `{"accountId": "123456789013"`, 400, "the request body ends before its JSON value does"},
		{"POST", invitesPath(profile), tok, `{"accountId": "123456789013",}`, 400, "the request body is not valid JSON (at byte"},
		{"POST", invitesPath(profile), tok, `{"accountId":"1","accountId":"2"}`, 400, `the request body has the field "accountId" more than once`},
		{"POST", invitesPath(profile), tok, `{"a":{"b":1,"b":2}}`, 400, `the request body has the field "a.b" more than once`},
		{"POST", invitesPath(profile), tok, `{"accountId":"123456789013"} []`, 400, "the request body goes on after its JSON value (at byte"},
		{"POST", invitesPath(profile), tok, "{\"notes\":\"\xff\"}", 400, "the request body is not valid UTF-8 (at byte 10)"},
		{"POST", invitesPath(profile), tok, strings.NewReader(`{"notes":"` + strings.Repeat("n", 70<<10) + `"}`), 413, "the request body is over the limit of 65536 bytes"},
	} {
		t.Run(tc.detail, func(t *testing.T) {
			e := e.with(t)
			code := map[int]string{400: "", 413: "payload_too_large", 422: "validation_failed"}[tc.status]
			r := e.do(tc.method, tc.path, tc.token, tc.body)
			if code == "" {
				code, _ = r.json(t)["code"].(string)
				if code != "invalid_parameter" && code != "malformed_json" && code != "unknown_field" {
					t.Fatalf("code = %q: %s", code, r.body)
				}
			}
			p := e.problem(r, tc.status, code)
			if d := p["detail"].(string); !strings.HasPrefix(d, tc.detail) {
				t.Errorf("detail = %q, want it to begin %q", d, tc.detail)
			}
		})
	}
	if n := e.sim.TotalCalls(); n != 0 {
		t.Errorf("refused requests called AWS %d times", n)
	}
}

// 405 lists what the path supports; HEAD answers wherever GET does, with GET's status and headers and no body.
func TestMethodsAndHEAD(t *testing.T) {
	e := newEnv(t, envOptions{sandbox: true})
	tok := e.token()
	id := e.create("123456789012")["id"].(string)
	inv := invitesPath(profile) + "/" + id
	for _, tc := range []struct{ method, path, allow string }{
		{"PATCH", inv, "DELETE, GET, HEAD"},
		{"PUT", invitesPath(profile), "GET, HEAD, POST"},
		{"GET", inv + "/resend", "POST"},
		{"HEAD", inv + "/resend", "POST"},
		{"DELETE", "/billing-profiles/" + profile, "GET, HEAD, PUT"},
		{"POST", "/healthz", "GET, HEAD"},
		{"POST", "/openapi.yaml", "GET, HEAD"},
		{"DELETE", "/docs/index.html", "GET, HEAD"},
	} {
		r := e.do(tc.method, tc.path, tok, nil)
		if r.status != http.StatusMethodNotAllowed || r.header.Get("Allow") != tc.allow {
			t.Errorf("%s %s: %d, Allow %q; want 405, Allow %q", tc.method, tc.path, r.status, r.header.Get("Allow"), tc.allow)
		}
		if tc.method != "HEAD" {
			e.problem(r, 405, "method_not_allowed")
		}
	}

	for _, tc := range []struct {
		path, token string
		status      int
	}{
		{invitesPath(profile), tok, 200},
		{inv, tok, 200},
		{inv + "/events", tok, 200},
		{"/billing-profiles/" + profile, tok, 200},
		{"/healthz", "", 200},
		{"/readyz", "", 200},
		{"/docs/", "", 200},
		{invitesPath(profile) + "/no-such-invite", tok, 404},
		{invitesPath(profile), "", 401},
		{invitesPath(profile) + "?limit=0", tok, 400},
		{"/no-such-path", tok, 404},
	} {
		get, head := send(t, "GET", e.url+tc.path, tc.token), send(t, "HEAD", e.url+tc.path, tc.token)
		if get.status != tc.status || head.status != tc.status {
			t.Errorf("%s: GET %d, HEAD %d; want %d", tc.path, get.status, head.status, tc.status)
		}
		if len(head.body) != 0 {
			t.Errorf("HEAD %s sent a body: %q", tc.path, head.body)
		}
		if head.length != int64(len(get.body)) && head.length != -1 {
			t.Errorf("HEAD %s: Content-Length %d, GET's body has %d bytes", tc.path, head.length, len(get.body))
		}
		for name := range get.header {
			if name == "Date" || name == "Content-Length" || name == "Transfer-Encoding" {
				continue
			}
			if (head.header.Get(name) == "") != (get.header.Get(name) == "") ||
				(name != "X-Request-Id" && head.header.Get(name) != get.header.Get(name)) {
				t.Errorf("HEAD %s: %s = %q, GET's %q", tc.path, name, head.header.Get(name), get.header.Get(name))
			}
		}
	}
	// Logs and metrics tell a HEAD from the GET it was served as.
	if m := string(e.do("GET", "/metrics", "", nil).body); !strings.Contains(m, `aws_invites_http_requests_total{method="HEAD",route="/healthz",status="200"} 1`) {
		t.Error("the HEAD /healthz is not counted as a HEAD")
	}
}

type sent struct {
	status int
	header http.Header
	length int64
	body   []byte
}

// send makes a request with the plain client, which keeps a HEAD response's Content-Length in ContentLength.
func send(t *testing.T, method, url, token string) sent {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if err := mustContract(t).check(req, response{status: res.StatusCode, header: res.Header, body: body}); err != nil {
		t.Errorf("%s %s: the answer breaks the contract: %v", method, url, err)
	}
	return sent{status: res.StatusCode, header: res.Header, length: res.ContentLength, body: body}
}

// RFC 6750 3.1: without any bearer token the challenge carries no error code and the detail says to send one; a
// token that fails verification is invalid_token. Authentication comes first, whatever else is wrong.
func TestUnauthorizedChallenge(t *testing.T) {
	e := newEnv(t, envOptions{})
	for _, tc := range []struct {
		name, authorization string
		body                any
		challenge, detail   string
	}{
		{"no token", "", nil, `Bearer realm="aws-invites"`, "send a bearer token"},
		{"another scheme", "Basic dXNlcjpwYXNz", nil, `Bearer realm="aws-invites"`, "send a bearer token"},
		{"no token, broken body", "", `{"accountId":"1","accountId":"2"}`, `Bearer realm="aws-invites"`, "send a bearer token"},
		{"no token, NUL in the body", "", `{"accountId":"\u0000"}`, `Bearer realm="aws-invites"`, "send a bearer token"},
		{"a token that is not a JWT", "Bearer not-a-jwt", nil, `Bearer realm="aws-invites", error="invalid_token"`, "the bearer token is not valid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := e.with(t)
			method := "GET"
			if tc.body != nil {
				method = "POST"
			}
			r := e.do(method, invitesPath(profile)+"?limit=%zz", "", tc.body, "Authorization", tc.authorization)
			p := e.problem(r, 401, "unauthenticated")
			if got := r.header.Get("WWW-Authenticate"); got != tc.challenge {
				t.Errorf("WWW-Authenticate = %q, want %q", got, tc.challenge)
			}
			if !strings.HasPrefix(p["detail"].(string), tc.detail) {
				t.Errorf("detail = %q, want it to begin %q", p["detail"], tc.detail)
			}
		})
	}
}

// An Idempotency-Key identifies the request as the domain reads it: the account id in any spelling.
func TestIdempotencyComparesTheNormalizedRequest(t *testing.T) {
	e := newEnv(t, envOptions{sandbox: true})
	tok := e.token()
	key := []string{"Idempotency-Key", "norm-1"}
	first := e.do("POST", invitesPath(profile), tok, map[string]any{"accountId": "1234-5678-9012", "notes": "hello"}, key...)
	if first.status != http.StatusCreated {
		t.Fatalf("first: %d %s", first.status, first.body)
	}
	for _, spelling := range []string{"123456789012", " 1234 5678 9012 ", "1234-5678-9012"} {
		again := e.do("POST", invitesPath(profile), tok, map[string]any{"accountId": spelling, "notes": "hello"}, key...)
		if again.status != http.StatusCreated || again.header.Get("Idempotent-Replayed") != "true" || again.json(t)["id"] != first.json(t)["id"] {
			t.Errorf("%q under the same key: %d replayed=%q %s", spelling, again.status, again.header.Get("Idempotent-Replayed"), again.body)
		}
	}
	if n := e.sim.Calls("InviteAccountToOrganization"); n != 1 {
		t.Errorf("invitations sent: %d, want 1", n)
	}
	wantInvites, _ := e.counts()
	for _, body := range []map[string]any{
		{"accountId": "1234-5678-9013", "notes": "hello"}, // another account
		{"accountId": "123456789012", "notes": "hello "},  // notes count as given
		{"accountId": "123456789012"},                     // and so does leaving them out
	} {
		p := e.problem(e.do("POST", invitesPath(profile), tok, body, key...), 422, "idempotency_key_reused")
		if !strings.Contains(p["detail"].(string), "norm-1") {
			t.Errorf("detail does not name the key: %v", p["detail"])
		}
	}
	if inv, _ := e.counts(); inv != wantInvites || e.sim.Calls("InviteAccountToOrganization") != 1 {
		t.Errorf("a reused key wrote %d invites or called AWS", inv-wantInvites)
	}
}
