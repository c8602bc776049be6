package invite

import (
	"context"
	"fmt"
	"time"
)

// kindRules are what a kind of invite does its own way (kind_join.go, kind_transfer.go). The rest of the domain
// is the same for every kind and asks the invite's kind through these rules instead of comparing kinds.
type kindRules interface {
	// kind is the kind these rules are of.
	kind() InviteKind
	// checkCreate validates what a create gives for this kind besides the account and notes, and returns the
	// kind's own record of the new invite (a billing transfer's start and name), nil when it keeps none.
	checkCreate(bp BillingProfile, acct string, in CreateInput, now time.Time) (*Transfer, error)
	// adoptsHandshakes reports whether an open handshake of this kind sent outside the service can be adopted.
	adoptsHandshakes() bool
	// sendInvitation sends the invite's invitation; adopted when AWS answers with an open one it already holds.
	sendInvitation(ctx context.Context, c *core, bp BillingProfile, inv Invite) (h Handshake, adopted bool, err error)
	// listHandshakes calls fn for every handshake of this kind that AWS lists for the payer.
	listHandshakes(ctx context.Context, c *core, payer Payer, fn func(Handshake) error) error
	// sentReason is the history line of an invite whose first invitation went out as h.
	sentReason(inv Invite, h Handshake) string
	// recordSent keeps in the kind's own record of the invite what the handshake its invitation went out as says.
	recordSent(inv Invite, h Handshake) Invite
	// recordAnswer keeps in the kind's own record of the invite the answer of its ended handshake h.
	recordAnswer(inv Invite, h Handshake) Invite
	// confirmsMembership reports whether an accepted invite moves on once AWS lists its account as a member.
	confirmsMembership() bool
	// listsMembership reports whether a joined invite of this kind is checked against the payer's account list
	// (departures, account states).
	listsMembership() bool
	// cancelAccepted is what a cancel does to an invite past its invitation (accepted or later) that still holds
	// its account.
	cancelAccepted(ctx context.Context, s *Invites, p Principal, bp BillingProfile, inv Invite) (Invite, error)
	// reconciledIn reports whether reconciliation follows an invite of this kind that holds its account in state st.
	reconciledIn(st State) bool
	// reconcile applies what AWS says to the payer's invites of this kind that reconciliation follows.
	reconcile(ctx context.Context, s *Reconciler, payer Payer, ps pass, invites []Invite, actor Actor) (changed int, errs []error)
	// invitedNextSteps are the next steps of an invite in state invited.
	invitedNextSteps(inv Invite, now time.Time) []Step
	// acceptedNextSteps are the next steps of an invite in state accepted.
	acceptedNextSteps(inv Invite) []Step
	// usageOf is what the payer's report says about the invite, among its usage per account.
	usageOf(inv Invite, usage map[string]CURUsage) (CURUsage, bool)
	// sandboxCURLines are the line items the sandbox delivers for the invite, each with unblendedCost.
	sandboxCURLines(ctx context.Context, world SandboxWorld, bp BillingProfile, inv Invite, unblendedCost string) ([]CURLine, error)
	// storedHandshake completes a handshake kept with an invite of this kind: its action, and for a billing
	// transfer the transfer it is about (transferID, kept with the invite).
	storedHandshake(h Handshake, transferID string) Handshake
}

// inviteKinds are the rules of every kind of invite, in the order reconciliation follows them.
var inviteKinds = []kindRules{joinKind{}, transferKind{}}

// rulesFor finds the rules of a kind a client gave (join when unset); CodeValidationFailed for an unknown one.
func rulesFor(k InviteKind) (kindRules, error) {
	for _, r := range inviteKinds {
		if r.kind() == k.OrJoin() {
			return r, nil
		}
	}
	return nil, FieldProblem(CodeValidationFailed, "kind", "join or billing_transfer", fmt.Sprintf("kind %q is neither join nor billing_transfer", k))
}

// rules are the rules of a stored invite's kind: join when unset (invites from before kinds existed) or unknown
// (Create refuses unknown kinds).
func (k InviteKind) rules() kindRules {
	r, err := rulesFor(k)
	if err != nil {
		return joinKind{}
	}
	return r
}

// StoredHandshake completes a handshake kept with an invite of this kind: its action, and for a billing transfer
// the transfer it is about (transferID, kept with the invite).
func (k InviteKind) StoredHandshake(h Handshake, transferID string) Handshake {
	return k.rules().storedHandshake(h, transferID)
}
