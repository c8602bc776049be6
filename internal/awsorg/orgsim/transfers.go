package orgsim

import (
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// transferType is the one responsibility AWS transfers so far (types.ResponsibilityTransferType).
const transferType = "BILLING"

// acceptNotice is how long before a transfer starts its invitation must be accepted: the billing user guide's
// "Invites must be accepted 24 hours before the billing transfer start date".
const acceptNotice = 24 * time.Hour

var (
	transferIDRE = regexp.MustCompile(`^rt-[0-9a-z]{8,32}$`)
	// printableRE is ResponsibilityTransferName's pattern in the API reference: printable ASCII.
	printableRE = regexp.MustCompile(`^[ -~]+$`)
)

func constraintViolation(reason, format string, args ...any) *apiError {
	return withReason(newError("ConstraintViolationException", format, args...), reason)
}

func checkTransferType(t string) error {
	switch t {
	case "":
		return invalidInput("INPUT_REQUIRED", "You must specify a value for all required parameters: Type.")
	case transferType:
		return nil
	}
	return invalidInput("INVALID_ENUM", "You specified an invalid value for Type: only BILLING is supported.")
}

// inviteToTransfer is InviteOrganizationToTransferResponsibility: the caller, a management account, invites
// another organization's management account (the target of the call, the source of the transfer) to let the
// caller manage and pay its consolidated bill from a start date.
func (c *call) inviteToTransfer(in *transferInviteInput) (any, error) {
	if _, err := c.managedOrg(false); err != nil {
		return nil, err
	}
	if err := checkTransferType(in.Type); err != nil {
		return nil, err
	}
	source, err := targetAccount(in.Target)
	if err != nil {
		return nil, err
	}
	if err := checkSourceName(in.SourceName); err != nil {
		return nil, err
	}
	notes := ""
	if in.Notes != nil {
		notes = *in.Notes
	}
	if utf8.RuneCountInString(notes) > 1024 {
		return nil, invalidInput("MAX_LENGTH_EXCEEDED",
			"You provided a string parameter that is longer than allowed: Notes is at most 1024 characters.")
	}
	if err := screenFreeText(notes + " " + *in.SourceName); err != nil {
		return nil, err
	}
	if in.StartTimestamp == nil {
		return nil, invalidInput("INPUT_REQUIRED", "You must specify a value for all required parameters: StartTimestamp.")
	}
	start := fromEpoch(*in.StartTimestamp)
	if err := c.checkStart(start); err != nil {
		return nil, err
	}
	if sender, err := c.account(c.caller); err != nil {
		return nil, err
	} else if sender.EmailUnverified {
		return nil, newError("AccountOwnerNotVerifiedException",
			"You can't invite an organization until you verify that you own the email address associated with the management account.")
	}
	if source == c.caller {
		return nil, handshakeViolation("SOURCE_AND_TARGET_CANNOT_MATCH",
			"An account can't accept a transfer invitation if it is both the sender and recipient of the invitation.")
	}
	// Both organizations are locked: two payers inviting one source at once must not both succeed.
	if err := lockOrgs(c.tx, c.now, c.caller, source); err != nil {
		return nil, err
	}
	org, err := c.tx.org(c.caller, c.now)
	if err != nil {
		return nil, err
	}
	if err := c.materialize(source); err != nil {
		return nil, err
	}
	if _, described, err := c.described(source); err != nil {
		return nil, err
	} else if c.sim.opts.Conventions && !described && strings.HasPrefix(source, "9997") {
		return nil, constraintViolation("UNSUPPORTED_PRICING", "Ineligible for Billing Transfer. Your organization is "+
			"subject to a pricing agreement with Amazon Web Services that Billing Transfer does not support.")
	}
	if err := c.refuseDuplicate(actionTransfer, source); err != nil {
		return nil, err
	}
	if err := c.refuseSecondTransfer(source, start); err != nil {
		return nil, err
	}
	tid, err := newID("rt-")
	if err != nil {
		return nil, err
	}
	hid, err := newID("h-")
	if err != nil {
		return nil, err
	}
	// The invitation lives 15 days, but not past the last moment it can be accepted.
	expires := c.now.Add(handshakeLifetime)
	if latest := start.Add(-acceptNotice); latest.Before(expires) {
		expires = latest
	}
	r := transfer{ID: tid, Name: *in.SourceName, Type: transferType, SourceID: source, TargetID: c.caller, Status: "REQUESTED",
		HandshakeID: hid, StartAt: start, ExpiresAt: expires, CreatedAt: c.now}
	if err := c.tx.insertTransfer(&r); err != nil {
		return nil, err
	}
	h := handshake{ID: hid, Action: actionTransfer, MgmtID: c.caller, OrgID: org.ID, AccountID: source, Notes: notes,
		State: "OPEN", RequestedAt: c.now, Expires: expires, TransferID: tid, TransferStart: start}
	if err := c.tx.insertHandshake(&h); err != nil {
		return nil, err
	}
	if err := c.tx.purge(c.caller, c.now, purgeBatch); err != nil {
		return nil, err
	}
	return c.answer(h)
}

// checkSourceName checks the transfer's name as ResponsibilityTransferName constrains it: 1 to 128 printable
// ASCII characters.
func checkSourceName(name *string) error {
	switch {
	case name == nil:
		return invalidInput("INPUT_REQUIRED", "You must specify a value for all required parameters: SourceName.")
	case *name == "":
		return invalidInput("MIN_LENGTH_EXCEEDED",
			"You provided a string parameter that is shorter than allowed: SourceName is at least 1 character.")
	case utf8.RuneCountInString(*name) > 128:
		return invalidInput("MAX_LENGTH_EXCEEDED",
			"You provided a string parameter that is longer than allowed: SourceName is at most 128 characters.")
	case !printableRE.MatchString(*name):
		return invalidInput("INVALID_PATTERN",
			"You provided a value that does not match the required pattern: SourceName is printable ASCII.")
	}
	return nil
}

// checkStart checks a transfer's start as the InvalidInputException reasons describe it: the beginning of a day
// (00:00:00.000 UTC), the first day of a month, and far enough ahead that the invitation can still be accepted
// 24 hours before it. AWS documents START_DATE_TOO_LATE without saying how late; the simulator sets no bound.
func (c *call) checkStart(start time.Time) error {
	h, m, s := start.Clock()
	switch {
	case h != 0 || m != 0 || s != 0 || start.Nanosecond() != 0:
		return invalidInput("START_DATE_NOT_BEGINNING_OF_DAY",
			"You provided an invalid start date. The start date must be the beginning of the day (00:00:00.000).")
	case start.Day() != 1:
		return invalidInput("START_DATE_NOT_BEGINNING_OF_MONTH",
			"You provided an invalid start date. The start date must be the first day of the month.")
	case !start.After(c.now.Add(acceptNotice)):
		return invalidInput("START_DATE_TOO_EARLY", "You provided an invalid start date. The start date is too early.")
	}
	return nil
}

// refuseSecondTransfer fails while the source has another transfer pending, in force, or withdrawn but still in
// force at start: an organization's bill has one bill-transfer account at a time. (The caller's own pending
// invitation of the source is DuplicateHandshakeException, found first.)
func (c *call) refuseSecondTransfer(source string, start time.Time) error {
	live, err := c.tx.liveTransfers(source, start)
	if err != nil {
		return err
	}
	for _, r := range live {
		if st := r.at(c.now).Status; st == "REQUESTED" || st == "ACCEPTED" || st == "WITHDRAWN" {
			return handshakeViolation("RESPONSIBILITY_TRANSFER_ALREADY_EXISTS",
				"You cannot perform this operation with the current transfer: the organization has a billing transfer pending or in force.")
		}
	}
	return nil
}

// settleTransfer reflects a transfer handshake's end on its transfer: ACCEPTED, DECLINED, CANCELED or EXPIRED.
func (c *call) settleTransfer(h handshake) error {
	if h.Action != actionTransfer || h.State == "OPEN" {
		return nil
	}
	r, ok, err := c.tx.transfer(h.TransferID)
	if err != nil || !ok || r.Status != "REQUESTED" {
		return err
	}
	r.Status = h.State
	return c.tx.updateTransfer(r)
}

// visibleTransfer returns a transfer the caller takes part in, as it stands now; others do not exist as far as the
// caller can tell.
func (c *call) visibleTransfer(id string) (transfer, error) {
	if !transferIDRE.MatchString(id) {
		return transfer{}, invalidInput("INVALID_PATTERN",
			"You provided a value that does not match the required pattern: a transfer id is rt- and 8 to 32 lowercase letters or digits.")
	}
	r, ok, err := c.tx.transfer(id)
	if err != nil {
		return transfer{}, err
	}
	if !ok || (c.caller != r.SourceID && c.caller != r.TargetID) {
		return transfer{}, newError("ResponsibilityTransferNotFoundException", "We can't find a transfer that you specified.")
	}
	return r.at(c.now), nil
}

func (c *call) describeTransfer(id string) (any, error) {
	r, err := c.visibleTransfer(id)
	if err != nil {
		return nil, err
	}
	return c.answerTransfer(r)
}

// listTransfers is ListInboundResponsibilityTransfers (side "target": the transfers the caller manages) and
// ListOutboundResponsibilityTransfers (side "source": the transfers of the caller's own organization), each
// "both transfer invitations and transfers", in creation order.
func (c *call) listTransfers(side string, in *transferListInput) (any, error) {
	org, err := c.managedOrg(false)
	if err != nil {
		return nil, err
	}
	if err := checkTransferType(in.Type); err != nil {
		return nil, err
	}
	max, err := maxResults(in.MaxResults)
	if err != nil {
		return nil, err
	}
	scope := org.ID + ":" + side
	after, err := afterToken(in.NextToken, scope)
	if err != nil {
		return nil, err
	}
	page := []wireTransfer{}
	out := map[string]any{}
	if in.Id != nil {
		// A filter by id answers that one transfer, when it is on the caller's side of the list.
		r, err := c.visibleTransfer(*in.Id)
		if err != nil {
			return nil, err
		}
		if (side == "target" && r.TargetID != c.caller) || (side == "source" && r.SourceID != c.caller) {
			return nil, newError("ResponsibilityTransferNotFoundException", "We can't find a transfer that you specified.")
		}
		w, err := c.wireTransfer(r)
		if err != nil {
			return nil, err
		}
		out["ResponsibilityTransfers"] = append(page, w)
		return out, nil
	}
	rs, err := c.tx.listTransfers(side, c.caller, after, max+1)
	if err != nil {
		return nil, err
	}
	if len(rs) > max {
		rs = rs[:max]
		out["NextToken"] = makeToken(scope, rs[max-1].Seq)
	}
	for _, r := range rs {
		w, err := c.wireTransfer(r.at(c.now))
		if err != nil {
			return nil, err
		}
		page = append(page, w)
	}
	out["ResponsibilityTransfers"] = page
	return out, nil
}

// terminateTransfer is TerminateResponsibilityTransfer. The billing user guide ("Withdrawing transfers") says
// either account in a transfer can withdraw it at any time, that it continues until its end date, 23:59:59 UTC on
// the last day of a month, and that a withdrawn transfer cannot be undone; the transfer's status is then WITHDRAWN
// ("Transfer has been withdrawn. The transfer ends on the end date."), whichever side withdrew it. Without an end,
// the transfer ends with the month it is in force in (the current one, or its first month when it has not
// started). Only an accepted transfer ends this way: an invitation is canceled or declined through its handshake.
func (c *call) terminateTransfer(in *transferInput) (any, error) {
	r, err := c.visibleTransfer(in.Id)
	if err != nil {
		return nil, err
	}
	if err := lockOrgs(c.tx, c.now, r.SourceID, r.TargetID); err != nil {
		return nil, err
	}
	if r, err = c.visibleTransfer(in.Id); err != nil {
		return nil, err
	}
	switch r.Status {
	case "WITHDRAWN":
		return nil, newError("ResponsibilityTransferAlreadyInStatusException",
			"The responsibility transfer is already in the status that you specified (WITHDRAWN).")
	case "ACCEPTED":
	default:
		return nil, newError("InvalidResponsibilityTransferTransitionException",
			"The responsibility transfer can't transition to the requested state because it's not in a valid state for this operation (%s).", r.Status)
	}
	end := endOfMonth(later(c.now, r.StartAt))
	if in.EndTimestamp != nil {
		end = fromEpoch(*in.EndTimestamp)
		switch {
		case !end.Equal(endOfMonth(end)):
			return nil, invalidInput("END_DATE_NOT_END_OF_MONTH",
				"You provided an invalid end date. The end date must be the end of the last day of the month (23.59.59.999).")
		case end.Before(c.now) || end.Before(r.StartAt):
			return nil, invalidInput("END_DATE_TOO_EARLY", "You provided an invalid end date. The end date is too early.")
		}
	}
	r.Status, r.EndAt = "WITHDRAWN", end
	if err := c.tx.updateTransfer(r); err != nil {
		return nil, err
	}
	return c.answerTransfer(r)
}

// endOfMonth is the last millisecond of t's month in UTC, the end AWS wants for a transfer.
func endOfMonth(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, 1, 0).Add(-time.Millisecond)
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func (c *call) answerTransfer(r transfer) (any, error) {
	w, err := c.wireTransfer(r)
	if err != nil {
		return nil, err
	}
	return map[string]any{"ResponsibilityTransfer": w}, nil
}

// wireTransfer renders a transfer as the caller sees it. Its ARN is the caller's, as the API reference's pattern
// for ResponsibilityTransfer.Arn has it (arn:aws:organizations::<account>:transfer/o-<org>/billing/inbound|outbound/
// rt-...): inbound for the target, outbound for the source.
func (c *call) wireTransfer(r transfer) (wireTransfer, error) {
	sourceEmail, err := c.email(r.SourceID)
	if err != nil {
		return wireTransfer{}, err
	}
	targetEmail, err := c.email(r.TargetID)
	if err != nil {
		return wireTransfer{}, err
	}
	direction := "outbound"
	if c.caller == r.TargetID {
		direction = "inbound"
	}
	w := wireTransfer{
		Arn:               "arn:aws:organizations::" + c.caller + ":transfer/" + orgIDFor(c.caller) + "/billing/" + direction + "/" + r.ID,
		Name:              r.Name,
		Id:                r.ID,
		Type:              r.Type,
		Status:            r.Status,
		Source:            wireParticipant{ManagementAccountId: r.SourceID, ManagementAccountEmail: sourceEmail},
		Target:            wireParticipant{ManagementAccountId: r.TargetID, ManagementAccountEmail: targetEmail},
		StartTimestamp:    epoch(r.StartAt),
		ActiveHandshakeId: r.HandshakeID,
	}
	if !r.EndAt.IsZero() {
		end := epoch(r.EndAt)
		w.EndTimestamp = &end
	}
	return w, nil
}
