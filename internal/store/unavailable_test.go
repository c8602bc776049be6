package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cloudreseller/aws-invites/internal/invite"
	"github.com/cloudreseller/aws-invites/internal/store"
	"github.com/cloudreseller/aws-invites/internal/store/storetest"
	"github.com/cloudreseller/aws-invites/internal/testdb"
)

// Unavailable tells a database that is not there from one that refused a statement: only the first is worth
// trying again.
func TestUnavailable(t *testing.T) {
	ctx := context.Background()
	s := storetest.Open(t, store.DialectPostgres, store.Options{})

	// Nothing listens: a connection is refused.
	short, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, refused := pgx.Connect(short, "postgres://postgres@127.0.0.1:1/postgres?sslmode=disable&connect_timeout=2")
	// The server ends the session the store's pool holds.
	conn, err := s.PgxPool().Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	var pid int
	if err := conn.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
		t.Fatal(err)
	}
	admin, err := pgx.Connect(ctx, testdb.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = admin.Close(ctx) }()
	if _, err := admin.Exec(ctx, "SELECT pg_terminate_backend($1)", pid); err != nil {
		t.Fatal(err)
	}
	_, terminated := conn.Exec(ctx, "SELECT 1")

	_, syntax := s.SQLDB().ExecContext(ctx, "SELEC 1")
	bp := invite.BillingProfile{ID: "bp", CustomerID: "c", Name: "n", ManagementAccountID: "111111111111"}
	if _, _, err := s.PutBillingProfile(ctx, bp); err != nil {
		t.Fatal(err)
	}
	_, _, precondition := s.PutBillingProfileIfMatch(ctx, bp, invite.IfMatch{ETags: []string{`"old"`}})
	canceled, stop := context.WithCancel(ctx)
	stop()
	_, gone := s.SQLDB().ExecContext(canceled, "SELECT 1")

	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"connection refused", refused, true},
		{"session terminated", terminated, true},
		{"wrapped", fmt.Errorf("store: get billing profile: %w", refused), true},
		{"a statement refused", syntax, false},
		{"a domain error", precondition, false},
		{"the caller gone", gone, false},
		{"no error", nil, false},
		{"another error", errors.New("something else"), false},
	} {
		if tc.want && tc.err == nil {
			t.Fatalf("%s: no error to classify", tc.name)
		}
		if got := store.Unavailable(tc.err); got != tc.want {
			t.Errorf("%s: Unavailable(%v) = %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
	if !invite.IsCode(precondition, invite.CodePreconditionFailed) {
		t.Errorf("a stale If-Match: %v", precondition)
	}
}
