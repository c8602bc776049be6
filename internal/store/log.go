package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// gormLogger routes GORM's messages to slog as records of plain strings and numbers, so that any handler (the
// service's is JSON) can encode them; statements are logged without parameters (they may hold personal data), and
// not at all for the unique violations and missing rows the store expects and turns into domain errors.
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
	l.log.WarnContext(ctx, gormMessage(msg, args), errorAttrs(args)...)
}

func (l gormLogger) Error(ctx context.Context, msg string, args ...any) {
	l.log.ErrorContext(ctx, gormMessage(msg, args), errorAttrs(args)...)
}

func (l gormLogger) Trace(ctx context.Context, begin time.Time, fc func() (string, int64), err error) {
	elapsed := time.Since(begin)
	var msg string
	switch {
	case err != nil && !errors.Is(err, gorm.ErrRecordNotFound) && !uniqueViolation(err, "") &&
		!errors.Is(err, context.Canceled):
		msg = "database statement failed"
	case err == nil && elapsed > l.slow:
		msg = "slow database statement"
	default:
		return
	}
	sql, rows := fc()
	attrs := []any{slog.String("sql", unexplained(sql)), slog.Float64("elapsed_ms", float64(elapsed.Microseconds())/1000)}
	if rows >= 0 { // GORM passes -1 when the statement reports no row count
		attrs = append(attrs, slog.Int64("rows", rows))
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	l.log.WarnContext(ctx, msg, attrs...)
}

// ParamsFilter keeps parameters out of logged statements.
func (l gormLogger) ParamsFilter(_ context.Context, sql string, _ ...any) (string, []any) {
	return sql, nil
}

// explainedPlaceholder is what GORM's PostgreSQL dialect makes of $1 when it has no parameter to put there ($1$).
var explainedPlaceholder = regexp.MustCompile(`\$([0-9]+)\$`)

// unexplained gives a statement its PostgreSQL placeholders back; SQLite's ? come through GORM unchanged. A $n$ can
// appear in no PostgreSQL statement of its own: a dollar-quote tag cannot start with a digit.
func unexplained(sql string) string { return explainedPlaceholder.ReplaceAllString(sql, "$$$1") }

// gormMessage formats one of GORM's own messages (a callback's name, a file:line, an error, a model value). Only
// strings, numbers and errors are printed; any other value is named by its type, since it may hold personal data
// and, holding functions (as GORM's config does), cannot be encoded anyway.
func gormMessage(format string, args []any) string {
	shown := make([]any, len(args))
	for i, a := range args {
		switch a.(type) {
		case string, error, bool, int, int64, uint, uint64, float64:
			shown[i] = a
		default:
			shown[i] = fmt.Sprintf("<%T>", a)
		}
	}
	return "gorm: " + strings.TrimSpace(fmt.Sprintf(format, shown...))
}

// errorAttrs puts the text of the first error among GORM's message arguments in an error attribute, where the
// service's other log lines keep theirs.
func errorAttrs(args []any) []any {
	for _, a := range args {
		if err, ok := a.(error); ok {
			return []any{slog.String("error", err.Error())}
		}
	}
	return nil
}
