package invite

import (
	"context"
	"fmt"
	"time"
)

// MembershipSettle is how long after an account joined its absence from the payer's account list is confirmed
// with DescribeAccount (the call that confirmed the join) before it is taken for a departure. AWS Organizations is
// eventually consistent (its documentation warns that changes take time to be visible everywhere): a list read
// moments after the join may not show the account yet. The figure is ours, not AWS's; it costs one call per
// recently joined account missing from the list, never one per invite.
const MembershipSettle = 10 * time.Minute

// reconcileMembership checks the payer's joined invites against the payer's list of accounts, read once per pass
// (ListAccounts, one call per page of 20 accounts, only when the payer has joined invites whose kind is checked):
// an account no longer listed has departed (state departed, invite.departed); a listed one whose AWS state changed
// (suspended, closing, closed, active again) is noted (invite.account_state_changed). It returns the invites it
// changed in state or account state. Nothing is concluded from a list that could not be read whole.
func (s *Reconciler) reconcileMembership(ctx context.Context, payer Payer, held []Invite, actor Actor, rep *ReconcileReport) (changed int, errs []error) {
	var joined []Invite
	for _, inv := range held {
		if inv.State.FollowsMembership() && inv.Kind.rules().listsMembership() {
			joined = append(joined, inv)
		}
	}
	if len(joined) == 0 {
		return 0, nil
	}
	accounts := map[string]Account{}
	err := s.orgs.ListAccounts(ctx, payer, func(a Account) error {
		accounts[a.ID] = a
		return nil
	})
	if err != nil {
		return 0, []error{fmt.Errorf("listing the accounts of the payer's organization: %w", err)}
	}
	rep.Accounts = len(accounts)
	for _, inv := range joined {
		after, err := s.applyMembership(ctx, payer, inv, accounts, actor)
		switch {
		case IsCode(err, CodeConcurrentUpdate):
			// Changed meanwhile (CloudHealth, the CUR, a user); the next pass looks again.
		case err != nil:
			errs = append(errs, fmt.Errorf("invite %s: %w", inv.ID, err))
		case after.Version != inv.Version && !firstLookActive(inv, after):
			changed++
			if after.State == StateDeparted {
				rep.Departed++
			}
		}
	}
	return changed, errs
}

// applyMembership applies what the payer's account list says about one joined invite's account.
func (s *Reconciler) applyMembership(ctx context.Context, payer Payer, inv Invite, accounts map[string]Account, actor Actor) (Invite, error) {
	now := s.now(inv.Payer)
	acct, listed := accounts[inv.AccountID]
	if !listed {
		if inv.JoinedAt != nil && now.Sub(*inv.JoinedAt) < MembershipSettle {
			switch _, err := s.orgs.DescribeAccount(ctx, payer, inv.AccountID); {
			case err == nil:
				return inv, nil // a member the list does not show yet
			case !IsCode(err, CodeNotFound):
				return inv, err
			}
		}
		d := &Departure{NoticedAt: now, LastAccountState: inv.AccountState}
		how := "no longer lists it: it left, was removed, or accepted another organization's invitation, which moves it at once"
		if inv.AccountClosing() {
			// AWS removes a closed account from its organization 90 days after the closure (CloseAccount's
			// documentation: AccountDepartedOrganization with departureMethod CLEANED); an account last seen
			// closing or closed and now gone departed that way.
			d.Method = DepartureCleaned
			how = fmt.Sprintf("no longer lists it: it was %s, and AWS removes a closed account from its organization 90 days after the closure", inv.AccountState)
		}
		departed := inv
		departed.Departure = d
		return s.transition(ctx, departed, StateDeparted, nil, actor, fmt.Sprintf(
			"account %s is no longer a member of the payer organization %s: AWS's account list %s", inv.AccountID, inv.Payer, how))
	}
	if acct.State == "" || acct.State == inv.AccountState {
		return inv, nil
	}
	was := inv.AccountState
	inv.AccountState = acct.State
	if firstLookActive(Invite{State: inv.State, AccountState: was}, inv) {
		return s.save(ctx, inv, Event{}) // the first look at an active account is no news
	}
	if was == "" {
		was = AccountActive // the account joined active (AWS lists only active accounts as joining)
	}
	reason := fmt.Sprintf("AWS reports account %s as %s (it was %s)", inv.AccountID, acct.State, was)
	if inv.AccountClosing() {
		reason += ": a closed account has no new usage, so no new billing data is expected for it"
	}
	return s.note(ctx, inv, EventAccountState, actor, reason)
}

// firstLookActive reports whether the only change is the first recording of an active account's state: kept
// quietly, and not counted as a change.
func firstLookActive(before, after Invite) bool {
	return before.AccountState == "" && after.AccountState == AccountActive && after.State == before.State
}
