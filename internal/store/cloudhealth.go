package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/cloudreseller/aws-invites/internal/invite"
)

// cloudHealthValidationRow is an invite's last CloudHealth validation; its checks are kept as JSON, whole.
type cloudHealthValidationRow struct {
	InviteID string    `gorm:"column:invite_id;primaryKey"`
	RanAt    time.Time `gorm:"column:ran_at"`
	Checks   string    `gorm:"column:checks"`
}

func (cloudHealthValidationRow) TableName() string { return "cloudhealth_validations" }

// storedCheck is one check as kept in cloudhealth_validations.checks.
type storedCheck struct {
	Name    string   `json:"name"`
	Result  string   `json:"result"`
	Detail  string   `json:"detail"`
	Missing []string `json:"missing,omitempty"`
	Denied  []string `json:"denied,omitempty"`
}

func validationToRow(v invite.CloudHealthValidation) (cloudHealthValidationRow, error) {
	checks := make([]storedCheck, len(v.Checks))
	for i, c := range v.Checks {
		checks[i] = storedCheck{Name: c.Name, Result: c.Result, Detail: c.Detail, Missing: c.Missing, Denied: c.Denied}
	}
	raw, err := json.Marshal(checks)
	if err != nil {
		return cloudHealthValidationRow{}, err
	}
	return cloudHealthValidationRow{InviteID: v.InviteID, RanAt: dbTime(v.At), Checks: string(raw)}, nil
}

func (r cloudHealthValidationRow) domain() (invite.CloudHealthValidation, error) {
	var checks []storedCheck
	if err := json.Unmarshal([]byte(r.Checks), &checks); err != nil {
		return invite.CloudHealthValidation{}, fmt.Errorf("store: the CloudHealth validation of invite %s: %w", r.InviteID, err)
	}
	v := invite.CloudHealthValidation{InviteID: r.InviteID, At: r.RanAt.UTC(), Checks: make([]invite.CloudHealthCheck, len(checks))}
	for i, c := range checks {
		v.Checks[i] = invite.CloudHealthCheck{Name: c.Name, Result: c.Result, Detail: c.Detail, Missing: c.Missing, Denied: c.Denied}
	}
	return v, nil
}

// SaveCloudHealthValidation keeps v as its invite's last validation with ev, unless the one kept ran after
// lastBefore: the replacement and the first insert are each conditional, so of two concurrent runs one wins.
func (s *Store) SaveCloudHealthValidation(ctx context.Context, v invite.CloudHealthValidation, ev invite.Event, lastBefore time.Time) (bool, error) {
	row, err := validationToRow(v)
	if err != nil {
		return false, err
	}
	saved := false
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&cloudHealthValidationRow{}).Where("invite_id = ? AND ran_at <= ?", row.InviteID, dbTime(lastBefore)).
			Updates(map[string]any{"ran_at": row.RanAt, "checks": row.Checks})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			res = tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&row)
			if res.Error != nil {
				return res.Error
			}
			if res.RowsAffected == 0 {
				return nil // a run kept after lastBefore: too soon
			}
		}
		saved = true
		return s.writeEvents(ctx, tx, row.RanAt, ev)
	})
	if err != nil {
		return false, fmt.Errorf("store: save the CloudHealth validation of invite %s: %w", v.InviteID, err)
	}
	return saved, nil
}

// CloudHealthValidation returns an invite's last validation, or CodeNotFound.
func (s *Store) CloudHealthValidation(ctx context.Context, inviteID string) (invite.CloudHealthValidation, error) {
	var rows []cloudHealthValidationRow
	if err := s.db.WithContext(ctx).Where("invite_id = ?", inviteID).Limit(1).Find(&rows).Error; err != nil {
		return invite.CloudHealthValidation{}, fmt.Errorf("store: read the CloudHealth validation of invite %s: %w", inviteID, err)
	}
	if len(rows) == 0 {
		return invite.CloudHealthValidation{}, invite.Errorf(invite.CodeNotFound, "invite %q has no CloudHealth validation", inviteID)
	}
	return rows[0].domain()
}

// SaveCloudHealthValidation keeps v as its invite's last validation with ev, unless the one kept ran after
// lastBefore.
func (m *Memory) SaveCloudHealthValidation(_ context.Context, v invite.CloudHealthValidation, ev invite.Event, lastBefore time.Time) (bool, error) {
	row, err := validationToRow(v)
	if err != nil {
		return false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if last, ok := m.chChecks[row.InviteID]; ok && last.RanAt.After(dbTime(lastBefore)) {
		return false, nil
	}
	if m.chChecks == nil {
		m.chChecks = map[string]cloudHealthValidationRow{}
	}
	m.chChecks[row.InviteID] = row
	m.writeEvents(row.RanAt, ev)
	return true, nil
}

// CloudHealthValidation returns an invite's last validation, or CodeNotFound.
func (m *Memory) CloudHealthValidation(_ context.Context, inviteID string) (invite.CloudHealthValidation, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	row, ok := m.chChecks[inviteID]
	if !ok {
		return invite.CloudHealthValidation{}, invite.Errorf(invite.CodeNotFound, "invite %q has no CloudHealth validation", inviteID)
	}
	return row.domain()
}
