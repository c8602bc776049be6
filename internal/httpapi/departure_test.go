package httpapi_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// TestSandboxAccountLeavesAndCloses: through the API, a joined account that accepts another organization's
// invitation is departed in the answer, and the change reaches the activity feed, webhooks and email (the
// profile's recipients); a closed account shows its AWS state and only the account_closed step; a departed account
// can be invited again; a sandbox change of an invite that has not joined is refused as invalid_state.
func TestSandboxAccountLeavesAndCloses(t *testing.T) {
	e := newEnv(t, envOptions{sandbox: true, notify: true})
	r := newReceiver(t)
	e.addWebhook(r)
	if res := e.do("PUT", "/billing-profiles/"+profile+"/notifications", e.token(), map[string]any{"recipients": []string{"ops@acme.example"}}); res.status != 200 {
		t.Fatalf("notifications: %d %s", res.status, res.body)
	}
	base := invitesPath(profile) + "/"

	open := e.create("100000000031")
	e.problem(e.do("POST", base+open["id"].(string)+"/sandbox/account", e.token(), map[string]any{"change": "leave"}), 409, "invalid_state")

	leaving, closing := e.create("100000000032"), e.create("100000000033")
	for _, inv := range []map[string]any{leaving, closing} {
		if res := e.do("POST", base+inv["id"].(string)+"/sandbox/accept", e.token(), nil); res.status != 200 || res.json(t)["state"] != "awaiting_cur" {
			t.Fatalf("accept: %d %s", res.status, res.body)
		}
	}
	e.problem(e.do("POST", base+leaving["id"].(string)+"/sandbox/account", e.token(), map[string]any{"change": "explode"}), 422, "validation_failed")

	res := e.do("POST", base+leaving["id"].(string)+"/sandbox/account", e.token(), map[string]any{"change": "leave"})
	got := res.json(t)
	if res.status != http.StatusOK || got["state"] != "departed" {
		t.Fatalf("leave: %d %s", res.status, res.body)
	}
	dep, _ := got["departure"].(map[string]any)
	if dep == nil || dep["noticedAt"] == nil || dep["method"] != nil {
		t.Errorf("departure: %v", got["departure"])
	}
	if codes := stepCodesOf(got); !slices.Equal(codes, []string{"account_departed", "invite_again"}) {
		t.Errorf("departed steps: %v", codes)
	}
	if got := e.do("GET", base+leaving["id"].(string), e.token(), nil).json(t); got["state"] != "departed" {
		t.Errorf("GET after leaving: %v", got["state"])
	}

	res = e.do("POST", base+closing["id"].(string)+"/sandbox/account", e.token(), map[string]any{"change": "close"})
	got = res.json(t)
	if res.status != http.StatusOK || got["state"] != "awaiting_cur" || got["accountState"] != "SUSPENDED" {
		t.Fatalf("close: %d %s", res.status, res.body)
	}
	if codes := stepCodesOf(got); !slices.Equal(codes, []string{"account_closed"}) {
		t.Errorf("closed steps: %v", codes)
	}

	feed := e.do("GET", "/billing-profiles/"+profile+"/events?type=invite.departed&type=invite.account_state_changed", e.token(), nil).json(t)["items"].([]any)
	var types []string
	for _, ev := range feed {
		types = append(types, ev.(map[string]any)["type"].(string))
	}
	if strings.Join(types, ",") != "invite.account_state_changed,invite.departed" {
		t.Errorf("feed: %v", types)
	}
	waitUntil(t, func() bool {
		ts := r.types()
		return slices.Contains(ts, "invite.departed") && slices.Contains(ts, "invite.account_state_changed")
	})
	waitUntil(t, func() bool {
		var subjects []string
		for _, m := range e.do("GET", "/sandbox/mail", e.token(), nil).json(t)["items"].([]any) {
			mm := m.(map[string]any)
			if slices.Contains(mm["to"].([]any), any("ops@acme.example")) {
				subjects = append(subjects, mm["subject"].(string))
			}
		}
		return slices.Contains(subjects, "AWS account 100000000032 is no longer in the payer organization") &&
			slices.Contains(subjects, "AWS account 100000000033 changed state in AWS (suspended, closing or closed, or active again)")
	})

	// The departed account may be invited again.
	if again := e.create("100000000032"); again["id"] == leaving["id"] || again["state"] != "invited" {
		t.Errorf("re-invite: %v", again)
	}
}

func stepCodesOf(inv map[string]any) []string {
	var out []string
	for _, s := range inv["nextSteps"].([]any) {
		out = append(out, s.(map[string]any)["code"].(string))
	}
	return out
}
