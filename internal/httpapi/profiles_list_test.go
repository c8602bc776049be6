package httpapi_test

import (
	"testing"

	"github.com/cloudreseller/aws-invites/internal/auth"
	"github.com/cloudreseller/aws-invites/internal/invite"
	"github.com/cloudreseller/aws-invites/internal/store"
)

// profileIDs returns the ids of a page of billing profiles, and each one's canInvite.
func profileIDs(t *testing.T, page map[string]any) ([]string, map[string]any) {
	t.Helper()
	var ids []string
	can := map[string]any{}
	for _, it := range page["items"].([]any) {
		bp := it.(map[string]any)
		ids = append(ids, bp["id"].(string))
		can[bp["id"].(string)] = bp["canInvite"]
	}
	return ids, can
}

// The profiles a user may choose from: its customer's that it is assigned to, with whether it may invite there;
// never another customer's, even when its token names one; every profile, a page at a time, for a platform
// administrator.
func TestListBillingProfiles(t *testing.T) {
	e := newEnv(t, envOptions{})
	manager := e.token(func(c *auth.Claims) { c.BillingProfiles = []string{"acme-other", profile, "globex-main", "no-such"} })
	ids, can := profileIDs(t, e.do("GET", "/billing-profiles", manager, nil).json(t))
	if len(ids) != 2 || ids[0] != profile || ids[1] != "acme-other" || can[profile] != true {
		t.Errorf("a manager's profiles: %v %v, want acme-main and acme-other (sorted), able to invite", ids, can)
	}
	viewer := e.token(func(c *auth.Claims) { c.Permissions = nil })
	page := e.do("GET", "/billing-profiles", viewer, nil).json(t)
	if ids, can := profileIDs(t, page); len(ids) != 1 || can[profile] != false {
		t.Errorf("a viewer's profiles: %v %v, want acme-main without invite", ids, can)
	}
	if bp := page["items"].([]any)[0].(map[string]any); bp["roleArn"] != nil || bp["actsFromAccountId"] != nil {
		t.Errorf("a customer sees how the service reaches the payer: %v", bp)
	}
	if ids, _ := profileIDs(t, e.do("GET", "/billing-profiles?customerId=globex", manager, nil).json(t)); len(ids) != 0 {
		t.Errorf("another customer's profiles: %v", ids)
	}

	// A platform administrator pages through every profile, or one customer's.
	admin := e.token(func(c *auth.Claims) { c.Roles, c.BillingProfiles = []string{invite.RolePlatformAdmin}, nil })
	var all []string
	cursor := ""
	for range 5 {
		r := e.do("GET", "/billing-profiles?limit=1"+cursor, admin, nil)
		page := r.json(t)
		ids, can := profileIDs(t, page)
		if r.status != 200 || len(ids) != 1 || can[ids[0]] != true {
			t.Fatalf("admin page: %d %s", r.status, r.body)
		}
		all = append(all, ids...)
		next, ok := page["nextCursor"].(string)
		if !ok {
			break
		}
		cursor = "&cursor=" + next
	}
	if len(all) != 3 || all[0] != profile || all[1] != "acme-other" || all[2] != "globex-main" {
		t.Errorf("every profile: %v", all)
	}
	if ids, _ := profileIDs(t, e.do("GET", "/billing-profiles?customerId=globex", admin, nil).json(t)); len(ids) != 1 || ids[0] != "globex-main" {
		t.Errorf("one customer's: %v", ids)
	}
	e.problem(e.do("GET", "/billing-profiles?cursor=bm9wZQ", admin, nil), 400, "invalid_cursor")
	e.problem(e.do("GET", "/billing-profiles", "", nil), 401, "unauthenticated")
}

// inviteAccounts returns the accounts of a page of invites, in order.
func inviteAccounts(t *testing.T, page map[string]any) []string {
	t.Helper()
	var out []string
	for _, it := range page["items"].([]any) {
		out = append(out, it.(map[string]any)["accountId"].(string))
	}
	return out
}

// Invites across every billing profile the caller may read, newest first, with the per-profile list's filters:
// never another customer's, on both databases.
func TestListAllInvites(t *testing.T) {
	for _, dialect := range []string{store.DialectPostgres, store.DialectSQLite} {
		t.Run(dialect, func(t *testing.T) { testListAllInvites(t, dialect) })
	}
}

func testListAllInvites(t *testing.T, dialect string) {
	e := newEnv(t, envOptions{dialect: dialect})
	both := e.token(func(c *auth.Claims) { c.BillingProfiles = []string{profile, "acme-other", "globex-main"} })
	globex := e.token(func(c *auth.Claims) { c.CustomerID, c.BillingProfiles = "globex", []string{"globex-main"} })
	for _, c := range []struct{ profile, account, tok string }{
		{profile, "100000000001", both}, {"acme-other", "100000000002", both}, {profile, "100000000003", both},
		{"globex-main", "100000000004", globex},
	} {
		if r := e.do("POST", invitesPath(c.profile), c.tok, map[string]any{"accountId": c.account}); r.status != 201 {
			t.Fatalf("create %s: %d %s", c.account, r.status, r.body)
		}
	}
	first := e.do("GET", "/aws-invites?limit=2", both, nil).json(t)
	next, _ := first["nextCursor"].(string)
	rest := e.do("GET", "/aws-invites?limit=2&cursor="+next, both, nil).json(t)
	if got := append(inviteAccounts(t, first), inviteAccounts(t, rest)...); len(got) != 3 || got[0] != "100000000003" ||
		got[1] != "100000000002" || got[2] != "100000000001" || rest["nextCursor"] != nil {
		t.Errorf("the customer's invites, newest first: %v", got)
	}
	if got := inviteAccounts(t, e.do("GET", "/aws-invites?billingProfileId=acme-other", both, nil).json(t)); len(got) != 1 || got[0] != "100000000002" {
		t.Errorf("one profile's: %v", got)
	}
	e.problem(e.do("GET", "/aws-invites?billingProfileId=globex-main", both, nil), 404, "not_found")
	e.problem(e.do("GET", "/aws-invites?cursor="+next+"x", both, nil), 400, "invalid_cursor")
	e.problem(e.do("GET", "/aws-invites?accountId=42", both, nil), 422, "invalid_account_id")

	// States: one, and several (one scan per profile and state, merged).
	page := e.do("GET", "/aws-invites?accountId=100000000001", both, nil).json(t)
	id := page["items"].([]any)[0].(map[string]any)["id"].(string)
	if r := e.do("DELETE", invitesPath(profile)+"/"+id, both, nil); r.status != 200 {
		t.Fatalf("cancel: %d %s", r.status, r.body)
	}
	if got := inviteAccounts(t, e.do("GET", "/aws-invites?state=canceled", both, nil).json(t)); len(got) != 1 || got[0] != "100000000001" {
		t.Errorf("canceled: %v", got)
	}
	if got := inviteAccounts(t, e.do("GET", "/aws-invites?state=canceled&state=invited&limit=3", both, nil).json(t)); len(got) != 3 || got[0] != "100000000003" {
		t.Errorf("two states: %v", got)
	}

	// A platform administrator reads every profile's; a user assigned to none reads nothing.
	admin := e.token(func(c *auth.Claims) { c.Roles, c.BillingProfiles = []string{invite.RolePlatformAdmin}, nil })
	if got := inviteAccounts(t, e.do("GET", "/aws-invites", admin, nil).json(t)); len(got) != 4 || got[0] != "100000000004" {
		t.Errorf("every invite: %v", got)
	}
	if got := inviteAccounts(t, e.do("GET", "/aws-invites?state=invited&state=canceled&limit=2", admin, nil).json(t)); len(got) != 2 || got[0] != "100000000004" {
		t.Errorf("every invite in two states: %v", got)
	}
	nobody := e.token(func(c *auth.Claims) { c.BillingProfiles = nil })
	if got := e.do("GET", "/aws-invites", nobody, nil).json(t); len(got["items"].([]any)) != 0 {
		t.Errorf("assigned to none: %v", got)
	}
}

// Next steps a web app renders from fields: who acts, the operation or page to offer, and the step's instant; an
// offered operation's path works as given.
func TestNextStepsAsFields(t *testing.T) {
	e := newEnv(t, envOptions{})
	tok := e.token()
	inv := e.create("123456789012")
	steps := map[string]map[string]any{}
	for _, s := range inv["nextSteps"].([]any) {
		steps[s.(map[string]any)["code"].(string)] = s.(map[string]any)
	}
	accept, wait := steps["accept_in_console"], steps["wait_for_email"]
	if accept["actor"] != "customer" || accept["action"].(map[string]any)["url"] != "https://console.aws.amazon.com/organizations/" {
		t.Errorf("accept in the console: %v", accept)
	}
	if wait["actor"] != "aws" || wait["at"] != inv["resendAvailableAt"] {
		t.Errorf("wait for the email: %v, want at %v", wait, inv["resendAvailableAt"])
	}
	e.clock.Advance(invite.ResendAfter)
	path := invitesPath(profile) + "/" + inv["id"].(string)
	var resend map[string]any
	for _, s := range e.do("GET", path, tok, nil).json(t)["nextSteps"].([]any) {
		if s := s.(map[string]any); s["code"] == "resend" {
			resend = s["action"].(map[string]any)
		}
	}
	if resend == nil || resend["operationId"] != "resendInvite" || resend["method"] != "POST" || resend["path"] != path+"/resend" {
		t.Fatalf("the re-send step's action: %v", resend)
	}
	if r := e.do("POST", resend["path"].(string), tok, nil); r.status != 200 {
		t.Errorf("the offered operation: %d %s", r.status, r.body)
	}
}
