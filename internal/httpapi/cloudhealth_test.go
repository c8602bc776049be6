package httpapi_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/cloudreseller/aws-invites/internal/auth"
	"github.com/cloudreseller/aws-invites/internal/cloudhealth"
	"github.com/cloudreseller/aws-invites/internal/cloudhealth/chsim"
	"github.com/cloudreseller/aws-invites/internal/invite"
	"github.com/cloudreseller/aws-invites/internal/store"
)

// joinedInvite creates an invite for account in the env's profile, has its owner accept it and refreshes it, so
// that it is a member of the payer (awaiting_cur); it returns the invite's path.
func joinedInvite(t *testing.T, e *env, profileID, account, tok string) string {
	t.Helper()
	r := e.do("POST", invitesPath(profileID), tok, map[string]any{"accountId": account})
	if r.status != http.StatusCreated {
		t.Fatalf("create %s: %d %s", account, r.status, r.body)
	}
	inv := r.json(t)
	hs := inv["handshake"].(map[string]any)["id"].(string)
	if _, err := e.orgs.AcceptHandshakeAs(context.Background(), account, hs); err != nil {
		t.Fatal(err)
	}
	path := invitesPath(profileID) + "/" + inv["id"].(string)
	if r := e.do("POST", path+"/refresh", tok, nil); r.status != 200 || r.json(t)["state"] != "awaiting_cur" {
		t.Fatalf("refresh %s: %d %s", account, r.status, r.body)
	}
	return path
}

// checksByName indexes a validation's checks.
func checksByName(t *testing.T, v map[string]any) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	var names []string
	for _, c := range v["checks"].([]any) {
		c := c.(map[string]any)
		out[c["name"].(string)] = c
		names = append(names, c["name"].(string))
	}
	want := []string{"listed", "authentication", "status", "status_freshness", "payer_placement", "payer_cur", "permissions"}
	if !slices.Equal(names, want) {
		t.Errorf("checks %v, want %v in that order", names, want)
	}
	return out
}

// Validation on demand: every check with a result a customer can act on, kept for GET, told by an event, once a
// minute per invite; it changes nothing of the invite.
func TestCloudHealthValidation(t *testing.T) {
	for _, dialect := range []string{store.DialectPostgres, store.DialectSQLite} {
		t.Run(dialect, func(t *testing.T) { testCloudHealthValidation(t, dialect) })
	}
}

func testCloudHealthValidation(t *testing.T, dialect string) {
	e := newEnv(t, envOptions{dialect: dialect, sandbox: true})
	tok := e.token()
	viewer := e.token(func(c *auth.Claims) { c.Permissions = nil })
	path := joinedInvite(t, e, profile, "123456789012", tok)

	e.problem(e.do("GET", path+"/cloudhealth-validation", viewer, nil), 404, "not_found")
	e.problem(e.do("POST", invitesPath(profile)+"/no-such-invite/cloudhealth-validation", viewer, nil), 404, "not_found")

	// CloudHealth lists the account, green, under the billing profile's payer.
	if r := e.do("PUT", path+"/sandbox/cloudhealth", tok, map[string]any{"level": "green", "payerAccountId": management}); r.status != 200 {
		t.Fatalf("green: %d %s", r.status, r.body)
	}
	before := e.do("GET", path, tok, nil).json(t)

	// A viewer may run it: it only reads.
	r := e.do("POST", path+"/cloudhealth-validation", viewer, nil)
	if r.status != 200 {
		t.Fatalf("validate: %d %s", r.status, r.body)
	}
	v := r.json(t)
	checks := checksByName(t, v)
	for name, want := range map[string]string{"listed": "pass", "status": "pass", "status_freshness": "pass",
		"payer_placement": "pass", "permissions": "unknown"} {
		if got := checks[name]["result"]; got != want {
			t.Errorf("%s: %v (%v), want %s", name, got, checks[name]["detail"], want)
		}
	}
	if d, _ := checks["permissions"]["detail"].(string); !strings.Contains(d, "compare the role's policy") {
		t.Errorf("the permissions check does not say what to do: %q", d)
	}
	if v["passed"] != false || v["inviteId"] != before["id"] {
		t.Errorf("validation: %s", r.body)
	}

	// Once a minute: sooner is 429 with when, and the kept result is unchanged.
	again := e.do("POST", path+"/cloudhealth-validation", tok, nil)
	e.problem(again, 429, "cloudhealth_validation_too_soon")
	if again.header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	got := e.do("GET", path+"/cloudhealth-validation", viewer, nil)
	if got.status != 200 || got.json(t)["ranAt"] != v["ranAt"] {
		t.Errorf("the last result: %d %s, want the run of %v", got.status, got.body, v["ranAt"])
	}

	// The invite is unchanged; its history tells the run.
	after := e.do("GET", path, tok, nil).json(t)
	if after["updatedAt"] != before["updatedAt"] || after["state"] != before["state"] {
		t.Errorf("validation changed the invite: %v -> %v", before["updatedAt"], after["updatedAt"])
	}
	events := e.do("GET", path+"/events", tok, nil).json(t)["items"].([]any)
	last := events[len(events)-1].(map[string]any)
	if last["type"] != string(invite.EventCloudHealthChecked) || !strings.Contains(last["reason"].(string), "checks passed") {
		t.Errorf("last event: %v", last)
	}

	// CloudHealth moves the account under another payer: a minute later, the placement check fails and names it.
	if r := e.do("PUT", path+"/sandbox/cloudhealth", tok, map[string]any{"level": "green", "payerAccountId": "999999999999"}); r.status != 200 {
		t.Fatalf("other payer: %d %s", r.status, r.body)
	}
	e.clock.Advance(invite.CloudHealthValidationEvery)
	r = e.do("POST", path+"/cloudhealth-validation", tok, nil)
	if r.status != 200 {
		t.Fatalf("validate again: %d %s", r.status, r.body)
	}
	placement := checksByName(t, r.json(t))["payer_placement"]
	if placement["result"] != "fail" || !strings.Contains(placement["detail"].(string), "999999999999") {
		t.Errorf("placement under another payer: %v", placement)
	}
}

// The setup serves CloudHealth's published policy, says which, and offers the one-click deployments; the hosted
// template is served to anyone.
func TestCloudHealthSetupDeployments(t *testing.T) {
	e := newEnv(t, envOptions{sandbox: true})
	tok := e.token()
	inv := e.create("123456789012")
	path := invitesPath(profile) + "/" + inv["id"].(string) + "/cloudhealth-setup"
	r := e.do("GET", path, tok, nil)
	if r.status != 200 {
		t.Fatalf("setup: %d %s", r.status, r.body)
	}
	setup := r.json(t)
	if setup["policyVersion"] != cloudhealth.PolicyVersion || setup["policySource"] != cloudhealth.PolicySource {
		t.Errorf("policy version and source: %v, %v", setup["policyVersion"], setup["policySource"])
	}
	var actions []string
	for _, st := range setup["permissionsPolicy"].(map[string]any)["Statement"].([]any) {
		for _, a := range st.(map[string]any)["Action"].([]any) {
			actions = append(actions, a.(string))
		}
	}
	if !slices.Equal(actions, cloudhealth.ReadOnlyActions) {
		t.Errorf("served actions (%d) are not the published read-only set (%d)", len(actions), len(cloudhealth.ReadOnlyActions))
	}
	ext := setup["externalId"].(string)
	deploy := setup["deploy"].(map[string]any)
	if deploy["capability"] != "CAPABILITY_NAMED_IAM" {
		t.Errorf("capability %v", deploy["capability"])
	}
	link, err := url.Parse(deploy["quickCreateUrl"].(string))
	if err != nil || link.Host != "console.aws.amazon.com" {
		t.Fatalf("quick-create link %v: %v", deploy["quickCreateUrl"], err)
	}
	_, query, _ := strings.Cut(link.Fragment, "?")
	q, err := url.ParseQuery(query)
	if err != nil || q.Get("templateURL") != "https://templates.example/cloudhealth-role.yaml" || q.Get("param_ExternalId") != ext ||
		q.Get("param_RoleName") != "CloudHealth" {
		t.Errorf("quick-create parameters %v (%v)", q, err)
	}
	if cmd := deploy["cloudShellCommand"].(string); !strings.Contains(cmd, "aws cloudformation create-stack") ||
		!strings.Contains(cmd, "ParameterValue="+ext) || !strings.Contains(cmd, "CAPABILITY_NAMED_IAM") {
		t.Errorf("cloudshell command: %s", cmd)
	}
	if tf := deploy["terraform"].(string); !strings.Contains(tf, `resource "aws_iam_role"`) || !strings.Contains(tf, ext) {
		t.Errorf("terraform: %s", tf)
	}

	// The optional parts, chosen: in the policy, the template and Terraform, and no quick-create link (the hosted
	// template has the read-only policy alone); a bad bucket name is refused before CloudHealth is asked.
	r = e.do("GET", path+"?readBucket=acme-cur&readBucket=acme-trail&modifyReservedInstances=true", tok, nil)
	withParts := r.json(t)
	body := string(r.body)
	if r.status != 200 || !strings.Contains(body, "arn:aws:s3:::acme-cur/*") || !strings.Contains(body, "arn:aws:s3:::acme-trail") ||
		!strings.Contains(body, "ec2:ModifyReservedInstances") || withParts["deploy"].(map[string]any)["quickCreateUrl"] != nil ||
		!strings.Contains(withParts["deploy"].(map[string]any)["terraform"].(string), "acme-cur") {
		t.Errorf("with the optional parts: %d %s", r.status, r.body)
	}
	if r := e.do("GET", path+"/template.yaml?readBucket=acme-cur", tok, nil); r.status != 200 || !strings.Contains(string(r.body), "arn:aws:s3:::acme-cur") {
		t.Errorf("template with a bucket: %d %s", r.status, r.body)
	}
	e.problem(e.do("GET", path+"?readBucket=Not_A_Bucket", tok, nil), 400, "invalid_parameter")
	if strings.Contains(string(e.do("GET", path, tok, nil).body), "ModifyReservedInstances") {
		t.Error("an optional part is on by default")
	}

	// The template to host: no token needed, every customer's value a parameter.
	r = e.do("GET", "/cloudhealth-template.yaml", "", nil)
	if r.status != 200 || r.header.Get("Content-Type") != "application/yaml" {
		t.Fatalf("hosted template: %d %s", r.status, r.body)
	}
	var tmpl struct {
		Parameters map[string]struct {
			Default string `yaml:"Default"`
		} `yaml:"Parameters"`
	}
	if err := yaml.Unmarshal(r.body, &tmpl); err != nil {
		t.Fatal(err)
	}
	if p, ok := tmpl.Parameters["ExternalId"]; !ok || p.Default != "" || strings.Contains(string(r.body), ext) {
		t.Errorf("the hosted template must take the external id as a parameter without default: %+v", tmpl.Parameters)
	}
}

// Two customers of one payer, one a partner's customer with its own CloudHealth tenant: each invite is read in
// its profile's tenant, with that tenant's external id. Only platform administrators see or set the tenant.
func TestCloudHealthTenantPerBillingProfile(t *testing.T) {
	e := newEnv(t, envOptions{sandbox: true})
	admin := e.token(func(c *auth.Claims) { c.Roles = []string{invite.RolePlatformAdmin} })
	const partnerProfile, partnerCustomer, tenant = "partner-main", "partner-customer", "4242"
	body := map[string]any{"customerId": partnerCustomer, "name": "Partner's customer", "managementAccountId": management,
		"cloudHealthClientApiId": tenant}
	if r := e.do("PUT", "/billing-profiles/"+partnerProfile, admin, body); r.status != 201 || r.json(t)["cloudHealthClientApiId"] != tenant {
		t.Fatalf("profile with a tenant: %d %s", r.status, r.body)
	}
	bad := map[string]any{"customerId": partnerCustomer, "name": "x", "managementAccountId": management, "cloudHealthClientApiId": "cust-1"}
	e.problem(e.do("PUT", "/billing-profiles/"+partnerProfile, admin, bad), 422, "validation_failed")
	partner := e.token(func(c *auth.Claims) {
		c.Subject, c.CustomerID, c.BillingProfiles = "bob", partnerCustomer, []string{partnerProfile}
	})
	if got := e.do("GET", "/billing-profiles/"+partnerProfile, partner, nil).json(t); got["cloudHealthClientApiId"] != nil {
		t.Errorf("a customer sees its CloudHealth tenant: %v", got)
	}

	own := joinedInvite(t, e, profile, "123456789012", e.token())
	theirs := joinedInvite(t, e, partnerProfile, "210987654321", partner)
	e.ch.AssignCustomer(tenant, "210987654321")
	for _, p := range []struct{ path, tok string }{{own, e.token()}, {theirs, partner}} {
		r := e.do("PUT", p.path+"/sandbox/cloudhealth", p.tok, map[string]any{"level": "green", "payerAccountId": management})
		ch, _ := r.json(t)["cloudHealth"].(map[string]any)
		if r.status != 200 || ch["listed"] != true || ch["payerAccountId"] != management {
			t.Errorf("%s: %d %s, want listed under %s in its tenant", p.path, r.status, r.body, management)
		}
	}
	for _, p := range []struct{ path, tok, tenant string }{{own, e.token(), ""}, {theirs, partner, tenant}} {
		if got := e.do("GET", p.path+"/cloudhealth-setup", p.tok, nil).json(t)["externalId"]; got != e.ch.ExternalID(p.tenant) {
			t.Errorf("%s: external id %v, want tenant %q's", p.path, got, p.tenant)
		}
	}
	// Time passes beyond the grace: both stay healthy, each read in its own tenant.
	e.clock.Advance(invite.DefaultCloudHealthGrace + time.Hour)
	for _, p := range []struct{ path, tok string }{{own, e.token()}, {theirs, partner}} {
		if got := e.do("POST", p.path+"/refresh", p.tok, nil).json(t); got["state"] != "awaiting_cur" {
			t.Errorf("%s past the grace: %v", p.path, got["state"])
		}
	}
}

// Platform administrators see how each CloudHealth tenant is read, and a refused key as the reseller's problem,
// which moves no customer's invite.
func TestCloudHealthTenantsReport(t *testing.T) {
	e := newEnv(t, envOptions{sandbox: true})
	admin := e.token(func(c *auth.Claims) { c.Roles = []string{invite.RolePlatformAdmin} })
	e.problem(e.do("GET", "/cloudhealth/tenants", e.token(), nil), 403, "forbidden")
	path := joinedInvite(t, e, profile, "123456789012", e.token())
	if r := e.do("PUT", path+"/sandbox/cloudhealth", e.token(), map[string]any{"level": "green", "payerAccountId": management}); r.status != 200 {
		t.Fatalf("green: %d %s", r.status, r.body)
	}
	r := e.do("GET", "/cloudhealth/tenants", admin, nil)
	report := r.json(t)
	items, _ := report["items"].([]any)
	if r.status != 200 || report["configured"] != true || len(items) != 1 {
		t.Fatalf("report: %d %s", r.status, r.body)
	}
	own := items[0].(map[string]any)
	if own["clientApiId"] != nil || own["accounts"].(float64) < 2 || own["requests"].(float64) < 1 || own["listedAt"] == nil || own["problem"] != nil {
		t.Errorf("the key's own tenant: %v", own)
	}

	// CloudHealth refuses the key: reading it again says it is the reseller's, the invite is as it was past the
	// grace, and the report shows it.
	e.ch.InjectFault(chsim.Fault{Status: http.StatusUnauthorized})
	defer e.ch.ClearFaults()
	e.clock.Advance(invite.DefaultCloudHealthGrace + time.Hour)
	e.problem(e.do("PUT", path+"/sandbox/cloudhealth", e.token(), map[string]any{"level": "unknown"}), 502, "cloudhealth_key_refused")
	if got := e.do("GET", path, e.token(), nil).json(t); got["state"] != "awaiting_cur" {
		t.Errorf("a refused key moved the invite: %v", got["state"])
	}
	own = e.do("GET", "/cloudhealth/tenants", admin, nil).json(t)["items"].([]any)[0].(map[string]any)
	if p, _ := own["problem"].(map[string]any); p["code"] != "cloudhealth_key_refused" {
		t.Errorf("the report does not show the refused key: %v", own)
	}
}
