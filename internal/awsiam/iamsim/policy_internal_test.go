package iamsim

import "testing"

// IAM's documented evaluation within one account: an explicit Deny wins, an Allow beats the implicit deny;
// NotAction and NotResource invert their element; a statement with a condition the simulator cannot evaluate is
// not applied.
func TestEvaluate(t *testing.T) {
	doc := func(text string) document {
		t.Helper()
		d, err := parseDocument(text)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	allowAll := doc(`{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`)
	for _, tc := range []struct {
		name     string
		docs     []document
		action   string
		resource string
		want     string
	}{
		{"nothing", nil, "ec2:DescribeInstances", "*", ImplicitDeny},
		{"allowed", []document{allowAll}, "ec2:DescribeInstances", "*", Allowed},
		{"deny wins", []document{allowAll, doc(`{"Statement":[{"Effect":"Deny","Action":"ec2:Describe*","Resource":"*"}]}`)}, "ec2:DescribeInstances", "*", ExplicitDeny},
		{"not action", []document{doc(`{"Statement":[{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}]}`)}, "iam:GetRole", "*", ImplicitDeny},
		{"not action allows the rest", []document{doc(`{"Statement":[{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}]}`)}, "s3:ListAllMyBuckets", "*", Allowed},
		{"resource of another role", []document{doc(`{"Statement":[{"Effect":"Allow","Action":"iam:GetRole","Resource":"arn:aws:iam::1:role/A"}]}`)}, "iam:GetRole", "arn:aws:iam::1:role/B", ImplicitDeny},
		{"not resource", []document{doc(`{"Statement":[{"Effect":"Allow","Action":"iam:GetRole","NotResource":"arn:aws:iam::1:role/A"}]}`)}, "iam:GetRole", "arn:aws:iam::1:role/B", Allowed},
		{"condition not applied", []document{doc(`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}}]}`)}, "ec2:DescribeInstances", "*", ImplicitDeny},
	} {
		if got := evaluate(tc.docs, tc.action, tc.resource); got != tc.want {
			t.Errorf("%s: %s", tc.name, got)
		}
	}
}

func TestTrust(t *testing.T) {
	d, err := parseDocument(`{"Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::999900000000:role/aws-invites"]},"Action":"sts:AssumeRole",
		"Condition":{"StringEquals":{"sts:ExternalId":"ext-1"}}}]}`)
	if err != nil {
		t.Fatal(err)
	}
	role := "arn:aws:iam::999900000000:role/aws-invites"
	for _, tc := range []struct {
		name, caller, account, ext string
		want                       bool
	}{
		{"the principal with the id", role, "999900000000", "ext-1", true},
		{"another id", role, "999900000000", "ext-2", false},
		{"no id", role, "999900000000", "", false},
		{"another role of the account", "arn:aws:iam::999900000000:role/other", "999900000000", "ext-1", false},
		{"another account", "arn:aws:iam::888800000000:role/aws-invites", "888800000000", "ext-1", false},
	} {
		if got := trusts(d, tc.caller, tc.account, tc.ext); got != tc.want {
			t.Errorf("%s: %t", tc.name, got)
		}
	}
	root, _ := parseDocument(`{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999900000000:root"},"Action":"sts:AssumeRole"}}`)
	if !trusts(root, role, "999900000000", "") || trusts(root, "arn:aws:iam::888800000000:root", "888800000000", "") {
		t.Error("an account principal trusts the account's principals, and only them")
	}
}
