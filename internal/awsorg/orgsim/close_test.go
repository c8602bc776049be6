package orgsim_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/organizations/types"

	"github.com/cloudreseller/aws-invites/internal/awsorg/orgsim"
)

func TestCloseAccount(t *testing.T) { eachStore(t, testCloseAccount) }

// testCloseAccount: through the real SDK, the management account closes a member (SUSPENDED at once, still a
// member, listed with its state); closing it again, closing the management account, closing an account of another
// organization, and a member closing are refused as AWS models it.
func testCloseAccount(t *testing.T, kind storeKind) {
	e := newEnv(t, kind, orgsim.Options{})
	ctx := context.Background()
	const member = "200000000001"
	if err := e.sim.AddMember(mgmt, member, "INVITED", start); err != nil {
		t.Fatal(err)
	}
	closeAs := func(caller, id string) error {
		_, err := e.as(caller).CloseAccount(ctx, &organizations.CloseAccountInput{AccountId: aws.String(id)})
		return err
	}
	if err := closeAs(mgmt, member); err != nil {
		t.Fatal(err)
	}
	out, err := e.as(mgmt).DescribeAccount(ctx, &organizations.DescribeAccountInput{AccountId: aws.String(member)})
	if err != nil || out.Account.State != types.AccountStateSuspended {
		t.Fatalf("closed member: %+v, %v", out, err)
	}
	list, err := e.as(mgmt).ListAccounts(ctx, &organizations.ListAccountsInput{})
	if err != nil || len(list.Accounts) != 2 || aws.ToString(list.Accounts[1].Id) != member || list.Accounts[1].State != types.AccountStateSuspended {
		t.Fatalf("list: %+v, %v", list, err)
	}
	err = closeAs(mgmt, member)
	var closed *types.AccountAlreadyClosedException
	if !errorsAs(err, &closed) || statusCode(err) != 409 {
		t.Errorf("closing again: %v", err)
	}
	wantCode(t, closeAs(mgmt, mgmt), "ConstraintViolationException", "CANNOT_CLOSE_MANAGEMENT_ACCOUNT")
	wantCode(t, closeAs(other, member), "AccountNotFoundException", "")
	wantCode(t, closeAs(mgmt, "1234"), "InvalidInputException", "INVALID_PATTERN")
	wantCode(t, closeAs(member, member), "AccessDeniedException", "")
}
