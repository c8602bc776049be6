package invite

import (
	"context"
	"fmt"
)

// AccountChange is what the sandbox can make happen to a joined account, as its owner or AWS would.
type AccountChange string

// The account changes the sandbox plays.
const (
	// AccountLeaves: another organization invites the account and its owner accepts; AWS moves it out of the payer's
	// organization at once (possible for member accounts since December 2025).
	AccountLeaves AccountChange = "leave"
	// AccountCloses: the payer's management account closes the account (CloseAccount); AWS suspends it.
	AccountCloses AccountChange = "close"
)

// ChangeAccount plays a change of a joined invite's account in the sandbox's simulated AWS Organizations (it
// leaves for another organization, or it is closed), then reconciles the invite's payer at once, as the periodic
// pass would, and returns the invite as it then stands (departed, or with its account state).
func (s *Sandbox) ChangeAccount(ctx context.Context, p Principal, billingProfileID, inviteID string, change AccountChange) (View, error) {
	bp, inv, err := s.inviteFor(ctx, p, billingProfileID, inviteID, write)
	if err != nil {
		return View{}, err
	}
	if !inv.State.FollowsMembership() || !inv.Kind.rules().listsMembership() {
		return View{}, Errorf(CodeInvalidState, "only a joined invite's account (awaiting_cur, active, cloudhealth_critical; kind join) can leave or be closed; this one is %s", inv.State)
	}
	switch change {
	case AccountLeaves:
		other := otherOrganization(inv.AccountID, bp.ManagementAccountID)
		h, _, err := s.orgs.InviteAccount(ctx, Payer{ManagementAccountID: other}, inv.AccountID, "sandbox: another organization's invitation")
		if err != nil {
			return View{}, err
		}
		if _, err := s.world.Accounts.AcceptHandshakeAs(ctx, inv.AccountID, h.ID); err != nil {
			return View{}, err
		}
	case AccountCloses:
		if err := s.world.Accounts.CloseAccountAs(ctx, bp.Payer(), inv.AccountID); err != nil {
			return View{}, err
		}
	default:
		return View{}, FieldProblem(CodeValidationFailed, "change", "leave or close", fmt.Sprintf("change %q is neither leave nor close", change))
	}
	if _, err := s.reconciler.ReconcilePayer(ctx, bp.ManagementAccountID); err != nil {
		if IsCode(err, CodeAWSUnavailable) {
			return View{}, err
		}
		s.log.WarnContext(ctx, "sandbox: reconciliation incomplete", "payer", bp.ManagementAccountID, "error", err)
	}
	return s.viewOrErr(s.invite(ctx, billingProfileID, inviteID))
}

// otherOrganization is the management account of the organization the sandbox moves an account to: 9990 and the
// account's last eight digits, as the simulator's conventions name another organization (9989 when that is the
// account or the payer itself).
func otherOrganization(accountID, payer string) string {
	other := "9990" + accountID[4:]
	if other == accountID || other == payer {
		other = "9989" + accountID[4:]
	}
	return other
}
