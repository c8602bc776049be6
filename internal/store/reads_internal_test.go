package store

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/cloudreseller/aws-invites/internal/invite"
	"github.com/cloudreseller/aws-invites/internal/testdb"
)

// The row types declare every column of their tables, on both dialects: a migration that adds a column without
// adding it to the row type fails here, not as a field silently read as empty. The read path's lists and scan
// targets are derived from the row types, so they cannot disagree with them.
func TestRowTypesCoverTheTables(t *testing.T) {
	for _, dialect := range []string{DialectPostgres, DialectSQLite} {
		t.Run(dialect, func(t *testing.T) {
			url := t.TempDir() + "/c.db"
			if dialect == DialectPostgres {
				url = testdb.New(t)
			}
			s := openMigrated(t, url)
			for table, listed := range map[string]string{"billing_profiles": profileTable.List, "invites": inviteTable.List} {
				rows, err := s.sqlDB.Query("SELECT * FROM " + table + " LIMIT 0")
				if err != nil {
					t.Fatal(err)
				}
				cols, err := rows.Columns()
				rows.Close()
				if err != nil {
					t.Fatal(err)
				}
				slices.Sort(cols)
				want := splitColumns(listed)
				slices.Sort(want)
				if !slices.Equal(cols, want) {
					t.Errorf("%s has columns %v; its row type declares %v", table, cols, want)
				}
			}
			var bp billingProfileRow
			var inv inviteRow
			if n, m := len(splitColumns(profileTable.List)), len(bp.fields()); n != m {
				t.Errorf("the profile's list names %d columns, its scan targets are %d", n, m)
			}
			if n, m := len(splitColumns(inviteTable.List)), len(inv.fields()); n != m {
				t.Errorf("the invite's list names %d columns, its scan targets are %d", n, m)
			}
		})
	}
}

func splitColumns(list string) []string {
	var out []string
	for _, c := range slices.Collect(func(yield func(string) bool) {
		start := 0
		for i := 0; i <= len(list); i++ {
			if i == len(list) || list[i] == ',' {
				if !yield(list[start:i]) {
					return
				}
				start = i + 1
			}
		}
	}) {
		for len(c) > 0 && c[0] == ' ' {
			c = c[1:]
		}
		out = append(out, c)
	}
	return out
}

func openMigrated(t *testing.T, url string) *Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := Open(ctx, url, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

// Every form of a page of invites is a range scan of one index, read backwards from the cursor and stopped after
// the page, with no sort and no scan of the whole profile, at 100,000 and at 1,000,000 invites in a profile
// (EXPLAIN ANALYZE on PostgreSQL; the row counts are the plan's actual ones). Every id of bp-100k is newer than
// every id of bp-1m, which holds most of the table: a plan that serves bp-1m's pages from the primary key,
// backwards, reads all of bp-100k first (the planner chose it in one run out of a few before migration 00011
// ordered the lists' ids byte by byte).
func TestListPlansAreIndexRangeScans(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 1.1 million invites")
	}
	s := openMigrated(t, testdb.New(t))
	ctx := context.Background()
	sizes := map[string]int{"bp-100k": 100_000, "bp-1m": 1_000_000}
	offset := map[string]int{"bp-100k": 2_000_000, "bp-1m": 0} // ids and accounts of one profile apart from the other's
	start := time.Now()
	for id, n := range sizes {
		if _, err := s.pool.Exec(ctx, `INSERT INTO billing_profiles (id, customer_id, name, management_account_id, created_at, updated_at)
			VALUES ($1, 'c', $1, $2, now(), now())`, id, fmt.Sprintf("%012d", n)); err != nil {
			t.Fatal(err)
		}
		// Invite i: ids in creation order; 1 in 100 invited, 1 in 1000 active, the rest terminal; 1 in 50 a
		// billing transfer; each its own account.
		if _, err := s.pool.Exec(ctx, `INSERT INTO invites (id, billing_profile_id, payer, account_id, state, kind, created_at, updated_at, version)
			SELECT lpad(to_hex($4 + i), 8, '0') || '-0000-7000-8000-' || lpad(to_hex($4 + i), 12, '0'), $1, $2, (100000000000 + $4 + i)::text,
			       CASE WHEN i % 1000 = 0 THEN 'active' WHEN i % 100 = 0 THEN 'invited'
			            ELSE (ARRAY['canceled', 'declined', 'expired'])[1 + i % 3] END,
			       CASE WHEN i % 50 = 7 THEN 'billing_transfer' ELSE 'join' END, now(), now(), 1
			FROM generate_series(1, $3::int) AS i`, id, fmt.Sprintf("%012d", n), n, offset[id]); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.pool.Exec(ctx, "ANALYZE invites"); err != nil {
		t.Fatal(err)
	}
	t.Logf("seeded 1.1 million invites in %s", time.Since(start).Round(time.Millisecond))

	idOf := func(i int) string { return fmt.Sprintf("%08x-0000-7000-8000-%012x", i, i) }
	for id, n := range sizes {
		middle := idOf(offset[id] + n/2)
		cases := []struct {
			name    string
			q       invite.ListQuery
			indexes []string
			exact   bool // the index answers every condition: no row is read and then dropped
		}{
			{"first page", invite.ListQuery{}, []string{"invites_list_idx"}, true},
			{"from a cursor", invite.ListQuery{After: middle}, []string{"invites_list_idx"}, true},
			{"a rare state", invite.ListQuery{States: []invite.State{invite.StateInvited}, After: middle}, []string{"invites_profile_state_idx"}, true},
			{"a common state", invite.ListQuery{States: []invite.State{invite.StateCanceled}}, []string{"invites_profile_state_idx"}, true},
			{"two states", invite.ListQuery{States: []invite.State{invite.StateInvited, invite.StateActive}, After: middle},
				[]string{"invites_profile_state_idx"}, true},
			// An account's own index (00014, for the list across profiles) serves as well: an account is in few profiles.
			{"an account", invite.ListQuery{AccountID: fmt.Sprintf("%012d", 100000000000+offset[id]+n/3)},
				[]string{"invites_profile_account_idx", "invites_account_list_idx"}, true},
			{"a kind", invite.ListQuery{Kind: invite.InviteTransfer, After: middle}, []string{"invites_kind_idx"}, true},
			{"a kind and a state", invite.ListQuery{Kind: invite.InviteTransfer, States: []invite.State{invite.StateInvited}},
				[]string{"invites_profile_kind_state_idx"}, true},
			{"a kind and two states", invite.ListQuery{Kind: invite.InviteTransfer, States: []invite.State{invite.StateInvited, invite.StateCanceled}},
				[]string{"invites_profile_kind_state_idx"}, true},
			{"an account and a state", invite.ListQuery{AccountID: fmt.Sprintf("%012d", 100000000000+offset[id]+n/4), States: []invite.State{invite.StateCanceled, invite.StateActive}},
				[]string{"invites_profile_account_idx", "invites_account_list_idx"}, false},
			// Across profiles (GET /aws-invites): each profile's range merged; every profile's, through 00014's indexes.
			{"every profile's profiles", invite.ListQuery{BillingProfileIDs: slices.Sorted(maps.Keys(sizes)), After: middle},
				[]string{"invites_list_idx"}, true},
			{"every profile", invite.ListQuery{AllProfiles: true, After: middle}, []string{"invites_id_list_idx"}, true},
			{"every profile, a rare state", invite.ListQuery{AllProfiles: true, States: []invite.State{invite.StateInvited}, After: middle},
				[]string{"invites_state_list_idx"}, true},
			{"every profile, an account", invite.ListQuery{AllProfiles: true, AccountID: fmt.Sprintf("%012d", 100000000000+offset[id]+n/3)},
				[]string{"invites_account_list_idx"}, true},
		}
		for _, tc := range cases {
			t.Run(fmt.Sprintf("%s/%s", id, tc.name), func(t *testing.T) {
				if !tc.q.AllProfiles && tc.q.BillingProfileIDs == nil {
					tc.q.BillingProfileID = id
				}
				tc.q.Limit = 50
				st := s.pageQuery(tc.q)
				var raw []byte
				if err := s.pool.QueryRow(ctx, "EXPLAIN (ANALYZE, FORMAT JSON) "+st.sql, st.args...).Scan(&raw); err != nil {
					t.Fatal(err)
				}
				var plans []struct {
					Plan          planNode `json:"Plan"`
					ExecutionTime float64  `json:"Execution Time"`
				}
				if err := json.Unmarshal(raw, &plans); err != nil || len(plans) != 1 {
					t.Fatalf("plan: %v %s", err, raw)
				}
				scans := 0
				plans[0].Plan.walk(func(p planNode) {
					switch p.NodeType {
					case "Index Scan", "Index Only Scan":
						scans++
						if !slices.Contains(tc.indexes, p.IndexName) || p.ScanDirection != "Backward" {
							t.Errorf("scan of %s %s, want a backward scan of %v", p.IndexName, p.ScanDirection, tc.indexes)
						}
						if tc.exact && (p.ActualRows > float64(tc.q.Limit+1) || p.RowsRemovedByFilter > 0) {
							t.Errorf("the scan of %s read %.0f rows and dropped %.0f for a page of %d", p.IndexName, p.ActualRows, p.RowsRemovedByFilter, tc.q.Limit)
						}
					case "Limit", "Append", "Merge Append", "Subquery Scan", "Result":
					default:
						t.Errorf("plan has a %s node: %s", p.NodeType, raw)
					}
				})
				if scans == 0 {
					t.Errorf("no index scan: %s", raw)
				}
				t.Logf("%d index scan(s), %.3f ms", scans, plans[0].ExecutionTime)
			})
		}
	}
}

type planNode struct {
	NodeType            string     `json:"Node Type"`
	IndexName           string     `json:"Index Name"`
	ScanDirection       string     `json:"Scan Direction"`
	ActualRows          float64    `json:"Actual Rows"`
	RowsRemovedByFilter float64    `json:"Rows Removed by Filter"`
	Plans               []planNode `json:"Plans"`
}

func (p planNode) walk(fn func(planNode)) {
	fn(p)
	for _, c := range p.Plans {
		c.walk(fn)
	}
}

// Both databases bind $n to the n-th argument, whatever the order the placeholders appear in: the hand-written
// statements of the read path and of the simulators' stores are written once, with PostgreSQL's placeholders.
func TestPlaceholdersBindByNumber(t *testing.T) {
	for _, dialect := range []string{DialectPostgres, DialectSQLite} {
		t.Run(dialect, func(t *testing.T) {
			url := t.TempDir() + "/p.db"
			if dialect == DialectPostgres {
				url = testdb.New(t)
			}
			s := openMigrated(t, url)
			var second, first, again string
			err := s.sqlDB.QueryRow("SELECT CAST($2 AS TEXT), CAST($1 AS TEXT), CAST($2 AS TEXT)", "one", "two").Scan(&second, &first, &again)
			if err != nil || second != "two" || first != "one" || again != "two" {
				t.Fatalf("SELECT $2, $1, $2 with (one, two): %q %q %q, %v", second, first, again, err)
			}
		})
	}
}
