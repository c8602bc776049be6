// Package awsorg implements invite.Organizations and invite.Transfers over the AWS SDK for Go v2: one AWS
// Organizations client per payer organization (credentials assumed through STS when the payer names a role),
// retries with backoff for throttling and concurrent modification, an optional per-payer request rate, and the
// translation of every AWS error the service can meet into a domain error whose detail tells the customer what to
// do.
//
// # Billing transfers
//
// A customer's management account keeps its organization and transfers responsibility for its consolidated bill
// to the payer. The AWS facts this adapter relies on, from service/organizations v1.62.8 (file named) and the AWS
// Billing user guide's billing transfer pages:
//
//   - InviteOrganizationToTransferResponsibility (api_op_InviteOrganizationToTransferResponsibility.go) is called
//     by the payer's management account (the bill-transfer account, the transfer's target) with Type BILLING,
//     Target {ACCOUNT, the customer's management account}, SourceName (the transfer's name: 1 to 128 printable
//     ASCII characters, API reference), StartTimestamp and Notes (at most 1024). It answers a handshake with Action
//     TRANSFER_RESPONSIBILITY whose RESPONSIBILITY_TRANSFER resource (types/enums.go) is the transfer's id, rt-....
//   - A transfer starts at 00:00:00.000 UTC on the first day of a month (InvalidInputException
//     START_DATE_NOT_BEGINNING_OF_DAY, START_DATE_NOT_BEGINNING_OF_MONTH, START_DATE_TOO_EARLY: types/errors.go),
//     and its invitation must be accepted 24 hours before the start (user guide), so it is open until the earlier
//     of 15 days and 24 hours before the start. Only a management account accepts it (api_op_AcceptHandshake.go).
//   - DuplicateHandshakeException ("a handshake with the same action and target already exists") means the payer's
//     own open transfer invitation of the account exists: it is adopted from ListHandshakesForOrganization with
//     Filter ActionType TRANSFER_RESPONSIBILITY. HandshakeConstraintViolationException
//     RESPONSIBILITY_TRANSFER_ALREADY_EXISTS and SOURCE_AND_TARGET_CANNOT_MATCH, and ConstraintViolationException
//     UNSUPPORTED_PRICING, RESPONSIBILITY_TRANSFER_MAX_*, ACTIVE_RESPONSIBILITY_TRANSFER_PROCESS and
//     TRANSFER_RESPONSIBILITY_{SOURCE,TARGET}_DELETION_IN_PROGRESS get codes of their own (errors.go).
//   - ListInboundResponsibilityTransfers (Type BILLING) lists the transfers into the payer, invitations included;
//     the SDK has no paginator for it, and a page may be empty while NextToken says more follow.
//   - Transfer statuses (types/enums.go): REQUESTED, ACCEPTED (in force from the start), DECLINED, CANCELED,
//     EXPIRED, WITHDRAWN. TerminateResponsibilityTransfer (Id, EndTimestamp) may be called by either side; the user
//     guide says either side withdraws, the status becomes WITHDRAWN, and the transfer stays in force until its end,
//     the last millisecond of a month (END_DATE_NOT_END_OF_MONTH: "23.59.59.999").
//   - ResponsibilityTransferNotFoundException is 404; ResponsibilityTransferAlreadyInStatusException and
//     InvalidResponsibilityTransferTransitionException are 409 (schemas/schemas.go).
package awsorg

import (
	"context"
	"crypto/tls"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/middleware"
	"golang.org/x/time/rate"

	"github.com/cloudreseller/aws-invites/internal/invite"
)

// organizationsRegion is where the commercial partition's global Organizations endpoint signs requests.
const organizationsRegion = "us-east-1"

// Options configures a Client. The zero value gives production behavior.
type Options struct {
	// OrganizationsEndpoint replaces the AWS Organizations endpoint (a simulator's URL); when empty the SDK's own
	// settings apply, including AWS_ENDPOINT_URL_ORGANIZATIONS.
	OrganizationsEndpoint string
	// STSEndpoint replaces the STS endpoint used to assume payer roles; when empty the SDK's own settings apply.
	STSEndpoint string
	// CredentialsFor, when set, gives the credentials for a payer instead of the role or the config's credentials
	// (the sandbox signs as the payer's management account for the simulator).
	CredentialsFor func(invite.Payer) aws.CredentialsProvider
	// HTTPClient replaces the config's HTTP client. It serves every payer's calls and STS: the client must pool
	// its connections for all of them.
	HTTPClient aws.HTTPClient
	// MaxConns bounds the connections open at once to each AWS endpoint, and is how many are kept idle for reuse
	// between calls; DefaultMaxConns when zero. Size it to the background work's concurrency plus the API's share:
	// a call beyond it waits for a connection instead of opening one more. It applies when the HTTP client is the
	// SDK's own.
	MaxConns int
	// RoleSessionDuration is how long an assumed payer role's credentials last (STS DurationSeconds);
	// DefaultRoleSessionDuration when zero. It must not exceed the role's MaxSessionDuration.
	RoleSessionDuration time.Duration

	// MaxAttempts is how many times one call is tried in all; 5 when zero.
	MaxAttempts int
	// BaseBackoff is the delay before the first retry, doubled for each further one, with jitter; 250ms when zero.
	BaseBackoff time.Duration
	// MaxBackoff caps the delay between two attempts; 4s when zero.
	MaxBackoff time.Duration
	// AttemptTimeout bounds one HTTP attempt, so that a stalled connection is retried rather than waited on;
	// 10s when zero, none when negative. It applies when the HTTP client is the SDK's own.
	AttemptTimeout time.Duration
	// RetryAfter is what callers are told to wait when AWS stays unavailable; 30s when zero.
	RetryAfter time.Duration

	// RatePerSecond bounds the requests (attempts included) sent for one payer; unlimited when zero.
	RatePerSecond float64
	// Burst is how many requests for one payer may go at once within that rate; 1 when zero.
	Burst int

	// Metrics counts and times every call (Organizations and STS); none when nil.
	Metrics *Metrics
	// Observer is told of every call (traces); none when nil.
	Observer CallObserver
}

// DefaultMaxConns is Options.MaxConns when zero.
const DefaultMaxConns = 64

// DefaultRoleSessionDuration is Options.RoleSessionDuration when zero: one hour, the longest session every role
// grants. An IAM role's MaxSessionDuration is one hour unless its owner raised it (up to 12), STS refuses a longer
// DurationSeconds outright, and a session assumed with credentials that are themselves a role session (role
// chaining, as on a host whose own identity is an assumed role) is capped at one hour whatever the role says. The
// SDK's own default is 15 minutes: four AssumeRole calls an hour per payer instead of one.
const DefaultRoleSessionDuration = time.Hour

// credentialsRefreshWindow is how long before its expiry an assumed role's credentials are replaced (less up to
// half of it, at random, so that payers whose sessions began together do not all call STS in the same second): no
// call is signed with credentials about to expire, whatever the clock skew and the retries.
const credentialsRefreshWindow = 5 * time.Minute

// Client talks to the AWS Organizations of every payer organization. It is safe for concurrent use.
//
// It is built once per process and kept: its per-payer clients (with their cached role credentials, reused until
// shortly before they expire) and its one HTTP client live as long as the process, across reconciliation passes.
// All payers share the one HTTP client and so one pool of keep-alive connections (and TLS sessions): the connections
// open follow the calls in flight, bounded by MaxConns, not the number of payers.
type Client struct {
	cfg  aws.Config
	opts Options
	http aws.HTTPClient // shared by every payer's client and STS

	mu       sync.Mutex
	clients  map[invite.Payer]*organizations.Client
	limiters map[string]*rate.Limiter
	sts      *sts.Client
}

var _ invite.Organizations = (*Client)(nil)

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
	if opts.AttemptTimeout == 0 {
		opts.AttemptTimeout = 10 * time.Second
	}
	if opts.RetryAfter <= 0 {
		opts.RetryAfter = 30 * time.Second
	}
	if opts.Burst <= 0 {
		opts.Burst = 1
	}
	if opts.MaxConns <= 0 {
		opts.MaxConns = DefaultMaxConns
	}
	if opts.RoleSessionDuration <= 0 {
		opts.RoleSessionDuration = DefaultRoleSessionDuration
	}
	return &Client{
		cfg:      cfg,
		opts:     opts,
		http:     sharedHTTPClient(cfg.HTTPClient, opts),
		clients:  map[invite.Payer]*organizations.Client{},
		limiters: map[string]*rate.Limiter{},
	}
}

// org returns the Organizations client of a payer, built on first use and kept so that assumed-role credentials
// are cached across calls.
func (c *Client) org(p invite.Payer) *organizations.Client {
	c.mu.Lock()
	defer c.mu.Unlock()
	if oc, ok := c.clients[p]; ok {
		return oc
	}
	oc := c.newOrg(p, c.credentialsLocked(p), c.limiterLocked(p.ManagementAccountID))
	c.clients[p] = oc
	return oc
}

// Credentials returns the credentials a payer's calls are signed with: its Organizations client's, so its assumed
// role's session (cached until shortly before it expires) also serves the payer's other AWS services (Billing
// Conductor) instead of a second AssumeRole.
func (c *Client) Credentials(p invite.Payer) aws.CredentialsProvider {
	return c.org(p).Options().Credentials
}

// HTTPClient is the one HTTP client every payer's calls share, with its pool of connections.
func (c *Client) HTTPClient() aws.HTTPClient { return c.http }

// orgAs returns an Organizations client that signs as accountID's own credentials (CredentialsFor), for the
// sandbox's stand-ins for an invited account's owner. It is not kept: every invited account would otherwise keep a
// client for the life of the process. Building one is cheap, since all share the one HTTP client.
func (c *Client) orgAs(accountID string) *organizations.Client {
	p := invite.Payer{ManagementAccountID: accountID}
	c.mu.Lock()
	creds := c.credentialsLocked(p)
	c.mu.Unlock()
	return c.newOrg(p, creds, nil)
}

// newOrg builds the Organizations client of a payer with its credentials and its rate limiter (none when nil).
func (c *Client) newOrg(p invite.Payer, creds aws.CredentialsProvider, limiter *rate.Limiter) *organizations.Client {
	return organizations.NewFromConfig(c.cfg, func(o *organizations.Options) {
		o.Region = organizationsRegion
		o.Credentials = creds
		if c.opts.OrganizationsEndpoint != "" {
			o.BaseEndpoint = aws.String(c.opts.OrganizationsEndpoint)
		}
		o.Retryer = c.retryer()
		o.RetryMaxAttempts = 0 // the retryer above decides; a config-wide value must not wrap it
		o.HTTPClient = c.http
		if limiter != nil {
			o.APIOptions = append(o.APIOptions, rateLimit(limiter))
		}
		if c.opts.Metrics != nil || c.opts.Observer != nil {
			o.APIOptions = append(o.APIOptions, c.opts.Metrics.APIOption(p.ManagementAccountID, c.opts.Observer))
		}
	})
}

func (c *Client) credentialsLocked(p invite.Payer) aws.CredentialsProvider {
	if c.opts.CredentialsFor != nil {
		return c.opts.CredentialsFor(p)
	}
	if p.RoleARN == "" {
		return c.cfg.Credentials
	}
	if c.sts == nil {
		c.sts = sts.NewFromConfig(c.cfg, func(o *sts.Options) {
			if o.Region == "" {
				o.Region = organizationsRegion
			}
			if c.opts.STSEndpoint != "" {
				o.BaseEndpoint = aws.String(c.opts.STSEndpoint)
			}
			o.Retryer = c.retryer()
			o.RetryMaxAttempts = 0
			o.HTTPClient = c.http
			if c.opts.Metrics != nil || c.opts.Observer != nil {
				// One STS client serves every payer: its calls run inside the payer's call that needed the
				// credentials, which names the payer.
				o.APIOptions = append(o.APIOptions, c.opts.Metrics.APIOption("", c.opts.Observer))
			}
		})
	}
	prov := stscreds.NewAssumeRoleProvider(c.sts, p.RoleARN, func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = "aws-invites"
		o.Duration = c.opts.RoleSessionDuration
		if p.ExternalID != "" {
			o.ExternalID = aws.String(p.ExternalID)
		}
	})
	return aws.NewCredentialsCache(prov, func(o *aws.CredentialsCacheOptions) {
		o.ExpiryWindow = min(credentialsRefreshWindow, c.opts.RoleSessionDuration/4)
		o.ExpiryWindowJitterFrac = 0.5
	})
}

func (c *Client) limiterLocked(mgmt string) *rate.Limiter {
	if c.opts.RatePerSecond <= 0 {
		return nil
	}
	l, ok := c.limiters[mgmt]
	if !ok {
		l = rate.NewLimiter(rate.Limit(c.opts.RatePerSecond), c.opts.Burst)
		c.limiters[mgmt] = l
	}
	return l
}

// sharedHTTPClient is the one HTTP client of every payer's calls. The SDK copies a *BuildableClient for each
// client it builds (to apply its defaults mode), and each copy has its own connection pool: one per payer, several
// hundred connections, and a TLS handshake per payer whenever a pass outlasts the idle timeout. A frozen client is
// used as it is, by all of them. The config's client (LoadDefaultConfig's, with AWS_CA_BUNDLE and the like) is
// the base when it is the SDK's own.
func sharedHTTPClient(fromConfig aws.HTTPClient, opts Options) aws.HTTPClient {
	if opts.HTTPClient != nil {
		return opts.HTTPClient
	}
	bc, ok := fromConfig.(*awshttp.BuildableClient)
	switch {
	case fromConfig == nil:
		bc = awshttp.NewBuildableClient()
	case !ok:
		return fromConfig // the caller's own client: its pooling is the caller's
	}
	bc = bc.WithTransportOptions(func(t *http.Transport) {
		t.MaxConnsPerHost = opts.MaxConns
		t.MaxIdleConnsPerHost = opts.MaxConns
		t.MaxIdleConns = 2 * opts.MaxConns // Organizations and STS
		t.IdleConnTimeout = 90 * time.Second
		if t.TLSClientConfig == nil {
			t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		if t.TLSClientConfig.ClientSessionCache == nil {
			// A connection opened again (after the idle timeout, or beyond the idle ones kept) resumes its TLS
			// session instead of a full handshake.
			t.TLSClientConfig.ClientSessionCache = tls.NewLRUClientSessionCache(opts.MaxConns)
		}
	})
	if opts.AttemptTimeout > 0 {
		bc = bc.WithTimeout(opts.AttemptTimeout)
	}
	return bc.Freeze()
}

// retryer retries what the SDK retries by default (throttling whatever its status, 5xx, timeouts, broken
// connections) and also ConcurrentModificationException, with jittered exponential backoff and no retry quota:
// the quota would turn a throttling storm into immediate failures, while the attempts bound already limits work.
func (c *Client) retryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = c.opts.MaxAttempts
		o.MaxBackoff = c.opts.MaxBackoff
		o.Backoff = jitterBackoff{base: c.opts.BaseBackoff, max: c.opts.MaxBackoff}
		o.RateLimiter = ratelimit.None
		o.Retryables = append(o.Retryables, retry.RetryableErrorCode{
			Codes: map[string]struct{}{"ConcurrentModificationException": {}},
		})
	})
}

// jitterBackoff waits between half and all of base·2^(attempt-1), capped at max.
type jitterBackoff struct{ base, max time.Duration }

func (b jitterBackoff) BackoffDelay(attempt int, _ error) (time.Duration, error) {
	d := b.base
	for i := 1; i < attempt && d < b.max; i++ {
		d *= 2
	}
	d = min(d, b.max)
	half := d / 2
	return half + rand.N(half+1), nil
}

// rateLimit waits for the payer's limiter before every attempt, retries included, so that background work on
// one payer cannot exhaust its organization's API quota.
func rateLimit(l *rate.Limiter) func(*middleware.Stack) error {
	mw := middleware.FinalizeMiddlewareFunc("awsorgPayerRateLimit", func(
		ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler,
	) (middleware.FinalizeOutput, middleware.Metadata, error) {
		if err := l.Wait(ctx); err != nil {
			return middleware.FinalizeOutput{}, middleware.Metadata{}, err
		}
		return next.HandleFinalize(ctx, in)
	})
	return func(s *middleware.Stack) error {
		if err := s.Finalize.Insert(mw, "Retry", middleware.After); err == nil {
			return nil
		}
		return s.Finalize.Add(mw, middleware.After)
	}
}
