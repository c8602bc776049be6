// Package awsbc implements invite.BillingGroups over the AWS SDK for Go v2's Billing Conductor client
// (service/billingconductor v1.32.6, REST-JSON, model billingconductor/2021-07-30): one client per payer, signed
// with the payer's credentials (its assumed role's session, shared with the payer's Organizations client), retries
// with jittered backoff for throttling, server errors and ConflictException WRITE_CONFLICT_RETRY, and the
// translation of Billing Conductor's errors into domain codes.
//
// Facts relied on, from the SDK's model (file named): AssociateAccounts and DisassociateAccounts take a billing
// group ARN and at most 30 account ids (api_op_AssociateAccounts.go); "the account IDs must be a part of the
// consolidated billing family during the current month, and not already associated with another billing group"
// (ValidationException reasons ILLEGAL_ACCOUNTS and ACCOUNTS_ALREADY_ASSOCIATED, types/enums.go);
// ListAccountAssociations filters by AccountId and answers each linked account's BillingGroupArn;
// ListBillingGroups filters by Arns and answers Status (ACTIVE, PRIMARY_ACCOUNT_MISSING, PENDING) and
// BillingGroupType (STANDARD, TRANSFER_BILLING). Billing Conductor is a global service signed in us-east-1.
package awsbc

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/billingconductor"
	"github.com/aws/aws-sdk-go-v2/service/billingconductor/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/cloudreseller/aws-invites/internal/invite"
)

// region is where Billing Conductor's global endpoint signs requests.
const region = "us-east-1"

// Options configures a Client.
type Options struct {
	// Endpoint replaces Billing Conductor's endpoint (a simulator's URL); when empty the SDK's own settings apply,
	// including AWS_ENDPOINT_URL_BILLINGCONDUCTOR.
	Endpoint string
	// CredentialsFor gives the credentials of a payer's calls: the Organizations client's (awsorg.Client.Credentials),
	// so one assumed-role session serves both services. Required.
	CredentialsFor func(invite.Payer) aws.CredentialsProvider
	// HTTPClient serves every payer's calls (awsorg.Client.HTTPClient: one pool of connections); the config's when nil.
	HTTPClient aws.HTTPClient
	// APIOptions, when set, gives the middleware of a payer's calls (metrics and traces).
	APIOptions func(payer string) []func(*middleware.Stack) error

	MaxAttempts int           // how many times one call is tried in all; 5 when zero
	BaseBackoff time.Duration // the first retry's delay, doubled each time, with jitter; 250ms when zero
	MaxBackoff  time.Duration // the cap on the delay; 4s when zero
	RetryAfter  time.Duration // what callers are told to wait when AWS stays unavailable; 30s when zero
}

// Client talks to the AWS Billing Conductor of every payer. It is safe for concurrent use; build it once and keep
// it: its per-payer clients live as long as the process.
type Client struct {
	cfg  aws.Config
	opts Options

	mu      sync.Mutex
	clients map[invite.Payer]*billingconductor.Client
}

var _ invite.BillingGroups = (*Client)(nil)

// New returns a client that builds its AWS clients from cfg.
func New(cfg aws.Config, opts Options) *Client {
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 5
	}
	if opts.BaseBackoff <= 0 {
		opts.BaseBackoff = 250 * time.Millisecond
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 4 * time.Second
	}
	if opts.RetryAfter <= 0 {
		opts.RetryAfter = 30 * time.Second
	}
	return &Client{cfg: cfg, opts: opts, clients: map[invite.Payer]*billingconductor.Client{}}
}

func (c *Client) client(p invite.Payer) *billingconductor.Client {
	c.mu.Lock()
	defer c.mu.Unlock()
	if bc, ok := c.clients[p]; ok {
		return bc
	}
	bc := billingconductor.NewFromConfig(c.cfg, func(o *billingconductor.Options) {
		o.Region = region
		if c.opts.CredentialsFor != nil {
			o.Credentials = c.opts.CredentialsFor(p)
		}
		if c.opts.Endpoint != "" {
			o.BaseEndpoint = aws.String(c.opts.Endpoint)
		}
		if c.opts.HTTPClient != nil {
			o.HTTPClient = c.opts.HTTPClient
		}
		o.Retryer = c.retryer()
		o.RetryMaxAttempts = 0
		if c.opts.APIOptions != nil {
			o.APIOptions = append(o.APIOptions, c.opts.APIOptions(p.ManagementAccountID)...)
		}
	})
	c.clients[p] = bc
	return bc
}

// retryer retries what the SDK retries by default (ThrottlingException, 5xx, timeouts, broken connections) and
// ConflictException with reason WRITE_CONFLICT_RETRY (the model's "retry" reason), with jittered exponential backoff
// and no retry quota: the attempts bound already limits the work.
func (c *Client) retryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = c.opts.MaxAttempts
		o.MaxBackoff = c.opts.MaxBackoff
		o.Backoff = jitter{base: c.opts.BaseBackoff, max: c.opts.MaxBackoff}
		o.RateLimiter = ratelimit.None
		o.Retryables = append(o.Retryables, retry.IsErrorRetryableFunc(writeConflict))
	})
}

// jitter waits between half and all of base·2^(attempt-1), capped at max.
type jitter struct{ base, max time.Duration }

func (b jitter) BackoffDelay(attempt int, _ error) (time.Duration, error) {
	d := b.base
	for i := 1; i < attempt && d < b.max; i++ {
		d *= 2
	}
	d = min(d, b.max)
	return d/2 + rand.N(d/2+1), nil
}

// BillingGroup returns the payer's billing group with arn, as ListBillingGroups lists it for the current period.
func (c *Client) BillingGroup(ctx context.Context, payer invite.Payer, arn string) (invite.BillingGroup, error) {
	out, err := c.client(payer).ListBillingGroups(ctx, &billingconductor.ListBillingGroupsInput{
		Filters: &types.ListBillingGroupsFilter{Arns: []string{arn}}, MaxResults: aws.Int32(1)})
	if err != nil {
		return invite.BillingGroup{}, c.domainError(err, opList)
	}
	for _, g := range out.BillingGroups {
		if aws.ToString(g.Arn) == arn {
			return invite.BillingGroup{ARN: arn, Name: aws.ToString(g.Name), Status: string(g.Status),
				Type: string(g.BillingGroupType), Size: g.Size}, nil
		}
	}
	return invite.BillingGroup{}, invite.Errorf(invite.CodeNotFound, "the payer %s has no billing group %s", payer.ManagementAccountID, arn)
}

// Associate associates accounts (at most 30) with a billing group.
func (c *Client) Associate(ctx context.Context, payer invite.Payer, arn string, accountIDs []string) error {
	_, err := c.client(payer).AssociateAccounts(ctx, &billingconductor.AssociateAccountsInput{Arn: aws.String(arn), AccountIds: accountIDs})
	return c.domainError(err, opAssociate)
}

// Disassociate takes accounts (at most 30) out of a billing group.
func (c *Client) Disassociate(ctx context.Context, payer invite.Payer, arn string, accountIDs []string) error {
	_, err := c.client(payer).DisassociateAccounts(ctx, &billingconductor.DisassociateAccountsInput{Arn: aws.String(arn), AccountIds: accountIDs})
	return c.domainError(err, opDisassociate)
}

// GroupOf returns the billing group an account is associated with in the current period, empty for none.
func (c *Client) GroupOf(ctx context.Context, payer invite.Payer, accountID string) (string, error) {
	p := billingconductor.NewListAccountAssociationsPaginator(c.client(payer), &billingconductor.ListAccountAssociationsInput{
		Filters: &types.ListAccountAssociationsFilter{AccountId: aws.String(accountID)}})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return "", c.domainError(err, opList)
		}
		for _, a := range page.LinkedAccounts {
			if aws.ToString(a.AccountId) == accountID {
				return aws.ToString(a.BillingGroupArn), nil
			}
		}
	}
	return "", nil
}
