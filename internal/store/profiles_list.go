package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/cloudreseller/aws-invites/internal/invite"
)

// BillingProfilesByID returns the billing profiles of ids that exist, ordered by id.
func (s *Store) BillingProfilesByID(ctx context.Context, ids []string) ([]invite.BillingProfile, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var rows []billingProfileRow
	if err := s.db.WithContext(ctx).Where("id IN ?", ids).Order("id").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: read billing profiles: %w", err)
	}
	return profilesOf(rows), nil
}

// ListBillingProfiles returns a page of billing profiles ordered by id, of one customer when q names one.
func (s *Store) ListBillingProfiles(ctx context.Context, q invite.ProfileQuery) (invite.ProfilePage, error) {
	limit := pageLimit(q.Limit)
	db := s.db.WithContext(ctx).Order("id").Limit(limit + 1)
	if q.CustomerID != "" {
		db = db.Where("customer_id = ?", q.CustomerID)
	}
	if q.After != "" {
		db = db.Where("id > ?", q.After)
	}
	var rows []billingProfileRow
	if err := db.Find(&rows).Error; err != nil {
		return invite.ProfilePage{}, fmt.Errorf("store: list billing profiles: %w", err)
	}
	rows, last := onePage(rows, limit)
	page := invite.ProfilePage{Profiles: profilesOf(rows)}
	if last != nil {
		page.NextID = last.ID
	}
	return page, nil
}

func profilesOf(rows []billingProfileRow) []invite.BillingProfile {
	out := make([]invite.BillingProfile, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out
}

// BillingProfilesByID returns the billing profiles of ids that exist, ordered by id.
func (m *Memory) BillingProfilesByID(_ context.Context, ids []string) ([]invite.BillingProfile, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var rows []billingProfileRow
	for _, id := range slices.Compact(slices.Sorted(slices.Values(ids))) {
		if r, ok := m.profiles[id]; ok {
			rows = append(rows, r)
		}
	}
	return profilesOf(rows), nil
}

// ListBillingProfiles returns a page of billing profiles ordered by id, of one customer when q names one.
func (m *Memory) ListBillingProfiles(_ context.Context, q invite.ProfileQuery) (invite.ProfilePage, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var rows []billingProfileRow
	for _, r := range m.profiles {
		if (q.CustomerID == "" || r.CustomerID == q.CustomerID) && r.ID > q.After {
			rows = append(rows, r)
		}
	}
	slices.SortFunc(rows, func(a, b billingProfileRow) int { return cmp.Compare(a.ID, b.ID) })
	rows, last := onePage(rows, pageLimit(q.Limit))
	page := invite.ProfilePage{Profiles: profilesOf(rows)}
	if last != nil {
		page.NextID = last.ID
	}
	return page, nil
}
