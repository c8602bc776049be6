package awsorg_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/cloudreseller/aws-invites/internal/awsorg"
	"github.com/cloudreseller/aws-invites/internal/awsorg/orgsim"
	"github.com/cloudreseller/aws-invites/internal/invite"
)

// The sandbox's stand-ins for invited accounts' owners (accept, decline, list their organization's accounts) keep no client per account: a process
// that saw thousands of accounts accept keeps the clients of its payers only.
func TestStandInsKeepNoClientPerAccount(t *testing.T) {
	sim := orgsim.New(orgsim.Options{MaxAccounts: 100, MaxInvitesPerDay: 100})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	c := awsorg.New(aws.Config{Region: "us-east-1"}, awsorg.Options{OrganizationsEndpoint: srv.URL,
		CredentialsFor: func(p invite.Payer) aws.CredentialsProvider {
			return credentials.NewStaticCredentialsProvider(orgsim.AccessKeyFor(p.ManagementAccountID), "test", "")
		}})
	ctx := context.Background()
	payer := invite.Payer{ManagementAccountID: "111111111111"}
	for i := range 30 {
		account := fmt.Sprintf("2%011d", i)
		h, _, err := c.InviteAccount(ctx, payer, account, "")
		if err != nil {
			t.Fatal(err)
		}
		answer := c.AcceptHandshakeAs
		if i%3 == 0 {
			answer = c.DeclineHandshakeAs
		}
		if _, err := answer(ctx, account, h.ID); err != nil {
			t.Fatalf("answering as %s: %v", account, err)
		}
		// Answering again finds the handshake already answered: settled, read back with the same kind of client.
		if _, err := answer(ctx, account, h.ID); err != nil {
			t.Fatalf("answering again as %s: %v", account, err)
		}
		// A customer organization's own account list (the billing-transfer sandbox reads it as its management
		// account); a member of the payer's organization may not list it, which changes nothing here.
		if _, err := c.ListAccountsAs(ctx, account); err != nil && !invite.IsCode(err, invite.CodeAWSAccessDenied) &&
			!invite.IsCode(err, invite.CodeAWSOrgNotInUse) {
			t.Fatalf("listing as %s: %v", account, err)
		}
	}
	if n := c.ClientsKept(); n != 1 {
		t.Errorf("%d clients kept after 30 accounts answered, want 1 (the payer's)", n)
	}
}
