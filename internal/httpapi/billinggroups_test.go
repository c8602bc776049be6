package httpapi_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/cloudreseller/aws-invites/internal/awsbc/bcsim"
)

// TestBillingGroupOverHTTP: a platform administrator names a billing group on a profile (checked against AWS
// Billing Conductor through the real SDK: a group of another payer is 422 billing_group_invalid); customers do
// not see it; an account that joins shows billingGroup associated, and AWS holds it in the group.
func TestBillingGroupOverHTTP(t *testing.T) {
	e := newEnv(t, envOptions{})
	admin := e.adminToken()
	bcPath := "/billing-profiles/" + profile
	put := func(arn string) response {
		return e.do("PUT", bcPath, admin, map[string]any{"customerId": customer, "name": "Acme main",
			"managementAccountId": management, "billingGroupArn": arn})
	}
	elsewhere := e.bc.AddGroup("222222222222", bcsim.Group{Name: "elsewhere"})
	p := e.problem(put(elsewhere), http.StatusUnprocessableEntity, "billing_group_invalid")
	if fields, _ := p["errors"].([]any); len(fields) != 1 {
		t.Errorf("field errors: %v", p)
	}
	pending := e.bc.AddGroup(management, bcsim.Group{Name: "new", Status: "PENDING"})
	e.problem(put(pending), http.StatusUnprocessableEntity, "billing_group_invalid")
	arn := e.bc.AddGroup(management, bcsim.Group{Name: "acme"})
	if r := put(arn); r.status != http.StatusOK || r.json(t)["billingGroupArn"] != arn {
		t.Fatalf("PUT: %d %s", r.status, r.body)
	}
	if got := e.do("GET", bcPath, e.token(), nil).json(t); got["billingGroupArn"] != nil {
		t.Fatalf("a customer sees the billing group: %v", got)
	}

	inv := e.create("123456789012")
	path := invitesPath(profile) + "/" + inv["id"].(string)
	hs := inv["handshake"].(map[string]any)["id"].(string)
	if _, err := e.orgs.AcceptHandshakeAs(context.Background(), "123456789012", hs); err != nil {
		t.Fatal(err)
	}
	r := e.do("POST", path+"/refresh", e.token(), nil)
	if r.status != http.StatusOK {
		t.Fatalf("refresh: %d %s", r.status, r.body)
	}
	got := r.json(t)
	g, _ := got["billingGroup"].(map[string]any)
	if got["state"] != "awaiting_cur" || g["arn"] != arn || g["state"] != "associated" || g["associatedAt"] == nil {
		t.Fatalf("after the join: %s", r.body)
	}
	if e.bc.GroupOf("123456789012") != arn {
		t.Fatalf("AWS holds the account in %q", e.bc.GroupOf("123456789012"))
	}
}
