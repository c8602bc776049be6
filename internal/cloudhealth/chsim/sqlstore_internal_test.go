package chsim

import (
	"context"
	"testing"

	"github.com/cloudreseller/aws-invites/internal/sqlcols/sqlcolstest"
	"github.com/cloudreseller/aws-invites/internal/store"
	"github.com/cloudreseller/aws-invites/internal/store/storetest"
)

// Every column of chsim_accounts, filled with distinct values, comes back as written through the SQL store's reads
// (a page, one account), on both databases. put writes every column but the sequence and the external id, which
// externalID gives; put for a known owner overwrites its status and update times and keeps the rest, the role
// included once there is one.
func TestSQLStoreRoundTrips(t *testing.T) {
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			s := NewSQLStore(storetest.Open(t, dialect, store.Options{}).SQLDB())
			ctx := context.Background()
			check := func(step string, want ...Account) {
				t.Helper()
				page, err := s.page(ctx, 0, 10)
				if err != nil {
					t.Fatalf("%s: page: %v", step, err)
				}
				sqlcolstest.Same(t, step+": page", page, want)
				for _, w := range want {
					a, found, err := s.get(ctx, w.ID)
					if err != nil || !found {
						t.Fatalf("%s: get %d: found %v, %v", step, w.ID, found, err)
					}
					sqlcolstest.Same(t, step+": get", a, w)
				}
			}
			put := func(step string, accounts ...Account) {
				t.Helper()
				if err := s.put(ctx, accounts); err != nil {
					t.Fatalf("%s: %v", step, err)
				}
			}

			first := Account(sqlcolstest.Distinct(accountTable, 1, nil))
			noRole := Account(sqlcolstest.Distinct(accountTable, 2, map[string]any{"role_arn": ""}))
			put("create", first, noRole)
			ext := []string{first.ExternalID, noRole.ExternalID}
			first.ID, first.ExternalID = firstID, ""
			noRole.ID, noRole.ExternalID = firstID+1, ""
			check("created", first, noRole)

			for i, a := range []*Account{&first, &noRole} {
				got, found, err := s.externalID(ctx, a.ID, ext[i])
				if err != nil || !found || got != ext[i] {
					t.Fatalf("externalID %d: %q %v %v, want %q", a.ID, got, found, err, ext[i])
				}
				a.ExternalID = ext[i]
			}
			check("external ids given", first, noRole)

			again := Account(sqlcolstest.Distinct(accountTable, 3, map[string]any{"owner_id": first.OwnerID}))
			roleNow := Account(sqlcolstest.Distinct(accountTable, 4, map[string]any{"owner_id": noRole.OwnerID}))
			put("update", again, roleNow)
			for _, u := range []struct {
				want *Account
				put  Account
			}{{&first, again}, {&noRole, roleNow}} {
				u.want.PayerAccountID, u.want.Level, u.want.LastUpdate, u.want.UpdatedAt =
					u.put.PayerAccountID, u.put.Level, u.put.LastUpdate, u.put.UpdatedAt
			}
			noRole.RoleArn = roleNow.RoleArn
			check("updated", first, noRole)
		})
	}
}
