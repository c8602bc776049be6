package main

import (
	"bytes"
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/cloudreseller/aws-invites/internal/awsbc/bcsim"
	"github.com/cloudreseller/aws-invites/internal/awsorg"
	"github.com/cloudreseller/aws-invites/internal/awsorg/orgsim"
	"github.com/cloudreseller/aws-invites/internal/invite"
	"github.com/cloudreseller/aws-invites/internal/testdb"
)

// TestBillingConductorInAWSMode runs the command in aws mode with the SDK's own settings taking AWS Organizations
// and AWS Billing Conductor (AWS_ENDPOINT_URL_BILLINGCONDUCTOR) to their simulators: a profile names a billing
// group (a pending one is refused), an account joins, and `reconcile --once` associates it with the group.
func TestBillingConductorInAWSMode(t *testing.T) {
	const payer = "444444444444"
	org := orgsim.New(orgsim.Options{Clock: systemClock.Now})
	orgSrv := httptest.NewServer(org)
	t.Cleanup(orgSrv.Close)
	orgs := awsorg.New(aws.Config{Region: "us-east-1"}, awsorg.Options{OrganizationsEndpoint: orgSrv.URL,
		CredentialsFor: func(p invite.Payer) aws.CredentialsProvider {
			return credentials.NewStaticCredentialsProvider(orgsim.AccessKeyFor(p.ManagementAccountID), "test", "")
		}})
	bc := bcsim.New(bcsim.Options{Clock: systemClock.Now, InFamily: func(ctx context.Context, p, acct string) (bool, error) {
		_, err := orgs.DescribeAccount(ctx, invite.Payer{ManagementAccountID: p}, acct)
		if invite.IsCode(err, invite.CodeNotFound) {
			return false, nil
		}
		return err == nil, err
	}})
	bcSrv := httptest.NewServer(bc)
	t.Cleanup(bcSrv.Close)
	env := map[string]string{
		"DATABASE_URL": testdb.New(t), "AWS_INVITES_MODE": "aws", "AUTH_HS256_SECRET": strings.Repeat("p", 32),
		"AUTH_ISSUER": "https://idp.example.com", "AUTH_AUDIENCE": "aws-invites", "AWS_INVITES_DATA_DIR": t.TempDir(),
	}
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_ORGANIZATIONS": orgSrv.URL, "AWS_ENDPOINT_URL_BILLINGCONDUCTOR": bcSrv.URL,
		"AWS_ACCESS_KEY_ID": orgsim.AccessKeyFor(payer), "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1",
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_PROFILE": "",
	} {
		t.Setenv(k, v)
	}
	inst := start(t, env)
	getenv := func(k string) string { return env[k] }
	var admin, user bytes.Buffer
	if err := run(context.Background(), []string{"token", "--sub", "ops", "--customer", "reseller", "--roles", "platform_admin",
		"--billing-profiles", "", "--permissions", ""}, getenv, &admin, io.Discard); err != nil {
		t.Fatal(err)
	}
	if err := run(context.Background(), []string{"token", "--customer", "acme", "--billing-profiles", "acme-main"}, getenv, &user, io.Discard); err != nil {
		t.Fatal(err)
	}
	adminTok, userTok := strings.TrimSpace(admin.String()), strings.TrimSpace(user.String())
	profile := inst.url + "/billing-profiles/acme-main"
	put := func(arn string) (int, map[string]any) {
		status, body, _ := call(t, "PUT", profile, adminTok, map[string]any{"customerId": "acme", "name": "Acme",
			"managementAccountId": payer, "billingGroupArn": arn})
		return status, body
	}
	if status, p := put(bc.AddGroup(payer, bcsim.Group{Name: "new", Status: "PENDING"})); status != 422 || p["code"] != "billing_group_invalid" {
		t.Fatalf("a pending group: %d %v", status, p)
	}
	arn := bc.AddGroup(payer, bcsim.Group{Name: "acme"})
	if status, bp := put(arn); status != 201 || bp["billingGroupArn"] != arn {
		t.Fatalf("put billing profile: %d %v", status, bp)
	}
	status, inv, _ := call(t, "POST", profile+"/aws-invites", userTok, map[string]any{"accountId": "123456789012"})
	if status != 201 {
		t.Fatalf("invite: %d %v", status, inv)
	}
	if _, err := orgs.AcceptHandshakeAs(context.Background(), "123456789012", inv["handshake"].(map[string]any)["id"].(string)); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"reconcile", "--once"}, getenv, &out, io.Discard); err != nil {
		t.Fatalf("reconcile --once: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), `"billingGroupsChanged":1`) {
		t.Errorf("reconcile --once printed:\n%s", out.String())
	}
	_, got, _ := call(t, "GET", profile+"/aws-invites/"+inv["id"].(string), userTok, nil)
	g, _ := got["billingGroup"].(map[string]any)
	if got["state"] != "awaiting_cur" || g["state"] != "associated" || g["arn"] != arn {
		t.Fatalf("after reconcile --once: %v", got)
	}
	if bc.GroupOf("123456789012") != arn || bc.Calls("AssociateAccounts") != 1 {
		t.Fatalf("AWS holds the account in %q after %d calls", bc.GroupOf("123456789012"), bc.Calls("AssociateAccounts"))
	}
}
