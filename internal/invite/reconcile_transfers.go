package invite

import (
	"context"
	"fmt"
	"time"
)

// reconcileTransfers applies what AWS says about a payer's billing transfers to its transfer invites: the
// handshakes (accepted, declined, canceled, expired), the transfers (in force once their start passed, withdrawn
// by the customer, ended). It costs one listing of the payer's transfer handshakes and one of its inbound
// transfers, all pages, plus a DescribeResponsibilityTransfer per transfer AWS no longer lists.
func (s *Reconciler) reconcileTransfers(ctx context.Context, payer Payer, invites []Invite, actor Actor) (changed int, errs []error) {
	if len(invites) == 0 {
		return 0, nil
	}
	handshakes := map[string]Handshake{}
	if err := s.transfers.ListTransferHandshakes(ctx, payer, func(h Handshake) error {
		handshakes[h.ID] = h
		return nil
	}); err != nil {
		return 0, []error{err}
	}
	transfers := map[string]Transfer{}
	if err := s.transfers.ListInboundTransfers(ctx, payer, func(t Transfer) error {
		transfers[t.ID] = t
		return nil
	}); err != nil {
		return 0, []error{err}
	}
	for _, inv := range invites {
		after, err := s.reconcileTransfer(ctx, payer, inv, handshakes, transfers, actor)
		switch {
		case IsCode(err, CodeConcurrentUpdate):
		case err != nil:
			errs = append(errs, fmt.Errorf("invite %s: %w", inv.ID, err))
		case after.State != inv.State:
			changed++
		}
	}
	return changed, errs
}

func (s *Reconciler) reconcileTransfer(ctx context.Context, payer Payer, inv Invite, handshakes map[string]Handshake,
	transfers map[string]Transfer, actor Actor) (Invite, error) {
	if _, inFlight := inv.SendInFlight(s.now(inv.Payer)); inFlight || inv.Transfer == nil || inv.Transfer.ID == "" {
		return inv, nil // its send is under way (or never reached AWS: a re-entry resumes it)
	}
	t, listed := transfers[inv.Transfer.ID]
	if !listed {
		var err error
		if t, err = s.transfers.DescribeTransfer(ctx, payer, inv.Transfer.ID); err != nil {
			return inv, err
		}
	}
	if inv.State == StateInvited {
		if h, ok := handshakes[handshakeID(inv)]; ok {
			after, err := s.observe(ctx, withTransfer(inv, t), h, actor)
			if err != nil || after.State != StateAccepted {
				return after, err
			}
			return s.advanceTransfer(ctx, after, t, actor)
		}
		switch t.Status {
		case TransferAccepted:
			inv, err := s.transition(ctx, withTransfer(inv, t), StateAccepted, nil, actor, "AWS reports the billing transfer "+t.ID+" accepted")
			if err != nil {
				return inv, err
			}
			return s.advanceTransfer(ctx, inv, t, actor)
		case TransferDeclined, TransferExpired, TransferCanceled, TransferWithdrawn:
			return s.transition(ctx, withTransfer(inv, t), stateForTransfer(t.Status), nil, actor,
				"AWS reports the billing transfer "+t.ID+" "+string(t.Status))
		}
		return s.refreshTransfer(ctx, inv, t)
	}
	return s.advanceTransfer(ctx, inv, t, actor)
}

// advanceTransfer moves an accepted transfer invite on: in force once its start passed (awaiting CUR data, as a
// joined account), over when the customer withdrew it or it ended.
func (s *Reconciler) advanceTransfer(ctx context.Context, inv Invite, t Transfer, actor Actor) (Invite, error) {
	now := s.now(inv.Payer)
	inv = withTransfer(inv, t)
	switch {
	case t.Status == TransferWithdrawn || (!t.EndAt.IsZero() && !now.Before(t.EndAt)):
		why := "withdrawn (by the customer, or outside this service)"
		if t.Status != TransferWithdrawn {
			why = "ended"
		}
		return s.transition(ctx, inv, StateCanceled, nil, actor, fmt.Sprintf("the billing transfer %s was %s; the payer pays the organization's bill until %s",
			t.ID, why, t.EndAt.UTC().Format(time.RFC3339)))
	case inv.State == StateAccepted && t.Status == TransferAccepted && !now.Before(t.StartAt):
		start := t.StartAt
		inv.JoinedAt = &start
		return s.transition(ctx, inv, StateAwaitingCUR, nil, actor, fmt.Sprintf(
			"the billing transfer %s is in force since %s: the payer pays the organization's consolidated bill", t.ID, t.StartAt.UTC().Format(time.RFC3339)))
	}
	return s.refreshTransfer(ctx, inv, t)
}

// refreshTransfer stores a changed transfer without an event (no state change).
func (s *Reconciler) refreshTransfer(ctx context.Context, inv Invite, t Transfer) (Invite, error) {
	before := inv.Transfer
	inv = withTransfer(inv, t)
	if before != nil && sameTransfer(*before, *inv.Transfer) {
		return inv, nil
	}
	return s.save(ctx, inv, Event{})
}

func sameTransfer(a, b Transfer) bool {
	return a.ID == b.ID && a.Status == b.Status && a.Name == b.Name && a.StartAt.Equal(b.StartAt) && a.EndAt.Equal(b.EndAt)
}

// withTransfer keeps what AWS says of an invite's transfer.
func withTransfer(inv Invite, t Transfer) Invite {
	cur := Transfer{}
	if inv.Transfer != nil {
		cur = *inv.Transfer
	}
	cur.ID, cur.Status = t.ID, t.Status
	if !t.StartAt.IsZero() {
		cur.StartAt = t.StartAt
	}
	cur.EndAt = t.EndAt
	if t.Name != "" {
		cur.Name = t.Name
	}
	cur.SourceManagementAccountID = inv.AccountID
	inv.Transfer = &cur
	return inv
}

// stateForTransfer is the terminal state a transfer invite takes when AWS reports its transfer over before it
// was in force.
func stateForTransfer(s TransferStatus) State {
	switch s {
	case TransferDeclined:
		return StateDeclined
	case TransferExpired:
		return StateExpired
	}
	return StateCanceled
}
