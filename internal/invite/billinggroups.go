package invite

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"
)

// AWS Billing Conductor: a billing profile may name a billing group of its payer (BillingProfile.BillingGroupARN);
// each joined account of the profile is associated with it, so the customer's pro forma bill and cost data hold
// its accounts and no other customer's. Reconciliation does the work, in the payer's pass and under its lease: the
// accounts to associate are batched, up to MaxAccountsPerAssociation a call, per group.

// MaxAccountsPerAssociation is the most accounts one AssociateAccounts or DisassociateAccounts call takes (the
// SDK's model: AccountIds has at most 30 members; TOO_MANY_ACCOUNTS_IN_REQUEST beyond).
const MaxAccountsPerAssociation = 30

// BillingFamilyWait is how long after its join an account AWS refuses with ILLEGAL_ACCOUNTS ("not part of the
// consolidated billing family") stays pending, retried in every pass, before the refusal is shown as a problem.
// AWS does not document how soon after a join AssociateAccounts accepts an account; a day is our figure.
const BillingFamilyWait = 24 * time.Hour

// BillingGroupState is where an invite's account stands with the profile's billing group.
type BillingGroupState string

// The billing group states.
const (
	BillingGroupPending    BillingGroupState = "pending"    // to be associated (or retried) in the payer's next pass
	BillingGroupAssociated BillingGroupState = "associated" // AWS holds the account in the group
	BillingGroupProblem    BillingGroupState = "problem"    // AWS refuses; Problem says why; retried in every pass
	BillingGroupRemoved    BillingGroupState = "removed"    // taken out of the group (departure, reassignment, profile change)
)

// BillingGroupLink is an invite's account's place in a billing group.
type BillingGroupLink struct {
	ARN          string
	State        BillingGroupState
	AssociatedAt time.Time // when AWS accepted the association; zero until then
	Problem      *GroupProblem
}

// GroupProblem is why AWS does not (yet) hold the account in the group: for the reseller to see, never the
// customer's to fix.
type GroupProblem struct {
	Code   Code
	Detail string
	Since  time.Time // when the problem was first seen
}

// BillingGroup is a billing group as AWS lists it.
type BillingGroup struct {
	ARN    string
	Name   string
	Status string // ACTIVE, PRIMARY_ACCOUNT_MISSING, PENDING
	Type   string // STANDARD, TRANSFER_BILLING
	Size   int64
}

// BillingGroups is what the domain needs from AWS Billing Conductor, per payer. Errors are *Error values: account
// refusals carry CodeBillingGroupNotInFamily or CodeBillingGroupConflict, a group the call cannot use
// CodeBillingGroupMisconfigured, a role that may not call Billing Conductor CodeAWSAccessDenied, AWS unavailable
// CodeAWSUnavailable.
type BillingGroups interface {
	// BillingGroup returns the payer's billing group with arn in the current billing period (ListBillingGroups);
	// CodeNotFound when the payer has none such.
	BillingGroup(ctx context.Context, payer Payer, arn string) (BillingGroup, error)
	// Associate associates up to MaxAccountsPerAssociation accounts with a group, all or none.
	Associate(ctx context.Context, payer Payer, arn string, accountIDs []string) error
	// Disassociate takes up to MaxAccountsPerAssociation accounts out of a group, all or none
	// (CodeBillingGroupNotAssociated when the group does not hold one of them).
	Disassociate(ctx context.Context, payer Payer, arn string, accountIDs []string) error
	// GroupOf returns the group an account is associated with in the current billing period, empty for none.
	GroupOf(ctx context.Context, payer Payer, accountID string) (string, error)
}

// billingGroupARN is a billing group ARN as the SDK's model writes it, capturing its payer account.
var billingGroupARN = regexp.MustCompile(`^arn:aws(?:-cn)?:billingconductor::(\d{12}):billinggroup/?\d{12}$`)

// validateBillingGroup checks, on a profile's PUT, that the group it names is an ACTIVE STANDARD billing group of
// its payer: one call to ListBillingGroups with the payer's credentials, which lists only the payer's groups.
func (c *core) validateBillingGroup(ctx context.Context, bp BillingProfile) error {
	arn := bp.BillingGroupARN
	if arn == "" {
		return nil
	}
	m := billingGroupARN.FindStringSubmatch(arn)
	if m == nil {
		return FieldProblem(CodeBillingGroupInvalid, "billingGroupArn", "not a billing group ARN",
			fmt.Sprintf("billingGroupArn: %q is not a billing group ARN like arn:aws:billingconductor::%s:billinggroup/123456789012", arn, bp.ManagementAccountID))
	}
	if m[1] != bp.ManagementAccountID {
		return FieldProblem(CodeBillingGroupInvalid, "billingGroupArn", "a billing group of another payer",
			fmt.Sprintf("billingGroupArn: the billing group belongs to the payer %s, not to this profile's payer %s", m[1], bp.ManagementAccountID))
	}
	if c.groups == nil {
		return Errorf(CodeBillingConductorNotAvailable, "this service is not connected to AWS Billing Conductor; a billing profile cannot name a billing group")
	}
	g, err := c.groups.BillingGroup(ctx, bp.Payer(), arn)
	switch {
	case IsCode(err, CodeNotFound):
		return FieldProblem(CodeBillingGroupInvalid, "billingGroupArn", "no such billing group",
			fmt.Sprintf("billingGroupArn: the payer %s has no billing group %s in the current billing period", bp.ManagementAccountID, arn))
	case err != nil:
		return err
	case g.Type != "STANDARD":
		return FieldProblem(CodeBillingGroupInvalid, "billingGroupArn", "not a standard billing group",
			fmt.Sprintf("billingGroupArn: billing group %q is a %s group; the profile's accounts go in a STANDARD group", g.Name, g.Type))
	case g.Status != "ACTIVE":
		return FieldProblem(CodeBillingGroupInvalid, "billingGroupArn", "billing group not active",
			fmt.Sprintf("billingGroupArn: billing group %q is %s, not ACTIVE; AWS associates accounts only with an active group", g.Name, g.Status))
	}
	return nil
}

// groupWork is one invite's change of billing group, planned for a pass.
type groupWork struct {
	inv    Invite
	from   string // the group to take the account out of first (associated with it now); empty for none
	to     string // the group to associate it with; empty for none
	result BillingGroupLink
	err    error // AWS unavailable: leave the invite as it is
}

// reconcileBillingGroups associates the payer's joined accounts with their profiles' billing groups, takes departed
// accounts (and accounts whose profile's group changed or was dropped) out of the group they were in, batched up
// to MaxAccountsPerAssociation accounts a call per group. A payer whose profiles name no group and whose invites
// were never associated costs no AWS call. It counts the invites whose billing group changed, and those left with
// a problem (the reseller's: a metric).
//
// held are the payer's invites holding accounts as the pass read them first: when no profile names a group and none
// of them is (or is to be) in one, the pass reads nothing more.
func (s *Reconciler) reconcileBillingGroups(ctx context.Context, payer Payer, held []Invite, actor Actor) (changed, problems int, errs []error) {
	if s.groups == nil {
		return 0, 0, nil
	}
	profiles, err := s.store.ProfilesOfPayer(ctx, payer.ManagementAccountID)
	if err != nil {
		return 0, 0, []error{err}
	}
	groupOf := map[string]string{}
	named := false
	for _, bp := range profiles {
		groupOf[bp.ID] = bp.BillingGroupARN
		named = named || bp.BillingGroupARN != ""
	}
	if !named && !slices.ContainsFunc(held, func(inv Invite) bool {
		return inv.BillingGroup != nil && inv.BillingGroup.State != BillingGroupRemoved
	}) {
		return 0, 0, nil
	}
	states := append(StatesWhere(State.Joined), StateDeparted)
	invites, err := s.store.InvitesOfPayer(ctx, payer.ManagementAccountID, states)
	if err != nil {
		return 0, 0, []error{err}
	}
	var work []*groupWork
	wanted := map[string]string{} // account -> the group a joined invite wants it in
	for _, inv := range invites {
		w := planGroup(inv, groupOf[inv.BillingProfileID])
		if w != nil {
			work = append(work, w)
		}
		if inv.State.Joined() && inv.Kind.rules().listsMembership() {
			wanted[inv.AccountID] = groupOf[inv.BillingProfileID]
		}
	}
	for _, w := range work {
		// A departed invite's account that joined again under a new invite of a profile with the same group stays:
		// taking it out would undo the new invite's association.
		if w.from != "" && w.to == "" && wanted[w.inv.AccountID] == w.from {
			w.from = ""
		}
	}
	if len(work) == 0 {
		return 0, 0, nil
	}
	now := s.now(payer.ManagementAccountID)
	s.disassociateAll(ctx, payer, work)
	s.associateAll(ctx, payer, work, now)
	for _, w := range work {
		if w.err != nil {
			// Not wrapped: Billing Conductor being unavailable must not make a refresh, whose Organizations part
			// succeeded, answer 503; the pass still reports the failure (logs, the work's failure metric). The
			// invite keeps what it had, or shows its first association pending.
			errs = append(errs, fmt.Errorf("invite %s: billing group (retried next pass): %v", w.inv.ID, w.err))
		}
		if w.result.State == BillingGroupProblem {
			problems++
		}
		before := w.inv.BillingGroup
		if before != nil && sameLink(*before, w.result) {
			continue
		}
		inv := w.inv
		link := w.result
		inv.BillingGroup = &link
		if _, err := s.save(ctx, inv, Event{Type: EventBillingGroup, Actor: actor, From: inv.State, To: inv.State,
			Reason: groupReason(inv.AccountID, link)}); err != nil && !IsCode(err, CodeConcurrentUpdate) {
			errs = append(errs, fmt.Errorf("invite %s: %w", inv.ID, err))
		} else if err == nil {
			changed++
		}
	}
	return changed, problems, errs
}

// planGroup says what one invite needs: nil when its account is where it should be.
func planGroup(inv Invite, profileGroup string) *groupWork {
	want := ""
	if inv.State.Joined() && inv.Kind.rules().listsMembership() {
		want = profileGroup
	}
	cur := inv.BillingGroup
	w := &groupWork{inv: inv, to: want}
	switch {
	case cur == nil && want == "":
		return nil
	case cur == nil:
		w.result = BillingGroupLink{ARN: want, State: BillingGroupPending}
		return w
	case cur.ARN == want && cur.State == BillingGroupAssociated:
		return nil
	case cur.State == BillingGroupAssociated:
		w.from = cur.ARN // departed, reassigned, or the profile's group changed
	case want == "" && cur.State == BillingGroupRemoved:
		return nil
	}
	if want == "" {
		w.result = BillingGroupLink{ARN: cur.ARN, State: BillingGroupRemoved, AssociatedAt: cur.AssociatedAt}
		if w.from == "" {
			w.result.AssociatedAt = time.Time{} // it never was associated: the pending association is simply dropped
		}
		return w
	}
	w.result = BillingGroupLink{ARN: want, State: BillingGroupPending}
	if cur.ARN == want {
		w.result.Problem = cur.Problem
	}
	return w
}

// disassociateAll takes the accounts out of their old groups, batched per group. An account the group no longer
// holds, or that AWS no longer counts in the billing family (it departed), is out already.
func (s *Reconciler) disassociateAll(ctx context.Context, payer Payer, work []*groupWork) {
	byGroup := map[string][]*groupWork{}
	for _, w := range work {
		if w.from != "" {
			byGroup[w.from] = append(byGroup[w.from], w)
		}
	}
	for _, arn := range sortedKeys(byGroup) {
		for batch := range slices.Chunk(byGroup[arn], MaxAccountsPerAssociation) {
			err := s.groups.Disassociate(ctx, payer, arn, accountsOf(batch))
			if err != nil && len(batch) > 1 && accountRefusal(err) {
				for _, w := range batch {
					s.settleRemoval(w, s.groups.Disassociate(ctx, payer, arn, []string{w.inv.AccountID}))
				}
				continue
			}
			for _, w := range batch {
				s.settleRemoval(w, err)
			}
		}
	}
}

func (s *Reconciler) settleRemoval(w *groupWork, err error) {
	switch {
	case err == nil || IsCode(err, CodeBillingGroupNotAssociated) || IsCode(err, CodeBillingGroupNotInFamily):
		// Inferred: AWS does not document whether a departed account stays in its group; either answer means no
		// group of this payer bills it any longer.
		w.from = ""
	case IsCode(err, CodeBillingGroupMisconfigured):
		// The old group is gone or ended: the account is out of it as far as billing goes. (A role that may not
		// disassociate is aws_access_denied: retried, the account stays where it is meanwhile.)
		w.from = ""
	default:
		w.err = err
		w.to = "" // not associated elsewhere while still in the old group
		w.result = *w.inv.BillingGroup
	}
}

// associateAll associates the accounts with their groups, batched per group; a batch AWS refuses because of one of
// its accounts is tried again one account a call, to tell whose the refusal is.
func (s *Reconciler) associateAll(ctx context.Context, payer Payer, work []*groupWork, now time.Time) {
	byGroup := map[string][]*groupWork{}
	for _, w := range work {
		if w.to != "" && w.from == "" && w.err == nil {
			byGroup[w.to] = append(byGroup[w.to], w)
		}
	}
	for _, arn := range sortedKeys(byGroup) {
		for batch := range slices.Chunk(byGroup[arn], MaxAccountsPerAssociation) {
			err := s.groups.Associate(ctx, payer, arn, accountsOf(batch))
			if err != nil && len(batch) > 1 && accountRefusal(err) {
				for _, w := range batch {
					s.settleAssociation(ctx, payer, w, s.groups.Associate(ctx, payer, arn, []string{w.inv.AccountID}), now)
				}
				continue
			}
			for _, w := range batch {
				s.settleAssociation(ctx, payer, w, err, now)
			}
		}
	}
}

func (s *Reconciler) settleAssociation(ctx context.Context, payer Payer, w *groupWork, err error, now time.Time) {
	link := BillingGroupLink{ARN: w.to}
	var e *Error
	errors.As(err, &e)
	switch {
	case err == nil:
		link.State, link.AssociatedAt = BillingGroupAssociated, now
	case IsCode(err, CodeBillingGroupConflict):
		// The account is in a group already: ours (an association whose answer was lost) or another one.
		other, gerr := s.groups.GroupOf(ctx, payer, w.inv.AccountID)
		switch {
		case gerr != nil:
			w.failed(gerr)
			return
		case other == w.to:
			link.State, link.AssociatedAt = BillingGroupAssociated, now
		default:
			link.State = BillingGroupProblem
			link.Problem = &GroupProblem{Code: CodeBillingGroupConflict, Detail: fmt.Sprintf(
				"AWS holds account %s in another billing group of the payer this billing period (not named here: it may be another customer's); remove it from that group in AWS Billing Conductor and the next pass associates it", w.inv.AccountID)}
		}
	case IsCode(err, CodeBillingGroupNotInFamily):
		joined := now
		if w.inv.JoinedAt != nil {
			joined = *w.inv.JoinedAt
		}
		link.State = BillingGroupPending
		if now.Sub(joined) >= BillingFamilyWait {
			link.State = BillingGroupProblem
		}
		link.Problem = &GroupProblem{Code: CodeBillingGroupNotInFamily, Detail: fmt.Sprintf(
			"AWS Billing Conductor does not count account %s in the payer's billing family yet (ILLEGAL_ACCOUNTS); AWS does not say how long that takes after a join: retried in every pass, shown as a problem %s after the join",
			w.inv.AccountID, humanDuration(BillingFamilyWait))}
	case IsCode(err, CodeBillingGroupMisconfigured), IsCode(err, CodeAWSAccessDenied):
		link.State = BillingGroupProblem
		link.Problem = &GroupProblem{Code: CodeBillingGroupMisconfigured, Detail: e.Detail}
	default:
		w.failed(err)
		return
	}
	if link.Problem != nil {
		// Since when AWS answers this problem: kept while the answer stays the same.
		link.Problem.Since = now
		if p := w.result.Problem; p != nil && p.Code == link.Problem.Code {
			link.Problem.Since = p.Since
		}
	}
	w.result = link
}

// failed records an association AWS could not be asked for (unavailable): the invite keeps its link to the
// same group as it was, and shows a first association (or one to a new group) pending.
func (w *groupWork) failed(err error) {
	w.err = err
	if cur := w.inv.BillingGroup; cur != nil && cur.ARN == w.to {
		w.result = *cur
	}
}

// accountRefusal reports whether AWS refused a batch because of one (or more) of its accounts.
func accountRefusal(err error) bool {
	return IsCode(err, CodeBillingGroupConflict) || IsCode(err, CodeBillingGroupNotInFamily) || IsCode(err, CodeBillingGroupNotAssociated)
}

func accountsOf(batch []*groupWork) []string {
	out := make([]string, len(batch))
	for i, w := range batch {
		out[i] = w.inv.AccountID
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func sameLink(a, b BillingGroupLink) bool {
	if a.ARN != b.ARN || a.State != b.State || !a.AssociatedAt.Equal(b.AssociatedAt) || (a.Problem == nil) != (b.Problem == nil) {
		return false
	}
	return a.Problem == nil || (a.Problem.Code == b.Problem.Code && a.Problem.Detail == b.Problem.Detail)
}

func groupReason(account string, l BillingGroupLink) string {
	switch l.State {
	case BillingGroupAssociated:
		return fmt.Sprintf("account %s is associated with billing group %s", account, l.ARN)
	case BillingGroupRemoved:
		return fmt.Sprintf("account %s is no longer in billing group %s", account, l.ARN)
	case BillingGroupProblem:
		return fmt.Sprintf("account %s cannot be associated with billing group %s: %s", account, l.ARN, l.Problem.Detail)
	}
	if l.Problem != nil {
		return fmt.Sprintf("account %s waits to be associated with billing group %s: %s", account, l.ARN, l.Problem.Detail)
	}
	return fmt.Sprintf("account %s is to be associated with billing group %s", account, l.ARN)
}
