package store_test

import (
	"context"
	"slices"
	"testing"

	"github.com/cloudreseller/aws-invites/internal/invite"
	"github.com/cloudreseller/aws-invites/internal/store"
	"github.com/cloudreseller/aws-invites/internal/store/storetest"
)

// BenchmarkReadPath measures the read path of the API's GETs on each database: one invite with its billing profile,
// and a page of 50 with the profile (scan targets and SELECT lists included).
func BenchmarkReadPath(b *testing.B) {
	for _, d := range storetest.Dialects() {
		b.Run(d, func(b *testing.B) {
			ctx := context.Background()
			s := storetest.Open(b, d, store.Options{})
			bp := putProfile(b, s)
			// Three profiles of the customer (the web app's list across them), 60 invites each.
			profiles := []string{bp.ID, putProfile(b, s).ID, putProfile(b, s).ID}
			var last invite.Invite
			for p, id := range slices.Backward(profiles) {
				for i := range 60 {
					last = newInvite(b, id, account(500_000_000_000+p*1000+i), base)
					if err := s.CreateInvite(ctx, last, invite.Event{}); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.Run("invite", func(b *testing.B) {
				for b.Loop() {
					if _, inv, err := s.ProfileAndInvite(ctx, bp.ID, last.ID); err != nil || inv == nil {
						b.Fatal(inv, err)
					}
				}
			})
			b.Run("page50", func(b *testing.B) {
				for b.Loop() {
					if _, page, err := s.ProfileAndPage(ctx, invite.ListQuery{BillingProfileID: bp.ID, Limit: 50}); err != nil || len(page.Invites) != 50 {
						b.Fatal(len(page.Invites), err)
					}
				}
			})
			// GET /aws-invites: the same page across the three profiles (one index scan each, merged), and across
			// every profile (a platform administrator), to compare with page50.
			b.Run("page50across3", func(b *testing.B) {
				for b.Loop() {
					if page, err := s.ListInvites(ctx, invite.ListQuery{BillingProfileIDs: profiles, Limit: 50}); err != nil || len(page.Invites) != 50 {
						b.Fatal(len(page.Invites), err)
					}
				}
			})
			b.Run("page50all", func(b *testing.B) {
				for b.Loop() {
					if page, err := s.ListInvites(ctx, invite.ListQuery{AllProfiles: true, Limit: 50}); err != nil || len(page.Invites) != 50 {
						b.Fatal(len(page.Invites), err)
					}
				}
			})
		})
	}
}
