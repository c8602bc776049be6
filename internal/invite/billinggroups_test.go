package invite_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/cloudreseller/aws-invites/internal/awsbc"
	"github.com/cloudreseller/aws-invites/internal/awsbc/bcsim"
	"github.com/cloudreseller/aws-invites/internal/invite"
	"github.com/cloudreseller/aws-invites/internal/store/storetest"
)

// groupWorld is the world with AWS Billing Conductor: the real SDK client against its simulator, which asks the
// Organizations simulator (through the SDK too) whether an account is in the payer's billing family.
type groupWorld struct {
	*world
	bc       *bcsim.Sim
	profiles *invite.Profiles
	admin    invite.Principal
	globex   invite.Principal
}

func newGroupWorld(t *testing.T, dialect string) *groupWorld {
	t.Helper()
	w := newWorld(t, dialect)
	bc := bcsim.New(bcsim.Options{Clock: w.clock.Now, InFamily: func(ctx context.Context, payer, acct string) (bool, error) {
		_, err := w.orgs.DescribeAccount(ctx, invite.Payer{ManagementAccountID: payer}, acct)
		if invite.IsCode(err, invite.CodeNotFound) {
			return false, nil
		}
		return err == nil, err
	}})
	srv := httptest.NewServer(bc)
	t.Cleanup(srv.Close)
	w.deps.BillingGroups = awsbc.New(aws.Config{Region: "us-east-1"}, awsbc.Options{Endpoint: srv.URL,
		CredentialsFor: w.orgs.Credentials, HTTPClient: w.orgs.HTTPClient(),
		MaxAttempts: 4, BaseBackoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond})
	w.deps.Quota = invite.QuotaRules{DailyLimit: 1000} // the tests join more accounts in a day than AWS's default allows
	w.reconciler = invite.NewReconciler(w.store, w.deps)
	w.invites = invite.NewInvites(w.store, w.deps, invite.CloudHealthTools{})
	// A second customer on the same payer.
	if _, _, err := w.store.PutBillingProfile(w.ctx, invite.BillingProfile{ID: "bp-globex", CustomerID: "globex",
		Name: "globex", ManagementAccountID: payerID}); err != nil {
		t.Fatal(err)
	}
	return &groupWorld{world: w, bc: bc, profiles: invite.NewProfiles(w.store, w.deps),
		admin: invite.Principal{Subject: "ops", Roles: []string{invite.RolePlatformAdmin}},
		globex: invite.Principal{Subject: "bob", CustomerID: "globex", BillingProfiles: []string{"bp-globex"},
			Permissions: []string{invite.PermissionLicensesManager}}}
}

// nameGroup has a platform administrator name a billing group on a profile (PUT, validated against AWS).
func (g *groupWorld) nameGroup(profileID, arn string) error {
	bp, err := g.store.BillingProfile(g.ctx, profileID)
	if err != nil {
		g.t.Fatal(err)
	}
	bp.BillingGroupARN = arn
	_, _, err = g.profiles.Put(g.ctx, g.admin, bp)
	return err
}

func (g *groupWorld) mustNameGroup(profileID, arn string) {
	g.t.Helper()
	if err := g.nameGroup(profileID, arn); err != nil {
		g.t.Fatal(err)
	}
}

// groupCalls is the Billing Conductor calls made by f.
func (g *groupWorld) groupCalls(f func()) map[string]int {
	ops := []string{"AssociateAccounts", "DisassociateAccounts", "ListAccountAssociations", "ListBillingGroups"}
	before := map[string]int{}
	for _, op := range ops {
		before[op] = g.bc.Calls(op)
	}
	f()
	out := map[string]int{}
	for _, op := range ops {
		if n := g.bc.Calls(op) - before[op]; n > 0 {
			out[op] = n
		}
	}
	return out
}

func (g *groupWorld) pass() {
	g.t.Helper()
	if _, _, err := g.reconcile(); err != nil {
		g.t.Fatal(err)
	}
}

func wantLink(t *testing.T, inv invite.Invite, arn string, state invite.BillingGroupState, problem invite.Code) {
	t.Helper()
	l := inv.BillingGroup
	if l == nil {
		t.Fatalf("%s: no billing group, want %s %s", inv.AccountID, state, arn)
	}
	var code invite.Code
	if l.Problem != nil {
		code = l.Problem.Code
	}
	if l.ARN != arn || l.State != state || code != problem {
		t.Fatalf("%s: billing group %s %s (problem %q), want %s %s (problem %q)", inv.AccountID, l.ARN, l.State, code, arn, state, problem)
	}
	// associatedAt is set once associated, and kept after a removal (when the account had been in the group).
	if state != invite.BillingGroupRemoved && (state == invite.BillingGroupAssociated) == l.AssociatedAt.IsZero() {
		t.Fatalf("%s: associatedAt %v in state %s", inv.AccountID, l.AssociatedAt, l.State)
	}
}

// TestBillingGroupAssociationOnJoin: two customers share a payer, each with its own billing group. Their accounts
// join; one pass associates each with its customer's group, 30 accounts a call, and a pass with nothing to do
// costs no Billing Conductor call. The customer's next steps do not change.
func TestBillingGroupAssociationOnJoin(t *testing.T) {
	for _, dialect := range append(storetest.Dialects(), inMemory) {
		t.Run(dialect, func(t *testing.T) {
			g := newGroupWorld(t, dialect)
			acmeGroup := g.bc.AddGroup(payerID, bcsim.Group{Name: "acme"})
			globexGroup := g.bc.AddGroup(payerID, bcsim.Group{Name: "globex"})
			g.mustNameGroup("bp-1", acmeGroup)
			g.mustNameGroup("bp-globex", globexGroup)
			var acme []string
			for i := range 31 {
				acme = append(acme, fmt.Sprintf("50000000%04d", i))
			}
			acmeInvites := g.joinAll(g.user, "bp-1", acme...)
			globexInvites := g.joinAll(g.globex, "bp-globex", "600000000001", "600000000002")
			// The pass in joinAll that confirms the joins also associates the accounts.
			for _, inv := range acmeInvites {
				got := g.get(inv)
				wantLink(t, got, acmeGroup, invite.BillingGroupAssociated, "")
				if g.bc.GroupOf(inv.AccountID) != acmeGroup {
					t.Fatalf("AWS holds %s in %q", inv.AccountID, g.bc.GroupOf(inv.AccountID))
				}
				if len(stepCodes(got, g.clock.Now())) != len(stepCodes(inv, g.clock.Now())) {
					t.Fatalf("the billing group changed the customer's next steps: %v", stepCodes(got, g.clock.Now()))
				}
			}
			for _, inv := range globexInvites {
				wantLink(t, g.get(inv), globexGroup, invite.BillingGroupAssociated, "")
				if g.bc.GroupOf(inv.AccountID) != globexGroup {
					t.Fatalf("AWS holds %s in %q", inv.AccountID, g.bc.GroupOf(inv.AccountID))
				}
			}
			if ev := g.lastEvent(g.get(globexInvites[0])); ev.Type != invite.EventBillingGroup || !strings.Contains(ev.Reason, globexGroup) {
				t.Fatalf("last event %s %q", ev.Type, ev.Reason)
			}
			calls := g.groupCalls(g.pass)
			if len(calls) != 0 {
				t.Fatalf("a pass with every account in its group called Billing Conductor: %v", calls)
			}
		})
	}
}

// TestBillingGroupBatchesThirtyAccountsACall: 31 accounts joined in one pass cost two AssociateAccounts calls.
func TestBillingGroupBatchesThirtyAccountsACall(t *testing.T) {
	g := newGroupWorld(t, inMemory)
	arn := g.bc.AddGroup(payerID, bcsim.Group{Name: "acme"})
	g.mustNameGroup("bp-1", arn)
	var invs []invite.Invite
	for i := range 31 {
		v, _, err := g.invites.Create(g.ctx, g.user, "bp-1", invite.CreateInput{AccountID: fmt.Sprintf("51000000%04d", i)})
		if err != nil {
			t.Fatal(err)
		}
		g.asAccount(v.Invite, true)
		invs = append(invs, v.Invite)
	}
	// The pass that confirms the joins associates them: the billing groups are looked at after membership.
	calls := g.groupCalls(g.pass)
	if calls["AssociateAccounts"] != 2 || calls["DisassociateAccounts"] != 0 {
		t.Fatalf("calls %v, want 2 AssociateAccounts for 31 accounts", calls)
	}
	for _, inv := range invs {
		wantLink(t, g.get(inv), arn, invite.BillingGroupAssociated, "")
	}
}

// TestBillingGroupRetriesWhileAWSDoesNotSeeTheAccount: AWS refuses a just-joined account (ILLEGAL_ACCOUNTS) for a
// few hours; it stays pending, retried in every pass, and is associated once AWS accepts it. Another refused for
// more than a day after its join becomes a problem for the reseller, never a step for the customer.
func TestBillingGroupRetriesWhileAWSDoesNotSeeTheAccount(t *testing.T) {
	g := newGroupWorld(t, inMemory)
	arn := g.bc.AddGroup(payerID, bcsim.Group{Name: "acme"})
	g.mustNameGroup("bp-1", arn)
	now := g.clock.Now()
	g.bc.RefuseUntil("520000000001", now.Add(3*time.Hour))
	g.bc.RefuseUntil("520000000002", now.Add(30*time.Hour))
	invs := g.joinAll(g.user, "bp-1", "520000000001", "520000000002")
	g.pass()
	for _, inv := range invs {
		wantLink(t, g.get(inv), arn, invite.BillingGroupPending, invite.CodeBillingGroupNotInFamily)
	}
	g.clock.Advance(3*time.Hour + time.Minute)
	calls := g.groupCalls(g.pass)
	if calls["AssociateAccounts"] < 1 {
		t.Fatalf("the pending accounts were not retried: %v", calls)
	}
	wantLink(t, g.get(invs[0]), arn, invite.BillingGroupAssociated, "")
	wantLink(t, g.get(invs[1]), arn, invite.BillingGroupPending, invite.CodeBillingGroupNotInFamily)
	g.clock.Advance(21 * time.Hour)
	g.pass()
	late := g.get(invs[1])
	wantLink(t, late, arn, invite.BillingGroupProblem, invite.CodeBillingGroupNotInFamily)
	for _, c := range stepCodes(late, g.clock.Now()) {
		if strings.Contains(string(c), "billing_group") {
			t.Fatalf("the customer is shown the billing group's problem: %v", c)
		}
	}
	g.clock.Advance(6 * time.Hour)
	g.pass()
	wantLink(t, g.get(invs[1]), arn, invite.BillingGroupAssociated, "")
}

// TestBillingGroupConflict: an operator put an account in another customer's group in the console; the invite
// shows the conflict to the reseller without naming the other group. An association whose answer was lost (the
// account is in the right group already) is recorded as associated, not as a conflict.
func TestBillingGroupConflict(t *testing.T) {
	g := newGroupWorld(t, inMemory)
	acmeGroup := g.bc.AddGroup(payerID, bcsim.Group{Name: "acme"})
	otherGroup := g.bc.AddGroup(payerID, bcsim.Group{Name: "other"})
	g.mustNameGroup("bp-1", acmeGroup)
	g.bc.Associate(otherGroup, "530000000001")
	g.bc.Associate(acmeGroup, "530000000002")
	invs := g.joinAll(g.user, "bp-1", "530000000001", "530000000002", "530000000003")
	g.pass()
	got := g.get(invs[0])
	wantLink(t, got, acmeGroup, invite.BillingGroupProblem, invite.CodeBillingGroupConflict)
	if strings.Contains(got.BillingGroup.Problem.Detail, otherGroup) {
		t.Fatalf("the problem names another group: %s", got.BillingGroup.Problem.Detail)
	}
	wantLink(t, g.get(invs[1]), acmeGroup, invite.BillingGroupAssociated, "")
	wantLink(t, g.get(invs[2]), acmeGroup, invite.BillingGroupAssociated, "")
	if g.bc.GroupOf("530000000001") != otherGroup {
		t.Fatal("the conflicting account was moved out of the other group")
	}
}

// TestBillingGroupMisconfigured: a group that stops being ACTIVE after it was named is a problem on each invite.
func TestBillingGroupMisconfigured(t *testing.T) {
	g := newGroupWorld(t, inMemory)
	arn := g.bc.AddGroup(payerID, bcsim.Group{Name: "acme"})
	g.mustNameGroup("bp-1", arn)
	g.bc.SetStatus(arn, "PRIMARY_ACCOUNT_MISSING")
	invs := g.joinAll(g.user, "bp-1", "540000000001")
	g.pass()
	wantLink(t, g.get(invs[0]), arn, invite.BillingGroupProblem, invite.CodeBillingGroupMisconfigured)
	g.bc.SetStatus(arn, "ACTIVE")
	g.pass()
	wantLink(t, g.get(invs[0]), arn, invite.BillingGroupAssociated, "")
}

// TestBillingGroupFollowsReassign: an account reassigned to another customer's profile moves from the first
// customer's group to the second's in the payer's next pass.
func TestBillingGroupFollowsReassign(t *testing.T) {
	for _, dialect := range append(storetest.Dialects(), inMemory) {
		t.Run(dialect, func(t *testing.T) {
			g := newGroupWorld(t, dialect)
			acmeGroup := g.bc.AddGroup(payerID, bcsim.Group{Name: "acme"})
			globexGroup := g.bc.AddGroup(payerID, bcsim.Group{Name: "globex"})
			g.mustNameGroup("bp-1", acmeGroup)
			g.mustNameGroup("bp-globex", globexGroup)
			invs := g.joinAll(g.user, "bp-1", "550000000001")
			g.pass()
			wantLink(t, g.get(invs[0]), acmeGroup, invite.BillingGroupAssociated, "")
			if _, err := g.invites.Reassign(g.ctx, g.admin, "bp-1", invs[0].ID, "bp-globex"); err != nil {
				t.Fatal(err)
			}
			calls := g.groupCalls(g.pass)
			moved, err := g.store.Invite(g.ctx, "bp-globex", invs[0].ID)
			if err != nil {
				t.Fatal(err)
			}
			wantLink(t, moved, globexGroup, invite.BillingGroupAssociated, "")
			if g.bc.GroupOf("550000000001") != globexGroup || calls["DisassociateAccounts"] != 1 || calls["AssociateAccounts"] != 1 {
				t.Fatalf("AWS holds the account in %q after %v", g.bc.GroupOf("550000000001"), calls)
			}
		})
	}
}

// TestBillingGroupDeparture: an account that leaves the payer's organization is departed and taken out of its
// group in the same pass.
func TestBillingGroupDeparture(t *testing.T) {
	for _, dialect := range append(storetest.Dialects(), inMemory) {
		t.Run(dialect, func(t *testing.T) {
			g := newGroupWorld(t, dialect)
			arn := g.bc.AddGroup(payerID, bcsim.Group{Name: "acme"})
			g.mustNameGroup("bp-1", arn)
			invs := g.joinAll(g.user, "bp-1", "560000000001", "560000000002")
			g.pass()
			g.clock.Advance(time.Hour)
			g.leaveForAnotherOrganization("560000000001", "999999999999")
			g.pass()
			gone := g.get(invs[0])
			if gone.State != invite.StateDeparted {
				t.Fatalf("state %s", gone.State)
			}
			wantLink(t, gone, arn, invite.BillingGroupRemoved, "")
			if g.bc.GroupOf("560000000001") != "" || g.bc.GroupOf("560000000002") != arn {
				t.Fatalf("AWS holds %q and %q", g.bc.GroupOf("560000000001"), g.bc.GroupOf("560000000002"))
			}
			wantLink(t, g.get(invs[1]), arn, invite.BillingGroupAssociated, "")
		})
	}
}

// TestBillingGroupProfileValidation: a profile names only an ACTIVE STANDARD billing group of its own payer; the
// rest is 422 billing_group_invalid with a field error, and nothing is written. Customers never see the group.
func TestBillingGroupProfileValidation(t *testing.T) {
	g := newGroupWorld(t, inMemory)
	active := g.bc.AddGroup(payerID, bcsim.Group{Name: "acme"})
	otherPayers := g.bc.AddGroup("222222222222", bcsim.Group{Name: "elsewhere"})
	pending := g.bc.AddGroup(payerID, bcsim.Group{Name: "new", Status: "PENDING"})
	transfer := g.bc.AddGroup(payerID, bcsim.Group{Name: "transfer", Type: "TRANSFER_BILLING"})
	for name, arn := range map[string]string{
		"another payer's":  otherPayers,
		"unknown":          bcsim.ARN(payerID, "999999999999"),
		"pending":          pending,
		"transfer billing": transfer,
		"not an ARN":       "arn:aws:iam::111111111111:role/x",
	} {
		err := g.nameGroup("bp-1", arn)
		var e *invite.Error
		if !invite.IsCode(err, invite.CodeBillingGroupInvalid) || !errors.As(err, &e) || len(e.Fields) != 1 || e.Fields[0].Field != "billingGroupArn" {
			t.Errorf("%s group: %v", name, err)
		}
	}
	if bp, _ := g.store.BillingProfile(g.ctx, "bp-1"); bp.BillingGroupARN != "" {
		t.Fatalf("a refused group was written: %s", bp.BillingGroupARN)
	}
	g.mustNameGroup("bp-1", active)
	v, err := g.profiles.Get(g.ctx, g.user, "bp-1")
	if err != nil || v.BillingGroupARN != "" {
		t.Fatalf("a customer sees the billing group: %q, %v", v.BillingGroupARN, err)
	}
	v, err = g.profiles.Get(g.ctx, g.admin, "bp-1")
	if err != nil || v.BillingGroupARN != active {
		t.Fatalf("the administrator sees %q, %v", v.BillingGroupARN, err)
	}
}

// TestBillingGroupDroppedFromProfile: when the profile stops naming its group, the next pass takes its accounts
// out (one DisassociateAccounts call for both); when it names the group again, they go back in.
func TestBillingGroupDroppedFromProfile(t *testing.T) {
	g := newGroupWorld(t, inMemory)
	arn := g.bc.AddGroup(payerID, bcsim.Group{Name: "acme"})
	g.mustNameGroup("bp-1", arn)
	invs := g.joinAll(g.user, "bp-1", "570000000001", "570000000002")
	g.mustNameGroup("bp-1", "")
	calls := g.groupCalls(g.pass)
	for _, inv := range invs {
		wantLink(t, g.get(inv), arn, invite.BillingGroupRemoved, "")
		if g.bc.GroupOf(inv.AccountID) != "" {
			t.Fatalf("AWS still holds %s in %s", inv.AccountID, g.bc.GroupOf(inv.AccountID))
		}
	}
	if calls["DisassociateAccounts"] != 1 || calls["AssociateAccounts"] != 0 {
		t.Fatalf("calls %v", calls)
	}
	if calls := g.groupCalls(g.pass); len(calls) != 0 {
		t.Fatalf("a pass with nothing to do called %v", calls)
	}
	g.mustNameGroup("bp-1", arn)
	g.pass()
	for _, inv := range invs {
		wantLink(t, g.get(inv), arn, invite.BillingGroupAssociated, "")
	}
}

// TestBillingGroupRejoinAfterDeparture: an account departs (taken out of its group), comes back under a new
// invite, and is associated again; the departed invite stays removed.
func TestBillingGroupRejoinAfterDeparture(t *testing.T) {
	g := newGroupWorld(t, inMemory)
	arn := g.bc.AddGroup(payerID, bcsim.Group{Name: "acme"})
	g.mustNameGroup("bp-1", arn)
	first := g.joinAll(g.user, "bp-1", "580000000001")[0]
	g.clock.Advance(time.Hour)
	g.leaveForAnotherOrganization("580000000001", "999999999999")
	g.pass()
	if g.bc.GroupOf("580000000001") != "" {
		t.Fatal("the departed account stayed in the group")
	}
	// The other organization removes it; it is invited again and joins.
	if err := g.sim.RemoveMember("999999999999", "580000000001"); err != nil {
		t.Fatal(err)
	}
	second := g.joinAll(g.user, "bp-1", "580000000001")[0]
	wantLink(t, g.get(second), arn, invite.BillingGroupAssociated, "")
	wantLink(t, g.get(first), arn, invite.BillingGroupRemoved, "")
	if g.bc.GroupOf("580000000001") != arn {
		t.Fatal("the returning account is not in the group")
	}
}

// TestBillingGroupWhileBillingConductorIsDown: Billing Conductor throttling beyond the retries leaves the join
// confirmed and the association pending for the next pass, which makes it.
func TestBillingGroupWhileBillingConductorIsDown(t *testing.T) {
	g := newGroupWorld(t, inMemory)
	arn := g.bc.AddGroup(payerID, bcsim.Group{Name: "acme"})
	g.mustNameGroup("bp-1", arn)
	v, _, err := g.invites.Create(g.ctx, g.user, "bp-1", invite.CreateInput{AccountID: "590000000001"})
	if err != nil {
		t.Fatal(err)
	}
	g.asAccount(v.Invite, true)
	g.bc.Inject(bcsim.Fault{Op: "AssociateAccounts", Code: "ThrottlingException"})
	if _, _, err := g.reconcile(); err == nil || invite.IsCode(err, invite.CodeAWSUnavailable) {
		t.Fatalf("the pass answered %v, want a failure that is not AWS Organizations being unavailable", err)
	}
	got := g.get(v.Invite)
	if got.State != invite.StateAwaitingCUR {
		t.Fatalf("state %s", got.State)
	}
	wantLink(t, got, arn, invite.BillingGroupPending, "")
	g.bc.ClearFaults()
	g.pass()
	wantLink(t, g.get(v.Invite), arn, invite.BillingGroupAssociated, "")
}
