// Package storetest opens migrated stores on throwaway databases for tests of any package, on both dialects.
package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/cloudreseller/aws-invites/internal/store"
	"github.com/cloudreseller/aws-invites/internal/testdb"
)

// Dialects returns the dialects a store-backed test should run against, PostgreSQL first.
func Dialects() []string { return []string{store.DialectPostgres, store.DialectSQLite} }

// URL returns the URL of a fresh, empty database of the dialect, removed when the test ends.
func URL(tb testing.TB, dialect string) string {
	tb.Helper()
	switch dialect {
	case store.DialectPostgres:
		return testdb.New(tb)
	case store.DialectSQLite:
		return testdb.SQLite(tb)
	}
	tb.Fatalf("storetest: unknown dialect %q", dialect)
	return ""
}

// Open returns a migrated store on a fresh database of the dialect, closed when the test ends.
func Open(tb testing.TB, dialect string, opts store.Options) *store.Store {
	tb.Helper()
	return MustOpen(tb, URL(tb, dialect), opts)
}

// MustOpen opens and migrates the store at databaseURL, failing the test on any error, and closes it when the
// test ends.
func MustOpen(tb testing.TB, databaseURL string, opts store.Options) *store.Store {
	tb.Helper()
	s := MustOpenUnmigrated(tb, databaseURL, opts)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.Migrate(ctx); err != nil {
		tb.Fatalf("storetest: migrate: %v", err)
	}
	return s
}

// MustOpenUnmigrated opens the store at databaseURL without migrating it, and closes it when the test ends.
func MustOpenUnmigrated(tb testing.TB, databaseURL string, opts store.Options) *store.Store {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := store.Open(ctx, databaseURL, opts)
	if err != nil {
		tb.Fatalf("storetest: open: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("storetest: close: %v", err)
		}
	})
	return s
}
