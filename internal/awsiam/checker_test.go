package awsiam_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/cloudreseller/aws-invites/internal/awsiam"
	"github.com/cloudreseller/aws-invites/internal/awsiam/iamsim"
	"github.com/cloudreseller/aws-invites/internal/cloudhealth"
	"github.com/cloudreseller/aws-invites/internal/invite"
)

const (
	account    = "200000000001"
	externalID = "ext-tenant-1"
	reseller   = "arn:aws:iam::999900000000:role/aws-invites"
)

// world is the simulator over HTTP, an account set up as the setup says (the CloudHealth role with the published
// policy, the checker role trusting the reseller), and a checker signing as the reseller.
type world struct {
	sim     *iamsim.Sim
	url     string
	checker *awsiam.Checker
}

func newWorld(t *testing.T, opts awsiam.Options) *world {
	t.Helper()
	sim := iamsim.New(iamsim.Options{})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	w := &world{sim: sim, url: srv.URL}
	w.provision(t, account, externalID)
	key, err := sim.KeyFor(reseller)
	if err != nil {
		t.Fatal(err)
	}
	opts.IAMEndpoint, opts.STSEndpoint = srv.URL, srv.URL
	w.checker = awsiam.New(aws.Config{Region: "eu-central-1", Credentials: credentials.NewStaticCredentialsProvider(key, "secret", "")}, opts)
	return w
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// provision creates in the account what the template creates: the CloudHealth role from the setup and the checker
// role from cloudhealth.CheckerRole.
func (w *world) provision(t *testing.T, acct, ext string) {
	t.Helper()
	setup, err := cloudhealth.NewSetup(cloudhealth.SetupInput{AccountID: acct, ExternalID: ext})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.sim.PutRole(acct, iamsim.Role{Name: setup.RoleName, TrustPolicy: mustJSON(t, setup.TrustPolicy),
		Policies: map[string]string{setup.PolicyName: mustJSON(t, setup.PermissionsPolicy)}}); err != nil {
		t.Fatal(err)
	}
	trust, policy := cloudhealth.CheckerRole(acct, setup.RoleName, reseller, ext)
	if err := w.sim.PutRole(acct, iamsim.Role{Name: cloudhealth.CheckerRoleName, TrustPolicy: mustJSON(t, trust),
		Policies: map[string]string{cloudhealth.CheckerPolicyName: mustJSON(t, policy)}}); err != nil {
		t.Fatal(err)
	}
}

// setPolicy replaces the CloudHealth role's policy with the published actions less some entries.
func (w *world) setPolicy(t *testing.T, without ...string) {
	t.Helper()
	doc, err := cloudhealth.PermissionsPolicy(cloudhealth.PolicyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	doc.Statement[0].Action = slices.DeleteFunc(doc.Statement[0].Action, func(a string) bool { return slices.Contains(without, a) })
	if err := w.sim.PutRolePolicy(account, cloudhealth.RoleName, cloudhealth.PolicyName, mustJSON(t, doc)); err != nil {
		t.Fatal(err)
	}
}

// validate runs the validation's permission check as the service does, with the setup's external id.
func (w *world) validate(t *testing.T, ext string) invite.CloudHealthCheck {
	t.Helper()
	v := &cloudhealth.Validator{Setup: cloudhealth.NewSetupSource(nil, ext, cloudhealth.DeployOptions{}, cloudhealth.PolicyOptions{}),
		Checker: w.checker, CheckerPrincipal: reseller}
	got, err := v.ValidateCloudHealth(context.Background(), invite.Invite{ID: "inv-1", AccountID: account, Payer: "111111111111"}, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range got.Checks {
		if c.Name == invite.CheckPermissions {
			return c
		}
	}
	t.Fatal("no permissions check")
	return invite.CloudHealthCheck{}
}

func TestPermissionsPass(t *testing.T) {
	w := newWorld(t, awsiam.Options{})
	c := w.validate(t, externalID)
	if c.Result != invite.CheckPass || len(c.Missing) != 0 || !strings.Contains(c.Detail, "one action per wildcard entry") {
		t.Fatalf("the published policy: %+v", c)
	}
	calls := w.sim.Calls()
	if calls["AssumeRole"] != 1 || calls["GetRole"] != 1 || calls["SimulatePrincipalPolicy"] != 1 {
		t.Errorf("calls %v, want one AssumeRole, GetRole and SimulatePrincipalPolicy (87 probes fit IAM's default page of 100)", calls)
	}
	t.Logf("%d probes, calls %v", len(cloudhealth.Probes(cloudhealth.ReadOnlyActions)), calls)
}

// Pages of 10 results: the checker follows IsTruncated and Marker to the last, and a missing entry on the last
// page is still found.
func TestPermissionsPaged(t *testing.T) {
	w := newWorld(t, awsiam.Options{PageSize: 10})
	w.setPolicy(t, "workspaces:Describe*")
	c := w.validate(t, externalID)
	if c.Result != invite.CheckFail || !slices.Equal(c.Missing, []string{"workspaces:Describe*"}) {
		t.Fatalf("paged: %+v", c)
	}
	probes := len(cloudhealth.Probes(cloudhealth.ReadOnlyActions))
	if n := w.sim.Calls()["SimulatePrincipalPolicy"]; n != (probes+9)/10 {
		t.Errorf("%d SimulatePrincipalPolicy calls for %d probes in pages of 10", n, probes)
	}
}

func TestPermissionsMissing(t *testing.T) {
	w := newWorld(t, awsiam.Options{})
	w.setPolicy(t, "route53:Get*", "logs:Describe*", "route53:List*", "sqs:ListQueues")
	c := w.validate(t, externalID)
	// The published entries, in the published order; not the probes.
	want := []string{"logs:Describe*", "route53:Get*", "route53:List*", "sqs:ListQueues"}
	if c.Result != invite.CheckFail || !slices.Equal(c.Missing, want) || len(c.Denied) != 0 || !strings.Contains(c.Detail, "lacks 4 of the 87") {
		t.Fatalf("missing: %+v, want %v", c, want)
	}
}

// An explicit Deny in the role's own policies wins over the published Allow.
func TestPermissionsExplicitDeny(t *testing.T) {
	w := newWorld(t, awsiam.Options{})
	if err := w.sim.PutRolePolicy(account, cloudhealth.RoleName, "NoS3", `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"S3:*","Resource":"*"}}`); err != nil {
		t.Fatal(err)
	}
	c := w.validate(t, externalID)
	var s3 []string
	for _, a := range cloudhealth.ReadOnlyActions {
		if strings.HasPrefix(a, "s3:") {
			s3 = append(s3, a)
		}
	}
	if c.Result != invite.CheckFail || !slices.Equal(c.Missing, s3) || len(c.Denied) != 0 {
		t.Fatalf("explicit deny: %+v, want %v missing", c, s3)
	}
}

func TestPermissionsDeniedBySCP(t *testing.T) {
	w := newWorld(t, awsiam.Options{})
	w.sim.DenySCP(account, "route53:*", "ec2:DescribeInstances")
	w.setPolicy(t, "logs:Describe*")
	c := w.validate(t, externalID)
	wantMissing := []string{"ec2:Describe*", "logs:Describe*", "route53:Get*", "route53:List*"}
	wantDenied := []string{"ec2:Describe*", "route53:Get*", "route53:List*"}
	if c.Result != invite.CheckFail || !slices.Equal(c.Missing, wantMissing) || !slices.Equal(c.Denied, wantDenied) ||
		!strings.Contains(c.Detail, "3 of them denied by an organization's service control policy") {
		t.Fatalf("SCP: %+v, want missing %v, denied %v", c, wantMissing, wantDenied)
	}
}

func TestPermissionsNoCloudHealthRole(t *testing.T) {
	w := newWorld(t, awsiam.Options{})
	w.sim.DeleteRole(account, cloudhealth.RoleName)
	c := w.validate(t, externalID)
	if c.Result != invite.CheckFail || !strings.Contains(c.Detail, "There is no role CloudHealth in account "+account) {
		t.Fatalf("no role: %+v", c)
	}
}

// The checker role cannot be assumed: absent, trusting another principal, or another external id. The check is
// unknown and says how to enable it; nothing is asked of IAM.
func TestPermissionsCheckerRefused(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, w *world)
		ext   string
	}{
		{"no checker role", func(t *testing.T, w *world) { w.sim.DeleteRole(account, cloudhealth.CheckerRoleName) }, externalID},
		{"another external id", func(*testing.T, *world) {}, "ext-other-tenant"},
		{"trusts another principal", func(t *testing.T, w *world) {
			trust, policy := cloudhealth.CheckerRole(account, cloudhealth.RoleName, "arn:aws:iam::888800000000:role/someone-else", externalID)
			if err := w.sim.PutRole(account, iamsim.Role{Name: cloudhealth.CheckerRoleName, TrustPolicy: mustJSON(t, trust),
				Policies: map[string]string{cloudhealth.CheckerPolicyName: mustJSON(t, policy)}}); err != nil {
				t.Fatal(err)
			}
		}, externalID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, awsiam.Options{})
			tc.setup(t, w)
			_, err := w.checker.CheckPermissions(context.Background(), account, cloudhealth.RoleName, tc.ext, []string{"iam:GetRole"})
			if !errors.Is(err, cloudhealth.ErrCheckerRefused) {
				t.Fatalf("err %v, want ErrCheckerRefused", err)
			}
			c := w.validate(t, tc.ext)
			if c.Result != invite.CheckUnknown || !strings.Contains(c.Detail, "cannot assume the role CloudHealthSetupCheck") ||
				!strings.Contains(c.Detail, "CheckerPrincipal parameter set to "+reseller) {
				t.Errorf("refused: %+v", c)
			}
			if calls := w.sim.Calls(); calls["GetRole"]+calls["SimulatePrincipalPolicy"] != 0 {
				t.Errorf("IAM was asked after a refusal: %v", calls)
			}
		})
	}
}

// A checker role allowed less than the template grants (here: not SimulatePrincipalPolicy) leaves the check
// unknown, not passed.
func TestPermissionsCheckerRoleTooNarrow(t *testing.T) {
	w := newWorld(t, awsiam.Options{})
	if err := w.sim.PutRolePolicy(account, cloudhealth.CheckerRoleName, cloudhealth.CheckerPolicyName,
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetRole","Resource":"arn:aws:iam::`+account+`:role/CloudHealth"}]}`); err != nil {
		t.Fatal(err)
	}
	c := w.validate(t, externalID)
	if c.Result != invite.CheckUnknown || !strings.Contains(c.Detail, "AccessDenied") {
		t.Fatalf("narrow checker role: %+v", c)
	}
}

// The simulator itself: IAM acts on the caller's own account only, and takes names of operations, not patterns.
func TestSimulatorRefuses(t *testing.T) {
	w := newWorld(t, awsiam.Options{})
	client := func(acct string) *iam.Client {
		return iam.New(iam.Options{Region: "us-east-1", BaseEndpoint: aws.String(w.url),
			Credentials: credentials.NewStaticCredentialsProvider(iamsim.AccessKeyFor(acct), "secret", "")})
	}
	ctx := context.Background()
	source := aws.String(iamsim.RoleARN(account, cloudhealth.RoleName))
	_, err := client("300000000003").SimulatePrincipalPolicy(ctx, &iam.SimulatePrincipalPolicyInput{PolicySourceArn: source, ActionNames: []string{"iam:GetRole"}})
	if code := errorCode(err); code != "AccessDenied" {
		t.Errorf("another account's role: %v", err)
	}
	_, err = client(account).SimulatePrincipalPolicy(ctx, &iam.SimulatePrincipalPolicyInput{PolicySourceArn: source, ActionNames: []string{"iam:Get*"}})
	if code := errorCode(err); code != "InvalidInput" {
		t.Errorf("a pattern: %v", err)
	}
	out, err := client(account).SimulatePrincipalPolicy(ctx, &iam.SimulatePrincipalPolicyInput{PolicySourceArn: source,
		ActionNames: []string{"IAM:getrole", "iam:CreateUser"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.EvaluationResults) != 2 || out.EvaluationResults[0].EvalDecision != "allowed" || out.EvaluationResults[1].EvalDecision != "implicitDeny" ||
		out.EvaluationResults[0].OrganizationsDecisionDetail != nil || aws.ToString(out.EvaluationResults[0].EvalResourceName) != "*" {
		t.Errorf("results %+v", out.EvaluationResults)
	}
	if _, err := client(account).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("Nope")}); errorCode(err) != "NoSuchEntity" {
		t.Errorf("GetRole of no role: %v", err)
	}
}

func errorCode(err error) string {
	var c interface{ ErrorCode() string }
	if errors.As(err, &c) {
		return c.ErrorCode()
	}
	return ""
}
