package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudreseller/aws-invites/internal/auth"
	"github.com/cloudreseller/aws-invites/internal/awsorg/orgsim"
	"github.com/cloudreseller/aws-invites/internal/invite"
	"github.com/cloudreseller/aws-invites/internal/store"
)

func TestInviteLifecycle(t *testing.T) {
	for _, dialect := range []string{store.DialectPostgres, store.DialectSQLite} {
		t.Run(dialect, func(t *testing.T) {
			e := newEnv(t, envOptions{dialect: dialect, sandbox: true})
			tok := e.token()

			// Create: 201, Location, handshake OPEN in AWS, next steps for the first five minutes.
			r := e.do("POST", invitesPath(profile), tok, map[string]any{"accountId": "1234-5678-9012", "notes": "welcome"})
			if r.status != http.StatusCreated {
				t.Fatalf("create: %d %s", r.status, r.body)
			}
			inv := r.json(t)
			id := inv["id"].(string)
			if loc := r.header.Get("Location"); loc != invitesPath(profile)+"/"+id {
				t.Errorf("Location = %q", loc)
			}
			if inv["accountId"] != "123456789012" || inv["state"] != "invited" || inv["notes"] != "welcome" {
				t.Errorf("created invite: %s", r.body)
			}
			hs := inv["handshake"].(map[string]any)
			firstHandshake := hs["id"].(string)
			if hs["state"] != "OPEN" || !strings.HasPrefix(firstHandshake, "h-") {
				t.Errorf("handshake: %v", hs)
			}
			if by := inv["invitedBy"].(map[string]any); by["subject"] != "alice" || by["email"] != "alice@acme.example" {
				t.Errorf("invitedBy: %v", by)
			}
			if codes := stepCodes(inv); !strings.Contains(codes, "wait_for_email") || strings.Contains(codes, "resend") {
				t.Errorf("next steps within five minutes: %s", codes)
			}
			if r.header.Get("X-Sandbox") != "true" {
				t.Error("sandbox response without X-Sandbox")
			}

			// Read it back, alone and in the list.
			got := e.do("GET", invitesPath(profile)+"/"+id, tok, nil)
			if got.status != 200 || got.json(t)["id"] != id {
				t.Fatalf("get: %d %s", got.status, got.body)
			}

			// Too soon to re-send, by either way in.
			p := e.problem(e.do("POST", invitesPath(profile)+"/"+id+"/resend", tok, nil), 409, "resend_too_soon")
			_ = p
			again := e.do("POST", invitesPath(profile), tok, map[string]any{"accountId": "123456789012"})
			e.problem(again, 409, "resend_too_soon")
			if ra, err := strconv.Atoi(again.header.Get("Retry-After")); err != nil || ra < 290 || ra > 300 {
				t.Errorf("Retry-After = %q", again.header.Get("Retry-After"))
			}

			// Five minutes later: re-entering the account re-sends it (200, same invite, new handshake).
			e.clock.Advance(5 * time.Minute)
			r = e.do("POST", invitesPath(profile), tok, map[string]any{"accountId": "123456789012"})
			if r.status != http.StatusOK {
				t.Fatalf("re-enter after 5 minutes: %d %s", r.status, r.body)
			}
			inv = r.json(t)
			second := inv["handshake"].(map[string]any)["id"].(string)
			if inv["id"] != id || second == firstHandshake {
				t.Errorf("re-send kept id %v, handshake %s -> %s", inv["id"], firstHandshake, second)
			}
			if e.sim.Calls("CancelHandshake") != 1 {
				t.Errorf("CancelHandshake calls = %d, want 1", e.sim.Calls("CancelHandshake"))
			}

			// And the resend endpoint, five more minutes later.
			e.clock.Advance(6 * time.Minute)
			r = e.do("POST", invitesPath(profile)+"/"+id+"/resend", tok, nil)
			if r.status != 200 {
				t.Fatalf("resend: %d %s", r.status, r.body)
			}
			third := r.json(t)["handshake"].(map[string]any)["id"].(string)

			// The owner accepts (sandbox): accepted, membership confirmed, awaiting CUR data.
			r = e.do("POST", invitesPath(profile)+"/"+id+"/sandbox/accept", tok, nil)
			if r.status != 200 {
				t.Fatalf("accept: %d %s", r.status, r.body)
			}
			inv = r.json(t)
			if inv["state"] != "awaiting_cur" || inv["joinedAt"] == nil || inv["handshake"].(map[string]any)["id"] != third {
				t.Errorf("after accept: %s", r.body)
			}
			if codes := stepCodes(inv); !strings.Contains(codes, "grant_cloudhealth_access") {
				t.Errorf("next steps after joining: %s", codes)
			}

			// A joined account cannot be invited again, nor the invite canceled or re-sent.
			e.problem(e.do("POST", invitesPath(profile), tok, map[string]any{"accountId": "123456789012"}), 409, "account_already_joined")
			e.problem(e.do("DELETE", invitesPath(profile)+"/"+id, tok, nil), 409, "invalid_state")
			e.problem(e.do("POST", invitesPath(profile)+"/"+id+"/resend", tok, nil), 409, "invalid_state")

			// The history tells the whole story, oldest first.
			r = e.do("GET", invitesPath(profile)+"/"+id+"/events", tok, nil)
			var reasons []string
			var last string
			for _, it := range r.json(t)["items"].([]any) {
				ev := it.(map[string]any)
				reasons = append(reasons, ev["reason"].(string))
				last = ev["to"].(string)
			}
			all := strings.Join(reasons, " | ")
			for _, want := range []string{"invite requested", "sent as handshake " + firstHandshake, "re-sent", second, "ACCEPTED", "member"} {
				if !strings.Contains(all, want) {
					t.Errorf("history lacks %q: %s", want, all)
				}
			}
			if last != "awaiting_cur" {
				t.Errorf("last event to %s", last)
			}

			// Cancel a second invite: canceled in AWS, kept here as canceled; canceling again is harmless.
			other := e.create("210987654321")
			oid := other["id"].(string)
			r = e.do("DELETE", invitesPath(profile)+"/"+oid, tok, nil)
			if r.status != 200 || r.json(t)["state"] != "canceled" || r.json(t)["handshake"].(map[string]any)["state"] != "CANCELED" {
				t.Fatalf("cancel: %d %s", r.status, r.body)
			}
			if r = e.do("DELETE", invitesPath(profile)+"/"+oid, tok, nil); r.status != 200 {
				t.Errorf("second cancel: %d %s", r.status, r.body)
			}
			// A canceled invite leaves room for a new one.
			if n := e.create("210987654321"); n["id"] == oid {
				t.Error("a new invite reused the canceled one")
			}

			// A declined invite ends; a new invite may be sent.
			d := e.create("333344445555")
			r = e.do("POST", invitesPath(profile)+"/"+d["id"].(string)+"/sandbox/decline", tok, nil)
			if r.status != 200 || r.json(t)["state"] != "declined" {
				t.Fatalf("decline: %d %s", r.status, r.body)
			}
		})
	}
}

func stepCodes(inv map[string]any) string {
	var codes []string
	for _, s := range inv["nextSteps"].([]any) {
		codes = append(codes, s.(map[string]any)["code"].(string))
	}
	return strings.Join(codes, ",")
}

func TestListFiltersAndPagination(t *testing.T) {
	e := newEnv(t, envOptions{sandbox: true})
	tok := e.token()
	var ids []string
	for i := range 7 {
		ids = append(ids, e.create(fmt.Sprintf("1000000000%02d", i))["id"].(string))
	}
	// Cancel two of them.
	for _, id := range ids[:2] {
		if r := e.do("DELETE", invitesPath(profile)+"/"+id, tok, nil); r.status != 200 {
			t.Fatal(r.status, string(r.body))
		}
	}
	// Pages of 3, newest first; a new invite arriving between pages neither repeats nor hides any.
	var seen []string
	cursor := ""
	for page := 0; ; page++ {
		path := invitesPath(profile) + "?limit=3"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		r := e.do("GET", path, tok, nil)
		if r.status != 200 {
			t.Fatal(r.status, string(r.body))
		}
		body := r.json(t)
		for _, it := range body["items"].([]any) {
			seen = append(seen, it.(map[string]any)["id"].(string))
		}
		if page == 0 {
			e.create("100000000099")
		}
		next, ok := body["nextCursor"].(string)
		if !ok {
			break
		}
		cursor = next
	}
	if len(seen) != 7 {
		t.Fatalf("paged through %d invites, want the 7 that existed: %v", len(seen), seen)
	}
	for i, id := range seen {
		if id != ids[6-i] {
			t.Errorf("page order: item %d is %s, want %s", i, id, ids[6-i])
		}
	}

	// Filters: state (repeatable) and account id (any spelling).
	count := func(query string) int {
		r := e.do("GET", invitesPath(profile)+"?"+query, tok, nil)
		if r.status != 200 {
			t.Fatalf("%s: %d %s", query, r.status, r.body)
		}
		return len(r.json(t)["items"].([]any))
	}
	if n := count("state=canceled"); n != 2 {
		t.Errorf("canceled: %d", n)
	}
	if n := count("state=canceled&state=invited"); n != 8 {
		t.Errorf("canceled or invited: %d", n)
	}
	if n := count("accountId=1000-0000-0003"); n != 1 {
		t.Errorf("by account: %d", n)
	}
	if n := count("state=active"); n != 0 {
		t.Errorf("active: %d", n)
	}

	// A cursor only works with the filters it was issued for.
	r := e.do("GET", invitesPath(profile)+"?limit=1&state=invited", tok, nil)
	next := r.json(t)["nextCursor"].(string)
	e.problem(e.do("GET", invitesPath(profile)+"?limit=1&cursor="+next, tok, nil), 400, "invalid_cursor")
}

func TestPermissions(t *testing.T) {
	e := newEnv(t, envOptions{sandbox: true})
	id := e.create("123456789012")["id"].(string)
	inv := invitesPath(profile) + "/" + id

	good := e.token()
	readOnly := e.token(func(c *auth.Claims) { c.Permissions = nil })
	unassigned := e.token(func(c *auth.Claims) { c.BillingProfiles = []string{"acme-other"} })
	otherCustomer := e.token(func(c *auth.Claims) { c.CustomerID = "globex"; c.BillingProfiles = []string{"globex-main"} })
	admin := e.token(func(c *auth.Claims) {
		c.CustomerID = "reseller"
		c.Roles = []string{invite.RolePlatformAdmin}
		c.Permissions = nil
		c.BillingProfiles = nil
	})
	expired, _ := auth.Mint(e.secret, auth.Claims{Subject: "alice", CustomerID: customer, Issuer: "test-issuer", Audience: "aws-invites"},
		time.Minute, time.Now().Add(-time.Hour))
	wrongKey, _ := auth.Mint([]byte(strings.Repeat("x", 32)), auth.Claims{Subject: "alice", CustomerID: customer,
		BillingProfiles: []string{profile}, Permissions: []string{"licenses_manager"}, Issuer: "test-issuer", Audience: "aws-invites"},
		time.Hour, time.Now())

	type req struct {
		method, path string
		body         any
		write        bool
	}
	reqs := []req{
		{"GET", "/billing-profiles/" + profile, nil, false},
		{"GET", invitesPath(profile), nil, false},
		{"GET", inv, nil, false},
		{"GET", inv + "/events", nil, false},
		{"POST", invitesPath(profile), map[string]any{"accountId": "999900001111"}, true},
		{"POST", inv + "/resend", nil, true},
		{"DELETE", inv, nil, true},
	}
	for _, rq := range reqs {
		name := rq.method + " " + strings.Replace(rq.path, id, "{id}", 1)
		t.Run(name, func(t *testing.T) {
			e := e.with(t)
			for _, tc := range []struct {
				who, token string
				status     int
				code       string
			}{
				{"no token", "", 401, "unauthenticated"},
				{"garbage token", "not-a-jwt", 401, "unauthenticated"},
				{"expired token", expired, 401, "unauthenticated"},
				{"token signed with another key", wrongKey, 401, "unauthenticated"},
				{"another customer", otherCustomer, 404, "not_found"},
				{"not assigned", unassigned, 403, "not_assigned"},
			} {
				r := e.do(rq.method, rq.path, tc.token, rq.body)
				p := e.problem(r, tc.status, tc.code)
				if tc.status == 401 && !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("%s: 401 without WWW-Authenticate: Bearer", tc.who)
				}
				if tc.code == "not_assigned" && !strings.Contains(p["detail"].(string), "assigned") {
					t.Errorf("%s: detail does not say why: %v", tc.who, p["detail"])
				}
			}
			r := e.do(rq.method, rq.path, readOnly, rq.body)
			if rq.write {
				e.problem(r, 403, "forbidden")
			} else if r.status != 200 {
				t.Errorf("read-only user: %d %s", r.status, r.body)
			}
			if !rq.write {
				if r := e.do(rq.method, rq.path, admin, nil); r.status != 200 {
					t.Errorf("platform admin read: %d %s", r.status, r.body)
				}
			}
		})
	}
	_ = good

	// Another customer's profile and a missing one answer alike.
	a := e.do("GET", invitesPath("globex-main"), good, nil)
	b := e.do("GET", invitesPath("no-such-profile"), good, nil)
	pa, pb := e.problem(a, 404, "not_found"), e.problem(b, 404, "not_found")
	if strings.Replace(pa["detail"].(string), "globex-main", "X", 1) != strings.Replace(pb["detail"].(string), "no-such-profile", "X", 1) {
		t.Errorf("404s differ: %v / %v", pa["detail"], pb["detail"])
	}
	// Another customer's invite id through one's own profile is simply not found.
	e.problem(e.do("GET", invitesPath(profile)+"/not-an-invite", good, nil), 404, "not_found")

	// Billing profiles: platform administrators only.
	bp := map[string]any{"customerId": customer, "name": "Acme EU", "managementAccountId": "4444-5555-6666",
		"roleArn": "arn:aws:iam::444455556666:role/InvitesRole", "externalId": "ext-123"}
	e.problem(e.do("PUT", "/billing-profiles/acme-eu", good, bp), 403, "forbidden")
	r := e.do("PUT", "/billing-profiles/acme-eu", admin, bp)
	if r.status != 201 || r.header.Get("Location") != "/billing-profiles/acme-eu" || r.json(t)["managementAccountId"] != "444455556666" {
		t.Fatalf("create profile: %d %s", r.status, r.body)
	}
	bp["name"] = "Acme Europe"
	if r := e.do("PUT", "/billing-profiles/acme-eu", admin, bp); r.status != 200 || r.json(t)["name"] != "Acme Europe" {
		t.Fatalf("replace profile: %d %s", r.status, r.body)
	}
	// The role and external id are the reseller's secret: a customer's user reads the profile without them; a
	// platform administrator sees them and the account the service acts from.
	assigned := e.token(func(c *auth.Claims) { c.BillingProfiles = []string{"acme-eu"} })
	if r := e.do("GET", "/billing-profiles/acme-eu", assigned, nil); r.status != 200 || r.json(t)["name"] != "Acme Europe" ||
		strings.Contains(string(r.body), "InvitesRole") || strings.Contains(string(r.body), "ext-123") || strings.Contains(string(r.body), "actsFrom") {
		t.Errorf("assigned user reads profile: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/billing-profiles/acme-eu", admin, nil); r.status != 200 || r.json(t)["roleArn"] != bp["roleArn"] ||
		r.json(t)["externalId"] != "ext-123" || r.json(t)["actsFromAccountId"] != "444455556666" {
		t.Errorf("platform admin reads profile: %d %s", r.status, r.body)
	}
	e.problem(e.do("PUT", "/billing-profiles/acme-eu", admin, map[string]any{"customerId": customer, "name": "x", "managementAccountId": "12"}),
		422, "validation_failed")
}

func TestBadInputChangesNothing(t *testing.T) {
	e := newEnv(t, envOptions{sandbox: true})
	tok := e.token()
	id := e.create("123456789012")["id"].(string)
	wantInvites, wantEvents := e.counts()
	calls := e.sim.TotalCalls()

	long := strings.Repeat("n", 1025)
	cases := []struct {
		name, method, path string
		body               any
		headers            []string
		status             int
		code               string
	}{
		{"malformed JSON", "POST", invitesPath(profile), `{"accountId": "123456789013"`, nil, 400, "malformed_json"},
		{"not an object", "POST", invitesPath(profile), `["123456789013"]`, nil, 422, "validation_failed"},
		{"empty body", "POST", invitesPath(profile), ``, nil, 400, "invalid_request"},
		{"unknown field", "POST", invitesPath(profile), map[string]any{"accountId": "123456789013", "acountId": "x"}, nil, 400, "unknown_field"},
		{"account id as a number", "POST", invitesPath(profile), `{"accountId": 123456789013}`, nil, 422, "validation_failed"},
		{"notes as a number", "POST", invitesPath(profile), `{"accountId": "123456789013", "notes": 5}`, nil, 422, "validation_failed"},
		{"missing account id", "POST", invitesPath(profile), map[string]any{"notes": "x"}, nil, 422, "validation_failed"},
		{"11 digits", "POST", invitesPath(profile), map[string]any{"accountId": "12345678901"}, nil, 422, "invalid_account_id"},
		{"13 digits", "POST", invitesPath(profile), map[string]any{"accountId": "1234567890123"}, nil, 422, "invalid_account_id"},
		{"letters", "POST", invitesPath(profile), map[string]any{"accountId": "12345678901a"}, nil, 422, "invalid_account_id"},
		{"empty account id", "POST", invitesPath(profile), map[string]any{"accountId": ""}, nil, 422, "invalid_account_id"},
		{"underscores", "POST", invitesPath(profile), map[string]any{"accountId": "1234_5678_9012"}, nil, 422, "invalid_account_id"},
		{"notes over 1024 characters", "POST", invitesPath(profile), map[string]any{"accountId": "123456789013", "notes": long}, nil, 422, "notes_too_long"},
		{"the payer's own account", "POST", invitesPath(profile), map[string]any{"accountId": management}, nil, 422, "validation_failed"},
		{"oversize body", "POST", invitesPath(profile), `{"accountId":"123456789013","notes":"` + strings.Repeat("n", 70<<10) + `"}`, nil, 413, "payload_too_large"},
		{"wrong content type", "POST", invitesPath(profile), `accountId=123456789013`, []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, "unsupported_media_type"},
		{"limit too large", "GET", invitesPath(profile) + "?limit=101", nil, nil, 400, "invalid_parameter"},
		{"limit not a number", "GET", invitesPath(profile) + "?limit=ten", nil, nil, 400, "invalid_parameter"},
		{"unknown state", "GET", invitesPath(profile) + "?state=pending", nil, nil, 400, "invalid_parameter"},
		{"bad account filter", "GET", invitesPath(profile) + "?accountId=42", nil, nil, 422, "invalid_account_id"},
		{"bad cursor", "GET", invitesPath(profile) + "?cursor=bm90IGEgY3Vyc29y", nil, nil, 400, "invalid_cursor"},
		{"unknown invite", "GET", invitesPath(profile) + "/0193c7c0-0000-7000-8000-000000000000", nil, nil, 404, "not_found"},
		{"unknown path", "GET", "/billing-profiles/" + profile + "/nothing-here", nil, nil, 404, "not_found"},
		{"wrong method", "PATCH", invitesPath(profile) + "/" + id, map[string]any{}, nil, 405, "method_not_allowed"},
		{"bad profile id", "GET", "/billing-profiles/bad%20id/aws-invites", nil, nil, 400, "invalid_parameter"},
		// Malformed query strings: Go's parser would drop the pairs it cannot read, and the filters with them.
		{"cursor with a broken escape", "GET", invitesPath(profile) + "?cursor=%%%", nil, nil, 400, "invalid_parameter"},
		{"limit with a broken escape", "GET", invitesPath(profile) + "?limit=%zz", nil, nil, 400, "invalid_parameter"},
		{"filter beside a broken escape", "GET", invitesPath(profile) + "?state=canceled&%zz", nil, nil, 400, "invalid_parameter"},
		{"semicolons between parameters", "GET", invitesPath(profile) + "?limit=1;state=invited", nil, nil, 400, "invalid_parameter"},
		// Bodies that encoding/json would read leniently: the last of two values, the last of two keys, U+FFFD.
		{"a second JSON value", "POST", invitesPath(profile), `{"accountId":"123456789013"} {"accountId":"123456789014"}`, nil, 400, "malformed_json"},
		{"garbage after the value", "POST", invitesPath(profile), `{"accountId":"123456789013"}x`, nil, 400, "malformed_json"},
		{"a key twice", "POST", invitesPath(profile), `{"accountId":"123456789013","accountId":"123456789014"}`, nil, 400, "malformed_json"},
		{"a key twice, once escaped", "POST", invitesPath(profile), `{"accountId":"123456789013","\u0061ccountId":"123456789014"}`, nil, 400, "malformed_json"},
		{"a key twice, nested", "POST", invitesPath(profile), `{"accountId":"123456789013","x":[{"a":1,"a":2}]}`, nil, 400, "malformed_json"},
		{"invalid UTF-8", "POST", invitesPath(profile), "{\"accountId\":\"123456789013\",\"notes\":\"caf\xe9\"}", nil, 400, "malformed_json"},
		{"nested too deeply", "POST", invitesPath(profile), `{"accountId":"123456789013","x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`, nil, 400, "malformed_json"},
		{"truncated", "POST", invitesPath(profile), `{"accountId":"1234`, nil, 400, "malformed_json"},
		// NUL characters: PostgreSQL refuses them in text (a 500 before), SQLite would store them.
		{"NUL in notes", "POST", invitesPath(profile), `{"accountId":"123456789013","notes":"a\u0000b"}`, nil, 422, "validation_failed"},
		{"NUL in the account id", "POST", invitesPath(profile), `{"accountId":"12345678901\u00003"}`, nil, 422, "validation_failed"},
		{"NUL in a path parameter", "GET", invitesPath(profile) + "/abc%00def", nil, nil, 400, "invalid_parameter"},
		{"NUL in a query value", "GET", invitesPath(profile) + "?cursor=a%00b", nil, nil, 400, "invalid_parameter"},
		{"oversize body, chunked", "POST", invitesPath(profile), strings.NewReader(`{"accountId":"123456789013","notes":"` + strings.Repeat("n", 70<<10) + `"}`), nil, 413, "payload_too_large"},
		{"account id too large a number", "POST", invitesPath(profile), `{"accountId": 1e400}`, nil, 422, "validation_failed"},
		{"notes as a list", "POST", invitesPath(profile), `{"accountId":"123456789013","notes":[]}`, nil, 422, "validation_failed"},
		{"JSON in Latin-1", "POST", invitesPath(profile), `{"accountId":"123456789013"}`, []string{"Content-Type", "application/json; charset=iso-8859-1"}, 415, "unsupported_media_type"},
		{"a JSON-like media type", "POST", invitesPath(profile), `{"accountId":"123456789013"}`, []string{"Content-Type", "application/json-patch+json"}, 415, "unsupported_media_type"},
		{"JSON sent as text", "POST", invitesPath(profile), `{"accountId":"123456789013"}`, []string{"Content-Type", "text/plain"}, 415, "unsupported_media_type"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := e.with(t)
			e.problem(e.do(tc.method, tc.path, tok, tc.body, tc.headers...), tc.status, tc.code)
		})
	}
	if inv, ev := e.counts(); inv != wantInvites || ev != wantEvents {
		t.Errorf("bad input wrote: invites %d -> %d, events %d -> %d", wantInvites, inv, wantEvents, ev)
	}
	if got := e.sim.TotalCalls(); got != calls {
		t.Errorf("bad input reached AWS: %d calls", got-calls)
	}

	// Idempotency key reused with another body.
	key := []string{"Idempotency-Key", "create-1"}
	if r := e.do("POST", invitesPath(profile), tok, map[string]any{"accountId": "555566667777"}, key...); r.status != 201 {
		t.Fatal(r.status, string(r.body))
	}
	wantInvites, wantEvents = e.counts()
	calls = e.sim.TotalCalls()
	e.problem(e.do("POST", invitesPath(profile), tok, map[string]any{"accountId": "555566668888"}, key...), 422, "idempotency_key_reused")

	if inv, ev := e.counts(); inv != wantInvites || ev != wantEvents {
		t.Errorf("bad input wrote: invites %d -> %d, events %d -> %d", wantInvites, inv, wantEvents, ev)
	}
	if got := e.sim.TotalCalls(); got != calls {
		t.Errorf("bad input reached AWS: %d calls", got-calls)
	}
}

func TestIdempotencyKey(t *testing.T) {
	e := newEnv(t, envOptions{sandbox: true})
	tok := e.token()
	body := map[string]any{"accountId": "123456789012", "notes": "once"}
	first := e.do("POST", invitesPath(profile), tok, body, "Idempotency-Key", "k-1")
	if first.status != 201 {
		t.Fatal(first.status, string(first.body))
	}
	second := e.do("POST", invitesPath(profile), tok, body, "Idempotency-Key", "k-1")
	if second.status != 201 || second.json(t)["id"] != first.json(t)["id"] || second.header.Get("Location") != first.header.Get("Location") {
		t.Fatalf("replay: %d %s", second.status, second.body)
	}
	if second.header.Get("Idempotent-Replayed") != "true" {
		t.Error("replay not marked")
	}
	if n := e.sim.Calls("InviteAccountToOrganization"); n != 1 {
		t.Errorf("AWS invitations sent: %d", n)
	}
	// Another user's identical key is theirs alone.
	bob := e.token(func(c *auth.Claims) { c.Subject = "bob" })
	e.problem(e.do("POST", invitesPath(profile), bob, body, "Idempotency-Key", "k-1"), 409, "resend_too_soon")
	// A failed request does not burn the key: after fixing the input the same key works.
	e.problem(e.do("POST", invitesPath(profile), tok, map[string]any{"accountId": "12"}, "Idempotency-Key", "k-2"), 422, "invalid_account_id")
	if r := e.do("POST", invitesPath(profile), tok, map[string]any{"accountId": "12"}, "Idempotency-Key", "k-2"); r.status != 422 {
		t.Errorf("same failing request again: %d", r.status)
	}
}

func TestConcurrentCreatesSendOneInvitation(t *testing.T) {
	for _, dialect := range []string{store.DialectPostgres, store.DialectSQLite} {
		t.Run(dialect, func(t *testing.T) {
			e := newEnv(t, envOptions{dialect: dialect})
			tok := e.token()
			var wg sync.WaitGroup
			statuses := make([]int, 20)
			for i := range statuses {
				wg.Go(func() {
					statuses[i] = e.do("POST", invitesPath(profile), tok, map[string]any{"accountId": "123456789012"}).status
				})
			}
			wg.Wait()
			created, conflicts := 0, 0
			for _, s := range statuses {
				switch s {
				case 201:
					created++
				case 409:
					conflicts++
				}
			}
			if created != 1 || conflicts != 19 {
				t.Errorf("statuses: %v", statuses)
			}
			if inv, _ := e.counts(); inv != 1 {
				t.Errorf("invites stored: %d", inv)
			}
			if n := e.sim.Calls("InviteAccountToOrganization"); n != 1 {
				t.Errorf("handshakes sent: %d", n)
			}
		})
	}
}

func TestAWSErrors(t *testing.T) {
	e := newEnv(t, envOptions{sandbox: true})
	tok := e.token()
	// AWS refusals the customer can act on: nothing is stored.
	for _, tc := range []struct {
		account string
		status  int
		code    string
		mention string
	}{
		{"999600000001", 409, "account_in_another_organization", "leave"},
		{"999300000001", 409, "payment_instrument_required", "payment"},
		{"999400000001", 409, "different_seller_of_record", "seller"},
	} {
		p := e.problem(e.do("POST", invitesPath(profile), tok, map[string]any{"accountId": tc.account}), tc.status, tc.code)
		if !strings.Contains(strings.ToLower(p["detail"].(string)), tc.mention) {
			t.Errorf("%s: detail %q does not mention %q", tc.code, p["detail"], tc.mention)
		}
	}
	if inv, ev := e.counts(); inv != 0 || ev != 0 {
		t.Errorf("refused invites left %d invites, %d events", inv, ev)
	}

	// AWS stays unavailable: 503 with Retry-After, nothing half-done.
	e.sim.Inject(orgsim.Fault{Op: "InviteAccountToOrganization", Times: 100, Code: "TooManyRequestsException"})
	r := e.do("POST", invitesPath(profile), tok, map[string]any{"accountId": "123456789012"})
	e.problem(r, 503, "aws_unavailable")
	if r.header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	if inv, ev := e.counts(); inv != 0 || ev != 0 {
		t.Errorf("unavailable AWS left %d invites, %d events", inv, ev)
	}
	e.sim.ClearFaults()
	// A short storm is ridden out by retries.
	e.sim.Inject(orgsim.Fault{Op: "InviteAccountToOrganization", Times: 2, Code: "TooManyRequestsException"})
	if r := e.do("POST", invitesPath(profile), tok, map[string]any{"accountId": "123456789012"}); r.status != 201 {
		t.Fatalf("after a short throttling storm: %d %s", r.status, r.body)
	}
	e.sim.ClearFaults()

	// The daily invitation limit (20 a day in AWS) answers 429 with Retry-After.
	for i := range 19 {
		if r := e.do("POST", invitesPath(profile), tok, map[string]any{"accountId": fmt.Sprintf("2000000000%02d", i)}); r.status != 201 {
			t.Fatalf("invite %d: %d %s", i, r.status, r.body)
		}
	}
	r = e.do("POST", invitesPath(profile), tok, map[string]any{"accountId": "300000000000"})
	e.problem(r, 429, "daily_invite_limit_exceeded")
	if r.header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	// Canceling while AWS is unavailable changes nothing either.
	list := e.do("GET", invitesPath(profile)+"?limit=1", tok, nil).json(t)["items"].([]any)
	id := list[0].(map[string]any)["id"].(string)
	e.sim.Inject(orgsim.Fault{Op: "CancelHandshake", Times: 100, Status: 503, Code: "ServiceException"})
	e.problem(e.do("DELETE", invitesPath(profile)+"/"+id, tok, nil), 503, "aws_unavailable")
	if got := e.do("GET", invitesPath(profile)+"/"+id, tok, nil).json(t); got["state"] != "invited" {
		t.Errorf("state after a failed cancel: %v", got["state"])
	}
}

// A process that stopped after AWS took the invitation but before the database recorded it loses nothing: the
// next create for the account adopts the open handshake instead of sending a second one.
func TestCrashAfterAWSBeforeCommit(t *testing.T) {
	e := newEnv(t, envOptions{})
	tok := e.token()
	ctx := context.Background()
	payer := invite.Payer{ManagementAccountID: management}

	// The reservation was committed and the handshake sent, then the process died.
	sent := e.clock.Now()
	h, _, err := e.orgs.InviteAccount(ctx, payer, "123456789012", "from the crashed process")
	if err != nil {
		t.Fatal(err)
	}
	reserved := invite.Invite{ID: "0193c7c0-0000-7000-8000-00000000c1a5", BillingProfileID: profile, AccountID: "123456789012",
		State: invite.StateInvited, InvitedBy: invite.Actor{Kind: invite.ActorUser, Subject: "alice"},
		CreatedAt: sent, UpdatedAt: sent, LastSentAt: sent, Version: 1}
	if err := e.store.CreateInvite(ctx, reserved, invite.Event{InviteID: reserved.ID, At: sent, Actor: reserved.InvitedBy,
		To: invite.StateInvited, Reason: "invite requested"}); err != nil {
		t.Fatal(err)
	}
	// While the send might still be under way, others wait.
	e.problem(e.do("POST", invitesPath(profile), tok, map[string]any{"accountId": "123456789012"}), 409, "send_in_progress")

	e.clock.Advance(2 * time.Minute)
	r := e.do("POST", invitesPath(profile), tok, map[string]any{"accountId": "123456789012"})
	if r.status != 200 {
		t.Fatalf("resume: %d %s", r.status, r.body)
	}
	got := r.json(t)
	if got["id"] != reserved.ID || got["handshake"].(map[string]any)["id"] != h.ID {
		t.Errorf("adopted %v for invite %v, want handshake %s on %s", got["handshake"], got["id"], h.ID, reserved.ID)
	}
	open := 0
	if err := e.orgs.ListInviteHandshakes(ctx, payer, func(x invite.Handshake) error {
		if x.AccountID == "123456789012" && x.State.Pending() {
			open++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if open != 1 {
		t.Errorf("open handshakes for the account: %d, want 1", open)
	}

	// Without even a reservation (the row never committed), a create adopts the handshake too.
	h2, _, err := e.orgs.InviteAccount(ctx, payer, "222233334444", "")
	if err != nil {
		t.Fatal(err)
	}
	r = e.do("POST", invitesPath(profile), tok, map[string]any{"accountId": "2222-3333-4444"})
	if r.status != 201 || r.json(t)["handshake"].(map[string]any)["id"] != h2.ID {
		t.Fatalf("adopt without reservation: %d %s", r.status, r.body)
	}

	// Canceling an invite whose send was interrupted cancels the handshake AWS holds for it too.
	h3, _, err := e.orgs.InviteAccount(ctx, payer, "333344445555", "")
	if err != nil {
		t.Fatal(err)
	}
	stale := reserved
	stale.ID, stale.AccountID = "0193c7c0-0000-7000-8000-00000000c1a6", "333344445555"
	if err := e.store.CreateInvite(ctx, stale, invite.Event{InviteID: stale.ID, At: sent, Actor: stale.InvitedBy,
		To: invite.StateInvited, Reason: "invite requested"}); err != nil {
		t.Fatal(err)
	}
	r = e.do("DELETE", invitesPath(profile)+"/"+stale.ID, tok, nil)
	if r.status != 200 || r.json(t)["state"] != "canceled" {
		t.Fatalf("cancel an interrupted send: %d %s", r.status, r.body)
	}
	got3, err := e.orgs.DescribeHandshake(ctx, payer, h3.ID)
	if err != nil || got3.State != invite.HandshakeCanceled {
		t.Errorf("the handshake AWS held is %s (%v), want CANCELED", got3.State, err)
	}
}

func TestOperationsEndpoints(t *testing.T) {
	e := newEnv(t, envOptions{})
	for _, tc := range []struct{ path, want string }{
		{"/healthz", `"status":"ok"`},
		{"/readyz", `"status":"ok"`},
		{"/openapi.yaml", "openapi: 3.0.3"},
		{"/docs/", "swagger"},
		{"/metrics", "aws_invites_http_requests_total"},
	} {
		r := e.do("GET", tc.path, "", nil)
		if r.status != 200 || !strings.Contains(strings.ToLower(string(r.body)), strings.ToLower(tc.want)) {
			t.Errorf("%s: %d %.200s", tc.path, r.status, r.body)
		}
	}
	// Swagger UI's assets come from the binary, not a CDN.
	page := string(e.do("GET", "/docs/", "", nil).body)
	if strings.Contains(page, "cdn") || strings.Contains(page, "unpkg") {
		t.Error("Swagger UI loads from a CDN")
	}
	// Outside the sandbox: no X-Sandbox header, and the sandbox endpoints do not exist.
	tok := e.token()
	id := e.create("123456789012")["id"].(string)
	r := e.do("POST", invitesPath(profile)+"/"+id+"/sandbox/accept", tok, nil)
	e.problem(r, 404, "sandbox_only")
	if r.header.Get("X-Sandbox") != "" {
		t.Error("X-Sandbox outside the sandbox")
	}
	// Request ids: generated, or the caller's, and returned.
	if r := e.do("GET", "/healthz", "", nil, "X-Request-Id", "trace-42"); r.header.Get("X-Request-Id") != "trace-42" {
		t.Errorf("X-Request-Id = %q", r.header.Get("X-Request-Id"))
	}
	// CORS for the web app's origin only.
	pre := e.do("OPTIONS", invitesPath(profile), "", nil, "Origin", "https://app.example.com", "Access-Control-Request-Method", "POST",
		"Access-Control-Request-Headers", "authorization,content-type,idempotency-key")
	if pre.status != 204 || pre.header.Get("Access-Control-Allow-Origin") != "https://app.example.com" {
		t.Errorf("preflight: %d %v", pre.status, pre.header)
	}
	if r := e.do("GET", "/healthz", "", nil, "Origin", "https://evil.example.com"); r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Error("CORS allowed an unknown origin")
	}
}
