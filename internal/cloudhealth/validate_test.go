package cloudhealth_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cloudreseller/aws-invites/internal/cloudhealth"
	"github.com/cloudreseller/aws-invites/internal/cloudhealth/chsim"
	"github.com/cloudreseller/aws-invites/internal/invite"
)

// fakeChecker stands for the AWS side of the permission check (the checker role in the customer's account).
type fakeChecker struct {
	rep cloudhealth.PermissionReport
	err error
}

func (f fakeChecker) CheckPermissions(context.Context, string, string, string, []string) (cloudhealth.PermissionReport, error) {
	return f.rep, f.err
}

func results(checks []invite.CloudHealthCheck) map[string]invite.CloudHealthCheck {
	out := map[string]invite.CloudHealthCheck{}
	for _, c := range checks {
		out[c.Name] = c
	}
	return out
}

// Every check passes for a healthy account set up as the setup says, read from the last listing over HTTP.
func TestValidationPasses(t *testing.T) {
	sim, url := newSim(t, chsim.Options{})
	const acct = "200000000001"
	if err := sim.Apply(t.Context(), chsim.Update{OwnerID: acct, Level: "green", PayerAccountID: testPayer}); err != nil {
		t.Fatal(err)
	}
	src := cloudhealth.NewSource(newClient(t, url, cloudhealth.Options{}), cloudhealth.SourceOptions{})
	inv := invite.Invite{ID: "inv-1", AccountID: acct, Payer: testPayer}
	v := &cloudhealth.Validator{Source: src, Setup: cloudhealth.NewSetupSource(src, "", cloudhealth.DeployOptions{}, cloudhealth.PolicyOptions{}),
		Checker: fakeChecker{rep: cloudhealth.PermissionReport{RoleFound: true}}, Now: func() time.Time { return base.Add(time.Hour) }}
	// Before any listing the checks cannot tell: the validation never lists by itself.
	before, err := v.ValidateCloudHealth(t.Context(), inv, true)
	if err != nil {
		t.Fatal(err)
	}
	if c := results(before.Checks)[invite.CheckListed]; c.Result != invite.CheckUnknown {
		t.Errorf("before a listing: %+v", c)
	}
	if n := sim.Counts().ListPages; n != 0 {
		t.Errorf("the validation listed %d pages", n)
	}
	if _, err := src.Statuses(t.Context(), ""); err != nil {
		t.Fatal(err)
	}
	got, err := v.ValidateCloudHealth(t.Context(), inv, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Checks) != 7 || !got.Passed() {
		for _, c := range got.Checks {
			t.Logf("%s: %s: %s", c.Name, c.Result, c.Detail)
		}
		t.Fatal("a healthy account does not pass every check")
	}
}

// Each check fails, or is unknown, for its own reason, with a detail that says what to do.
func TestValidationFailures(t *testing.T) {
	const acct = "200000000001"
	inv := invite.Invite{ID: "inv-1", AccountID: acct, Payer: testPayer}
	listed := func(a cloudhealth.Account, extra ...cloudhealth.Account) *cloudhealth.Snapshot {
		return cloudhealth.NewSnapshot("", append([]cloudhealth.Account{a}, extra...), nil, base)
	}
	good := cloudhealth.Account{ID: 1, OwnerID: acct, AccountType: cloudhealth.TypeLinked, ClusterName: "Payer",
		Status: cloudhealth.Status{Level: cloudhealth.LevelGreen, LastUpdate: base},
		Authentication: cloudhealth.Authentication{Protocol: "assume_role", AssumeRoleArn: "arn:aws:iam::" + acct + ":role/CloudHealth",
			AssumeRoleExternalID: "ext-1"}}
	payer := cloudhealth.Account{ID: 2, Name: "Payer", OwnerID: testPayer, AccountType: cloudhealth.TypeConsolidated,
		Billing: cloudhealth.Billing{IsConsolidated: true}, Status: cloudhealth.Status{Level: cloudhealth.LevelGreen}}
	other := payer
	other.OwnerID, other.Name = "333333333333", "Other payer"
	with := func(f func(*cloudhealth.Account)) cloudhealth.Account {
		a := good
		f(&a)
		return a
	}
	for _, tc := range []struct {
		name   string
		in     cloudhealth.ValidationInput
		check  string
		result string
		says   string
	}{
		{"not listed", cloudhealth.ValidationInput{Snapshot: listed(payer)}, invite.CheckListed, invite.CheckFail, "24 to 72 hours"},
		{"access key", cloudhealth.ValidationInput{Snapshot: listed(with(func(a *cloudhealth.Account) {
			a.Authentication = cloudhealth.Authentication{Protocol: "access_key"}
		}), payer), ExternalID: "ext-1"}, invite.CheckAuthentication, invite.CheckFail, "not by assume_role"},
		{"role in another account", cloudhealth.ValidationInput{Snapshot: listed(with(func(a *cloudhealth.Account) {
			a.Authentication.AssumeRoleArn = "arn:aws:iam::999999999999:role/CloudHealth"
		}), payer), ExternalID: "ext-1"}, invite.CheckAuthentication, invite.CheckFail, "not in the invited account"},
		{"wrong external id", cloudhealth.ValidationInput{Snapshot: listed(good, payer), ExternalID: "ext-2"},
			invite.CheckAuthentication, invite.CheckFail, "ext-2"},
		{"external id unknown", cloudhealth.ValidationInput{Snapshot: listed(good, payer)}, invite.CheckAuthentication, invite.CheckUnknown, "external id"},
		{"red", cloudhealth.ValidationInput{Snapshot: listed(with(func(a *cloudhealth.Account) { a.Status.Level = cloudhealth.LevelRed }), payer)},
			invite.CheckStatus, invite.CheckFail, "critical"},
		{"unknown", cloudhealth.ValidationInput{Snapshot: listed(with(func(a *cloudhealth.Account) { a.Status.Level = cloudhealth.LevelUnknown }), payer)},
			invite.CheckStatus, invite.CheckFail, "authenticate"},
		{"yellow passes with a warning", cloudhealth.ValidationInput{Snapshot: listed(with(func(a *cloudhealth.Account) { a.Status.Level = cloudhealth.LevelYellow }), payer)},
			invite.CheckStatus, invite.CheckPass, "warning"},
		{"stale", cloudhealth.ValidationInput{Snapshot: listed(good, payer), Now: base.Add(72 * time.Hour)},
			invite.CheckFreshness, invite.CheckFail, "72h"},
		{"payer N/A", cloudhealth.ValidationInput{Snapshot: listed(good)}, invite.CheckPayer, invite.CheckFail, `no Consolidated record named "Payer"`},
		{"another payer", cloudhealth.ValidationInput{Snapshot: listed(with(func(a *cloudhealth.Account) { a.ClusterName = "Other payer" }), payer, other)},
			invite.CheckPayer, invite.CheckFail, "333333333333"},
		{"no CUR", cloudhealth.ValidationInput{Snapshot: listed(good, payer)}, invite.CheckPayerCUR, invite.CheckFail, "Cost and Usage Report"},
		{"no checker", cloudhealth.ValidationInput{Snapshot: listed(good, payer)}, invite.CheckPermissions, invite.CheckUnknown, "compare the role's policy"},
		{"checker fails", cloudhealth.ValidationInput{Snapshot: listed(good, payer), PermissionsErr: errors.New("AccessDenied")},
			invite.CheckPermissions, invite.CheckUnknown, "AccessDenied"},
		{"no role", cloudhealth.ValidationInput{Snapshot: listed(good, payer), Permissions: &cloudhealth.PermissionReport{}},
			invite.CheckPermissions, invite.CheckFail, "no role CloudHealth"},
		{"missing and denied", cloudhealth.ValidationInput{Snapshot: listed(good, payer), Permissions: &cloudhealth.PermissionReport{RoleFound: true,
			Missing: []string{"route53:Get*", "iam:Get*"}, Denied: []string{"iam:Get*"}}},
			invite.CheckPermissions, invite.CheckFail, "1 of them denied by an organization's service control policy"},
	} {
		in := tc.in
		in.Invite = inv
		if in.Now.IsZero() {
			in.Now = base
		}
		got := results(cloudhealth.Checks(in))
		if len(got) != 7 {
			t.Errorf("%s: %d checks", tc.name, len(got))
		}
		c := got[tc.check]
		if c.Result != tc.result || !strings.Contains(c.Detail, tc.says) {
			t.Errorf("%s: %s is %s: %q; want %s saying %q", tc.name, tc.check, c.Result, c.Detail, tc.result, tc.says)
		}
	}
}
