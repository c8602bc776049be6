package cloudhealth_test

import (
	"bufio"
	"encoding/json"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/cloudreseller/aws-invites/internal/cloudhealth"
)

const (
	setupAccount  = "123456789012"
	setupExternal = "chsim-0123abcd"
)

// publishedActions reads the copy of CloudHealth's published list kept in testdata.
func publishedActions(t *testing.T) []string {
	t.Helper()
	f, err := os.Open("testdata/cloudhealth-readonly-actions.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// The policy served (JSON and CloudFormation) is CloudHealth's published read-only list, action by action.
func TestPolicyIsThePublishedList(t *testing.T) {
	want := publishedActions(t)
	if len(want) != 87 {
		t.Fatalf("testdata holds %d actions, want the 87 of the published module", len(want))
	}
	s, err := cloudhealth.NewSetup(cloudhealth.SetupInput{AccountID: setupAccount, ExternalID: setupExternal})
	if err != nil {
		t.Fatal(err)
	}
	// JSON, as the API serves it.
	raw, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var served struct {
		PermissionsPolicy struct {
			Statement []struct {
				Action   []string `json:"Action"`
				Resource []string `json:"Resource"`
			} `json:"Statement"`
		} `json:"permissionsPolicy"`
		PolicyVersion string `json:"policyVersion"`
	}
	if err := json.Unmarshal(raw, &served); err != nil {
		t.Fatal(err)
	}
	if st := served.PermissionsPolicy.Statement; len(st) != 1 || !slices.Equal(st[0].Resource, []string{"*"}) {
		t.Fatalf("statements: %+v, want one on *", st)
	}
	compareActions(t, "json", served.PermissionsPolicy.Statement[0].Action, want)
	if served.PolicyVersion != cloudhealth.PolicyVersion {
		t.Errorf("policy version %q", served.PolicyVersion)
	}
	// CloudFormation.
	tmpl, err := s.CloudFormation()
	if err != nil {
		t.Fatal(err)
	}
	role := parseTemplate(t, tmpl).Resources["CloudHealthRole"]
	if len(role.Properties.Policies) != 1 || len(role.Properties.Policies[0].PolicyDocument.Statement) != 1 {
		t.Fatalf("template policies: %+v", role.Properties.Policies)
	}
	compareActions(t, "cloudformation", role.Properties.Policies[0].PolicyDocument.Statement[0].Action, want)
}

func compareActions(t *testing.T, where string, got, want []string) {
	t.Helper()
	for i := range max(len(got), len(want)) {
		var g, w string
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			t.Errorf("%s: action %d is %q, the published list has %q", where, i+1, g, w)
		}
	}
}

// The optional parts are off by default and added, each in its own statement, when chosen.
func TestPolicyOptionalParts(t *testing.T) {
	doc, err := cloudhealth.PermissionsPolicy(cloudhealth.PolicyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(doc.Actions(), "ec2:ModifyReservedInstances") || slices.Contains(doc.Actions(), "s3:Get*") {
		t.Error("optional actions are on by default")
	}
	doc, err = cloudhealth.PermissionsPolicy(cloudhealth.PolicyOptions{Buckets: []string{"cur-bucket"}, ModifyReservedInstances: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Statement) != 3 || !slices.Equal(doc.Statement[1].Action, []string{"s3:Get*", "s3:List*"}) ||
		doc.Statement[1].Resource[1] != "arn:aws:s3:::cur-bucket/*" || doc.Statement[2].Action[0] != "ec2:ModifyReservedInstances" {
		t.Errorf("optional statements: %+v", doc.Statement)
	}
	if _, err := cloudhealth.PermissionsPolicy(cloudhealth.PolicyOptions{Buckets: []string{"Bad_Bucket"}}); err == nil {
		t.Error("a bad bucket name accepted")
	}
}

type template struct {
	Parameters map[string]map[string]any `yaml:"Parameters"`
	Resources  map[string]struct {
		Type       string `yaml:"Type"`
		Condition  string `yaml:"Condition"`
		Properties struct {
			RoleName                 any `yaml:"RoleName"`
			AssumeRolePolicyDocument struct {
				Statement []struct {
					Principal map[string]any                       `yaml:"Principal"`
					Action    []string                             `yaml:"Action"`
					Condition map[string]map[string]map[string]any `yaml:"Condition"`
				} `yaml:"Statement"`
			} `yaml:"AssumeRolePolicyDocument"`
			Policies []struct {
				PolicyDocument struct {
					Statement []struct {
						Action []string `yaml:"Action"`
					} `yaml:"Statement"`
				} `yaml:"PolicyDocument"`
			} `yaml:"Policies"`
		} `yaml:"Properties"`
	} `yaml:"Resources"`
}

func parseTemplate(t *testing.T, raw []byte) template {
	t.Helper()
	var tpl template
	if err := yaml.Unmarshal(raw, &tpl); err != nil {
		t.Fatalf("the template is not YAML: %v\n%s", err, raw)
	}
	return tpl
}

// The template trusts CloudHealth's account with the external id, takes every value as a parameter a
// quick-create link can fill (none NoEcho), and offers the checker role only when its principal is given.
func TestTemplate(t *testing.T) {
	for _, ext := range []string{setupExternal, "0123456789", "yes"} {
		s, err := cloudhealth.NewSetup(cloudhealth.SetupInput{AccountID: setupAccount, ExternalID: ext})
		if err != nil {
			t.Fatal(err)
		}
		raw, err := s.CloudFormation()
		if err != nil {
			t.Fatal(err)
		}
		tpl := parseTemplate(t, raw)
		if d, ok := tpl.Parameters["ExternalId"]["Default"].(string); !ok || d != ext {
			t.Errorf("ExternalId default %#v, want the string %q", tpl.Parameters["ExternalId"]["Default"], ext)
		}
		for name, p := range tpl.Parameters {
			if _, ok := p["NoEcho"]; ok {
				t.Errorf("parameter %s is NoEcho, which quick-create ignores", name)
			}
		}
		role := tpl.Resources["CloudHealthRole"]
		trust := role.Properties.AssumeRolePolicyDocument.Statement
		if len(trust) != 1 || trust[0].Principal["AWS"] != "arn:aws:iam::454464851268:root" || trust[0].Action[0] != "sts:AssumeRole" ||
			trust[0].Condition["StringEquals"]["sts:ExternalId"]["Ref"] != "ExternalId" {
			t.Errorf("trust: %+v", trust)
		}
		if checker := tpl.Resources["CheckerRole"]; checker.Condition != "CreateChecker" ||
			!slices.Equal(checker.Properties.Policies[0].PolicyDocument.Statement[0].Action, cloudhealth.CheckerActions) {
			t.Errorf("checker role: %+v", checker)
		}
	}
	hosted, err := cloudhealth.HostedTemplate(cloudhealth.PolicyOptions{}, "")
	if err != nil {
		t.Fatal(err)
	}
	if d := parseTemplate(t, hosted).Parameters["ExternalId"]["Default"]; d != "" {
		t.Errorf("the hosted template defaults the external id to %v", d)
	}
}

// The quick-create link parses and carries the template, the stack name and the parameters; the CloudShell
// command and the Terraform snippet say the same.
func TestDeployments(t *testing.T) {
	s, err := cloudhealth.NewSetup(cloudhealth.SetupInput{AccountID: setupAccount, ExternalID: setupExternal})
	if err != nil {
		t.Fatal(err)
	}
	const tmplURL = "https://reseller-templates.s3.amazonaws.com/cloudhealth/role.yaml?versionId=3&x=a b"
	d, err := s.Deployments(cloudhealth.DeployOptions{TemplateURL: tmplURL, Region: "eu-west-1",
		CheckerPrincipal: "arn:aws:iam::999999999999:role/aws-invites"})
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(d.QuickCreateURL)
	if err != nil {
		t.Fatal(err)
	}
	if u.Scheme != "https" || u.Host != "console.aws.amazon.com" || u.Path != "/cloudformation/home" || u.Query().Get("region") != "eu-west-1" {
		t.Errorf("console: %s", d.QuickCreateURL)
	}
	route, query, ok := strings.Cut(u.EscapedFragment(), "?")
	if !ok || route != "/stacks/quickcreate" {
		t.Fatalf("fragment %q", u.Fragment)
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"templateURL": tmplURL, "stackName": "CloudHealth", "param_ExternalId": setupExternal,
		"param_RoleName": "CloudHealth", "param_CheckerPrincipal": "arn:aws:iam::999999999999:role/aws-invites"} {
		if got := q.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if d.Capability != "CAPABILITY_NAMED_IAM" {
		t.Errorf("capability %q", d.Capability)
	}
	for _, want := range []string{"aws cloudformation create-stack --stack-name 'CloudHealth'", "--template-url '" + tmplURL + "'",
		"--capabilities CAPABILITY_NAMED_IAM", "'ParameterKey=ExternalId,ParameterValue=" + setupExternal + "'",
		"'ParameterKey=RoleName,ParameterValue=CloudHealth'"} {
		if !strings.Contains(d.CloudShell, want) {
			t.Errorf("cloudshell command lacks %q: %s", want, d.CloudShell)
		}
	}
	for _, want := range []string{`resource "aws_iam_role" "cloudhealth"`, `"arn:aws:iam::454464851268:root"`, setupExternal,
		`"route53:Get*"`, `"workspaces:Describe*"`} {
		if !strings.Contains(d.Terraform, want) {
			t.Errorf("terraform lacks %q", want)
		}
	}
	// Without a hosted template: no link, and the command reads the template downloaded from the service.
	d, err = s.Deployments(cloudhealth.DeployOptions{})
	if err != nil || d.QuickCreateURL != "" || !strings.Contains(d.CloudShell, "--template-body 'file://cloudhealth-role.yaml'") {
		t.Errorf("without a template url: %+v, %v", d, err)
	}
	// An http template (the sandbox serves its own) is shown, but AWS could not load it: no link, and the command
	// reads the downloaded template.
	d, err = s.Deployments(cloudhealth.DeployOptions{TemplateURL: "http://127.0.0.1:8080/cloudhealth-template.yaml"})
	if err != nil || d.QuickCreateURL != "" || d.TemplateURL == "" || !strings.Contains(d.CloudShell, "--template-body 'file://cloudhealth-role.yaml'") {
		t.Errorf("with an http template url: %+v, %v", d, err)
	}
}

func TestSetupRejects(t *testing.T) {
	for _, in := range []cloudhealth.SetupInput{
		{AccountID: "12345", ExternalID: setupExternal},
		{AccountID: setupAccount, ExternalID: "x"},
		{AccountID: setupAccount, ExternalID: "has space"},
		{AccountID: setupAccount, ExternalID: setupExternal, RoleName: "bad/name"},
	} {
		if _, err := cloudhealth.NewSetup(in); err == nil {
			t.Errorf("NewSetup(%+v) accepted", in)
		}
	}
}
