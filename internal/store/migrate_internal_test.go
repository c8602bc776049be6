package store

import (
	"context"
	"testing"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/cloudreseller/aws-invites/internal/testdb"
)

// TestPayerMigrationEndsDuplicateHolders: before migration 4, two billing profiles of one payer could both hold an
// account. The migration keeps the oldest invite, cancels the other with a history line, and builds the index.
func TestPayerMigrationEndsDuplicateHolders(t *testing.T) {
	for _, dialect := range []string{DialectPostgres, DialectSQLite} {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			var url string
			if dialect == DialectPostgres {
				url = testdb.New(t)
			} else {
				url = t.TempDir() + "/m.db"
			}
			s, err := Open(ctx, url, Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			d, _ := dialectNamed(dialect)
			fsys, err := renderMigrations(d)
			if err != nil {
				t.Fatal(err)
			}
			p, err := goose.NewProvider(d.goose, s.sqlDB, fsys, goose.WithDisableGlobalRegistry(true))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.UpTo(ctx, 3); err != nil {
				t.Fatal(err)
			}
			at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
			for _, stmt := range []string{
				`INSERT INTO billing_profiles (id, customer_id, name, management_account_id, created_at, updated_at) VALUES ('a', 'ca', 'A', '111111111111', $1, $1)`,
				`INSERT INTO billing_profiles (id, customer_id, name, management_account_id, created_at, updated_at) VALUES ('b', 'cb', 'B', '111111111111', $1, $1)`,
				`INSERT INTO invites (id, billing_profile_id, account_id, state, handshake_id, created_at, updated_at, version) VALUES ('0001', 'a', '123456789012', 'invited', 'h-aaaaaaaa', $1, $1, 1)`,
				`INSERT INTO invites (id, billing_profile_id, account_id, state, handshake_id, created_at, updated_at, version) VALUES ('0002', 'b', '123456789012', 'invited', 'h-aaaaaaaa', $1, $1, 1)`,
			} {
				if _, err := s.sqlDB.ExecContext(ctx, stmt, at); err != nil {
					t.Fatalf("%s: %v", stmt, err)
				}
			}
			if err := s.Migrate(ctx); err != nil {
				t.Fatalf("migrate: %v", err)
			}
			kept, err := s.Invite(ctx, "a", "0001")
			if err != nil || kept.State != "invited" || kept.Payer != "111111111111" {
				t.Fatalf("oldest holder: %+v %v", kept, err)
			}
			ended, err := s.Invite(ctx, "b", "0002")
			if err != nil || ended.State != "canceled" || ended.Version != 2 {
				t.Fatalf("second holder: %+v %v", ended, err)
			}
			evs, err := s.Events(ctx, "b", "0002")
			if err != nil || len(evs) != 1 || evs[0].To != "canceled" || evs[0].Reason == "" {
				t.Fatalf("history of the ended invite: %+v %v", evs, err)
			}
		})
	}
}
