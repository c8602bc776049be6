package httpapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/cloudreseller/aws-invites/internal/invite"
	"github.com/cloudreseller/aws-invites/internal/store"
)

func eventTypes(items []any) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.(map[string]any)["type"].(string))
	}
	return out
}

// TestActivityFeed: a billing profile's feed lists its invites' events newest first, with the invite as it was,
// and the attempts AWS refused although no invite remains; filters and pages as documented.
func TestActivityFeed(t *testing.T) {
	for _, dialect := range []string{store.DialectPostgres, store.DialectSQLite} {
		t.Run(dialect, func(t *testing.T) {
			e := newEnv(t, envOptions{dialect: dialect, sandbox: true})
			tok := e.token()
			feed := "/billing-profiles/" + profile + "/events"

			a := e.create("100000000001")
			r := e.do("POST", invitesPath(profile)+"/"+a["id"].(string)+"/sandbox/accept", tok, nil)
			if r.status != 200 {
				t.Fatalf("accept: %d %s", r.status, r.body)
			}
			b := e.create("100000000002")
			if r := e.do("DELETE", invitesPath(profile)+"/"+b["id"].(string), tok, nil); r.status != 200 {
				t.Fatalf("cancel: %d %s", r.status, r.body)
			}
			e.problem(e.do("POST", invitesPath(profile), tok, map[string]any{"accountId": "999300000001"}), 409, "payment_instrument_required")

			r = e.do("GET", feed, tok, nil)
			if r.status != 200 {
				t.Fatalf("feed: %d %s", r.status, r.body)
			}
			items := r.json(t)["items"].([]any)
			want := []string{"invite.refused", "invite.canceled", "invite.created", "invite.joined", "invite.accepted", "invite.created"}
			if got := eventTypes(items); strings.Join(got, ",") != strings.Join(want, ",") {
				t.Fatalf("feed types = %v, want %v", got, want)
			}
			refused := items[0].(map[string]any)
			if refused["code"] != "payment_instrument_required" || refused["inviteId"] != nil || refused["accountId"] != "999300000001" ||
				refused["invite"] != nil || refused["id"] == "" {
				t.Errorf("refused attempt: %v", refused)
			}
			joined := items[3].(map[string]any)
			if inv, _ := joined["invite"].(map[string]any); inv == nil || inv["state"] != "awaiting_cur" || inv["id"] != a["id"] {
				t.Errorf("the joined event's invite: %v", joined["invite"])
			}
			accepted := items[4].(map[string]any)
			if inv, _ := accepted["invite"].(map[string]any); inv == nil || inv["state"] != "accepted" {
				t.Errorf("the accepted event keeps the invite as it was then: %v", accepted["invite"])
			}

			// Filters: type (repeatable), accountId, since.
			q := url.Values{"type": {"invite.created", "invite.canceled"}}
			if got := eventTypes(e.do("GET", feed+"?"+q.Encode(), tok, nil).json(t)["items"].([]any)); strings.Join(got, ",") != "invite.canceled,invite.created,invite.created" {
				t.Errorf("by type: %v", got)
			}
			if got := eventTypes(e.do("GET", feed+"?accountId=1000-0000-0002", tok, nil).json(t)["items"].([]any)); strings.Join(got, ",") != "invite.canceled,invite.created" {
				t.Errorf("by account: %v", got)
			}
			e.clock.Advance(time.Minute)
			since := e.clock.Now()
			e.clock.Advance(time.Minute)
			c := e.create("100000000003")
			if got := e.do("GET", feed+"?since="+url.QueryEscape(since.Format(time.RFC3339Nano)), tok, nil).json(t)["items"].([]any); len(got) != 1 ||
				got[0].(map[string]any)["inviteId"] != c["id"] {
				t.Errorf("since: %v", got)
			}
			e.problem(e.do("GET", feed+"?type=invite.unknown", tok, nil), 400, "invalid_parameter")

			// Pages of two, newest first, no repeats.
			var all []string
			cursor := ""
			for range 10 {
				q := feed + "?limit=2"
				if cursor != "" {
					q += "&cursor=" + cursor
				}
				page := e.do("GET", q, tok, nil).json(t)
				for _, it := range page["items"].([]any) {
					all = append(all, it.(map[string]any)["id"].(string))
				}
				next, _ := page["nextCursor"].(string)
				if next == "" {
					break
				}
				cursor = next
			}
			if len(all) != 7 {
				t.Errorf("paged %d events, want 7: %v", len(all), all)
			}
			e.problem(e.do("GET", feed+"?type=invite.created&cursor="+cursor, tok, nil), 400, "invalid_cursor")

			// Another customer sees nothing of it; the reseller-wide feed is for platform administrators.
			e.problem(e.do("GET", "/billing-profiles/globex-main/events", tok, nil), 404, "not_found")
			e.problem(e.do("GET", "/events", tok, nil), 403, "forbidden")
			if r := e.do("GET", "/events?limit=100", e.adminToken(), nil); r.status != 200 || len(r.json(t)["items"].([]any)) != 7 {
				t.Errorf("reseller-wide feed: %d %s", r.status, r.body)
			}
		})
	}
}

// TestExpiryWarning: 72 hours before AWS's expiry the next steps warn; 48 hours before, one invite.expiring event.
func TestExpiryWarning(t *testing.T) {
	e := newEnv(t, envOptions{sandbox: true})
	tok := e.token()
	inv := e.create("100000000009")
	id := inv["id"].(string)
	refresh := func() map[string]any {
		r := e.do("POST", invitesPath(profile)+"/"+id+"/refresh", tok, nil)
		if r.status != http.StatusOK {
			t.Fatalf("refresh: %d %s", r.status, r.body)
		}
		return r.json(t)
	}
	e.clock.Advance(invite.HandshakeLifetime - invite.ExpiringSoon - time.Minute)
	if steps := stepCodes(refresh()); strings.Contains(steps, "expiring_soon") {
		t.Errorf("more than 72 hours before expiry: %s", steps)
	}
	e.clock.Advance(2 * time.Minute)
	if steps := stepCodes(refresh()); !strings.Contains(steps, "expiring_soon") {
		t.Errorf("less than 72 hours before expiry: %s", steps)
	}
	expiring := func() int {
		items := e.do("GET", "/billing-profiles/"+profile+"/events?type=invite.expiring", tok, nil).json(t)["items"].([]any)
		return len(items)
	}
	if n := expiring(); n != 0 {
		t.Fatalf("%d expiring events 72 hours before", n)
	}
	e.clock.Advance(invite.ExpiringSoon - invite.ExpiryWarning)
	refresh()
	refresh()
	if n := expiring(); n != 1 {
		t.Errorf("%d expiring events 48 hours before expiry (after two passes), want 1", n)
	}
}
