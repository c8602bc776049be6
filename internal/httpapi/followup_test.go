package httpapi_test

import (
	"context"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/cloudreseller/aws-invites/internal/auth"
)

func TestRefreshCloudHealthSetupAndSandboxStatus(t *testing.T) {
	e := newEnv(t, envOptions{sandbox: true})
	tok := e.token()
	readOnly := e.token(func(c *auth.Claims) { c.Permissions = nil })
	inv := e.create("123456789012")
	id := inv["id"].(string)
	path := invitesPath(profile) + "/" + id
	hs := inv["handshake"].(map[string]any)["id"].(string)

	// The owner accepts in the AWS console; the service knows once it looks, and refresh looks now.
	if _, err := e.orgs.AcceptHandshakeAs(context.Background(), "123456789012", hs); err != nil {
		t.Fatal(err)
	}
	if got := e.do("GET", path, tok, nil).json(t); got["state"] != "invited" {
		t.Fatalf("before refresh: %v", got["state"])
	}
	r := e.do("POST", path+"/refresh", readOnly, nil)
	if r.status != 200 || r.json(t)["state"] != "awaiting_cur" {
		t.Fatalf("refresh: %d %s", r.status, r.body)
	}
	e.problem(e.do("POST", invitesPath(profile)+"/no-such-invite/refresh", tok, nil), 404, "not_found")

	// What the owner creates for CloudHealth: JSON by default.
	r = e.do("GET", path+"/cloudhealth-setup", readOnly, nil)
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
		t.Fatalf("setup: %d %s", r.status, r.body)
	}
	setup := r.json(t)
	if setup["roleName"] != "CloudHealth" || setup["trustedAccountId"] != "454464851268" ||
		setup["trustedPrincipal"] != "arn:aws:iam::454464851268:root" || setup["externalId"] == "" || setup["externalId"] == "ext-fallback-1" ||
		setup["accountId"] != "123456789012" {
		t.Errorf("setup: %s", r.body)
	}
	if !strings.Contains(string(r.body), "sts:ExternalId") {
		t.Error("the trust policy does not require the external id")
	}
	// The external id is the tenant's, from CloudHealth, before CloudHealth lists the account (issue 19).
	externalID, _ := setup["externalId"].(string)
	// The same as a CloudFormation template, by Accept header or by path.
	for _, req := range []struct{ path, accept string }{{path + "/cloudhealth-setup", "application/yaml"}, {path + "/cloudhealth-setup/template.yaml", ""}} {
		r := e.do("GET", req.path, tok, nil, "Accept", req.accept)
		if r.status != 200 || r.header.Get("Content-Type") != "application/yaml" {
			t.Fatalf("template %s: %d %s", req.path, r.status, r.body)
		}
		var tmpl map[string]any
		if err := yaml.Unmarshal(r.body, &tmpl); err != nil {
			t.Fatalf("template is not YAML: %v", err)
		}
		if !strings.Contains(string(r.body), "AWS::IAM::Role") || !strings.Contains(string(r.body), externalID) {
			t.Errorf("template: %s", r.body)
		}
	}

	// Sandbox: CloudHealth says red -> critical, with the consequences; green with a payer -> back.
	r = e.do("PUT", path+"/sandbox/cloudhealth", tok, map[string]any{"level": "red", "payerAccountId": management})
	got := r.json(t)
	if r.status != 200 || got["state"] != "cloudhealth_critical" || got["cloudHealth"].(map[string]any)["level"] != "red" {
		t.Fatalf("red: %d %s", r.status, r.body)
	}
	if codes := stepCodes(got); !strings.Contains(codes, "cloudhealth_consequences") {
		t.Errorf("critical next steps: %s", codes)
	}
	r = e.do("PUT", path+"/sandbox/cloudhealth", tok, map[string]any{"level": "green", "payerAccountId": management})
	if got := r.json(t); r.status != 200 || got["state"] != "awaiting_cur" || got["cloudHealth"].(map[string]any)["payerAccountId"] != management {
		t.Fatalf("green: %d %s", r.status, r.body)
	}
	// Once CloudHealth lists the account, the external id is still the tenant's one.
	if setup := e.do("GET", path+"/cloudhealth-setup", tok, nil).json(t); setup["externalId"] != externalID {
		t.Errorf("external id of a listed account: %v", setup["externalId"])
	}
	e.problem(e.do("PUT", path+"/sandbox/cloudhealth", tok, map[string]any{"level": "purple"}), 422, "validation_failed")
	e.problem(e.do("PUT", path+"/sandbox/cloudhealth", tok, map[string]any{"level": "red", "payerAccountId": "12"}), 422, "validation_failed")
}

func TestSandboxCloudHealthOutsideSandbox(t *testing.T) {
	e := newEnv(t, envOptions{})
	tok := e.token()
	id := e.create("123456789012")["id"].(string)
	e.problem(e.do("PUT", invitesPath(profile)+"/"+id+"/sandbox/cloudhealth", tok, map[string]any{"level": "red"}), 404, "sandbox_only")
	e.problem(e.do("POST", invitesPath(profile)+"/"+id+"/sandbox/accept", tok, nil), 404, "sandbox_only")
	e.problem(e.do("GET", "/sandbox/clock", tok, nil), 404, "sandbox_only")
	e.problem(e.do("POST", "/sandbox/clock", tok, map[string]any{"advance": "1h"}), 404, "sandbox_only")
	e.problem(e.do("GET", "/sandbox/mail", tok, nil), 404, "sandbox_only")
}

func TestSandboxCURDelivery(t *testing.T) {
	e := newEnv(t, envOptions{sandbox: true})
	tok := e.token()
	admin := e.token(func(c *auth.Claims) { c.Roles = []string{"platform_admin"} })
	r := e.do("PUT", "/billing-profiles/"+profile, admin, map[string]any{"customerId": customer, "name": "Acme main",
		"managementAccountId": management, "cur": map[string]any{"bucket": "acme-cur", "prefix": "cur", "reportName": "hourly"}})
	if r.status != 200 {
		t.Fatalf("put profile: %d %s", r.status, r.body)
	}
	if c := r.json(t)["cur"].(map[string]any); c["format"] != "legacy" || c["reportName"] != "hourly" {
		t.Errorf("profile cur: %v", c)
	}
	id := e.create("123456789012")["id"].(string)
	path := invitesPath(profile) + "/" + id
	if r := e.do("POST", path+"/sandbox/accept", tok, nil); r.json(t)["state"] != "awaiting_cur" {
		t.Fatalf("accept: %s", r.body)
	}
	r = e.do("POST", path+"/sandbox/cur", tok, map[string]any{"unblendedCost": "42.50"})
	got := r.json(t)
	if r.status != 200 || got["state"] != "active" {
		t.Fatalf("deliver: %d %s", r.status, r.body)
	}
	c := got["cur"].(map[string]any)
	if c["monthToDateCost"] != "42.5" || c["lineItems"] != float64(1) || c["firstSeenAt"] == nil {
		t.Errorf("cur view: %v", c)
	}
	if codes := stepCodes(got); codes != "" {
		t.Errorf("an active invite has next steps: %s", codes)
	}
	e.problem(e.do("POST", path+"/sandbox/cur", tok, map[string]any{"unblendedCost": "lots"}), 422, "validation_failed")
}
