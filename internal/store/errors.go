package store

import (
	"errors"
	"strings"

	gosqlite "github.com/glebarez/go-sqlite"
	"github.com/jackc/pgx/v5/pgconn"
)

// SQLite's extended result codes for the two kinds of uniqueness violations.
const (
	sqliteConstraintPrimaryKey = 1555
	sqliteConstraintUnique     = 2067
	sqliteConstraintForeignKey = 787
)

// uniqueViolation reports whether err is a violation of a unique index or primary key. When index is not empty it
// must be that index: PostgreSQL names it; SQLite names the index's columns instead, given as columns.
func uniqueViolation(err error, index string, columns ...string) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23505" && (index == "" || pgErr.ConstraintName == index)
	}
	var sqErr *gosqlite.Error
	if errors.As(err, &sqErr) {
		if sqErr.Code() != sqliteConstraintUnique && sqErr.Code() != sqliteConstraintPrimaryKey {
			return false
		}
		// The message reads "UNIQUE constraint failed: invites.billing_profile_id, invites.account_id".
		msg := sqErr.Error()
		return index == "" || strings.Contains(msg, "index '"+index+"'") || strings.Contains(msg, strings.Join(columns, ", "))
	}
	return false
}

// foreignKeyViolation reports whether err is a violated foreign key (a row pointing at a missing parent).
func foreignKeyViolation(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23503"
	}
	var sqErr *gosqlite.Error
	return errors.As(err, &sqErr) && sqErr.Code() == sqliteConstraintForeignKey
}
