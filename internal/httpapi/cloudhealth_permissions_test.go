package httpapi_test

import (
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/cloudreseller/aws-invites/internal/awsiam/iamsim"
	"github.com/cloudreseller/aws-invites/internal/cloudhealth"
	"github.com/cloudreseller/aws-invites/internal/invite"
)

const resellerPrincipal = "arn:aws:iam::999900000000:role/aws-invites"

// The permission check through the API, with the real SDK against IAM and STS simulated over HTTP: the setup offers
// the checker role; without it the check is unknown and says how to enable it; once the customer created the roles
// from the setup it passes; removed entries, an SCP's denial and a missing role each fail, naming the published
// entries to add.
func TestCloudHealthValidationPermissions(t *testing.T) {
	e := newEnv(t, envOptions{sandbox: true, checkerPrincipal: resellerPrincipal})
	tok := e.token()
	const acct = "123456789012"
	path := joinedInvite(t, e, profile, acct, tok)
	if r := e.do("PUT", path+"/sandbox/cloudhealth", tok, map[string]any{"level": "green", "payerAccountId": management}); r.status != 200 {
		t.Fatalf("green: %d %s", r.status, r.body)
	}

	// The setup offers the checker role trusting the reseller: in the template, the quick-create link, CloudShell
	// and Terraform.
	r := e.do("GET", path+"/cloudhealth-setup", tok, nil)
	if r.status != 200 {
		t.Fatalf("setup: %d %s", r.status, r.body)
	}
	setup := r.json(t)
	ext := setup["externalId"].(string)
	deploy := setup["deploy"].(map[string]any)
	link, err := url.Parse(deploy["quickCreateUrl"].(string))
	if err != nil {
		t.Fatal(err)
	}
	_, query, _ := strings.Cut(link.Fragment, "?")
	if q, _ := url.ParseQuery(query); q.Get("param_CheckerPrincipal") != resellerPrincipal {
		t.Errorf("quick-create parameters %v lack the checker principal", q)
	}
	if !strings.Contains(deploy["cloudShellCommand"].(string), "ParameterKey=CheckerPrincipal,ParameterValue="+resellerPrincipal) {
		t.Errorf("cloudshell: %s", deploy["cloudShellCommand"])
	}
	if tf := deploy["terraform"].(string); !strings.Contains(tf, `"CloudHealthSetupCheck"`) || !strings.Contains(tf, resellerPrincipal) {
		t.Errorf("terraform has no checker role: %s", tf)
	}
	if tmpl := e.do("GET", path+"/cloudhealth-setup/template.yaml", tok, nil); !strings.Contains(string(tmpl.body), "Default: "+resellerPrincipal) {
		t.Errorf("the setup's template does not default CheckerPrincipal to the reseller's: %s", tmpl.body)
	}

	permissions := func(t *testing.T) map[string]any {
		t.Helper()
		r := e.do("POST", path+"/cloudhealth-validation", tok, nil)
		if r.status != 200 {
			t.Fatalf("validate: %d %s", r.status, r.body)
		}
		e.clock.Advance(invite.CloudHealthValidationEvery)
		return checksByName(t, r.json(t))["permissions"]
	}
	strs := func(v any) []string {
		var out []string
		for _, s := range asSlice(v) {
			out = append(out, s.(string))
		}
		return out
	}

	// No roles yet: the checker role cannot be assumed.
	c := permissions(t)
	if c["result"] != "unknown" || !strings.Contains(c["detail"].(string), "cannot assume the role CloudHealthSetupCheck") ||
		!strings.Contains(c["detail"].(string), "CheckerPrincipal parameter set to "+resellerPrincipal) {
		t.Errorf("without the checker role: %v", c)
	}

	// The customer creates the stack from the setup: the CloudHealth role as served, and the checker role.
	doc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if err := e.iam.PutRole(acct, iamsim.Role{Name: setup["roleName"].(string), TrustPolicy: doc(setup["trustPolicy"]),
		Policies: map[string]string{setup["policyName"].(string): doc(setup["permissionsPolicy"])}}); err != nil {
		t.Fatal(err)
	}
	trust, policy := cloudhealth.CheckerRole(acct, cloudhealth.RoleName, resellerPrincipal, ext)
	if err := e.iam.PutRole(acct, iamsim.Role{Name: cloudhealth.CheckerRoleName, TrustPolicy: doc(trust),
		Policies: map[string]string{cloudhealth.CheckerPolicyName: doc(policy)}}); err != nil {
		t.Fatal(err)
	}
	if c := permissions(t); c["result"] != "pass" || !strings.Contains(c["detail"].(string), "one action per wildcard entry") {
		t.Errorf("the setup's role: %v", c)
	}

	// Three entries removed from the role's policy: named as published, in the published order.
	served := setup["permissionsPolicy"].(map[string]any)
	st := served["Statement"].([]any)[0].(map[string]any)
	st["Action"] = slices.DeleteFunc(asSlice(st["Action"]), func(a any) bool {
		return a == "route53:Get*" || a == "route53:List*" || a == "logs:Describe*"
	})
	if err := e.iam.PutRolePolicy(acct, cloudhealth.RoleName, setup["policyName"].(string), doc(served)); err != nil {
		t.Fatal(err)
	}
	c = permissions(t)
	if want := []string{"logs:Describe*", "route53:Get*", "route53:List*"}; c["result"] != "fail" || !slices.Equal(strs(c["missingActions"]), want) ||
		c["deniedActions"] != nil {
		t.Errorf("three entries removed: %v, want missing %v", c, want)
	}

	// The organization's SCP denies Lambda: its entry is missing and denied.
	e.iam.DenySCP(acct, "lambda:*")
	c = permissions(t)
	if c["result"] != "fail" || !slices.Equal(strs(c["deniedActions"]), []string{"lambda:List*"}) ||
		!slices.Equal(strs(c["missingActions"]), []string{"lambda:List*", "logs:Describe*", "route53:Get*", "route53:List*"}) ||
		!strings.Contains(c["detail"].(string), "service control policy") {
		t.Errorf("an SCP: %v", c)
	}

	// No CloudHealth role at all.
	e.iam.DeleteRole(acct, cloudhealth.RoleName)
	if c := permissions(t); c["result"] != "fail" || !strings.Contains(c["detail"].(string), "There is no role CloudHealth in account "+acct) {
		t.Errorf("no role: %v", c)
	}
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}
