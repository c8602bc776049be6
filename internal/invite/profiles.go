package invite

import (
	"context"
	"errors"
)

// Profiles are the use cases of billing profiles: the reseller's staff manage them; customers read theirs.
type Profiles struct{ *core }

// NewProfiles returns the billing profile use cases.
func NewProfiles(d Deps) *Profiles { return &Profiles{newCore(d)} }

// Put creates or replaces a billing profile (platform administrators only); it reports whether it was created.
func (s *Profiles) Put(ctx context.Context, p Principal, bp BillingProfile) (BillingProfile, bool, error) {
	if !p.IsPlatformAdmin() {
		return BillingProfile{}, false, Errorf(CodeForbidden, "managing billing profiles needs the %q role", RolePlatformAdmin)
	}
	acct, err := NormalizeAccountID(bp.ManagementAccountID)
	if err != nil {
		var e *Error
		errors.As(err, &e)
		return BillingProfile{}, false, &Error{Code: CodeValidationFailed, Detail: "managementAccountId must be a 12-digit AWS account id",
			Fields: []FieldError{{Field: "managementAccountId", Message: e.Fields[0].Message}}}
	}
	bp.ManagementAccountID = acct
	now := s.clock.Now()
	bp.CreatedAt, bp.UpdatedAt = now, now
	return s.store.PutBillingProfile(ctx, bp)
}

// Get returns a billing profile the caller is assigned to.
func (s *Profiles) Get(ctx context.Context, p Principal, id string) (BillingProfile, error) {
	return s.profileFor(ctx, p, id, read)
}
