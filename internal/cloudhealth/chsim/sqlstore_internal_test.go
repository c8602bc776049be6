package chsim

import (
	"context"
	"testing"

	"github.com/cloudreseller/aws-invites/internal/sqlcols/sqlcolstest"
	"github.com/cloudreseller/aws-invites/internal/store"
	"github.com/cloudreseller/aws-invites/internal/store/storetest"
)

// Every column of chsim_accounts, filled with distinct values, comes back as written through the SQL store's reads
// (a page, one account, byOwner), on both databases. put writes every column but the sequence; put for a known
// owner overwrites its status, payer and update times and keeps the rest, the role and external id included once
// there are some; a payer put as such is created, or made its own payer only when it had none.
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
			put := func(step string, payers []Account, accounts ...Account) {
				t.Helper()
				if err := s.put(ctx, accounts, payers); err != nil {
					t.Fatalf("%s: %v", step, err)
				}
			}

			first := Account(sqlcolstest.Distinct(accountTable, 1, nil))
			noRole := Account(sqlcolstest.Distinct(accountTable, 2, map[string]any{"role_arn": "", "external_id": ""}))
			put("create", nil, first, noRole)
			first.ID, noRole.ID = firstID, firstID+1
			check("created", first, noRole)

			again := Account(sqlcolstest.Distinct(accountTable, 3, map[string]any{"owner_id": first.OwnerID}))
			roleNow := Account(sqlcolstest.Distinct(accountTable, 4, map[string]any{"owner_id": noRole.OwnerID}))
			put("update", nil, again, roleNow)
			for _, u := range []struct {
				want *Account
				put  Account
			}{{&first, again}, {&noRole, roleNow}} {
				u.want.PayerAccountID, u.want.Level, u.want.LastUpdate, u.want.UpdatedAt =
					u.put.PayerAccountID, u.put.Level, u.put.LastUpdate, u.put.UpdatedAt
			}
			noRole.RoleArn, noRole.ExternalID = roleNow.RoleArn, roleNow.ExternalID
			check("updated", first, noRole)

			// A payer that exists keeps its payer; a new one is created as given.
			newPayer := Account(sqlcolstest.Distinct(accountTable, 5, nil))
			newPayer.PayerAccountID = newPayer.OwnerID
			keep := first
			keep.PayerAccountID = "changed"
			put("payers", []Account{keep, newPayer})
			// Upserts that updated may have used sequence numbers (PostgreSQL's do): ids only grow, which is what
			// the API promises.
			all, err := s.page(ctx, 0, 10)
			if err != nil || len(all) != 3 || all[2].ID <= noRole.ID {
				t.Fatalf("payers: %d accounts, %v", len(all), err)
			}
			newPayer.ID = all[2].ID
			check("payers", first, noRole, newPayer)

			got, heads, err := s.byOwner(ctx, []string{first.OwnerID, newPayer.OwnerID, "none"})
			if err != nil || len(got) != 2 || len(heads) != 0 {
				t.Fatalf("byOwner: %d accounts, heads %v, %v", len(got), heads, err)
			}
			sqlcolstest.Same(t, "byOwner", []Account{got[first.OwnerID], got[newPayer.OwnerID]}, []Account{first, newPayer})
			member := Account(sqlcolstest.Distinct(accountTable, 6, map[string]any{"payer_account_id": newPayer.OwnerID}))
			put("member", nil, member)
			if _, heads, err = s.byOwner(ctx, []string{newPayer.OwnerID, first.OwnerID}); err != nil || !heads[newPayer.OwnerID] || heads[first.OwnerID] {
				t.Fatalf("heads %v, %v", heads, err)
			}
			if n, err := s.count(ctx); err != nil || n != 4 {
				t.Fatalf("count %d, %v", n, err)
			}
		})
	}
}
