package httpapi_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cloudreseller/aws-invites/internal/auth"
	"github.com/cloudreseller/aws-invites/internal/invite"
	"github.com/cloudreseller/aws-invites/internal/store"
)

// TestSandboxSharedByPartners: several customers share one sandbox, two of them on one payer. Each sees only the
// mail about its own billing profiles; nobody but a platform administrator moves the shared time; a partner moves
// the time of its own payer's test clock, and no other customer's invites move with it.
func TestSandboxSharedByPartners(t *testing.T) {
	for _, dialect := range []string{store.DialectPostgres, store.DialectSQLite} {
		t.Run(dialect, func(t *testing.T) { testSandboxSharedByPartners(t, dialect) })
	}
}

func testSandboxSharedByPartners(t *testing.T, dialect string) {
	e := newEnv(t, envOptions{dialect: dialect, sandbox: true, notify: true, testClocks: true})
	admin := e.token(func(c *auth.Claims) {
		c.CustomerID, c.Roles, c.Permissions, c.BillingProfiles = "reseller", []string{invite.RolePlatformAdmin}, nil, nil
	})
	// Globex gets a second profile on Acme's payer 111111111111: two customers on one payer.
	if r := e.do("PUT", "/billing-profiles/globex-shared", admin, map[string]any{"customerId": "globex", "name": "Globex on the shared payer",
		"managementAccountId": management}); r.status != 201 {
		t.Fatalf("put globex-shared: %d %s", r.status, r.body)
	}
	acme := e.token()
	acmeViewer := e.token(func(c *auth.Claims) { c.Subject, c.Permissions = "victor", nil })
	acmeElsewhere := e.token(func(c *auth.Claims) { c.Subject, c.BillingProfiles = "nina", []string{"acme-other"} })
	globex := e.token(func(c *auth.Claims) {
		c.Subject, c.Email, c.CustomerID, c.BillingProfiles = "bob", "bob@globex.example", "globex", []string{"globex-shared", "globex-main"}
	})

	// Mail: each profile tells its own recipients of an acceptance.
	for _, p := range []struct{ profile, token, to, account string }{
		{profile, acme, "ops@acme.example", "100000000101"},
		{"globex-shared", globex, "ops@globex.example", "100000000102"},
	} {
		if r := e.do("PUT", "/billing-profiles/"+p.profile+"/notifications", p.token,
			map[string]any{"recipients": []string{p.to}, "events": []string{"invite.accepted"}}); r.status != 200 {
			t.Fatalf("notifications of %s: %d %s", p.profile, r.status, r.body)
		}
		r := e.do("POST", invitesPath(p.profile), p.token, map[string]any{"accountId": p.account})
		if r.status != 201 {
			t.Fatalf("create in %s: %d %s", p.profile, r.status, r.body)
		}
		id := r.json(t)["id"].(string)
		// Standing in for the account's owner is a write: a viewer may look, not act.
		if p.profile == profile {
			e.problem(e.do("POST", invitesPath(p.profile)+"/"+id+"/sandbox/accept", acmeViewer, nil), 403, "forbidden")
		}
		if r := e.do("POST", invitesPath(p.profile)+"/"+id+"/sandbox/accept", p.token, nil); r.status != 200 {
			t.Fatalf("accept in %s: %d %s", p.profile, r.status, r.body)
		}
	}
	subjects := func(tok string) []string {
		var out []string
		for _, m := range e.do("GET", "/sandbox/mail", tok, nil).json(t)["items"].([]any) {
			out = append(out, m.(map[string]any)["subject"].(string))
		}
		return out
	}
	waitUntil(t, func() bool { return len(subjects(admin)) == 2 })
	for _, c := range []struct {
		name     string
		token    string
		see, not string
	}{
		{"acme", acme, "100000000101", "100000000102"},
		{"acme's viewer", acmeViewer, "100000000101", "100000000102"},
		{"globex", globex, "100000000102", "100000000101"},
	} {
		got := strings.Join(subjects(c.token), "\n")
		if !strings.Contains(got, c.see) || strings.Contains(got, c.not) {
			t.Errorf("%s reads the mail %q; want only its own (%s)", c.name, got, c.see)
		}
	}
	if got := subjects(acmeElsewhere); len(got) != 0 {
		t.Errorf("a user of another profile of the customer reads %v; want nothing", got)
	}

	// The shared time is every partner's: only a platform administrator moves it here.
	for _, tok := range []string{acme, globex, acmeViewer} {
		e.problem(e.do("POST", "/sandbox/clock", tok, map[string]any{"advance": "1h"}), 403, "forbidden")
	}
	// Test clocks: a payer of one customer only.
	e.problem(e.do("POST", "/sandbox/test-clocks", acme, map[string]any{"managementAccountId": "333333333333", "customerId": "acme"}), 403, "forbidden")
	e.problem(e.do("POST", "/sandbox/test-clocks", admin, map[string]any{"managementAccountId": management, "customerId": "acme"}), 409, "payer_of_other_customers")
	r := e.do("POST", "/sandbox/test-clocks", admin, map[string]any{"managementAccountId": "3333-3333-3333", "customerId": "globex"})
	if r.status != 201 || r.header.Get("Location") != "/sandbox/test-clocks/333333333333" {
		t.Fatalf("create a test clock: %d %s %v", r.status, r.body, r.header)
	}
	e.problem(e.do("POST", "/sandbox/test-clocks", admin, map[string]any{"managementAccountId": "333333333333", "customerId": "globex"}), 409, "test_clock_exists")
	e.problem(e.do("GET", "/sandbox/test-clocks/333333333333", acme, nil), 404, "not_found")
	if r := e.do("GET", "/sandbox/test-clocks/333333333333", globex, nil); r.status != 200 || r.json(t)["customerId"] != "globex" {
		t.Errorf("globex reads its clock: %d %s", r.status, r.body)
	}
	e.problem(e.do("POST", "/sandbox/test-clocks/333333333333/advance", acme, map[string]any{"advance": "16d"}), 404, "not_found")
	globexViewer := e.token(func(c *auth.Claims) {
		c.Subject, c.CustomerID, c.BillingProfiles, c.Permissions = "gina", "globex", []string{"globex-main"}, nil
	})
	e.problem(e.do("POST", "/sandbox/test-clocks/333333333333/advance", globexViewer, map[string]any{"advance": "16d"}), 403, "forbidden")

	// Globex moves its payer's time 16 days: its invitation there expires; Acme's, on another payer, does not.
	gInv := e.do("POST", invitesPath("globex-main"), globex, map[string]any{"accountId": "100000000103"}).json(t)["id"].(string)
	aInv := e.create("100000000104")["id"].(string)
	before := e.clock.Now()
	r = e.do("POST", "/sandbox/test-clocks/333333333333/advance", globex, map[string]any{"advance": "16d"})
	if r.status != 200 || r.json(t)["payersReconciled"] != float64(1) {
		t.Fatalf("advance globex's clock: %d %s", r.status, r.body)
	}
	g := e.do("GET", invitesPath("globex-main")+"/"+gInv, globex, nil)
	if st := g.json(t)["state"]; st != "expired" {
		t.Errorf("globex's invite after its clock moved 16 days: %v, want expired", st)
	}
	if at := sandboxTime(t, g); at.Sub(before) < 16*24*time.Hour {
		t.Errorf("X-Sandbox-Time of globex's invite: %s, want 16 days after %s", at, before)
	}
	a := e.do("GET", invitesPath(profile)+"/"+aInv, acme, nil)
	if st := a.json(t)["state"]; st != "invited" {
		t.Errorf("acme's invite after globex's clock moved: %v, want invited", st)
	}
	if at := sandboxTime(t, a); at.Sub(before) > time.Hour {
		t.Errorf("X-Sandbox-Time of acme's invite: %s, want the shared time near %s", at, before)
	}

	// The platform administrator moves the shared time: Acme's invitation expires, Globex's clock stays.
	globexNow := e.do("GET", "/sandbox/test-clocks/333333333333", globex, nil).json(t)["now"].(string)
	if r := e.do("POST", "/sandbox/clock", admin, map[string]any{"advance": "16d"}); r.status != 200 {
		t.Fatalf("advance the shared clock: %d %s", r.status, r.body)
	}
	if st := e.do("GET", invitesPath(profile)+"/"+aInv, acme, nil).json(t)["state"]; st != "expired" {
		t.Errorf("acme's invite after the shared clock moved 16 days: %v, want expired", st)
	}
	after, _ := time.Parse(time.RFC3339Nano, e.do("GET", "/sandbox/test-clocks/333333333333", globex, nil).json(t)["now"].(string))
	was, _ := time.Parse(time.RFC3339Nano, globexNow)
	if after.Sub(was) > time.Hour {
		t.Errorf("globex's clock moved with the shared one: %s -> %s", was, after)
	}
}

func sandboxTime(t *testing.T, r response) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339Nano, r.header.Get("X-Sandbox-Time"))
	if err != nil {
		t.Fatalf("X-Sandbox-Time %q: %v", r.header.Get("X-Sandbox-Time"), err)
	}
	return at
}

// TestWebhooksAfterSandboxTimeTravel: after the sandbox's time moves 30 days, deliveries still pass a receiver
// that checks the Standard Webhooks rules against its own (real) clock: webhook-timestamp is the real time of
// sending, and the sandbox's time is the event's timestamp in the body.
func TestWebhooksAfterSandboxTimeTravel(t *testing.T) {
	e := newEnv(t, envOptions{sandbox: true, notify: true, testClocks: true})
	admin := e.token(func(c *auth.Claims) {
		c.CustomerID, c.Roles, c.Permissions, c.BillingProfiles = "reseller", []string{invite.RolePlatformAdmin}, nil, nil
	})
	r := newReceiver(t)
	e.addWebhook(r)
	if res := e.do("POST", "/sandbox/clock", admin, map[string]any{"advance": "30d"}); res.status != 200 {
		t.Fatalf("advance: %d %s", res.status, res.body)
	}
	sandboxNow := e.clock.Now().Add(30 * 24 * time.Hour)
	e.create("100000000201")
	d := r.waitFor(1)[0]
	sent, err := strconv.ParseInt(d.Timestamp, 10, 64)
	if err != nil || e.clock.Now().Sub(time.Unix(sent, 0)).Abs() > time.Minute {
		t.Errorf("webhook-timestamp %q: want the real time of sending", d.Timestamp)
	}
	at, err := time.Parse(time.RFC3339Nano, d.Body["timestamp"].(string))
	if err != nil || at.Sub(sandboxNow).Abs() > time.Hour {
		t.Errorf("the event's timestamp %v: want the sandbox's time, about %s", d.Body["timestamp"], sandboxNow)
	}
}
