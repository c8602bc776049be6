package store_test

import (
	"context"
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
			var last invite.Invite
			for i := range 60 {
				last = newInvite(b, bp.ID, account(500_000_000_000+i), base)
				if err := s.CreateInvite(ctx, last, invite.Event{}); err != nil {
					b.Fatal(err)
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
		})
	}
}
