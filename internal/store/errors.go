package store

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	gosqlite "github.com/glebarez/go-sqlite"
	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
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

// gormLogger routes GORM's messages to slog without statement parameters (they may hold personal data) and
// without the unique violations and missing rows the store expects and turns into domain errors.
type gormLogger struct {
	log  *slog.Logger
	slow time.Duration
}

func newGormLogger(log *slog.Logger, slow time.Duration) logger.Interface {
	return gormLogger{log: log, slow: slow}
}

func (l gormLogger) LogMode(logger.LogLevel) logger.Interface { return l }

func (l gormLogger) Info(context.Context, string, ...any) {}

func (l gormLogger) Warn(ctx context.Context, msg string, args ...any) {
	l.log.WarnContext(ctx, "gorm: "+msg, "args", args)
}

func (l gormLogger) Error(ctx context.Context, msg string, args ...any) {
	l.log.ErrorContext(ctx, "gorm: "+msg, "args", args)
}

func (l gormLogger) Trace(ctx context.Context, begin time.Time, fc func() (string, int64), err error) {
	elapsed := time.Since(begin)
	switch {
	case err != nil && !errors.Is(err, gorm.ErrRecordNotFound) && !uniqueViolation(err, "") &&
		!errors.Is(err, context.Canceled):
		sql, _ := fc()
		l.log.WarnContext(ctx, "database statement failed", "sql", sql, "duration", elapsed, "error", err)
	case err == nil && elapsed > l.slow:
		sql, rows := fc()
		l.log.WarnContext(ctx, "slow database statement", "sql", sql, "duration", elapsed, "rows", rows)
	}
}

// ParamsFilter keeps parameters out of logged statements.
func (l gormLogger) ParamsFilter(_ context.Context, sql string, _ ...any) (string, []any) {
	return sql, nil
}
