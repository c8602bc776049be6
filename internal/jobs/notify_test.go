package jobs_test

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/cloudreseller/aws-invites/internal/invite"
	"github.com/cloudreseller/aws-invites/internal/jobs"
	"github.com/cloudreseller/aws-invites/internal/store"
	"github.com/cloudreseller/aws-invites/internal/store/storetest"
	"github.com/cloudreseller/aws-invites/internal/testclock"
)

// dispatches records the events the notification jobs were asked to dispatch.
type dispatches struct {
	mu  sync.Mutex
	ids []int64
}

func (d *dispatches) Dispatch(_ context.Context, id int64) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.ids = append(d.ids, id)
	return nil
}
func (d *dispatches) Deliver(context.Context, string, int64, bool) error { return nil }
func (d *dispatches) SendMail(context.Context, int64, []string) error    { return nil }

func (d *dispatches) got() []int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]int64(nil), d.ids...)
}

// TestEventDispatchIsTransactional: an event's dispatch is enqueued in the transaction of the change that caused
// it. A change that rolls back leaves no job; a committed one is dispatched by a runner started later, as after a
// crash right after the commit.
func TestEventDispatchIsTransactional(t *testing.T) {
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			st := storetest.Open(t, dialect, pgOptions())
			d := &dispatches{}
			cfg := testConfig(t, st, newFakeWork())
			cfg.Notify = d
			cfg.DeliveryBackoff = func(int) time.Duration { return time.Millisecond }
			r, err := jobs.New(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			qc := jobs.QueueConfig{Dispatch: true, DeliveryAttempts: 3}
			if st.PgxPool() != nil {
				qc.PgxPool, qc.TxDB = st.PgxPool(), st.SQLDB()
			} else {
				qc.SQLite = st.SQLDB()
			}
			q, err := jobs.NewQueue(qc)
			if err != nil {
				t.Fatal(err)
			}
			if err := r.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			if _, _, err := st.PutBillingProfile(ctx, invite.BillingProfile{ID: "bp", CustomerID: "c", Name: "n", ManagementAccountID: "111111111111"}); err != nil {
				t.Fatal(err)
			}
			newInvite := func(account string) (invite.Invite, invite.Event) {
				now := testclock.MustStart()
				inv := invite.Invite{ID: account + "-id", BillingProfileID: "bp", AccountID: account, State: invite.StateInvited,
					InvitedBy: invite.Actor{Kind: invite.ActorUser, Subject: "u"}, CreatedAt: now, UpdatedAt: now, LastSentAt: now, Version: 1}
				return inv, invite.Event{Type: invite.EventCreated, At: now, Actor: inv.InvitedBy, To: invite.StateInvited, Reason: "sent"}
			}

			boom := errors.New("the change fails after its events were written")
			failing := st.WithEvents(func(ctx context.Context, tx *sql.Tx, evs []invite.Event) error {
				if err := q.EnqueueEventsTx(ctx, tx, evs); err != nil {
					return err
				}
				return boom
			}, nil)
			inv, ev := newInvite("100000000001")
			if err := failing.CreateInvite(ctx, inv, ev); !errors.Is(err, boom) {
				t.Fatalf("create with a failing hook: %v", err)
			}
			if _, err := st.Invite(ctx, "bp", inv.ID); !invite.IsCode(err, invite.CodeNotFound) {
				t.Fatalf("the rolled-back invite is there: %v", err)
			}
			if n := countJobs(t, st, jobs.KindDispatchEvent); n != 0 {
				t.Fatalf("%d dispatch jobs after the rollback, want 0", n)
			}

			inv, ev = newInvite("100000000002")
			if err := st.WithEvents(q.EnqueueEventsTx, nil).CreateInvite(ctx, inv, ev); err != nil {
				t.Fatal(err)
			}
			if n := countJobs(t, st, jobs.KindDispatchEvent); n != 1 {
				t.Fatalf("%d dispatch jobs after the commit, want 1", n)
			}
			startRunnerCfg(t, r)
			deadline := time.Now().Add(20 * time.Second)
			for len(d.got()) == 0 && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			evs, _ := st.Events(ctx, "bp", inv.ID)
			if got := d.got(); len(got) != 1 || len(evs) != 1 || got[0] != evs[0].ID {
				t.Fatalf("dispatched %v, the committed event is %v", got, evs)
			}
		})
	}
}

func countJobs(t *testing.T, st *store.Store, kind string) int {
	t.Helper()
	var n int
	if err := st.SQLDB().QueryRow("SELECT COUNT(*) FROM river_job WHERE kind = '" + kind + "'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func startRunnerCfg(t *testing.T, r *jobs.Runner) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		_ = r.Stop(sctx)
	})
}
