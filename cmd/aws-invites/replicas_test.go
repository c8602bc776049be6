package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/cloudreseller/aws-invites/internal/awsorg"
	"github.com/cloudreseller/aws-invites/internal/awsorg/orgsim"
	"github.com/cloudreseller/aws-invites/internal/invite"
	"github.com/cloudreseller/aws-invites/internal/testdb"
)

// TestTwoReplicas runs two `aws-invites serve` on one empty PostgreSQL database against the simulator: they start
// together (the schema is migrated once), the owner's answers reach the invites through either, and each payer is
// reconciled once per period, not once per replica.
func TestTwoReplicas(t *testing.T) {
	sim := orgsim.New(orgsim.Options{MaxAccounts: 100, Clock: systemClock.Now})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	const mgmt = "555555555555"
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_ORGANIZATIONS": srv.URL, "AWS_ACCESS_KEY_ID": orgsim.AccessKeyFor(mgmt),
		"AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_PROFILE": "",
	} {
		t.Setenv(k, v)
	}
	db := testdb.New(t)
	envFor := func() map[string]string {
		return map[string]string{"DATABASE_URL": db, "AWS_INVITES_MODE": "aws", "AUTH_HS256_SECRET": strings.Repeat("r", 32),
			"AUTH_ISSUER": "idp", "AUTH_AUDIENCE": "aws-invites", "AWS_INVITES_DATA_DIR": t.TempDir(), "RECONCILE_INTERVAL": "1s"}
	}
	// Both start at once on the empty database.
	type started struct {
		inst *instance
		err  error
	}
	results := make(chan started, 2)
	for range 2 {
		go func() {
			inst, err := startAsync(envFor())
			results <- started{inst, err}
		}()
	}
	var replicas []*instance
	for range 2 {
		r := <-results
		if r.err != nil {
			t.Fatalf("replica: %v", r.err)
		}
		t.Cleanup(func() { r.inst.stop() })
		replicas = append(replicas, r.inst)
	}
	a, b := replicas[0], replicas[1]

	getenv := func(k string) string { return envFor()[k] }
	mint := func(args ...string) string {
		var out bytes.Buffer
		if err := run(context.Background(), append([]string{"token"}, args...), getenv, &out, io.Discard); err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(out.String())
	}
	admin := mint("--customer", "reseller", "--roles", "platform_admin", "--billing-profiles", "", "--permissions", "")
	user := mint("--customer", "acme", "--billing-profiles", "acme")
	if status, body, _ := call(t, "PUT", a.url+"/billing-profiles/acme", admin,
		map[string]any{"customerId": "acme", "name": "Acme", "managementAccountId": mgmt}); status != 201 {
		t.Fatalf("profile: %d %v", status, body)
	}
	orgs := awsorg.New(aws.Config{Region: "us-east-1"}, awsorg.Options{OrganizationsEndpoint: srv.URL,
		CredentialsFor: func(p invite.Payer) aws.CredentialsProvider {
			return credentials.NewStaticCredentialsProvider(orgsim.AccessKeyFor(p.ManagementAccountID), "test", "")
		}})
	var ids []string
	for i, inst := range []*instance{a, b, a} {
		status, inv, _ := call(t, "POST", inst.url+"/billing-profiles/acme/aws-invites", user, map[string]any{"accountId": fmt.Sprintf("12345678900%d", i)})
		if status != 201 {
			t.Fatalf("invite %d: %d %v", i, status, inv)
		}
		ids = append(ids, inv["id"].(string))
		if i < 2 { // the owners of the first two accept in the AWS console
			if _, err := orgs.AcceptHandshakeAs(context.Background(), inv["accountId"].(string), inv["handshake"].(map[string]any)["id"].(string)); err != nil {
				t.Fatal(err)
			}
		}
	}
	// The background reconciliation notices, whichever replica runs it.
	deadline := time.Now().Add(30 * time.Second)
	for _, id := range ids[:2] {
		for {
			_, inv, _ := call(t, "GET", b.url+"/billing-profiles/acme/aws-invites/"+id, user, nil)
			if inv["state"] == "awaiting_cur" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("invite %s still %v after 30 s", id, inv["state"])
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	// Over a few periods, the payer is listed about once per period: not once per replica.
	before := sim.Calls("ListHandshakesForOrganization")
	time.Sleep(6 * time.Second)
	listed := sim.Calls("ListHandshakesForOrganization") - before
	t.Logf("two replicas listed the payer's handshakes %d times in 6 s with a 1 s period", listed)
	if listed < 2 || listed > 8 {
		t.Errorf("ListHandshakesForOrganization calls in 6 periods of 1 s by two replicas: %d, want about 6", listed)
	}
	// Each transition was written once.
	for _, id := range ids[:2] {
		_, body, _ := call(t, "GET", a.url+"/billing-profiles/acme/aws-invites/"+id+"/events", user, nil)
		counts := map[string]int{}
		for _, it := range body["items"].([]any) {
			ev := it.(map[string]any)
			from, _ := ev["from"].(string)
			counts[from+">"+ev["to"].(string)]++
		}
		if counts["invited>accepted"] != 1 || counts["accepted>awaiting_cur"] != 1 {
			t.Errorf("invite %s history: %v", id, counts)
		}
	}
	if sim.Calls("DescribeAccount") != 2 {
		t.Errorf("DescribeAccount calls: %d, want one per accepted account", sim.Calls("DescribeAccount"))
	}
	if _, inv, _ := call(t, "GET", a.url+"/billing-profiles/acme/aws-invites/"+ids[2], user, nil); inv["state"] != "invited" {
		t.Errorf("the unanswered invite is %v", inv["state"])
	}
}
