package awsorg

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/organizations/types"

	"github.com/cloudreseller/aws-invites/internal/invite"
)

var _ invite.Transfers = (*Client)(nil)

var (
	accountIDRE = regexp.MustCompile(`^\d{12}$`)
	// printableRE is the pattern of a transfer's name (ResponsibilityTransferName): printable ASCII.
	printableRE = regexp.MustCompile(`^[ -~]+$`)
)

// InviteToTransfer invites a customer's management account to transfer responsibility for its organization's
// consolidated bill to the payer from start. When AWS already has an open transfer invitation of that account from
// the payer (sent earlier, perhaps by a request whose answer was lost) that one is returned, adopted.
func (c *Client) InviteToTransfer(ctx context.Context, payer invite.Payer, managementAccountID, sourceName string, start time.Time, notes string) (invite.Handshake, bool, error) {
	in := &organizations.InviteOrganizationToTransferResponsibilityInput{
		Type:           types.ResponsibilityTransferTypeBilling,
		Target:         &types.HandshakeParty{Id: aws.String(managementAccountID), Type: types.HandshakePartyTypeAccount},
		SourceName:     aws.String(sourceName),
		StartTimestamp: aws.Time(start.UTC()),
	}
	if notes != "" {
		in.Notes = aws.String(notes)
	}
	out, err := c.org(payer).InviteOrganizationToTransferResponsibility(ctx, in)
	if err == nil {
		return handshakeOf(out.Handshake), false, nil
	}
	var dup *types.DuplicateHandshakeException
	if errors.As(err, &dup) {
		h, adoptErr := c.openHandshake(ctx, payer, types.ActionTypeTransferResponsibility, managementAccountID, "a billing transfer invitation")
		if adoptErr != nil {
			return invite.Handshake{}, false, adoptErr
		}
		return h, true, nil
	}
	return invite.Handshake{}, false, transferInviteError(err, managementAccountID, sourceName, notes, c.opts.RetryAfter)
}

// transferInviteError maps a refused transfer invitation. AWS gives the same InvalidInputException reason for
// several members (INVALID_PATTERN for the account id or the name, MAX_LENGTH_EXCEEDED for the name or the
// notes), so the request tells which one it was.
func transferInviteError(err error, accountID, name, notes string, unavailableAfter time.Duration) *invite.Error {
	e := mapError(opTransfer, err, unavailableAfter)
	var ii *types.InvalidInputException
	if !errors.As(err, &ii) {
		return e
	}
	badID := !accountIDRE.MatchString(accountID)
	badName := func() {
		e.Code, e.Detail = invite.CodeTransferNameInvalid, "The billing transfer's name (the customer's organization as "+
			"the payer will see it) must be 1 to 128 printable ASCII characters: letters, digits, spaces and punctuation, "+
			"without accents or line breaks."
	}
	switch ii.Reason {
	case types.InvalidInputExceptionReasonInvalidPatternTargetId:
		e.Code, e.Detail = invite.CodeInvalidAccountID, "The AWS account id must be 12 digits."
	case types.InvalidInputExceptionReasonInvalidPattern:
		switch {
		case badID:
			e.Code, e.Detail = invite.CodeInvalidAccountID, "The AWS account id must be 12 digits."
		case !printableRE.MatchString(name):
			badName()
		case notes != "":
			// The id and the name match their patterns: AWS's screening of free text refused the notes (or the name,
			// which it does not tell apart; the notes are the likelier, and the detail says both).
			e.Code, e.Detail = invite.CodeNotesRefused, detailNotesRefused+" If the notes hold nothing like that, "+
				"reword the billing transfer's name instead."
		default:
			e.Code, e.Detail = invite.CodeTransferNameInvalid, "AWS Organizations refused the billing transfer's name: "+
				"it screens free text against common cross-site scripting patterns, and the name looks like one to it. "+
				"Choose another name."
		}
	case types.InvalidInputExceptionReasonMaxLengthExceeded:
		if utf8.RuneCountInString(notes) > invite.MaxNotes {
			e.Code, e.Detail = invite.CodeNotesTooLong, fmt.Sprintf("The notes must be at most %d characters.", invite.MaxNotes)
		} else {
			badName()
		}
	case types.InvalidInputExceptionReasonMinLengthExceeded:
		badName()
	}
	return e
}

// ListTransferHandshakes calls fn for every TRANSFER_RESPONSIBILITY handshake of the payer's organization, all
// pages, in AWS's order. An error of fn stops the listing and is returned as is.
func (c *Client) ListTransferHandshakes(ctx context.Context, payer invite.Payer, fn func(invite.Handshake) error) error {
	return c.listHandshakes(ctx, payer, types.ActionTypeTransferResponsibility, fn)
}

// ListInboundTransfers calls fn for every billing transfer into the payer (invitations and transfers), all pages.
// The SDK has no paginator for this operation, so it follows NextToken until AWS returns none, as the operation's
// documentation asks (a page may be empty while more follow). An error of fn stops the listing and is returned as
// is.
func (c *Client) ListInboundTransfers(ctx context.Context, payer invite.Payer, fn func(invite.Transfer) error) error {
	in := &organizations.ListInboundResponsibilityTransfersInput{
		Type:       types.ResponsibilityTransferTypeBilling,
		MaxResults: aws.Int32(listPageSize),
	}
	for {
		page, err := c.org(payer).ListInboundResponsibilityTransfers(ctx, in)
		if err != nil {
			return mapError(opOther, err, c.opts.RetryAfter)
		}
		for i := range page.ResponsibilityTransfers {
			if err := fn(transferOf(&page.ResponsibilityTransfers[i])); err != nil {
				return err
			}
		}
		if aws.ToString(page.NextToken) == "" {
			return nil
		}
		if aws.ToString(page.NextToken) == aws.ToString(in.NextToken) {
			// The same token again would loop forever; AWS has no more to say.
			return nil
		}
		in.NextToken = page.NextToken
	}
}

// DescribeTransfer returns one transfer; CodeNotFound when AWS knows none (or none the payer takes part in).
func (c *Client) DescribeTransfer(ctx context.Context, payer invite.Payer, id string) (invite.Transfer, error) {
	out, err := c.org(payer).DescribeResponsibilityTransfer(ctx, &organizations.DescribeResponsibilityTransferInput{Id: aws.String(id)})
	if err != nil {
		return invite.Transfer{}, mapError(opOther, err, c.opts.RetryAfter)
	}
	return transferOf(out.ResponsibilityTransfer), nil
}

// TerminateTransfer ends an accepted transfer at end, the end of a month; AWS wants its last millisecond
// (23:59:59.999 UTC), and end may be given as that, as 23:59:59, or as the next month's first instant. A zero end
// lets AWS choose. The transfer's status becomes WITHDRAWN, whichever side ends it. Ending a transfer already
// withdrawn returns it, so that a retried call whose first answer was lost succeeds.
func (c *Client) TerminateTransfer(ctx context.Context, payer invite.Payer, id string, end time.Time) (invite.Transfer, error) {
	in := &organizations.TerminateResponsibilityTransferInput{Id: aws.String(id)}
	if !end.IsZero() {
		in.EndTimestamp = aws.Time(monthEnd(end))
	}
	out, err := c.org(payer).TerminateResponsibilityTransfer(ctx, in)
	if err != nil {
		var already *types.ResponsibilityTransferAlreadyInStatusException
		if errors.As(err, &already) {
			if t, derr := c.DescribeTransfer(ctx, payer, id); derr == nil && t.Status == invite.TransferWithdrawn {
				return t, nil
			}
		}
		return invite.Transfer{}, mapError(opTerminate, err, c.opts.RetryAfter)
	}
	return transferOf(out.ResponsibilityTransfer), nil
}

// monthEnd reads a time within the last second of a month, or at a month's first instant, as the end of that
// month (the previous one for a first instant): its last millisecond, 23:59:59.999 UTC, which AWS requires
// (END_DATE_NOT_END_OF_MONTH). Any other time is sent as it is, for AWS to refuse.
func monthEnd(t time.Time) time.Time {
	t = t.UTC()
	next := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	if !t.Equal(next) {
		next = next.AddDate(0, 1, 0)
	}
	if next.Sub(t) > time.Second {
		return t
	}
	return next.Add(-time.Millisecond)
}

// transferOf converts AWS's transfer.
func transferOf(r *types.ResponsibilityTransfer) invite.Transfer {
	if r == nil {
		return invite.Transfer{}
	}
	t := invite.Transfer{
		ID:                aws.ToString(r.Id),
		Name:              aws.ToString(r.Name),
		Status:            invite.TransferStatus(r.Status),
		StartAt:           aws.ToTime(r.StartTimestamp).UTC(),
		ActiveHandshakeID: aws.ToString(r.ActiveHandshakeId),
	}
	if r.EndTimestamp != nil {
		t.EndAt = r.EndTimestamp.UTC()
	}
	if r.Source != nil {
		t.SourceManagementAccountID = aws.ToString(r.Source.ManagementAccountId)
		t.SourceManagementEmail = aws.ToString(r.Source.ManagementAccountEmail)
	}
	return t
}

// ListAccountsAs lists the accounts of an organization, its management account included, as that management
// account would, for the sandbox: the credentials are those CredentialsFor gives for a payer whose management
// account is managementAccountID (see AcceptHandshakeAs). The sandbox delivers CUR line items for them once the
// organization's bill is transferred to a payer. Like the other stand-ins' calls it uses a client that is not
// kept (orgAs), so the sandbox holds no client per customer organization.
func (c *Client) ListAccountsAs(ctx context.Context, managementAccountID string) ([]invite.Account, error) {
	var out []invite.Account
	err := c.listAccounts(ctx, c.orgAs(managementAccountID), func(a invite.Account) error {
		out = append(out, a)
		return nil
	})
	return out, err
}
