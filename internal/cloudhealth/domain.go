package cloudhealth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cloudreseller/aws-invites/internal/invite"
)

// Statuses lists CloudHealth's accounts once and gives the domain each AWS account's status (invite.CloudHealth).
func (c *Client) Statuses(ctx context.Context) (map[string]invite.CloudHealthStatus, error) {
	accounts, err := c.AccountsByOwner(ctx)
	if err != nil {
		return nil, domainError(err)
	}
	out := make(map[string]invite.CloudHealthStatus, len(accounts))
	for owner, a := range accounts {
		out[owner] = invite.CloudHealthStatus{Level: string(a.Status.Level), PayerAccountID: a.PayerAccountID, Listed: true}
	}
	return out, nil
}

// SetupSource builds the IAM setup customers create for CloudHealth (invite.CloudHealthSetupSource). The external
// id is the one CloudHealth issues for the account once it lists it; before that, FallbackExternalID (the one the
// reseller's CloudHealth tenant issues to its customers), if configured.
type SetupSource struct {
	Client             *Client
	FallbackExternalID string
}

// Setup returns the setup for one AWS account, as JSON-ready data and as a CloudFormation template.
func (s SetupSource) Setup(ctx context.Context, accountID string) (invite.CloudHealthSetup, error) {
	externalID := s.FallbackExternalID
	if s.Client != nil {
		a, err := s.Client.AccountByOwner(ctx, accountID)
		switch {
		case err == nil:
			if externalID, err = s.Client.GenerateExternalID(ctx, a.ID); err != nil {
				return invite.CloudHealthSetup{}, domainError(err)
			}
		case !errors.Is(err, ErrNotFound):
			return invite.CloudHealthSetup{}, domainError(err)
		}
	}
	if externalID == "" {
		return invite.CloudHealthSetup{}, invite.Errorf(invite.CodeCloudHealthNotConfigured,
			"CloudHealth does not list account %s yet, so it has issued no external id for it; try again once its billing data arrives", accountID)
	}
	setup, err := NewSetup(SetupInput{AccountID: accountID, ExternalID: externalID})
	if err != nil {
		return invite.CloudHealthSetup{}, fmt.Errorf("cloudhealth setup for %s: %w", accountID, err)
	}
	tmpl, err := setup.CloudFormation()
	if err != nil {
		return invite.CloudHealthSetup{}, fmt.Errorf("cloudhealth template for %s: %w", accountID, err)
	}
	return invite.CloudHealthSetup{JSON: setup, Template: tmpl}, nil
}

// domainError tells the domain that CloudHealth did not answer, keeping the cause for the logs.
func domainError(err error) error {
	return &invite.Error{Code: invite.CodeCloudHealthUnavailable, Detail: "CloudHealth is not answering right now; try again later",
		RetryAfter: 30 * time.Second, Err: err}
}
