package httpapi_test

import (
	"testing"

	"github.com/cloudreseller/aws-invites/internal/auth"
	"github.com/cloudreseller/aws-invites/internal/invite"
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
