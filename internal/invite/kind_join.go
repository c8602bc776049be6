package invite

import (
	"context"
	"time"
)

// joinKind are the rules of a join: an invitation (an INVITE handshake) for one account to join the payer's
// organization.
type joinKind struct{}

func (joinKind) kind() InviteKind { return InviteJoin }

// checkCreate refuses a billing transfer's start or name: a join keeps no record of its own.
func (joinKind) checkCreate(_ BillingProfile, _ string, in CreateInput, _ time.Time) (*Transfer, error) {
	if !in.TransferStart.IsZero() || in.TransferName != "" {
		return nil, FieldProblem(CodeValidationFailed, "kind", "give kind billing_transfer with transferStart or transferName",
			"transferStart and transferName are for kind billing_transfer")
	}
	return nil, nil
}

// adoptsHandshakes: an open INVITE handshake sent from the console or by another tool can be adopted.
func (joinKind) adoptsHandshakes() bool { return true }

// sendInvitation invites the account to join the payer's organization.
func (joinKind) sendInvitation(ctx context.Context, c *core, bp BillingProfile, inv Invite) (Handshake, bool, error) {
	return c.orgs.InviteAccount(ctx, bp.Payer(), inv.AccountID, inv.Notes)
}

// listHandshakes lists the payer's INVITE handshakes.
func (joinKind) listHandshakes(ctx context.Context, c *core, payer Payer, fn func(Handshake) error) error {
	return c.orgs.ListInviteHandshakes(ctx, payer, fn)
}

func (joinKind) sentReason(_ Invite, h Handshake) string {
	return "invitation sent as handshake " + h.ID
}

// recordSent keeps nothing: a join's only record is its handshake.
func (joinKind) recordSent(inv Invite, _ Handshake) Invite { return inv }

// recordAnswer keeps nothing: a join's only record is its handshake.
func (joinKind) recordAnswer(inv Invite, _ Handshake) Invite { return inv }

// confirmsMembership: an accepted join moves on once AWS lists the account as a member.
func (joinKind) confirmsMembership() bool { return true }

// listsMembership: a joined account is a member of the payer's organization until it departs.
func (joinKind) listsMembership() bool { return true }

// cancelAccepted refuses: only an invitation still open can be canceled.
func (joinKind) cancelAccepted(_ context.Context, _ *Invites, _ Principal, _ BillingProfile, inv Invite) (Invite, error) {
	return Invite{}, notCancelable(inv)
}

// reconciledIn: reconciliation follows a join until its account joined.
func (joinKind) reconciledIn(st State) bool { return st.FollowsAWS() }

func (joinKind) reconcile(ctx context.Context, s *Reconciler, _ Payer, ps pass, invites []Invite, actor Actor) (int, []error) {
	return s.reconcileJoins(ctx, invites, ps, actor)
}

func (joinKind) invitedNextSteps(inv Invite, now time.Time) []Step { return invitedSteps(inv, now) }

func (joinKind) acceptedNextSteps(Invite) []Step { return membershipSteps() }

// usageOf is the account's own usage.
func (joinKind) usageOf(inv Invite, usage map[string]CURUsage) (CURUsage, bool) {
	u, ok := usage[inv.AccountID]
	return u, ok
}

// sandboxCURLines are the account's line items, billed to the payer.
func (joinKind) sandboxCURLines(_ context.Context, _ SandboxWorld, bp BillingProfile, inv Invite, unblendedCost string) ([]CURLine, error) {
	return []CURLine{{AccountID: inv.AccountID, BillPayer: bp.ManagementAccountID, UnblendedCost: unblendedCost}}, nil
}

func (joinKind) storedHandshake(h Handshake, _ string) Handshake {
	h.Action = ActionInvite
	return h
}
