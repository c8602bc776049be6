package httpapi_test

import (
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/cloudreseller/aws-invites/internal/auth"
	"github.com/cloudreseller/aws-invites/internal/invite"
)

// TestDailyQuotaOverHTTP: at AWS's daily quota a single create answers 429 with a Retry-After saying when the
// oldest counted invitation turns 24 hours old; with Prefer: respond-async it answers 202 with the queued invite,
// whose place and time the customer sees; a platform administrator sees the payer's quota, a customer does not;
// canceling the queued invite calls nothing at AWS.
func TestDailyQuotaOverHTTP(t *testing.T) {
	e := newEnv(t, envOptions{dialect: "sqlite"})
	tok := e.token()
	var first time.Time
	for i := range 20 {
		if i == 0 {
			first = e.clock.Now()
		}
		e.create(fmt.Sprintf("4000000000%02d", i))
		e.clock.Advance(time.Minute)
	}
	calls := e.sim.Calls("InviteAccountToOrganization")

	r := e.do("POST", invitesPath(profile), tok, map[string]any{"accountId": "400000000099"})
	e.problem(r, http.StatusTooManyRequests, "daily_invite_limit_exceeded")
	want := int(first.Add(invite.QuotaWindow).Sub(e.clock.Now()).Seconds())
	if got, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || got != want {
		t.Errorf("Retry-After = %q, want %d (when the first invitation turns 24 hours old)", r.header.Get("Retry-After"), want)
	}
	if e.sim.Calls("InviteAccountToOrganization") != calls {
		t.Error("the create at the quota asked AWS")
	}

	r = e.do("POST", invitesPath(profile), tok, map[string]any{"accountId": "400000000099"}, "Prefer", "respond-async, wait=10")
	if r.status != http.StatusAccepted || r.header.Get("Preference-Applied") != "respond-async" || r.header.Get("Location") == "" {
		t.Fatalf("respond-async at the quota: %d %v %s", r.status, r.header, r.body)
	}
	queued := r.json(t)
	q, _ := queued["queue"].(map[string]any)
	if queued["state"] != "queued" || q == nil || q["position"] != float64(1) || q["reason"] != "daily_quota" ||
		q["scheduledFor"] != first.Add(invite.QuotaWindow).UTC().Format(time.RFC3339Nano) {
		t.Fatalf("queued invite: %s", r.body)
	}
	if e.sim.Calls("InviteAccountToOrganization") != calls {
		t.Error("queueing asked AWS")
	}
	got := e.do("GET", r.header.Get("Location"), tok, nil).json(t)
	if steps := got["nextSteps"].([]any); len(steps) != 1 || steps[0].(map[string]any)["code"] != "queued_for_quota" ||
		steps[0].(map[string]any)["at"] != q["scheduledFor"] {
		t.Errorf("queued invite's next steps: %v", got["nextSteps"])
	}

	admin := e.token(func(c *auth.Claims) { c.Roles = []string{invite.RolePlatformAdmin} })
	quota := e.do("GET", "/payers/"+management+"/invite-quota", admin, nil)
	if quota.status != http.StatusOK {
		t.Fatalf("invite-quota: %d %s", quota.status, quota.body)
	}
	qm := quota.json(t)
	perProfile, _ := qm["queued"].([]any)
	if qm["limit"] != float64(20) || qm["usedLast24h"] != float64(20) || qm["reserved"] != float64(2) || qm["available"] != float64(0) ||
		qm["nextSlotAt"] != q["scheduledFor"] || len(perProfile) != 1 || perProfile[0].(map[string]any)["queued"] != float64(1) {
		t.Errorf("invite-quota: %s", quota.body)
	}
	e.problem(e.do("GET", "/payers/"+management+"/invite-quota", tok, nil), http.StatusForbidden, "forbidden")

	// Canceling the queued invite calls nothing at AWS.
	before := e.sim.Calls("CancelHandshake") + e.sim.Calls("InviteAccountToOrganization") + e.sim.Calls("ListHandshakesForOrganization")
	c := e.do("DELETE", r.header.Get("Location"), tok, nil)
	if c.status != http.StatusOK || c.json(t)["state"] != "canceled" {
		t.Fatalf("cancel of a queued invite: %d %s", c.status, c.body)
	}
	if after := e.sim.Calls("CancelHandshake") + e.sim.Calls("InviteAccountToOrganization") + e.sim.Calls("ListHandshakesForOrganization"); after != before {
		t.Errorf("cancel of a queued invite made %d AWS calls", after-before)
	}
}
