package awsbc_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/cloudreseller/aws-invites/internal/awsbc"
	"github.com/cloudreseller/aws-invites/internal/awsbc/bcsim"
	"github.com/cloudreseller/aws-invites/internal/invite"
	"github.com/cloudreseller/aws-invites/internal/testclock"
)

const payerID = "111111111111"

var payer = invite.Payer{ManagementAccountID: payerID}

// members are the accounts of the payer's billing family in these tests.
var members = map[string]bool{"200000000001": true, "200000000002": true, "200000000003": true}

func newClient(t *testing.T) (*awsbc.Client, *bcsim.Sim, *testclock.Clock) {
	t.Helper()
	clk := testclock.NewAtStart() // now, or the instant AWS_INVITES_TEST_NOW names
	sim := bcsim.New(bcsim.Options{Clock: clk.Now, InFamily: func(_ context.Context, p, acct string) (bool, error) {
		return p == payerID && (members[acct] || len(acct) == 12 && acct[0] == '3'), nil
	}})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	c := awsbc.New(aws.Config{Region: "us-east-1"}, awsbc.Options{Endpoint: srv.URL,
		CredentialsFor: func(p invite.Payer) aws.CredentialsProvider {
			return credentials.NewStaticCredentialsProvider(bcsim.AccessKeyFor(p.ManagementAccountID), "test", "")
		},
		MaxAttempts: 3, BaseBackoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond, RetryAfter: 7 * time.Second})
	return c, sim, clk
}

func wantCode(t *testing.T, what string, err error, code invite.Code) {
	t.Helper()
	if !invite.IsCode(err, code) {
		t.Fatalf("%s: %v, want %s", what, err, code)
	}
}

// TestAssociationErrorsMapToDomainCodes: each refusal AWS answers AssociateAccounts and DisassociateAccounts with,
// through the real SDK, becomes the domain code the reconciliation acts on, and nothing is written.
func TestAssociationErrorsMapToDomainCodes(t *testing.T) {
	ctx := context.Background()
	c, sim, _ := newClient(t)
	arn := sim.AddGroup(payerID, bcsim.Group{Name: "acme"})
	other := sim.AddGroup(payerID, bcsim.Group{Name: "other"})
	pending := sim.AddGroup(payerID, bcsim.Group{Name: "new", Status: "PENDING"})
	elsewhere := sim.AddGroup("222222222222", bcsim.Group{Name: "elsewhere"})

	wantCode(t, "not in the family", c.Associate(ctx, payer, arn, []string{"200000000001", "999999999999"}), invite.CodeBillingGroupNotInFamily)
	if sim.GroupOf("200000000001") != "" {
		t.Fatal("a refused call associated an account")
	}
	if err := c.Associate(ctx, payer, other, []string{"200000000002"}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "in another group", c.Associate(ctx, payer, arn, []string{"200000000002"}), invite.CodeBillingGroupConflict)
	wantCode(t, "not associated", c.Disassociate(ctx, payer, arn, []string{"200000000003"}), invite.CodeBillingGroupNotAssociated)
	wantCode(t, "pending group", c.Associate(ctx, payer, pending, []string{"200000000003"}), invite.CodeBillingGroupMisconfigured)
	wantCode(t, "another payer's group", c.Associate(ctx, payer, elsewhere, []string{"200000000003"}), invite.CodeBillingGroupMisconfigured)
	var many []string
	for i := range invite.MaxAccountsPerAssociation + 1 {
		many = append(many, fmt.Sprintf("3000000000%02d", i))
	}
	wantCode(t, "31 accounts", c.Associate(ctx, payer, arn, many), invite.CodeAWSInvalidInput)
	if err := c.Associate(ctx, payer, arn, many[:invite.MaxAccountsPerAssociation]); err != nil {
		t.Fatalf("30 accounts: %v", err)
	}
	if g, err := c.GroupOf(ctx, payer, many[29]); err != nil || g != arn {
		t.Fatalf("GroupOf = %q, %v", g, err)
	}
	if g, err := c.GroupOf(ctx, payer, "200000000003"); err != nil || g != "" {
		t.Fatalf("GroupOf an unassociated member = %q, %v", g, err)
	}
	if err := c.Disassociate(ctx, payer, other, []string{"200000000002"}); err != nil || sim.GroupOf("200000000002") != "" {
		t.Fatalf("disassociate: %v, still in %q", err, sim.GroupOf("200000000002"))
	}
}

// TestRetriesWriteConflictsAndThrottling: ConflictException WRITE_CONFLICT_RETRY and ThrottlingException are tried
// again with backoff; once the attempts are spent the caller is told AWS is unavailable, with when to retry. A
// conflict of another reason is not retried.
func TestRetriesWriteConflictsAndThrottling(t *testing.T) {
	ctx := context.Background()
	for _, code := range []string{"ConflictException", "ThrottlingException", "InternalServerException"} {
		t.Run(code, func(t *testing.T) {
			c, sim, _ := newClient(t)
			arn := sim.AddGroup(payerID, bcsim.Group{Name: "acme"})
			reason := ""
			if code == "ConflictException" {
				reason = "WRITE_CONFLICT_RETRY"
			}
			sim.Inject(bcsim.Fault{Op: "AssociateAccounts", Code: code, Reason: reason, Times: 2})
			if err := c.Associate(ctx, payer, arn, []string{"200000000001"}); err != nil {
				t.Fatalf("after two %s: %v", code, err)
			}
			if n := sim.Calls("AssociateAccounts"); n != 3 || sim.GroupOf("200000000001") != arn {
				t.Fatalf("%d calls, group %q", n, sim.GroupOf("200000000001"))
			}
			sim.Inject(bcsim.Fault{Op: "DisassociateAccounts", Code: code, Reason: reason})
			err := c.Disassociate(ctx, payer, arn, []string{"200000000001"})
			var e *invite.Error
			if !errors.As(err, &e) || e.Code != invite.CodeAWSUnavailable || e.RetryAfter != 7*time.Second {
				t.Fatalf("a lasting %s: %v", code, err)
			}
			if n := sim.Calls("DisassociateAccounts"); n != 3 {
				t.Fatalf("%d attempts, want 3", n)
			}
		})
	}
	t.Run("other conflicts", func(t *testing.T) {
		c, sim, _ := newClient(t)
		arn := sim.AddGroup(payerID, bcsim.Group{Name: "acme"})
		sim.Inject(bcsim.Fault{Op: "AssociateAccounts", Code: "ConflictException", Reason: "RESOURCE_NAME_CONFLICT"})
		wantCode(t, "RESOURCE_NAME_CONFLICT", c.Associate(ctx, payer, arn, []string{"200000000001"}), invite.CodeAWSUnavailable)
		if n := sim.Calls("AssociateAccounts"); n != 1 {
			t.Fatalf("%d attempts, want 1", n)
		}
	})
}

// TestBillingGroupLookup: ListBillingGroups with the payer's credentials finds the payer's groups with their status
// and type, and none of another payer's.
func TestBillingGroupLookup(t *testing.T) {
	ctx := context.Background()
	c, sim, _ := newClient(t)
	arn := sim.AddGroup(payerID, bcsim.Group{Name: "acme", Status: "PRIMARY_ACCOUNT_MISSING", Type: "TRANSFER_BILLING"})
	elsewhere := sim.AddGroup("222222222222", bcsim.Group{Name: "elsewhere"})
	g, err := c.BillingGroup(ctx, payer, arn)
	if err != nil || g.Name != "acme" || g.Status != "PRIMARY_ACCOUNT_MISSING" || g.Type != "TRANSFER_BILLING" {
		t.Fatalf("BillingGroup = %+v, %v", g, err)
	}
	_, err = c.BillingGroup(ctx, payer, elsewhere)
	wantCode(t, "another payer's group", err, invite.CodeNotFound)
	_, err = c.BillingGroup(ctx, invite.Payer{ManagementAccountID: "222222222222"}, elsewhere)
	if err != nil {
		t.Fatalf("the other payer's own group: %v", err)
	}
}

// TestAccessDenied: calls the simulator cannot attribute to a payer are refused (AccessDeniedException): the
// reseller's role setup (aws_access_denied), which the reconciliation shows on the invite as a misconfigured group.
func TestAccessDenied(t *testing.T) {
	ctx := context.Background()
	sim := bcsim.New(bcsim.Options{})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	c := awsbc.New(aws.Config{Region: "us-east-1"}, awsbc.Options{Endpoint: srv.URL,
		CredentialsFor: func(invite.Payer) aws.CredentialsProvider {
			return credentials.NewStaticCredentialsProvider("AKIAUNKNOWN", "test", "")
		}, MaxAttempts: 2, BaseBackoff: time.Millisecond})
	wantCode(t, "unsigned payer", c.Associate(ctx, payer, bcsim.ARN(payerID, "100000000001"), []string{"200000000001"}), invite.CodeAWSAccessDenied)
}

// TestAssociationsCarryIntoTheNextPeriod: an association made this month holds next month until changed
// (ListAccountAssociations of the new period lists it), and the old period keeps its own.
func TestAssociationsCarryIntoTheNextPeriod(t *testing.T) {
	ctx := context.Background()
	c, sim, clk := newClient(t)
	arn := sim.AddGroup(payerID, bcsim.Group{Name: "acme"})
	if err := c.Associate(ctx, payer, arn, []string{"200000000001", "200000000002"}); err != nil {
		t.Fatal(err)
	}
	now := clk.Now().UTC()
	clk.Advance(time.Date(now.Year(), now.Month()+1, 1, 1, 0, 0, 0, time.UTC).Sub(now))
	if g, err := c.GroupOf(ctx, payer, "200000000001"); err != nil || g != arn {
		t.Fatalf("next month: %q, %v", g, err)
	}
	if err := c.Disassociate(ctx, payer, arn, []string{"200000000001"}); err != nil {
		t.Fatal(err)
	}
	if g, _ := c.GroupOf(ctx, payer, "200000000001"); g != "" {
		t.Fatalf("after the disassociation: %q", g)
	}
	if g, _ := c.GroupOf(ctx, payer, "200000000002"); g != arn {
		t.Fatalf("the other account: %q", g)
	}
}

// TestSandboxConventionsNameAnyGroupOfThePayer: in the sandbox a well-formed group ARN of the caller's account is
// an ACTIVE STANDARD group; another payer's is not.
func TestSandboxConventionsNameAnyGroupOfThePayer(t *testing.T) {
	ctx := context.Background()
	sim := bcsim.New(bcsim.Options{Conventions: true})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	c := awsbc.New(aws.Config{Region: "us-east-1"}, awsbc.Options{Endpoint: srv.URL,
		CredentialsFor: func(p invite.Payer) aws.CredentialsProvider {
			return credentials.NewStaticCredentialsProvider(bcsim.AccessKeyFor(p.ManagementAccountID), "test", "")
		}, MaxAttempts: 1})
	g, err := c.BillingGroup(ctx, payer, bcsim.ARN(payerID, "123456789012"))
	if err != nil || g.Status != "ACTIVE" || g.Type != "STANDARD" {
		t.Fatalf("%+v, %v", g, err)
	}
	_, err = c.BillingGroup(ctx, payer, bcsim.ARN("222222222222", "123456789012"))
	wantCode(t, "another payer's", err, invite.CodeNotFound)
	if err := c.Associate(ctx, payer, bcsim.ARN(payerID, "123456789012"), []string{"200000000001"}); err != nil {
		t.Fatal(err)
	}
}
