package store

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

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
