package invite_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cloudreseller/aws-invites/internal/awsorg/orgsim"
	"github.com/cloudreseller/aws-invites/internal/invite"
	"github.com/cloudreseller/aws-invites/internal/store"
)

// A batch whose process stops (the service shutting down) keeps what it did; the payer's reconciliation pass takes
// the rest over once the batch made no progress for BatchStale, and no account is invited twice.
func TestBatchStopsAndResumes(t *testing.T) {
	for _, dialect := range []string{inMemory, store.DialectPostgres} {
		t.Run(dialect, func(t *testing.T) {
			w := newWorld(t, dialect)
			batches := invite.NewBatches(w.store.(invite.BatchStore), w.invites)
			w.sim.Inject(orgsim.Fault{Op: "InviteAccountToOrganization", Latency: 50 * time.Millisecond})
			items := make([]invite.BatchItemInput, 40)
			for i := range items {
				items[i] = invite.BatchItemInput{AccountID: fmt.Sprintf("6%011d", i)}
			}
			b, err := batches.Submit(w.ctx, w.user, "bp-1", invite.BatchInput{Items: items, Key: "stop-test"})
			if err != nil {
				t.Fatal(err)
			}
			batches.Start(w.ctx, b)
			time.Sleep(300 * time.Millisecond) // a few items go out
			stopCtx, cancel := context.WithTimeout(w.ctx, 5*time.Second)
			defer cancel()
			if err := batches.Stop(stopCtx); err != nil {
				t.Fatalf("stop: %v", err)
			}
			stopped, err := batches.Get(w.ctx, w.user, "bp-1", b.ID)
			if err != nil {
				t.Fatal(err)
			}
			done := stopped.Counts()[invite.OutcomeSent]
			if stopped.State != invite.BatchRunning || done == 0 || done == len(items) {
				t.Fatalf("after the stop: %s with %d sent; want running with some sent, not all", stopped.State, done)
			}
			w.sim.ClearFaults()

			// Not stale yet: the pass leaves it alone. Once it is, the pass finishes it.
			resumer := invite.NewBatches(w.store.(invite.BatchStore), w.invites)
			if err := resumer.Resume(w.ctx, payerID); err != nil {
				t.Fatal(err)
			}
			if got, _ := resumer.Get(w.ctx, w.user, "bp-1", b.ID); got.State != invite.BatchRunning {
				t.Errorf("a batch that made progress %s ago was taken over", invite.BatchStale)
			}
			w.clock.Advance(invite.BatchStale + time.Second)
			if err := resumer.Resume(w.ctx, payerID); err != nil {
				t.Fatal(err)
			}
			got, err := resumer.Get(w.ctx, w.user, "bp-1", b.ID)
			if err != nil {
				t.Fatal(err)
			}
			if c := got.Counts(); got.State != invite.BatchDone || c[invite.OutcomeSent] != len(items) {
				t.Errorf("after the resume: %s, counts %v; want done, %d sent", got.State, c, len(items))
			}
			if n := w.sim.Calls("InviteAccountToOrganization"); n != len(items) {
				t.Errorf("%d invitations sent for %d accounts", n, len(items))
			}
		})
	}
}
