package store_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

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

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Expected outcomes (a missing row, a second open invite) are not logged; real failures are, without their
// parameters, which may hold personal data.
func TestLogging(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			var buf syncBuffer
			log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
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
			got := buf.String()
			if !strings.Contains(got, "no_such_table") {
				t.Errorf("a failed statement was not logged:\n%s", got)
			}
			if strings.Contains(got, "secret-param") {
				t.Errorf("the log holds a statement parameter:\n%s", got)
			}
		})
	}
}
