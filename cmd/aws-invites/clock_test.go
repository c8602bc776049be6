package main

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cloudreseller/aws-invites/internal/testdb"
)

// TestSandboxClock walks the rules that are about time through the real command, moving the sandbox's test clock
// instead of waiting: the re-send after five minutes, the 48-hour step, the end of the CloudHealth grace, expiry
// after 15 days, and a purged handshake settled by membership; a second process on the database tells the same
// time.
func TestSandboxClock(t *testing.T) {
	env := map[string]string{
		"DATABASE_URL": testdb.New(t), "AWS_INVITES_MODE": "sandbox", "AWS_INVITES_DATA_DIR": t.TempDir(),
	}
	inst := start(t, env)
	m := regexp.MustCompile(`development token \(24h\): (\S+)`).FindStringSubmatch(inst.stdout.String())
	if m == nil {
		t.Fatalf("no token printed:\n%s", inst.stdout.String())
	}
	tok := m[1]
	base := inst.url + "/billing-profiles/demo/aws-invites"
	clock := inst.url + "/sandbox/clock"
	advance := func(by string) time.Time {
		t.Helper()
		status, body, h := call(t, "POST", clock, tok, map[string]any{"advance": by})
		if status != 200 {
			t.Fatalf("advance %s: %d %v", by, status, body)
		}
		now, err := time.Parse(time.RFC3339Nano, body["now"].(string))
		if err != nil || h.Get("X-Sandbox-Time") == "" {
			t.Fatalf("advance %s: now %v, X-Sandbox-Time %q", by, body["now"], h.Get("X-Sandbox-Time"))
		}
		if errs, _ := body["errors"].([]any); len(errs) > 0 {
			t.Fatalf("due work failed after advancing %s: %v", by, errs)
		}
		return now
	}
	steps := func(inv map[string]any) string {
		var codes []string
		for _, s := range inv["nextSteps"].([]any) {
			codes = append(codes, s.(map[string]any)["code"].(string))
		}
		return strings.Join(codes, ",")
	}
	get := func(id string) map[string]any {
		t.Helper()
		status, inv, _ := call(t, "GET", base+"/"+id, tok, nil)
		if status != 200 {
			t.Fatalf("get %s: %d %v", id, status, inv)
		}
		return inv
	}
	create := func(account string) string {
		t.Helper()
		status, inv, _ := call(t, "POST", base, tok, map[string]any{"accountId": account})
		if status != 201 {
			t.Fatalf("invite %s: %d %v", account, status, inv)
		}
		return inv["id"].(string)
	}

	status, before, h := call(t, "GET", clock, tok, nil)
	start, err := time.Parse(time.RFC3339Nano, before["now"].(string))
	if status != 200 || err != nil || h.Get("X-Sandbox-Time") == "" || systemClock.Now().Sub(start).Abs() > time.Minute {
		t.Fatalf("sandbox clock at start: %d %v %q", status, before, h.Get("X-Sandbox-Time"))
	}
	if status, p, _ := call(t, "POST", clock, tok, map[string]any{"to": start.Add(-time.Hour).Format(time.RFC3339)}); status != 422 || p["code"] != "validation_failed" {
		t.Errorf("moving back: %d %v", status, p)
	}

	// The five minutes before a re-send.
	a := create("100000000001")
	if status, p, _ := call(t, "POST", base+"/"+a+"/resend", tok, nil); status != 409 || p["code"] != "resend_too_soon" {
		t.Fatalf("re-send at once: %d %v", status, p)
	}
	if now := advance("5m"); now.Sub(start) < 5*time.Minute {
		t.Fatalf("the clock moved from %s to %s", start, now)
	}
	if status, inv, _ := call(t, "POST", base+"/"+a+"/resend", tok, nil); status != 200 || inv["state"] != "invited" {
		t.Fatalf("re-send after advancing 5m: %d %v", status, inv)
	}

	// Joined, no CUR data: the 48-hour step, then CloudHealth's grace (the account is not listed there) ends.
	e := create("100000000005")
	if status, inv, _ := call(t, "POST", base+"/"+e+"/sandbox/accept", tok, nil); status != 200 || !strings.Contains(steps(inv), "wait_for_cur") {
		t.Fatalf("accept: %d %v", status, inv)
	}
	advance("48h")
	if inv := get(e); inv["state"] != "awaiting_cur" || !strings.Contains(steps(inv), "open_support_ticket") {
		t.Fatalf("48 hours after joining: %v %s", inv["state"], steps(inv))
	}
	advance("24h")
	if inv := get(e); inv["state"] != "cloudhealth_critical" {
		t.Fatalf("after the CloudHealth grace: %v", inv["state"])
	}

	// Never answered: expired after 15 days.
	b := create("100000000002")
	advance("15d")
	if inv := get(b); inv["state"] != "expired" || inv["handshake"].(map[string]any)["state"] != "EXPIRED" {
		t.Fatalf("after 15 days: %v %v", inv["state"], inv["handshake"])
	}

	// Expired and purged before anyone looked: settled by membership.
	d := create("100000000004")
	advance("46d")
	inv := get(d)
	_, events, _ := call(t, "GET", base+"/"+d+"/events", tok, nil)
	items := events["items"].([]any)
	last := items[len(items)-1].(map[string]any)["reason"].(string)
	if inv["state"] != "expired" || !strings.Contains(last, "no longer lists") {
		t.Fatalf("after 46 days: %v, last event %q", inv["state"], last)
	}

	// Another process on the same database tells the same time.
	_, first, _ := call(t, "GET", clock, tok, nil)
	other := start2(t, env)
	_, second, _ := call(t, "GET", other.url+"/sandbox/clock", tok, nil)
	t1, _ := time.Parse(time.RFC3339Nano, first["now"].(string))
	t2, _ := time.Parse(time.RFC3339Nano, second["now"].(string))
	if t2.Sub(start) < 63*24*time.Hour || t2.Sub(t1).Abs() > 10*time.Second {
		t.Errorf("the second process says %s, the first %s (started at %s)", t2, t1, start)
	}
}

// start2 starts another instance on the same environment (a second process, as far as the database knows).
func start2(t *testing.T, env map[string]string) *instance {
	t.Helper()
	other := map[string]string{}
	for k, v := range env {
		other[k] = v
	}
	return start(t, other)
}
