package cloudhealth_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/cloudreseller/aws-invites/internal/cloudhealth"
)

const (
	setupAccount  = "012345678901"
	setupExternal = "a1b2c3d4e5f60718293a4b5c6d"
)

func TestSetupJSON(t *testing.T) {
	s, err := cloudhealth.NewSetup(cloudhealth.SetupInput{AccountID: setupAccount, ExternalID: setupExternal, Buckets: []string{"my-cur-bucket"}})
	if err != nil {
		t.Fatalf("NewSetup: %v", err)
	}
	raw, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	// Read it back generically, as the web app would.
	var got struct {
		AccountID        string `json:"accountId"`
		RoleName         string `json:"roleName"`
		RoleARN          string `json:"roleArn"`
		TrustedAccountID string `json:"trustedAccountId"`
		TrustedPrincipal string `json:"trustedPrincipal"`
		ExternalID       string `json:"externalId"`
		TrustPolicy      struct {
			Version   string
			Statement []struct {
				Effect    string
				Principal map[string]string
				Action    []string
				Condition map[string]map[string]string
			}
		} `json:"trustPolicy"`
		PermissionsPolicy struct {
			Version   string
			Statement []struct {
				Sid      string
				Effect   string
				Action   []string
				Resource []string
			}
		} `json:"permissionsPolicy"`
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	if got.AccountID != setupAccount || got.RoleName != "CloudHealth" || got.TrustedAccountID != "454464851268" ||
		got.TrustedPrincipal != "arn:aws:iam::454464851268:root" || got.ExternalID != setupExternal ||
		got.RoleARN != "arn:aws:iam::012345678901:role/CloudHealth" {
		t.Errorf("setup: %s", raw)
	}
	tp := got.TrustPolicy
	if tp.Version != "2012-10-17" || len(tp.Statement) != 1 {
		t.Fatalf("trust policy: %+v", tp)
	}
	st := tp.Statement[0]
	if st.Effect != "Allow" || st.Principal["AWS"] != "arn:aws:iam::454464851268:root" ||
		len(st.Action) != 1 || st.Action[0] != "sts:AssumeRole" ||
		st.Condition["StringEquals"]["sts:ExternalId"] != setupExternal {
		t.Errorf("trust statement: %+v", st)
	}

	pp := got.PermissionsPolicy
	if pp.Version != "2012-10-17" || len(pp.Statement) == 0 {
		t.Fatalf("permissions policy: %+v", pp)
	}
	actions := map[string]bool{}
	for _, st := range pp.Statement {
		if st.Effect != "Allow" {
			t.Errorf("statement %s: effect %s", st.Sid, st.Effect)
		}
		for _, a := range st.Action {
			actions[a] = true
			if !isReadOnlyAction(a) {
				t.Errorf("statement %s: %s is not a read-only action", st.Sid, a)
			}
			// Object reads are for the named buckets only.
			if a == "s3:GetObject" && (len(st.Resource) != 2 || st.Resource[0] != "arn:aws:s3:::my-cur-bucket" ||
				st.Resource[1] != "arn:aws:s3:::my-cur-bucket/*") {
				t.Errorf("s3:GetObject on %v, want only my-cur-bucket", st.Resource)
			}
		}
	}
	for _, want := range []string{"cur:Describe*", "ec2:Describe*", "s3:GetObject", "ce:Get*", "organizations:Describe*"} {
		if !actions[want] {
			t.Errorf("the policy lacks %s", want)
		}
	}
	// IAM caps a role's inline policies at 10,240 characters without whitespace.
	compact, _ := json.Marshal(s.PermissionsPolicy)
	if len(compact) > 10240 {
		t.Errorf("the inline policy is %d characters, over IAM's 10,240", len(compact))
	}
}

func isReadOnlyAction(a string) bool {
	_, verb, ok := strings.Cut(a, ":")
	if !ok {
		return false
	}
	for _, p := range []string{"Describe", "Get", "List", "Lookup"} {
		if strings.HasPrefix(verb, p) {
			return true
		}
	}
	return false
}

func TestSetupWithoutBuckets(t *testing.T) {
	s, err := cloudhealth.NewSetup(cloudhealth.SetupInput{AccountID: setupAccount, ExternalID: setupExternal})
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range s.PermissionsPolicy.Statement {
		for _, a := range st.Action {
			if a == "s3:GetObject" {
				t.Fatalf("s3:GetObject granted without a bucket: %+v", st)
			}
		}
	}
}

func TestSetupRejects(t *testing.T) {
	tests := []struct {
		name string
		in   cloudhealth.SetupInput
	}{
		{"short account id", cloudhealth.SetupInput{AccountID: "12345", ExternalID: setupExternal}},
		{"account id with letters", cloudhealth.SetupInput{AccountID: "01234567890a", ExternalID: setupExternal}},
		{"empty external id", cloudhealth.SetupInput{AccountID: setupAccount}},
		{"external id with a quote", cloudhealth.SetupInput{AccountID: setupAccount, ExternalID: `abc"def`}},
		{"external id with a newline", cloudhealth.SetupInput{AccountID: setupAccount, ExternalID: "abc\ndef"}},
		{"bad bucket", cloudhealth.SetupInput{AccountID: setupAccount, ExternalID: setupExternal, Buckets: []string{"My_Bucket"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := cloudhealth.NewSetup(tc.in); err == nil {
				t.Fatal("NewSetup accepted it")
			}
		})
	}
}

func TestSetupCloudFormation(t *testing.T) {
	// An external id that YAML would read as a number if it were not quoted.
	for _, ext := range []string{setupExternal, "0123456789", "1e10", "yes"} {
		t.Run(ext, func(t *testing.T) {
			s, err := cloudhealth.NewSetup(cloudhealth.SetupInput{AccountID: setupAccount, ExternalID: ext, Buckets: []string{"cur-bucket"}})
			if err != nil {
				t.Fatalf("NewSetup: %v", err)
			}
			raw, err := s.CloudFormation()
			if err != nil {
				t.Fatalf("CloudFormation: %v", err)
			}
			checkTemplate(t, raw, ext)
		})
	}
}

func checkTemplate(t *testing.T, raw []byte, ext string) {
	t.Helper()
	var tpl struct {
		FormatVersion string `yaml:"AWSTemplateFormatVersion"`
		Parameters    map[string]struct {
			Type    string `yaml:"Type"`
			Default string `yaml:"Default"`
		} `yaml:"Parameters"`
		Resources map[string]struct {
			Type       string `yaml:"Type"`
			Properties struct {
				RoleName                 string `yaml:"RoleName"`
				AssumeRolePolicyDocument struct {
					Version   string `yaml:"Version"`
					Statement []struct {
						Effect    string                                  `yaml:"Effect"`
						Principal map[string]string                       `yaml:"Principal"`
						Action    []string                                `yaml:"Action"`
						Condition map[string]map[string]map[string]string `yaml:"Condition"`
					} `yaml:"Statement"`
				} `yaml:"AssumeRolePolicyDocument"`
				Policies []struct {
					PolicyName     string `yaml:"PolicyName"`
					PolicyDocument struct {
						Version   string `yaml:"Version"`
						Statement []struct {
							Action   []string `yaml:"Action"`
							Resource []string `yaml:"Resource"`
						} `yaml:"Statement"`
					} `yaml:"PolicyDocument"`
				} `yaml:"Policies"`
			} `yaml:"Properties"`
		} `yaml:"Resources"`
		Outputs map[string]struct {
			Value map[string][]string `yaml:"Value"`
		} `yaml:"Outputs"`
	}
	if err := yaml.Unmarshal(raw, &tpl); err != nil {
		t.Fatalf("the template is not YAML: %v\n%s", err, raw)
	}
	// Decoded without a target type, the default must still be a string: an unquoted 0123456789 would be a number.
	var generic struct {
		Parameters map[string]map[string]any `yaml:"Parameters"`
	}
	if err := yaml.NewDecoder(bytes.NewReader(raw)).Decode(&generic); err != nil {
		t.Fatalf("generic decode: %v", err)
	}
	if d, ok := generic.Parameters["ExternalId"]["Default"].(string); !ok || d != ext {
		t.Errorf("Default is %#v, want the string %q", generic.Parameters["ExternalId"]["Default"], ext)
	}
	if tpl.FormatVersion != "2010-09-09" {
		t.Errorf("AWSTemplateFormatVersion %q", tpl.FormatVersion)
	}
	p, ok := tpl.Parameters["ExternalId"]
	if !ok || p.Type != "String" || p.Default != ext {
		t.Errorf("parameter ExternalId: %+v, want a String defaulting to %q", p, ext)
	}
	role, ok := tpl.Resources["CloudHealthRole"]
	if !ok || role.Type != "AWS::IAM::Role" || role.Properties.RoleName != "CloudHealth" {
		t.Fatalf("role resource: %+v", role)
	}
	trust := role.Properties.AssumeRolePolicyDocument
	if trust.Version != "2012-10-17" || len(trust.Statement) != 1 {
		t.Fatalf("trust policy: %+v", trust)
	}
	st := trust.Statement[0]
	if st.Effect != "Allow" || st.Principal["AWS"] != "arn:aws:iam::454464851268:root" ||
		len(st.Action) != 1 || st.Action[0] != "sts:AssumeRole" {
		t.Errorf("trust statement: %+v", st)
	}
	if ref := st.Condition["StringEquals"]["sts:ExternalId"]["Ref"]; ref != "ExternalId" {
		t.Errorf("condition: %+v, want StringEquals sts:ExternalId = Ref ExternalId", st.Condition)
	}
	if len(role.Properties.Policies) != 1 || role.Properties.Policies[0].PolicyName != "CloudHealthReadOnly" {
		t.Fatalf("policies: %+v", role.Properties.Policies)
	}
	doc := role.Properties.Policies[0].PolicyDocument
	foundCUR, foundBucket := false, false
	for _, s := range doc.Statement {
		for _, a := range s.Action {
			foundCUR = foundCUR || a == "cur:Describe*"
			if a == "s3:GetObject" {
				foundBucket = len(s.Resource) == 2 && s.Resource[1] == "arn:aws:s3:::cur-bucket/*"
			}
		}
	}
	if doc.Version != "2012-10-17" || !foundCUR || !foundBucket {
		t.Errorf("permissions policy in the template: %+v", doc)
	}
	out := tpl.Outputs["RoleArn"].Value["Fn::GetAtt"]
	if len(out) != 2 || out[0] != "CloudHealthRole" || out[1] != "Arn" {
		t.Errorf("output RoleArn: %+v, want Fn::GetAtt [CloudHealthRole, Arn]", tpl.Outputs)
	}
}
