package cloudhealth

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/cloudreseller/aws-invites/internal/invite"
)

// SourceOptions configures a Source.
type SourceOptions struct {
	// TenantOf names the CloudHealth tenant of a billing profile: "" for the key's own, else a partner's
	// customer's client_api_id. Nil means DefaultTenant for every billing profile.
	TenantOf func(ctx context.Context, billingProfileID string) (string, error)
	// DefaultTenant is every billing profile's tenant when TenantOf is nil (CLOUDHEALTH_CLIENT_API_ID: a partner
	// key that serves one customer).
	DefaultTenant string
	// ResumeFor is how long a listing stopped midway may be resumed; default DefaultResumeFor.
	ResumeFor time.Duration
}

// ProfileReader reads a billing profile (the store).
type ProfileReader interface {
	BillingProfile(ctx context.Context, id string) (invite.BillingProfile, error)
}

// TenantOfProfiles names a billing profile's tenant as the profile says it (its CloudHealthClientID, for a
// partner's customer), else def (CLOUDHEALTH_CLIENT_API_ID, or "" for the key's own).
func TenantOfProfiles(profiles ProfileReader, def string) func(context.Context, string) (string, error) {
	return func(ctx context.Context, billingProfileID string) (string, error) {
		bp, err := profiles.BillingProfile(ctx, billingProfileID)
		if err != nil {
			return "", err
		}
		if bp.CloudHealthClientID != "" {
			return bp.CloudHealthClientID, nil
		}
		return def, nil
	}
}

// Source is the domain's view of CloudHealth (invite.CloudHealthStatuses) over one client: one resumable Listing
// per tenant, kept between passes, and each tenant's last complete Snapshot, which setup and validation read
// instead of listing again. It is safe for concurrent use.
type Source struct {
	client *Client
	opts   SourceOptions

	mu       sync.Mutex
	listings map[string]*Listing
	problems map[string]tenantProblem // the last failure of each tenant since its last success
}

type tenantProblem struct {
	err *invite.Error
	at  time.Time
}

var _ invite.CloudHealthReporter = (*Source)(nil)

// record keeps a tenant's outcome for Tenants: err (a domainError) is its problem until a success clears it. It
// returns err.
func (s *Source) record(tenant string, err error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var e *invite.Error
	switch {
	case err == nil:
		delete(s.problems, tenant)
	case errors.As(err, &e):
		if s.problems == nil {
			s.problems = map[string]tenantProblem{}
		}
		s.problems[tenant] = tenantProblem{err: e, at: s.client.opts.Clock.Now()}
	}
	return err
}

// Tenants tells how each tenant this source has read is read, in tenant order.
func (s *Source) Tenants() []invite.CloudHealthTenant {
	s.mu.Lock()
	names := map[string]bool{}
	for t := range s.listings {
		names[t] = true
	}
	for t := range s.problems {
		names[t] = true
	}
	problems := maps.Clone(s.problems)
	s.mu.Unlock()
	out := make([]invite.CloudHealthTenant, 0, len(names))
	for _, t := range slices.Sorted(maps.Keys(names)) {
		r := invite.CloudHealthTenant{Tenant: t}
		l := s.Listing(t)
		if snap := l.Last(); snap != nil {
			r.ListedAt, r.Accounts, r.Requests = snap.Taken, snap.Len(), len(snap.Pages)
		}
		if next, nextAssigned, accounts := l.Progress(); next > 0 || nextAssigned > 0 {
			r.InProgress, r.NextPage, r.AccountsSoFar = true, max(next, nextAssigned), accounts
		}
		if p, ok := problems[t]; ok {
			r.Problem, r.ProblemAt = p.err, p.at
		}
		out = append(out, r)
	}
	return out
}

var _ invite.CloudHealthStatuses = (*Source)(nil)

// NewSource returns the statuses of the client's tenants.
func NewSource(c *Client, opts SourceOptions) *Source {
	if opts.ResumeFor <= 0 {
		opts.ResumeFor = DefaultResumeFor
	}
	return &Source{client: c, opts: opts, listings: map[string]*Listing{}}
}

// Client returns the source's client.
func (s *Source) Client() *Client { return s.client }

// Tenant names the billing profile's tenant.
func (s *Source) Tenant(ctx context.Context, billingProfileID string) (string, error) {
	if s.opts.TenantOf == nil {
		return s.opts.DefaultTenant, nil
	}
	return s.opts.TenantOf(ctx, billingProfileID)
}

// Listing returns the tenant's listing, created on first use.
func (s *Source) Listing(tenant string) *Listing {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.listings[tenant]
	if !ok {
		l = NewListing(s.client, tenant)
		l.resumeFor = s.opts.ResumeFor
		s.listings[tenant] = l
	}
	return l
}

// Snapshot returns the tenant's last complete listing, or nil when there has been none yet.
func (s *Source) Snapshot(tenant string) *Snapshot { return s.Listing(tenant).Last() }

// Statuses continues (or starts) the tenant's listing until it is complete, and gives each listed AWS account's
// status with the payer its documented fields give.
func (s *Source) Statuses(ctx context.Context, tenant string) (map[string]invite.CloudHealthStatus, error) {
	snap, err := s.Listing(tenant).Next(ctx)
	if err != nil {
		return nil, s.record(tenant, domainError(err))
	}
	s.record(tenant, nil)
	return StatusesOf(snap), nil
}

// smallListing is how many requests a tenant's whole listing may take for a refresh of one account to list it
// again: a small tenant is listed whole (which also finds accounts new to it); a larger one reads just the account.
const smallListing = 3

// StatusOf reads one account's status now, for a refresh. A small tenant (its last listing took at most
// smallListing requests), or one never listed, is listed again whole. Otherwise the account is read alone (one
// request, GET /v1/aws_accounts/:id) and placed against the payers of the last listing; an account that listing
// lacks is answered as not listed until the next pass finds it: a click must neither wait minutes for a large
// tenant's listing nor spend the tenant's budget of 30 requests a minute on one.
func (s *Source) StatusOf(ctx context.Context, tenant, ownerID string) (invite.CloudHealthStatus, error) {
	snap := s.Snapshot(tenant)
	if snap == nil || len(snap.Pages) <= smallListing {
		statuses, err := s.Statuses(ctx, tenant)
		if err != nil {
			return invite.CloudHealthStatus{}, err
		}
		return statuses[ownerID], nil
	}
	known, ok := snap.Account(ownerID)
	if !ok {
		return invite.CloudHealthStatus{}, nil
	}
	a, err := s.client.GetAccount(ctx, tenant, known.ID)
	switch {
	case errors.Is(err, ErrNotFound):
		return invite.CloudHealthStatus{}, nil // removed from CloudHealth since the listing
	case err != nil:
		return invite.CloudHealthStatus{}, s.record(tenant, domainError(err))
	}
	var out invite.CloudHealthStatus
	snap.With(a).Owners(func(acct Account, p Placement) {
		if acct.OwnerID == ownerID {
			out = statusOf(acct, p)
		}
	})
	return out, nil
}

// StatusesOf turns a snapshot into the domain's statuses.
func StatusesOf(snap *Snapshot) map[string]invite.CloudHealthStatus {
	out := make(map[string]invite.CloudHealthStatus, snap.Len())
	snap.Owners(func(a Account, p Placement) { out[a.OwnerID] = statusOf(a, p) })
	return out
}

func statusOf(a Account, p Placement) invite.CloudHealthStatus {
	return invite.CloudHealthStatus{Level: string(a.Status.Level), LastUpdate: a.Status.LastUpdate,
		PayerAccountID: p.PayerID, PayerName: p.PayerName, PayerReason: p.Reason, Listed: true}
}

// SetupSource builds the IAM setup customers create for CloudHealth (invite.CloudHealthSetupSource). The external
// id comes from CloudHealth once per tenant (generate_external_id, which needs no listed account) and is kept;
// FallbackExternalID serves when there is no client (CloudHealth not followed). It never lists accounts.
type SetupSource struct {
	Source             *Source // nil without a CloudHealth key
	FallbackExternalID string
	// Deploy is how the one-click deployments are built (the reseller's template URL); optional.
	Deploy DeployOptions
	// Policy chooses the optional parts of the role's policy; off by default.
	Policy PolicyOptions

	mu         sync.Mutex
	externalID map[string]string
}

// NewSetupSource returns the setup source over src (nil when CloudHealth is not followed).
func NewSetupSource(src *Source, fallbackExternalID string, deploy DeployOptions, policy PolicyOptions) *SetupSource {
	return &SetupSource{Source: src, FallbackExternalID: fallbackExternalID, Deploy: deploy, Policy: policy}
}

var _ invite.CloudHealthSetupSource = (*SetupSource)(nil)

// ExternalID returns the tenant's external id, asking CloudHealth only the first time.
func (s *SetupSource) ExternalID(ctx context.Context, tenant string) (string, error) {
	if s.Source == nil {
		if s.FallbackExternalID == "" {
			return "", invite.Errorf(invite.CodeCloudHealthNotConfigured, "CloudHealth is not configured for this service")
		}
		return s.FallbackExternalID, nil
	}
	s.mu.Lock()
	ext, ok := s.externalID[tenant]
	s.mu.Unlock()
	if ok {
		return ext, nil
	}
	ext, err := s.Source.client.GenerateExternalID(ctx, tenant)
	if err != nil {
		return "", s.Source.record(tenant, domainError(err))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.externalID == nil {
		s.externalID = map[string]string{}
	}
	s.externalID[tenant] = ext
	return ext, nil
}

// Setup returns the setup for an invite's account, as JSON-ready data and as a CloudFormation template.
func (s *SetupSource) Setup(ctx context.Context, inv invite.Invite, parts invite.CloudHealthPolicyParts) (invite.CloudHealthSetup, error) {
	tenant := ""
	if s.Source != nil {
		var err error
		if tenant, err = s.Source.Tenant(ctx, inv.BillingProfileID); err != nil {
			return invite.CloudHealthSetup{}, err
		}
	}
	externalID, err := s.ExternalID(ctx, tenant)
	if err != nil {
		return invite.CloudHealthSetup{}, err
	}
	policy := s.Policy
	policy.Buckets = append(slices.Clone(policy.Buckets), parts.ReadBuckets...)
	policy.ModifyReservedInstances = policy.ModifyReservedInstances || parts.ModifyReservedInstances
	setup, err := NewSetup(SetupInput{AccountID: inv.AccountID, ExternalID: externalID, Policy: policy, CheckerPrincipal: s.Deploy.CheckerPrincipal})
	if err != nil {
		return invite.CloudHealthSetup{}, fmt.Errorf("cloudhealth setup for %s: %w", inv.AccountID, err)
	}
	deploy := s.Deploy
	if len(parts.ReadBuckets) > 0 || parts.ModifyReservedInstances {
		// The hosted template holds the read-only policy alone: with optional parts the stack is created from the
		// template this setup downloads, so no quick-create link.
		deploy.TemplateURL = ""
	}
	if setup.Deploy, err = setup.Deployments(deploy); err != nil {
		return invite.CloudHealthSetup{}, fmt.Errorf("cloudhealth deployments for %s: %w", inv.AccountID, err)
	}
	tmpl, err := setup.CloudFormation()
	if err != nil {
		return invite.CloudHealthSetup{}, fmt.Errorf("cloudhealth template for %s: %w", inv.AccountID, err)
	}
	return invite.CloudHealthSetup{JSON: setup, Template: tmpl}, nil
}

// domainError tells the domain what went wrong with CloudHealth, keeping the cause for the logs: a refused key is
// the reseller's configuration (and wraps invite.ErrCloudHealthKeyRefused, so that nothing reads it as a
// customer's state); anything else is CloudHealth not answering.
func domainError(err error) error {
	if errors.Is(err, ErrKeyRefused) {
		return &invite.Error{Code: invite.CodeCloudHealthKeyRefused,
			Detail: "CloudHealth refuses the reseller's API key (or the customer's client_api_id); this is the reseller's to fix, nothing is wrong with the account",
			Err:    errors.Join(invite.ErrCloudHealthKeyRefused, err)}
	}
	return &invite.Error{Code: invite.CodeCloudHealthUnavailable, Detail: "CloudHealth is not answering right now; try again later",
		RetryAfter: 30 * time.Second, Err: err}
}
