package invite

import (
	"context"
	"fmt"
	"time"
)

// Rules of billing transfers, as AWS's billing user guide gives them: a transfer starts at 00:00 UTC on the first
// day of a month, more than a day ahead; its invitation must be accepted at least a day before the start (and at
// the latest after 15 days, as every handshake); it ends at the end of a month.
const (
	// TransferLeadTime is how long before its start a transfer must be accepted (and how far ahead it must start).
	TransferLeadTime = 24 * time.Hour
	// MaxTransferAhead bounds how far ahead a transfer may be set to start.
	MaxTransferAhead = 366 * 24 * time.Hour
	// MaxTransferName is the longest transfer name AWS accepts (printable ASCII).
	MaxTransferName = 128
)

// DefaultTransferStart is the first day of the next month that starts more than TransferLeadTime after now.
func DefaultTransferStart(now time.Time) time.Time {
	start := periodStart(now).AddDate(0, 1, 0)
	if !start.After(now.Add(TransferLeadTime)) {
		start = start.AddDate(0, 1, 0)
	}
	return start
}

// transferEnd is when a transfer ended at now ends: at the end of the month (the start of the next one).
func transferEnd(now time.Time) time.Time { return periodStart(now).AddDate(0, 1, 0) }

// checkTransfer validates a transfer's start and name, and returns the name to send.
func checkTransfer(start time.Time, name string, now time.Time, bp BillingProfile) (string, error) {
	bad := func(field, msg string) error {
		return &Error{Code: CodeValidationFailed, Detail: field + ": " + msg, Fields: []FieldError{{Field: field, Message: msg}}}
	}
	switch {
	case !start.Equal(periodStart(start)):
		return "", bad("transferStart", fmt.Sprintf("a billing transfer starts on the first day of a month (00:00 UTC); %s is not one",
			start.UTC().Format(time.DateOnly)))
	case !start.After(now.Add(TransferLeadTime)):
		return "", bad("transferStart", fmt.Sprintf("a billing transfer must start more than 24 hours ahead; the earliest start is %s",
			DefaultTransferStart(now).Format(time.DateOnly)))
	case start.After(now.Add(MaxTransferAhead)):
		return "", bad("transferStart", "a billing transfer starts within the next 12 months")
	}
	if name == "" {
		name = asciiName("Billing transfer to " + bp.Name)
	}
	return name, ValidateTransferName(name)
}

// ValidateTransferName checks a billing transfer's name as AWS does: 1 to 128 printable ASCII characters.
func ValidateTransferName(name string) error {
	bad := func(msg string) error {
		return &Error{Code: CodeValidationFailed, Detail: "transferName: " + msg, Fields: []FieldError{{Field: "transferName", Message: msg}}}
	}
	if name == "" || len(name) > MaxTransferName {
		return bad(fmt.Sprintf("1 to %d characters", MaxTransferName))
	}
	for _, r := range name {
		if r < 0x20 || r > 0x7e {
			return bad(fmt.Sprintf("printable ASCII characters only; %q is not one", r))
		}
	}
	return nil
}

// asciiName keeps the printable ASCII of a default name, within AWS's limit.
func asciiName(s string) string {
	out := make([]rune, 0, len(s))
	for _, r := range s {
		if r >= 0x20 && r <= 0x7e {
			out = append(out, r)
		}
	}
	if len(out) > MaxTransferName {
		out = out[:MaxTransferName]
	}
	return string(out)
}

// endTransfer ends an accepted billing transfer at the end of the month, at the reseller's request.
func (s *Invites) endTransfer(ctx context.Context, p Principal, bp BillingProfile, inv Invite) (Invite, error) {
	if inv.Transfer == nil || inv.Transfer.ID == "" {
		return Invite{}, Errorf(CodeInvalidState, "invite %s has no billing transfer to end", inv.ID)
	}
	t, err := s.transfers.TerminateTransfer(ctx, bp.Payer(), inv.Transfer.ID, transferEnd(s.clock.Now()))
	if err != nil {
		return Invite{}, err
	}
	ended := inv
	ended.Transfer = &t
	return s.transition(ctx, ended, StateCanceled, nil, p.Actor(), fmt.Sprintf(
		"the billing transfer %s was ended by the reseller; the payer stops paying the organization's bill at %s", t.ID, t.EndAt.UTC().Format(time.RFC3339)))
}

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
	if _, inFlight := inv.SendInFlight(s.clock.Now()); inFlight || inv.Transfer == nil || inv.Transfer.ID == "" {
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
	now := s.clock.Now()
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
