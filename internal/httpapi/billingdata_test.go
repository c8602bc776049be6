package httpapi_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cloudreseller/aws-invites/internal/auth"
	"github.com/cloudreseller/aws-invites/internal/invite"
	"github.com/cloudreseller/aws-invites/internal/store"
)

// TestSpecBillingDataStatesAreTheDomains: the states openapi.yaml lists for an invite's billingData are the
// domain's, so a client can rely on the enum.
func TestSpecBillingDataStatesAreTheDomains(t *testing.T) {
	ref := mustContract(t).spec.Components.Schemas["BillingData"]
	if ref == nil || ref.Value == nil || ref.Value.Properties["state"] == nil {
		t.Fatal("openapi.yaml has no BillingData schema with a state")
	}
	var spec []string
	for _, v := range ref.Value.Properties["state"].Value.Enum {
		s, ok := v.(string)
		if !ok {
			t.Fatalf("BillingData.state enum holds %v, not a string", v)
		}
		spec = append(spec, s)
	}
	sameSet(t, "BillingData.state", spec, stringsOf(invite.BillingDataStates()))
	if inv := mustContract(t).spec.Components.Schemas["Invite"]; inv.Value.Properties["billingData"] == nil {
		t.Error("Invite has no billingData")
	}
}

// TestBillingDataThroughTheAPI: a CUR delivery with the account's line items shows on the invite as billingData
// (present, when the report was delivered, how far it reaches, when the next is due) and in the activity feed as
// invite.billing_data_changed, through real HTTP, both databases.
func TestBillingDataThroughTheAPI(t *testing.T) {
	for _, dialect := range []string{store.DialectPostgres, store.DialectSQLite} {
		t.Run(dialect, func(t *testing.T) {
			e := newEnv(t, envOptions{dialect: dialect, sandbox: true})
			tok := e.token()
			admin := e.token(func(c *auth.Claims) { c.Roles = []string{"platform_admin"} })
			if r := e.do("PUT", "/billing-profiles/"+profile, admin, map[string]any{"customerId": customer, "name": "Acme main",
				"managementAccountId": management, "cur": map[string]any{"bucket": "acme-cur", "prefix": "cur", "reportName": "hourly"}}); r.status != 200 {
				t.Fatalf("put profile: %d %s", r.status, r.body)
			}
			id := e.create("123456789012")["id"].(string)
			path := invitesPath(profile) + "/" + id
			if r := e.do("POST", path+"/sandbox/accept", tok, nil); r.status != 200 {
				t.Fatalf("accept: %d %s", r.status, r.body)
			}
			// 40 hours without a report: late, and the ticket step is offered.
			if r := e.do("POST", "/sandbox/clock", tok, map[string]any{"advance": "40h"}); r.status != 200 {
				t.Fatalf("advance: %d %s", r.status, r.body)
			}
			late := e.do("GET", path, tok, nil).json(t)
			if bd, _ := late["billingData"].(map[string]any); bd == nil || bd["state"] != "report_late" || !strings.Contains(stepCodes(late), "open_support_ticket") {
				t.Fatalf("40 hours after the join without a report: %v %s", late["billingData"], stepCodes(late))
			}
			// A delivery at the sandbox's time (ahead of the real one) is not late.
			r := e.do("POST", path+"/sandbox/cur", tok, map[string]any{"unblendedCost": "3.10"})
			got := r.json(t)
			bd, _ := got["billingData"].(map[string]any)
			if r.status != 200 || got["state"] != "active" || bd == nil || bd["state"] != "present" {
				t.Fatalf("deliver: %d %s", r.status, r.body)
			}
			last, err1 := time.Parse(time.RFC3339, fmt.Sprint(bd["lastReportAt"]))
			next, err2 := time.Parse(time.RFC3339, fmt.Sprint(bd["nextReportExpectedBy"]))
			through, err3 := time.Parse(time.RFC3339, fmt.Sprint(bd["dataThrough"]))
			if err := errors.Join(err1, err2, err3); err != nil || !next.Equal(last.Add(invite.ReportRefresh)) || !through.After(last.Add(-time.Hour)) {
				t.Errorf("billing data times: %v (%v)", bd, err)
			}
			// The payer's report as a whole is the reseller's: platform administrators see it on the profile, customers
			// do not; it is no part of the profile's version (a GET's ETag still fits the PUT's If-Match).
			read := e.do("GET", "/billing-profiles/"+profile, admin, nil)
			report, _ := read.json(t)["curReport"].(map[string]any)
			if read.status != 200 || report == nil || report["lastReportAt"] != bd["lastReportAt"] || report["problem"] != nil || report["checkedAt"] == nil {
				t.Errorf("the administrator's profile: %d %s", read.status, read.body)
			}
			if c := e.do("GET", "/billing-profiles/"+profile, tok, nil).json(t); c["curReport"] != nil {
				t.Errorf("a customer sees the report's state: %v", c["curReport"])
			}
			if r := e.do("PUT", "/billing-profiles/"+profile, admin, map[string]any{"customerId": customer, "name": "Acme renamed",
				"managementAccountId": management, "cur": map[string]any{"bucket": "acme-cur", "prefix": "cur", "reportName": "hourly"}},
				"If-Match", read.header.Get("ETag")); r.status != 200 {
				t.Errorf("PUT with the ETag of a GET that showed the report: %d %s", r.status, r.body)
			}
			r = e.do("GET", "/billing-profiles/"+profile+"/events?type=invite.billing_data_changed", tok, nil)
			items, _ := r.json(t)["items"].([]any)
			if r.status != 200 || len(items) != 2 {
				t.Fatalf("billing data events: %d %s", r.status, r.body)
			}
			ev := items[0].(map[string]any) // newest first
			if inv, _ := ev["invite"].(map[string]any); inv == nil || inv["billingData"].(map[string]any)["state"] != "present" ||
				!strings.Contains(fmt.Sprint(ev["reason"]), "-> present") {
				t.Errorf("the event: %v", ev)
			}
		})
	}
}
