package cloudhealth

import (
	"context"
	"errors"
	"fmt"
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
		return nil, domainError(err)
	}
	return StatusesOf(snap), nil
}

// StatusesOf turns a snapshot into the domain's statuses.
func StatusesOf(snap *Snapshot) map[string]invite.CloudHealthStatus {
	out := make(map[string]invite.CloudHealthStatus, snap.Len())
	snap.Owners(func(a Account, p Placement) {
		out[a.OwnerID] = invite.CloudHealthStatus{Level: string(a.Status.Level), LastUpdate: a.Status.LastUpdate,
			PayerAccountID: p.PayerID, PayerName: p.PayerName, PayerReason: p.Reason, Listed: true}
	})
	return out
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
		return "", domainError(err)
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
func (s *SetupSource) Setup(ctx context.Context, inv invite.Invite) (invite.CloudHealthSetup, error) {
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
	setup, err := NewSetup(SetupInput{AccountID: inv.AccountID, ExternalID: externalID, Policy: s.Policy})
	if err != nil {
		return invite.CloudHealthSetup{}, fmt.Errorf("cloudhealth setup for %s: %w", inv.AccountID, err)
	}
	if setup.Deploy, err = setup.Deployments(s.Deploy); err != nil {
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
