// Package testdb gives tests throwaway databases: a fresh PostgreSQL database per caller on the server named by
// TEST_DATABASE_URL, or a SQLite file in the test's temporary directory.
package testdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultAdminURL is the server the tests use when TEST_DATABASE_URL is unset: the local PostgreSQL with trust auth.
const DefaultAdminURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// AdminURL returns the URL of the maintenance database tests create their databases from.
func AdminURL() string {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultAdminURL
}

// New creates an empty PostgreSQL database with a random name and returns its URL. The database is dropped when
// the test ends, even if connections to it are still open. When the server does not answer, the test fails: the
// storage layer must be tested against the real thing, so a missing server is an error, not a reason to skip.
func New(tb testing.TB) string {
	tb.Helper()
	admin := AdminURL()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		tb.Fatalf("testdb: PostgreSQL at %s does not answer (%v); run the tests with the command in README.md, "+
			"which starts PostgreSQL, or point TEST_DATABASE_URL at a server", redact(admin), err)
	}
	defer func() { _ = conn.Close(context.Background()) }()

	name := "test_" + randomSuffix(tb)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		tb.Fatalf("testdb: create database %s: %v", name, err)
	}
	tb.Cleanup(func() { drop(tb, admin, name) })

	u, err := url.Parse(admin)
	if err != nil {
		tb.Fatalf("testdb: parse TEST_DATABASE_URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// SQLite returns the path of a SQLite database file (not yet created) in the test's temporary directory.
func SQLite(tb testing.TB) string {
	tb.Helper()
	return filepath.Join(tb.TempDir(), "db", "aws-invites.sqlite")
}

func drop(tb testing.TB, admin, name string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		tb.Errorf("testdb: connect to drop database %s: %v", name, err)
		return
	}
	defer func() { _ = conn.Close(context.Background()) }()
	// FORCE ends sessions a failed test may have leaked, so the database never outlives the test.
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		tb.Errorf("testdb: drop database %s: %v", name, err)
	}
}

func randomSuffix(tb testing.TB) string {
	tb.Helper()
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		tb.Fatalf("testdb: random database name: %v", err)
	}
	return hex.EncodeToString(b)
}

// redact hides a password in a URL so failure messages never print credentials.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
