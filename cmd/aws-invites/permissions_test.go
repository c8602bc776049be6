package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/cloudreseller/aws-invites/internal/config"
)

// TestSandboxChecksPermissions: the sandbox runs the permission check against its in-process IAM, where a joined
// account has created the stack from the setup, so a healthy account passes every check, permissions included.
func TestSandboxChecksPermissions(t *testing.T) {
	inst := start(t, map[string]string{"AWS_INVITES_DATA_DIR": t.TempDir()})
	m := regexp.MustCompile(`development token \(24h\): (\S+)`).FindStringSubmatch(inst.stdout.String())
	if m == nil {
		t.Fatalf("no token printed:\n%s", inst.stdout.String())
	}
	tok, base := m[1], inst.url+"/billing-profiles/demo/aws-invites"
	status, inv, _ := call(t, "POST", base, tok, map[string]any{"accountId": "123456789012"})
	if status != 201 {
		t.Fatalf("invite: %d %v", status, inv)
	}
	path := base + "/" + inv["id"].(string)
	if status, body, _ := call(t, "POST", path+"/sandbox/accept", tok, nil); status != 200 {
		t.Fatalf("accept: %d %v", status, body)
	}
	if status, body, _ := call(t, "PUT", path+"/sandbox/cloudhealth", tok, map[string]any{"level": "green", "payerAccountId": demoManagement}); status != 200 {
		t.Fatalf("green: %d %v", status, body)
	}
	if status, setup, _ := call(t, "GET", path+"/cloudhealth-setup", tok, nil); status != 200 ||
		!strings.Contains(setup["deploy"].(map[string]any)["cloudShellCommand"].(string), "ParameterValue="+config.SandboxCheckerPrincipal) {
		t.Errorf("the sandbox's setup does not offer the checker role: %d %v", status, setup)
	}
	// The template the service hosts offers the checker role by default too.
	resp, err := http.Get(inst.url + "/cloudhealth-template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	hosted, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(hosted), "Default: "+config.SandboxCheckerPrincipal) {
		t.Errorf("the hosted template's CheckerPrincipal has not the sandbox's principal as default:\n%s", hosted)
	}
	status, v, _ := call(t, "POST", path+"/cloudhealth-validation", tok, nil)
	if status != 200 {
		t.Fatalf("validate: %d %v", status, v)
	}
	for _, c := range v["checks"].([]any) {
		c := c.(map[string]any)
		if c["result"] != "pass" {
			t.Errorf("%s: %s: %s", c["name"], c["result"], c["detail"])
		}
	}
}

// The template the reseller hosts defaults CheckerPrincipal to its CLOUDHEALTH_CHECKER_PRINCIPAL (never the
// sandbox's), and refuses one that is not an IAM ARN.
func TestCloudHealthTemplateCommand(t *testing.T) {
	const principal = "arn:aws:iam::999900000000:role/aws-invites"
	for _, tc := range []struct{ env, want string }{{"", "Default: \"\""}, {principal, "Default: " + principal}} {
		var out, errOut bytes.Buffer
		getenv := func(k string) string { return map[string]string{"CLOUDHEALTH_CHECKER_PRINCIPAL": tc.env}[k] }
		if err := run(context.Background(), []string{"cloudhealth-template"}, getenv, &out, &errOut); err != nil {
			t.Fatal(err)
		}
		tmpl := out.String()
		i := strings.Index(tmpl, "CheckerPrincipal:")
		if i < 0 || !strings.Contains(tmpl[i:i+200], tc.want) || strings.Contains(tmpl, config.SandboxCheckerPrincipal) {
			t.Errorf("with %q: the CheckerPrincipal parameter: %.200s", tc.env, tmpl[max(i, 0):])
		}
	}
	err := run(context.Background(), []string{"cloudhealth-template"}, func(k string) string {
		return map[string]string{"CLOUDHEALTH_CHECKER_PRINCIPAL": "aws-invites"}[k]
	}, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "checker principal") {
		t.Errorf("a principal that is not an ARN: %v", err)
	}
}
