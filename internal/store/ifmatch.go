package store

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"

	"github.com/cloudreseller/aws-invites/internal/invite"
)

// PutBillingProfileIfMatch is PutBillingProfile under a precondition on the current profile, which is read with its
// row locked in the write's own transaction: a concurrent writer waits, and sees the version this one wrote.
func (s *Store) PutBillingProfileIfMatch(ctx context.Context, bp invite.BillingProfile, m invite.IfMatch) (invite.BillingProfile, bool, error) {
	return s.putBillingProfile(ctx, bp, m)
}

// checkIfMatch locks and reads billing profile id in tx and returns CodePreconditionFailed unless m holds for it.
// Without a precondition it reads nothing.
func (s *Store) checkIfMatch(tx *gorm.DB, id string, m invite.IfMatch) error {
	if !m.Set() {
		return nil
	}
	var row billingProfileRow
	err := tx.Clauses(s.forUpdate()...).Where("id = ?", id).Take(&row).Error
	var current *invite.BillingProfile
	switch {
	case err == nil:
		bp := row.domain()
		current = &bp
	case !errors.Is(err, gorm.ErrRecordNotFound):
		return fmt.Errorf("store: read billing profile %s for If-Match: %w", id, err)
	}
	return ifMatchError(id, m, current)
}

// ifMatchError is CodePreconditionFailed unless m holds for the current billing profile (nil when there is none).
func ifMatchError(id string, m invite.IfMatch, current *invite.BillingProfile) error {
	if m.Holds(current) {
		return nil
	}
	if current == nil {
		return invite.Errorf(invite.CodePreconditionFailed,
			"billing profile %s does not exist, and If-Match asks for an existing one; send the request without If-Match to create it", id)
	}
	return invite.Errorf(invite.CodePreconditionFailed,
		"billing profile %s changed since the version If-Match names (it is %s now): read it again, apply the change to what it holds now, and send it with its ETag", id, current.ETag())
}
