package invite

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// transferKind are the rules of a billing transfer: the customer's management account hands its organization's
// consolidated bill to the payer from the first day of a month (a TRANSFER_RESPONSIBILITY handshake; the rest of
// its dates and name are checked in transfers.go, its reconciliation is in reconcile_transfers.go).
type transferKind struct{}

func (transferKind) kind() InviteKind { return InviteTransfer }

// checkCreate checks the transfer's start (the first month that can start when not given) and name.
func (transferKind) checkCreate(bp BillingProfile, acct string, in CreateInput, now time.Time) (*Transfer, error) {
	start := in.TransferStart
	if start.IsZero() {
		start = DefaultTransferStart(now)
	}
	name, err := checkTransfer(start, in.TransferName, now, bp)
	if err != nil {
		return nil, err
	}
	return &Transfer{Name: name, StartAt: start, SourceManagementAccountID: acct}, nil
}

// adoptsHandshakes: a transfer handshake is not adopted.
func (transferKind) adoptsHandshakes() bool { return false }

// sendInvitation invites the management account to transfer its organization's consolidated bill to the payer.
func (transferKind) sendInvitation(ctx context.Context, c *core, bp BillingProfile, inv Invite) (Handshake, bool, error) {
	t := inv.Transfer
	if t == nil {
		return Handshake{}, false, Errorf(CodeInternal, "transfer invite %s has no transfer", inv.ID)
	}
	return c.transfers.InviteToTransfer(ctx, bp.Payer(), inv.AccountID, t.Name, t.StartAt, inv.Notes)
}

// listHandshakes lists the payer's TRANSFER_RESPONSIBILITY handshakes.
func (transferKind) listHandshakes(ctx context.Context, c *core, payer Payer, fn func(Handshake) error) error {
	return c.transfers.ListTransferHandshakes(ctx, payer, fn)
}

func (transferKind) sentReason(inv Invite, h Handshake) string {
	return fmt.Sprintf("billing transfer invitation sent as handshake %s (transfer %s, starting %s)", h.ID, h.TransferID,
		inv.Transfer.StartAt.UTC().Format(time.DateOnly))
}

// recordSent gives the transfer the id AWS gave it, and the status requested until AWS says more.
func (transferKind) recordSent(inv Invite, h Handshake) Invite {
	if inv.Transfer == nil {
		return inv
	}
	t := *inv.Transfer
	if h.TransferID != "" {
		t.ID = h.TransferID
	}
	if t.Status == "" {
		t.Status = TransferRequested
	}
	inv.Transfer = &t
	return inv
}

// recordAnswer: the transfer's status follows its handshake's answer (the handshake and the transfer end together).
func (transferKind) recordAnswer(inv Invite, h Handshake) Invite {
	if inv.Transfer == nil {
		return inv
	}
	t := *inv.Transfer
	t.Status = TransferStatus(h.State)
	inv.Transfer = &t
	return inv
}

// confirmsMembership: no account joins; an accepted transfer is in force from its start, when reconciliation
// moves it on.
func (transferKind) confirmsMembership() bool { return false }

// listsMembership: the transfer's account is the customer's management account, a member of its own organization,
// never of the payer's; the transfer ending (withdrawn) is its departure, which reconcileTransfers follows. The
// transferred organization's members cannot be listed by the payer (only their management account may), so a
// member leaving that organization is not a departure the service sees: its usage simply stops appearing in the
// payer's report.
func (transferKind) listsMembership() bool { return false }

// cancelAccepted ends the transfer at the end of the month.
func (transferKind) cancelAccepted(ctx context.Context, s *Invites, p Principal, bp BillingProfile, inv Invite) (Invite, error) {
	return s.endTransfer(ctx, p, bp, inv)
}

// reconciledIn: reconciliation follows a transfer from its send until it ends (a queued one was not sent yet).
func (transferKind) reconciledIn(st State) bool { return st != StateQueued }

func (transferKind) reconcile(ctx context.Context, s *Reconciler, payer Payer, _ pass, invites []Invite, actor Actor) (int, []error) {
	return s.reconcileTransfers(ctx, payer, invites, actor)
}

func (transferKind) invitedNextSteps(inv Invite, now time.Time) []Step {
	return transferInvitedSteps(inv, now)
}

func (transferKind) acceptedNextSteps(inv Invite) []Step { return transferAcceptedSteps(inv) }

// usageOf is the management account's own usage, or else the first seen of the accounts whose line items name it
// as their payer (the accounts of the transferred organization).
func (transferKind) usageOf(inv Invite, usage map[string]CURUsage) (CURUsage, bool) {
	if u, ok := usage[inv.AccountID]; ok {
		return u, ok
	}
	var found CURUsage
	ok := false
	for _, u := range usage {
		if !slices.Contains(u.BillPayers, inv.AccountID) {
			continue
		}
		if !ok || u.FirstSeenAt.Before(found.FirstSeenAt) || (u.FirstSeenAt.Equal(found.FirstSeenAt) && u.AccountID < found.AccountID) {
			found, ok = u, true
		}
	}
	return found, ok
}

// sandboxCURLines are the line items of every account of the transferred organization, naming its management
// account as their payer.
func (transferKind) sandboxCURLines(ctx context.Context, world SandboxWorld, _ BillingProfile, inv Invite, unblendedCost string) ([]CURLine, error) {
	accounts, err := world.Accounts.ListAccountsAs(ctx, inv.AccountID)
	if err != nil {
		return nil, err
	}
	lines := make([]CURLine, 0, len(accounts))
	for _, a := range accounts {
		lines = append(lines, CURLine{AccountID: a.ID, BillPayer: inv.AccountID, UnblendedCost: unblendedCost})
	}
	return lines, nil
}

func (transferKind) storedHandshake(h Handshake, transferID string) Handshake {
	h.Action, h.TransferID = ActionTransfer, transferID
	return h
}

// endTransfer ends an accepted billing transfer at the end of the month, at the reseller's request.
func (s *Invites) endTransfer(ctx context.Context, p Principal, bp BillingProfile, inv Invite) (Invite, error) {
	if inv.Transfer == nil || inv.Transfer.ID == "" {
		return Invite{}, Errorf(CodeInvalidState, "invite %s has no billing transfer to end", inv.ID)
	}
	// The earliest end AWS takes: the end of this month, or of the transfer's first month when it has not started
	// (an end before the start is END_DATE_TOO_EARLY).
	t, err := s.transfers.TerminateTransfer(ctx, bp.Payer(), inv.Transfer.ID, transferEnd(latest(s.now(inv.Payer), inv.Transfer.StartAt)))
	if err != nil {
		return Invite{}, err
	}
	ended := inv
	ended.Transfer = &t
	return s.transition(ctx, ended, StateCanceled, nil, p.Actor(), fmt.Sprintf(
		"the billing transfer %s was ended by the reseller; the payer stops paying the organization's bill at %s", t.ID, t.EndAt.UTC().Format(time.RFC3339)))
}
