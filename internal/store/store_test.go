package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/cloudreseller/aws-invites/internal/invite"
	"github.com/cloudreseller/aws-invites/internal/store"
	"github.com/cloudreseller/aws-invites/internal/store/storetest"
)

// forEachDialect runs fn once per dialect, each on a fresh, migrated database.
func forEachDialect(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	t.Helper()
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			fn(t, storetest.Open(t, d, store.Options{}))
		})
	}
}

// base is a time on a microsecond boundary, so fixtures built from it are stored unchanged.
var base = time.Date(2026, 11, 26, 7, 0, 0, 0, time.UTC)

func newID(t testing.TB) string {
	t.Helper()
	id, err := uuid.NewV7()
	if err != nil {
		t.Fatalf("uuid: %v", err)
	}
	return id.String()
}

func account(n int) string { return fmt.Sprintf("%012d", n) }

// testPayer is the management account of the billing profiles putProfile makes.
const testPayer = "111122223333"

func putProfile(t testing.TB, s *store.Store) invite.BillingProfile {
	t.Helper()
	return putProfileOf(t, s, testPayer)
}

// putProfileOf stores a billing profile of the given payer.
func putProfileOf(t testing.TB, s *store.Store, payer string) invite.BillingProfile {
	t.Helper()
	bp, _, err := s.PutBillingProfile(context.Background(), invite.BillingProfile{
		ID:                  newID(t),
		CustomerID:          "cust-1",
		Name:                "Payer one",
		ManagementAccountID: payer,
		RoleARN:             "arn:aws:iam::111122223333:role/invites",
		ExternalID:          "ext-1",
		CreatedAt:           base,
		UpdatedAt:           base,
	})
	if err != nil {
		t.Fatalf("put billing profile: %v", err)
	}
	return bp
}

func newInvite(t testing.TB, bpID, accountID string, at time.Time) invite.Invite {
	t.Helper()
	return invite.Invite{
		ID:               newID(t),
		Kind:             invite.InviteJoin,
		BillingProfileID: bpID,
		Payer:            testPayer,
		AccountID:        accountID,
		Notes:            "please join",
		State:            invite.StateInvited,
		Handshake: &invite.Handshake{
			ID:          "h-" + newID(t)[:8],
			Action:      invite.ActionInvite,
			AccountID:   accountID,
			State:       invite.HandshakeOpen,
			RequestedAt: at,
			ExpiresAt:   at.Add(invite.HandshakeLifetime),
		},
		InvitedBy:  invite.Actor{Kind: invite.ActorUser, Subject: "user-1", Email: "u1@example.com"},
		CreatedAt:  at,
		UpdatedAt:  at,
		LastSentAt: at,
		Version:    1,
	}
}

func createdEvent(inv invite.Invite) invite.Event {
	return invite.Event{
		InviteID: inv.ID,
		At:       inv.CreatedAt,
		Actor:    inv.InvitedBy,
		To:       invite.StateInvited,
		Reason:   "invited",
	}
}

func mustCreate(t testing.TB, s *store.Store, inv invite.Invite) {
	t.Helper()
	if err := s.CreateInvite(context.Background(), inv, createdEvent(inv)); err != nil {
		t.Fatalf("create invite for %s: %v", inv.AccountID, err)
	}
}

func wantCode(t testing.TB, err error, code invite.Code) {
	t.Helper()
	if !invite.IsCode(err, code) {
		t.Fatalf("got error %v, want code %s", err, code)
	}
}

func wantEqual[T any](t testing.TB, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got  %+v\n want %+v", what, got, want)
	}
}

func TestMigrateFromEmptyAndAgain(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := storetest.MustOpenUnmigrated(t, storetest.URL(t, d), store.Options{})
			if v, err := s.MigrationVersion(ctx); err != nil || v != 0 {
				t.Fatalf("empty database: version %d, %v; want 0", v, err)
			}
			for round := 1; round <= 2; round++ {
				if err := s.Migrate(ctx); err != nil {
					t.Fatalf("migrate, round %d: %v", round, err)
				}
				if v, err := s.MigrationVersion(ctx); err != nil || v != latestMigration(t) {
					t.Fatalf("after round %d: version %d, %v; want %d", round, v, err, latestMigration(t))
				}
			}
			for _, table := range []string{"billing_profiles", "invites", "events", "invite_handshakes", "idempotency_keys", "sandbox_clock",
				"orgsim_organizations", "orgsim_members", "orgsim_accounts", "orgsim_handshakes", "chsim_accounts"} {
				if !s.DB().Migrator().HasTable(table) {
					t.Errorf("table %s missing after migration", table)
				}
			}
			if !s.DB().Migrator().HasIndex("invites", "invites_open_account_key") {
				t.Error("the partial unique index on open invites is missing")
			}
			if got := s.Dialect(); got != d {
				t.Errorf("Dialect() = %q, want %q", got, d)
			}
			if err := s.Ping(ctx); err != nil {
				t.Errorf("ping: %v", err)
			}
		})
	}
}

// Replicas that start together on an empty database must apply each migration once and all start fine.
func TestMigrateConcurrently(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			url := storetest.URL(t, d)
			stores := make([]*store.Store, 5)
			for i := range stores {
				if d == store.DialectSQLite {
					// SQLite serves one process: its replicas are goroutines sharing one Store.
					if i == 0 {
						stores[i] = storetest.MustOpenUnmigrated(t, url, store.Options{})
					} else {
						stores[i] = stores[0]
					}
					continue
				}
				stores[i] = storetest.MustOpenUnmigrated(t, url, store.Options{})
			}
			var wg sync.WaitGroup
			errs := make([]error, len(stores))
			for i, s := range stores {
				wg.Go(func() { errs[i] = s.Migrate(context.Background()) })
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("migration %d: %v", i, err)
				}
			}
			var applied int64
			if err := stores[0].DB().Table("goose_db_version").Where("version_id = 1").Count(&applied).Error; err != nil {
				t.Fatalf("count applied migrations: %v", err)
			}
			if applied != 1 {
				t.Fatalf("migration 1 recorded %d times, want once", applied)
			}
			// The schema works for every replica.
			for i, s := range stores {
				if _, err := s.ProfilesOfPayer(context.Background(), "111122223333"); err != nil {
					t.Errorf("replica %d cannot read: %v", i, err)
				}
			}
		})
	}
}

func TestOpenSQLiteCreatesParentDirectory(t *testing.T) {
	path := t.TempDir() + "/a/b/c/invites.db"
	s := storetest.MustOpen(t, path, store.Options{})
	if _, err := s.ProfilesOfPayer(context.Background(), "111122223333"); err != nil {
		t.Fatalf("read from new SQLite database: %v", err)
	}
	var mode string
	if err := s.SQLDB().QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
	var fk int
	if err := s.SQLDB().QueryRow("PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
		t.Errorf("foreign_keys = %d, %v; want 1", fk, err)
	}
}

func TestOpenRejectsBadPostgresURLWithoutEchoingIt(t *testing.T) {
	_, err := store.Open(context.Background(), "postgres://user:hunter2@127.0.0.1:5432/db?sslmode=bogus", store.Options{})
	if err == nil {
		t.Fatal("Open accepted an invalid sslmode")
	}
	if got := err.Error(); strings.Contains(got, "hunter2") {
		t.Fatalf("error %q prints the password", got)
	}
}

func TestBillingProfiles(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		_, err := s.BillingProfile(ctx, "nope")
		wantCode(t, err, invite.CodeNotFound)

		bp := invite.BillingProfile{
			ID: newID(t), CustomerID: "cust-1", Name: "First", ManagementAccountID: "111122223333",
			RoleARN: "arn:aws:iam::111122223333:role/x", ExternalID: "e1", CreatedAt: base, UpdatedAt: base,
		}
		got, created, err := s.PutBillingProfile(ctx, bp)
		if err != nil || !created {
			t.Fatalf("first put: created=%v err=%v; want created", created, err)
		}
		wantEqual(t, "stored profile", got, bp)
		read, err := s.BillingProfile(ctx, bp.ID)
		if err != nil {
			t.Fatalf("get: %v", err)
		}
		wantEqual(t, "read profile", read, bp)

		repl := bp
		repl.Name, repl.RoleARN, repl.ExternalID = "Renamed", "", ""
		repl.CreatedAt = base.Add(time.Hour) // ignored: a replacement keeps the creation time
		repl.UpdatedAt = base.Add(2 * time.Hour)
		got, created, err = s.PutBillingProfile(ctx, repl)
		if err != nil || created {
			t.Fatalf("replace: created=%v err=%v; want replaced", created, err)
		}
		want := repl
		want.CreatedAt = base
		wantEqual(t, "replaced profile", got, want)

		other := putProfile(t, s)
		elsewhere := bp
		elsewhere.ID, elsewhere.ManagementAccountID = newID(t), "444455556666"
		if _, _, err := s.PutBillingProfile(ctx, elsewhere); err != nil {
			t.Fatal(err)
		}
		all, err := s.ProfilesOfPayer(ctx, "111122223333")
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		if len(all) != 2 {
			t.Fatalf("listed %d profiles of the payer, want 2 (not the one of another payer)", len(all))
		}
		ids := map[string]bool{all[0].ID: true, all[1].ID: true}
		if !ids[bp.ID] || !ids[other.ID] {
			t.Fatalf("listed %v, want %s and %s", ids, bp.ID, other.ID)
		}
	})
}

// While another session holds the migration lock, Migrate waits and changes nothing; it proceeds once released.
func TestMigrateWaitsForTheLock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := storetest.URL(t, store.DialectPostgres)
	holder, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer func() { _ = holder.Close(ctx) }()
	if _, err := holder.Exec(ctx, "SELECT pg_advisory_lock($1)", store.MigrationLockID); err != nil {
		t.Fatalf("take lock: %v", err)
	}
	s := storetest.MustOpenUnmigrated(t, url, store.Options{})
	done := make(chan error, 1)
	go func() { done <- s.Migrate(ctx) }()
	select {
	case err := <-done:
		t.Fatalf("Migrate finished (%v) while another session held the lock", err)
	case <-time.After(300 * time.Millisecond):
	}
	var tables int
	if err := holder.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").Scan(&tables); err != nil {
		t.Fatalf("count tables: %v", err)
	}
	if tables != 0 {
		t.Fatalf("%d tables created while waiting for the lock, want 0", tables)
	}
	if _, err := holder.Exec(ctx, "SELECT pg_advisory_unlock($1)", store.MigrationLockID); err != nil {
		t.Fatalf("release lock: %v", err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("migrate after release: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Migrate still waiting after the lock was released")
	}
	// Migrate released the lock too: the holder can take it at once.
	var got bool
	if err := holder.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", store.MigrationLockID).Scan(&got); err != nil || !got {
		t.Fatalf("lock still held after Migrate returned (%v)", err)
	}
}

// latestMigration is the number of the newest migration file.
func latestMigration(t *testing.T) int64 {
	t.Helper()
	files, err := filepath.Glob("migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("no migration files: %v", err)
	}
	var latest int64
	for _, f := range files {
		var n int64
		if _, err := fmt.Sscanf(filepath.Base(f), "%05d_", &n); err != nil {
			t.Fatalf("migration %s is not numbered: %v", f, err)
		}
		latest = max(latest, n)
	}
	return latest
}
