package store_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudreseller/aws-invites/internal/invite"
	"github.com/cloudreseller/aws-invites/internal/store"
	"github.com/cloudreseller/aws-invites/internal/store/storetest"
)

// syncBuffer is a log sink shared by the goroutines of a pgx pool.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Reset()
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// logLines decodes the JSON log lines written so far, failing on one that is not JSON or that the handler could not
// encode (slog writes !ERROR in place of such a value).
func logLines(t *testing.T, buf *syncBuffer) []map[string]any {
	t.Helper()
	text := buf.String()
	if strings.Contains(text, "!ERROR") {
		t.Errorf("the log has a value the JSON handler could not encode:\n%s", text)
	}
	var lines []map[string]any
	for _, raw := range strings.Split(strings.TrimSpace(text), "\n") {
		if raw == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(raw), &m); err != nil {
			t.Fatalf("log line is not JSON: %v\n%s", err, raw)
		}
		lines = append(lines, m)
	}
	return lines
}

// only returns the one line with the message msg.
func only(t *testing.T, lines []map[string]any, msg string) map[string]any {
	t.Helper()
	var found []map[string]any
	for _, l := range lines {
		if l["msg"] == msg {
			found = append(found, l)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d lines %q in the log, want 1: %v", len(found), msg, lines)
	}
	return found[0]
}

// Every database log line is a JSON record of readable fields: message, error text, the statement without its
// parameters (which may hold personal data), rows and elapsed time. Expected outcomes (a missing row, a second open
// invite) are not logged at all.
func TestLogging(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			var buf syncBuffer
			log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
			s := storetest.Open(t, d, store.Options{Logger: log})
			ctx := context.Background()
			bp := putProfile(t, s)
			inv := newInvite(t, bp.ID, account(1), base)
			mustCreate(t, s, inv)
			dup := newInvite(t, bp.ID, account(1), base)
			wantCode(t, s.CreateInvite(ctx, dup, createdEvent(dup)), invite.CodeAlreadyOpen)
			_, err := s.Invite(ctx, bp.ID, "missing")
			wantCode(t, err, invite.CodeNotFound)
			if got := buf.String(); got != "" {
				t.Fatalf("expected outcomes were logged:\n%s", got)
			}

			if err := s.DB().WithContext(ctx).Exec("SELECT * FROM no_such_table WHERE x = ?", "secret-param").Error; err == nil {
				t.Fatal("query on a missing table succeeded")
			}
			line := only(t, logLines(t, &buf), "database statement failed")
			wantSQL := map[string]string{
				store.DialectPostgres: "SELECT * FROM no_such_table WHERE x = $1",
				store.DialectSQLite:   "SELECT * FROM no_such_table WHERE x = ?",
			}[d]
			if line["sql"] != wantSQL {
				t.Errorf("sql %q, want %q", line["sql"], wantSQL)
			}
			if e, _ := line["error"].(string); !strings.Contains(e, "no_such_table") {
				t.Errorf("error %q does not say what failed", line["error"])
			}
			if ms, ok := line["elapsed_ms"].(float64); !ok || ms < 0 {
				t.Errorf("elapsed_ms %v is not a duration in milliseconds", line["elapsed_ms"])
			}
			if line["level"] != "WARN" {
				t.Errorf("level %v", line["level"])
			}
			if got := buf.String(); strings.Contains(got, "secret-param") {
				t.Errorf("the log holds a statement parameter:\n%s", got)
			}
		})
	}
}

// A slow statement is logged with its row count; GORM's own messages are readable text whatever their arguments
// hold (GORM passes values holding functions, which a JSON handler cannot encode).
func TestLoggingSlowStatementsAndGORMMessages(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			var buf syncBuffer
			log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
			s := storetest.Open(t, d, store.Options{Logger: log, SlowThreshold: time.Nanosecond})
			ctx := context.Background()
			bp := putProfile(t, s)
			buf.Reset()

			if err := s.DB().WithContext(ctx).Exec("UPDATE billing_profiles SET name = ? WHERE id = ?", "secret-name", bp.ID).Error; err != nil {
				t.Fatal(err)
			}
			line := only(t, logLines(t, &buf), "slow database statement")
			if line["rows"] != float64(1) {
				t.Errorf("rows %v, want 1", line["rows"])
			}
			if sql, _ := line["sql"].(string); !strings.HasPrefix(sql, "UPDATE billing_profiles SET name = ") || strings.Contains(sql, "secret-name") {
				t.Errorf("sql %q", line["sql"])
			}
			if _, ok := line["error"]; ok {
				t.Errorf("a statement that succeeded has an error: %v", line["error"])
			}

			// The hand-written read path logs the same way, without the parameters it was given.
			buf.Reset()
			if _, err := s.BillingProfile(ctx, "secret-profile-id"); !invite.IsCode(err, invite.CodeNotFound) {
				t.Fatalf("missing profile: %v", err)
			}
			line = only(t, logLines(t, &buf), "slow database statement")
			if sql, _ := line["sql"].(string); !strings.HasPrefix(sql, "SELECT id, customer_id, name") || strings.Contains(buf.String(), "secret-profile-id") {
				t.Errorf("read path logged %s", buf.String())
			}

			buf.Reset()
			value := &struct {
				Email string
				Now   func() time.Time
			}{"ada@example.com", time.Now}
			s.DB().Logger.Error(ctx, "failed to parse value %#v, got error %v", value, errors.New("unsupported data type"))
			s.DB().Logger.Warn(ctx, "duplicated callback `%s` from %s\n", "gorm:create", "store.go:42")
			lines := logLines(t, &buf)
			failed := only(t, lines, `gorm: failed to parse value "<*struct { Email string; Now func() time.Time }>", got error unsupported data type`)
			if failed["error"] != "unsupported data type" || failed["level"] != "ERROR" {
				t.Errorf("GORM error logged as %v", failed)
			}
			only(t, lines, "gorm: duplicated callback `gorm:create` from store.go:42")
			if strings.Contains(buf.String(), "ada@example.com") {
				t.Errorf("a value GORM passed was printed:\n%s", buf.String())
			}
		})
	}
}
