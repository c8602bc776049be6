package awsorg

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/organizations/types"

	"github.com/cloudreseller/aws-invites/internal/invite"
)

// listPageSize is the most handshakes AWS returns in one page.
const listPageSize = 20

// InviteAccount sends an invitation to join the payer's organization. When AWS already has an OPEN invitation for
// the account (sent earlier, perhaps by a request whose answer was lost) that one is returned, adopted.
func (c *Client) InviteAccount(ctx context.Context, payer invite.Payer, accountID, notes string) (invite.Handshake, bool, error) {
	in := &organizations.InviteAccountToOrganizationInput{
		Target: &types.HandshakeParty{Id: aws.String(accountID), Type: types.HandshakePartyTypeAccount},
	}
	if notes != "" {
		in.Notes = aws.String(notes)
	}
	out, err := c.org(payer).InviteAccountToOrganization(ctx, in)
	if err == nil {
		return handshakeOf(out.Handshake), false, nil
	}
	var dup *types.DuplicateHandshakeException
	if errors.As(err, &dup) {
		h, adoptErr := c.openHandshake(ctx, payer, types.ActionTypeInviteAccountToOrganization, accountID, "an invitation")
		if adoptErr != nil {
			return invite.Handshake{}, false, adoptErr
		}
		return h, true, nil
	}
	if reasonOf(err) == "ALREADY_IN_AN_ORGANIZATION" {
		// AWS gives the same reason for a member of this very organization; tell the two apart.
		if _, derr := c.DescribeAccount(ctx, payer, accountID); derr == nil {
			return invite.Handshake{}, false, alreadyJoined(accountID, err)
		}
	}
	op := opInvite
	if notes != "" {
		op = opInviteWithNotes
	}
	return invite.Handshake{}, false, mapError(op, err, c.opts.RetryAfter)
}

// openHandshake finds the pending handshake of one action (an invitation, or a billing transfer invitation) for
// an account among the organization's handshakes, after AWS answered DuplicateHandshakeException; what names
// the kind of invitation in the detail a caller sees.
func (c *Client) openHandshake(ctx context.Context, payer invite.Payer, action types.ActionType, accountID, what string) (invite.Handshake, error) {
	var found *invite.Handshake
	err := c.listHandshakes(ctx, payer, action, func(h invite.Handshake) error {
		if h.AccountID == accountID && h.State.Pending() {
			found = &h
		}
		return nil
	})
	if err != nil {
		return invite.Handshake{}, err
	}
	if found == nil {
		// AWS said an invitation is open but does not list it yet (or it was answered meanwhile).
		return invite.Handshake{}, &invite.Error{
			Code:       invite.CodeSendInProgress,
			Detail:     "AWS reports " + what + " for this account in progress but does not show it yet; try again in a moment.",
			RetryAfter: c.opts.RetryAfter,
			Err:        fmt.Errorf("organizations: DuplicateHandshakeException but no open %s handshake for the account is listed", action),
		}
	}
	return *found, nil
}

// CancelHandshake cancels a handshake the payer sent. Canceling a handshake that is already canceled returns it,
// so that a retried cancel whose first answer was lost succeeds.
func (c *Client) CancelHandshake(ctx context.Context, payer invite.Payer, handshakeID string) (invite.Handshake, error) {
	out, err := c.org(payer).CancelHandshake(ctx, &organizations.CancelHandshakeInput{HandshakeId: aws.String(handshakeID)})
	if err != nil {
		return c.settled(ctx, payer, handshakeID, opOther, err)
	}
	return handshakeOf(out.Handshake), nil
}

// DescribeHandshake returns a handshake; CodeHandshakeNotFound once AWS purged it.
func (c *Client) DescribeHandshake(ctx context.Context, payer invite.Payer, handshakeID string) (invite.Handshake, error) {
	out, err := c.org(payer).DescribeHandshake(ctx, &organizations.DescribeHandshakeInput{HandshakeId: aws.String(handshakeID)})
	if err != nil {
		return invite.Handshake{}, mapError(opOther, err, c.opts.RetryAfter)
	}
	return handshakeOf(out.Handshake), nil
}

// ListInviteHandshakes calls fn for every INVITE handshake of the payer's organization, all pages, in AWS's order.
// An error of fn stops the listing and is returned as is.
func (c *Client) ListInviteHandshakes(ctx context.Context, payer invite.Payer, fn func(invite.Handshake) error) error {
	return c.listHandshakes(ctx, payer, types.ActionTypeInviteAccountToOrganization, fn)
}

// listHandshakes calls fn for every handshake of one action of the payer's organization, all pages.
func (c *Client) listHandshakes(ctx context.Context, payer invite.Payer, action types.ActionType, fn func(invite.Handshake) error) error {
	pages := organizations.NewListHandshakesForOrganizationPaginator(c.org(payer),
		&organizations.ListHandshakesForOrganizationInput{
			Filter:     &types.HandshakeFilter{ActionType: action},
			MaxResults: aws.Int32(listPageSize),
		})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return mapError(opOther, err, c.opts.RetryAfter)
		}
		for i := range page.Handshakes {
			if err := fn(handshakeOf(&page.Handshakes[i])); err != nil {
				return err
			}
		}
	}
	return nil
}

// DescribeAccount returns a member account of the payer's organization, or CodeNotFound when it is none.
func (c *Client) DescribeAccount(ctx context.Context, payer invite.Payer, accountID string) (invite.Account, error) {
	out, err := c.org(payer).DescribeAccount(ctx, &organizations.DescribeAccountInput{AccountId: aws.String(accountID)})
	if err != nil {
		return invite.Account{}, mapError(opDescribeAccount, err, c.opts.RetryAfter)
	}
	return accountOf(out.Account), nil
}

// ListAccounts calls fn for every account of the payer's organization, its management account included, all pages
// (20 a page, the most AWS returns). AWS may answer a page with no accounts and a NextToken; the paginator goes on
// until the token is null, as AWS asks. An error of fn stops the listing and is returned as is.
func (c *Client) ListAccounts(ctx context.Context, payer invite.Payer, fn func(invite.Account) error) error {
	return c.listAccounts(ctx, c.org(payer), fn)
}

// listAccounts pages through ListAccounts with oc.
func (c *Client) listAccounts(ctx context.Context, oc *organizations.Client, fn func(invite.Account) error) error {
	pages := organizations.NewListAccountsPaginator(oc, &organizations.ListAccountsInput{MaxResults: aws.Int32(listPageSize)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return mapError(opOther, err, c.opts.RetryAfter)
		}
		for i := range page.Accounts {
			if err := fn(accountOf(&page.Accounts[i])); err != nil {
				return err
			}
		}
	}
	return nil
}

// accountOf is what the domain keeps of an account: its State (Account.Status is retired on 9 September 2026 and
// not read).
func accountOf(a *types.Account) invite.Account {
	return invite.Account{
		ID:           aws.ToString(a.Id),
		State:        string(a.State),
		JoinedMethod: string(a.JoinedMethod),
		JoinedAt:     aws.ToTime(a.JoinedTimestamp).UTC(),
	}
}

// CloseAccountAs closes a member account of the payer's organization as its management account would
// (CloseAccount), for the sandbox. AWS closes it in the background: PENDING_CLOSURE, then SUSPENDED.
func (c *Client) CloseAccountAs(ctx context.Context, payer invite.Payer, accountID string) error {
	_, err := c.org(payer).CloseAccount(ctx, &organizations.CloseAccountInput{AccountId: aws.String(accountID)})
	if err != nil {
		return mapError(opDescribeAccount, err, c.opts.RetryAfter)
	}
	return nil
}

// AcceptHandshakeAs accepts an invitation as the invited account would, for the sandbox: the credentials are
// those CredentialsFor gives for a payer whose management account is the invited account. When that account
// manages an organization with members, the error is CodeIsManagementAcct.
func (c *Client) AcceptHandshakeAs(ctx context.Context, accountID, handshakeID string) (invite.Handshake, error) {
	oc := c.orgAs(accountID)
	out, err := oc.AcceptHandshake(ctx, &organizations.AcceptHandshakeInput{HandshakeId: aws.String(handshakeID)})
	if err != nil {
		return c.settledAs(ctx, oc, handshakeID, opAccept, err)
	}
	return handshakeOf(out.Handshake), nil
}

// DeclineHandshakeAs declines an invitation as the invited account would, for the sandbox (see AcceptHandshakeAs).
func (c *Client) DeclineHandshakeAs(ctx context.Context, accountID, handshakeID string) (invite.Handshake, error) {
	oc := c.orgAs(accountID)
	out, err := oc.DeclineHandshake(ctx, &organizations.DeclineHandshakeInput{HandshakeId: aws.String(handshakeID)})
	if err != nil {
		return c.settledAs(ctx, oc, handshakeID, opOther, err)
	}
	return handshakeOf(out.Handshake), nil
}

// settledAs is settled for a change made with a client of orgAs, which reads the handshake back.
func (c *Client) settledAs(ctx context.Context, oc *organizations.Client, handshakeID string, op operation, err error) (invite.Handshake, error) {
	var already *types.HandshakeAlreadyInStateException
	if !errors.As(err, &already) {
		return invite.Handshake{}, mapError(op, err, c.opts.RetryAfter)
	}
	out, err := oc.DescribeHandshake(ctx, &organizations.DescribeHandshakeInput{HandshakeId: aws.String(handshakeID)})
	if err != nil {
		return invite.Handshake{}, mapError(opOther, err, c.opts.RetryAfter)
	}
	return handshakeOf(out.Handshake), nil
}

// settled handles the error of a state change: when the handshake is already in the wanted state the change
// happened (perhaps by an earlier attempt whose answer was lost), so the handshake is returned.
func (c *Client) settled(ctx context.Context, p invite.Payer, handshakeID string, op operation, err error) (invite.Handshake, error) {
	var already *types.HandshakeAlreadyInStateException
	if errors.As(err, &already) {
		return c.DescribeHandshake(ctx, p, handshakeID)
	}
	return invite.Handshake{}, mapError(op, err, c.opts.RetryAfter)
}

// handshakeOf converts AWS's handshake: the invited account is its ACCOUNT party, and a transfer handshake names
// its transfer in its RESPONSIBILITY_TRANSFER resource.
func handshakeOf(h *types.Handshake) invite.Handshake {
	if h == nil {
		return invite.Handshake{}
	}
	out := invite.Handshake{
		ID:           aws.ToString(h.Id),
		Action:       invite.HandshakeAction(h.Action),
		State:        invite.HandshakeState(h.State),
		RequestedAt:  aws.ToTime(h.RequestedTimestamp).UTC(),
		ExpiresAt:    aws.ToTime(h.ExpirationTimestamp).UTC(),
		Organization: organizationOf(h),
	}
	if out.Action == "" {
		out.Action = invite.ActionInvite
	}
	for _, p := range h.Parties {
		if p.Type == types.HandshakePartyTypeAccount {
			out.AccountID = aws.ToString(p.Id)
		}
	}
	for _, r := range h.Resources {
		if r.Type == types.HandshakeResourceTypeAccount && out.AccountID == "" {
			out.AccountID = aws.ToString(r.Value)
		}
	}
	eachResource(h.Resources, func(r types.HandshakeResource) {
		if r.Type == types.HandshakeResourceTypeResponsibilityTransfer && out.TransferID == "" {
			out.TransferID = aws.ToString(r.Value)
		}
	})
	return out
}

// eachResource calls fn for every resource of a handshake, nested ones included: AWS documents which resources a
// handshake has, not how it nests them (an invitation nests the management account's email and name in its
// ORGANIZATION resource; a transfer invitation's layout is not documented), so they are read wherever they are.
func eachResource(rs []types.HandshakeResource, fn func(types.HandshakeResource)) {
	for _, r := range rs {
		fn(r)
		eachResource(r.Resources, fn)
	}
}

// organizationOf reads what a handshake says about the inviting organization: its ORGANIZATION resource (the
// organization id), its management account's email and name (MASTER_EMAIL and MASTER_NAME in an invitation,
// MANAGEMENT_EMAIL and MANAGEMENT_NAME in a transfer invitation) and id (MANAGEMENT_ACCOUNT, else the handshake's
// ARN: arn:aws:organizations::<management account>:handshake/o-.../invite/h-...). Nil without an ORGANIZATION
// resource.
func organizationOf(h *types.Handshake) *invite.Organization {
	o := &invite.Organization{}
	first := func(dst *string, v *string) {
		if *dst == "" {
			*dst = aws.ToString(v)
		}
	}
	eachResource(h.Resources, func(r types.HandshakeResource) {
		switch r.Type {
		case types.HandshakeResourceTypeOrganization:
			first(&o.ID, r.Value)
		case types.HandshakeResourceTypeMasterEmail, types.HandshakeResourceTypeManagementEmail:
			first(&o.ManagementEmail, r.Value)
		case types.HandshakeResourceTypeMasterName, types.HandshakeResourceTypeManagementName:
			first(&o.ManagementName, r.Value)
		case types.HandshakeResourceTypeManagementAccount:
			first(&o.ManagementAccountID, r.Value)
		}
	})
	if parts := strings.Split(aws.ToString(h.Arn), ":"); o.ManagementAccountID == "" && len(parts) >= 6 && len(parts[4]) == 12 {
		o.ManagementAccountID = parts[4]
	}
	if o.ID == "" {
		return nil
	}
	return o
}
