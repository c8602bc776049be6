package invite

import (
	"context"
	"errors"
	"fmt"
	"regexp"
)

// Profiles are the use cases of billing profiles: the reseller's staff manage them; customers read theirs.
type Profiles struct {
	*core
	store ProfilesStore
}

// NewProfiles returns the billing profile use cases.
func NewProfiles(st ProfilesStore, d Deps) *Profiles {
	return &Profiles{core: newCore(d, st), store: st}
}

// ProfileView is a billing profile as a caller may see it: customers see neither how the service reaches the
// payer (role, external id) nor from which account it acts; platform administrators see everything.
type ProfileView struct {
	BillingProfile
	ActsFromAccountID string // empty for customers
	// CURReport is what the last look at the payer's report found (why it cannot be read, when it was last
	// delivered): the reseller's to fix, so shown to platform administrators only, on a read of one profile. It
	// is an observation, not part of the profile: it takes no part in the entity tag (ETag), which a write's
	// If-Match compares with the stored profile's.
	CURReport *CURFeed `json:"-"`
}

// ViewFor renders a billing profile for the caller.
func (bp BillingProfile) ViewFor(p Principal) ProfileView {
	if !p.IsPlatformAdmin() {
		bp.RoleARN, bp.ExternalID, bp.CloudHealthClientID, bp.BillingGroupARN = "", "", "", ""
		return ProfileView{BillingProfile: bp}
	}
	return ProfileView{BillingProfile: bp, ActsFromAccountID: bp.ActsFromAccountID()}
}

// Put creates or replaces a billing profile (platform administrators only); it reports whether it was created.
func (s *Profiles) Put(ctx context.Context, p Principal, bp BillingProfile) (ProfileView, bool, error) {
	return s.PutIfMatch(ctx, p, bp, IfMatch{})
}

// PutIfMatch is Put under a precondition on the current version (CodePreconditionFailed when it does not hold),
// checked and written in one transaction, so two administrators cannot overwrite each other unknowingly.
func (s *Profiles) PutIfMatch(ctx context.Context, p Principal, bp BillingProfile, m IfMatch) (ProfileView, bool, error) {
	if !p.IsPlatformAdmin() {
		return ProfileView{}, false, Errorf(CodeForbidden, "managing billing profiles needs the %q role", RolePlatformAdmin)
	}
	acct, err := NormalizeAccountID(bp.ManagementAccountID)
	if err != nil {
		var e *Error
		errors.As(err, &e)
		return ProfileView{}, false, FieldProblem(CodeValidationFailed, "managementAccountId", e.Fields[0].Message,
			"managementAccountId must be a 12-digit AWS account id")
	}
	bp.ManagementAccountID = acct
	if err := validateRole(bp); err != nil {
		return ProfileView{}, false, err
	}
	if id := bp.CloudHealthClientID; id != "" && !cloudHealthClientID.MatchString(id) {
		return ProfileView{}, false, Invalid("cloudHealthClientApiId", fmt.Sprintf("%q is not a CloudHealth client_api_id (1 to 20 digits)", id))
	}
	if err := s.validateBillingGroup(ctx, bp); err != nil {
		return ProfileView{}, false, err
	}
	now := s.now(bp.ManagementAccountID)
	bp.CreatedAt, bp.UpdatedAt = now, now
	stored, created, err := s.store.PutBillingProfileIfMatch(ctx, bp, m)
	if err != nil {
		return ProfileView{}, false, err
	}
	return stored.ViewFor(p), created, nil
}

// Get returns a billing profile the caller is assigned to, as the caller may see it: the role and external id by
// which the service reaches the payer are the reseller's own secrets, shown to platform administrators only.
func (s *Profiles) Get(ctx context.Context, p Principal, id string) (ProfileView, error) {
	bp, err := s.profileFor(ctx, p, id, read)
	if err != nil {
		return ProfileView{}, err
	}
	v := bp.ViewFor(p)
	if p.IsPlatformAdmin() {
		feed, err := s.store.CURFeed(ctx, bp.ManagementAccountID)
		if err != nil {
			return ProfileView{}, err
		}
		if !feed.CheckedAt.IsZero() {
			v.CURReport = &feed
		}
	}
	return v, nil
}

// ActsFromAccountID is the AWS account whose credentials call AWS Organizations for the payer: the role's account
// when the profile names a role, else the management account itself.
func (bp BillingProfile) ActsFromAccountID() string {
	if m := roleARN.FindStringSubmatch(bp.RoleARN); m != nil {
		return m[1]
	}
	return bp.ManagementAccountID
}

// roleARN is a well-formed IAM role ARN (any partition), capturing its account; names and paths as IAM allows.
var roleARN = regexp.MustCompile(`^arn:aws(?:-[a-z]+)*:iam::(\d{12}):role/(?:[\w+=,.@-]+/)*[\w+=,.@-]{1,64}$`)

// cloudHealthClientID is a CloudHealth customer's client_api_id, a number in CloudHealth's partner API.
var cloudHealthClientID = regexp.MustCompile(`^[0-9]{1,20}$`)

// externalID is what STS accepts as an external id.
var externalID = regexp.MustCompile(`^[\w+=,.@:/-]+$`)

// validateRole checks the role the service assumes to reach the payer, and its external id.
func validateRole(bp BillingProfile) error {
	if bp.RoleARN == "" {
		if bp.ExternalID != "" {
			return Invalid("externalId", "an external id needs a roleArn to go with")
		}
		return nil
	}
	if !roleARN.MatchString(bp.RoleARN) {
		return Invalid("roleArn", fmt.Sprintf("%q is not an IAM role ARN like arn:aws:iam::%s:role/aws-invites", bp.RoleARN, bp.ManagementAccountID))
	}
	if n := len(bp.ExternalID); n > 0 && (n < 2 || n > 1224 || !externalID.MatchString(bp.ExternalID)) {
		return Invalid("externalId", "an external id has 2 to 1224 letters, digits and +=,.@:/-_ characters")
	}
	return nil
}

// ProfileChoice is a billing profile as the caller may choose it (the web app's "Choose the Billing Profile"): its
// view, and whether the caller may invite there.
type ProfileChoice struct {
	ProfileView
	CanInvite bool
}

// List returns a page of the billing profiles the caller may choose from, ordered by id: the profiles of its
// customer it is assigned to; for a platform administrator every profile (of q.CustomerID's customer when given).
// A customer asking for another customer's profiles gets none.
func (s *Profiles) List(ctx context.Context, p Principal, q ProfileQuery) ([]ProfileChoice, string, error) {
	q.Limit = PageSize(q.Limit)
	var page ProfilePage
	if p.IsPlatformAdmin() {
		var err error
		if page, err = s.store.ListBillingProfiles(ctx, q); err != nil {
			return nil, "", err
		}
	} else {
		if q.CustomerID != "" && q.CustomerID != p.CustomerID {
			return []ProfileChoice{}, "", nil
		}
		assigned, err := s.store.BillingProfilesByID(ctx, p.BillingProfiles)
		if err != nil {
			return nil, "", err
		}
		for _, bp := range assigned {
			if bp.CustomerID == p.CustomerID && bp.ID > q.After {
				page.Profiles = append(page.Profiles, bp)
			}
		}
		if len(page.Profiles) > q.Limit {
			page.Profiles, page.NextID = page.Profiles[:q.Limit], page.Profiles[q.Limit-1].ID
		}
	}
	out := make([]ProfileChoice, len(page.Profiles))
	for i, bp := range page.Profiles {
		_, err := authorize(p, bp.ID, bp, nil, write)
		out[i] = ProfileChoice{ProfileView: bp.ViewFor(p), CanInvite: err == nil}
	}
	return out, page.NextID, nil
}
