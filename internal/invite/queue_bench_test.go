package invite_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudreseller/aws-invites/internal/invite"
	"github.com/cloudreseller/aws-invites/internal/store"
)

// queueCountingStore counts the reconciler's calls to its store, each a database round trip (a write is one
// transaction of a few statements: the row, its handshake, its event).
type queueCountingStore struct {
	invite.ReconcilerStore
	calls, writes atomic.Int64
}

func (c *queueCountingStore) BillingProfile(ctx context.Context, id string) (invite.BillingProfile, error) {
	c.calls.Add(1)
	return c.ReconcilerStore.BillingProfile(ctx, id)
}

func (c *queueCountingStore) Invite(ctx context.Context, bp, id string) (invite.Invite, error) {
	c.calls.Add(1)
	return c.ReconcilerStore.Invite(ctx, bp, id)
}

func (c *queueCountingStore) ProfileAndInvite(ctx context.Context, bp, id string) (invite.BillingProfile, *invite.Invite, error) {
	c.calls.Add(1)
	return c.ReconcilerStore.ProfileAndInvite(ctx, bp, id)
}

func (c *queueCountingStore) UpdateInvite(ctx context.Context, inv invite.Invite, ev invite.Event) (invite.Invite, error) {
	c.calls.Add(1)
	c.writes.Add(1)
	return c.ReconcilerStore.UpdateInvite(ctx, inv, ev)
}

func (c *queueCountingStore) QuotaLedger(ctx context.Context, payer string, since time.Time) (invite.Ledger, error) {
	c.calls.Add(1)
	return c.ReconcilerStore.QuotaLedger(ctx, payer, since)
}

func (c *queueCountingStore) RecordQuotaSend(ctx context.Context, payer string, e invite.LedgerEntry) error {
	c.calls.Add(1)
	c.writes.Add(1)
	return c.ReconcilerStore.RecordQuotaSend(ctx, payer, e)
}

func (c *queueCountingStore) UpdateQuotaLedger(ctx context.Context, payer string, u invite.LedgerUpdate) error {
	c.calls.Add(1)
	c.writes.Add(1)
	return c.ReconcilerStore.UpdateQuotaLedger(ctx, payer, u)
}

func (c *queueCountingStore) HoldQuota(ctx context.Context, payer string, until time.Time, used int) error {
	c.calls.Add(1)
	c.writes.Add(1)
	return c.ReconcilerStore.HoldQuota(ctx, payer, until, used)
}

func (c *queueCountingStore) ProfilesOfPayer(ctx context.Context, payer string) ([]invite.BillingProfile, error) {
	c.calls.Add(1)
	return c.ReconcilerStore.ProfilesOfPayer(ctx, payer)
}

func (c *queueCountingStore) InvitesOfPayer(ctx context.Context, payer string, states []invite.State) ([]invite.Invite, error) {
	c.calls.Add(1)
	return c.ReconcilerStore.InvitesOfPayer(ctx, payer, states)
}

func (c *queueCountingStore) HandshakeOwners(ctx context.Context, payer string) (map[string]invite.HandshakeOwner, error) {
	c.calls.Add(1)
	return c.ReconcilerStore.HandshakeOwners(ctx, payer)
}

func (c *queueCountingStore) LockPayer(ctx context.Context, payer string) (func() error, error) {
	c.calls.Add(1)
	unlock, err := c.ReconcilerStore.LockPayer(ctx, payer)
	return func() error { c.calls.Add(1); return unlock() }, err
}

// BenchmarkQueuePass100Payers measures the reconciliation pass of 100 payers that each sent AWS's 20 invitations
// of the day and have 5 invites queued, over real PostgreSQL and the simulator (which enforces the quota): a steady
// pass where no slot frees, then a pass after one acceptance per payer, which sends one queued invite per payer
// in that same pass. It reports per payer the AWS calls, the store round trips and the writes of each.
//
//	TEST_DATABASE_URL=postgres://... go test -run '^$' -bench QueuePass100 -benchtime 3x ./internal/invite/
func BenchmarkQueuePass100Payers(b *testing.B) {
	const payers, queued = 100, 5
	w := newQueueWorld(b, store.DialectPostgres, 1000, invite.QuotaRules{})
	counting := &queueCountingStore{ReconcilerStore: w.store}
	rec := invite.NewReconciler(counting, w.deps)
	admin := invite.Principal{Subject: "ops", Roles: []string{invite.RolePlatformAdmin}}
	var payerIDs []string
	sent := map[string][]invite.Invite{}
	for p := range payers {
		mgmt := fmt.Sprintf("8%011d", p+1)
		payerIDs = append(payerIDs, mgmt)
		bp := fmt.Sprintf("qbench-%d", p)
		if _, _, err := w.store.PutBillingProfile(w.ctx, invite.BillingProfile{ID: bp, CustomerID: "acme", Name: bp, ManagementAccountID: mgmt}); err != nil {
			b.Fatal(err)
		}
		for i := range 20 + queued {
			v, _, err := w.invites.Create(w.ctx, admin, bp, invite.CreateInput{AccountID: fmt.Sprintf("%03d%09d", p+100, i), Queue: invite.QueueWhenFull})
			if err != nil {
				b.Fatal(err)
			}
			if v.State == invite.StateInvited {
				sent[mgmt] = append(sent[mgmt], v.Invite)
			}
		}
	}
	pass := func() (aws, calls, writes int64, took time.Duration, sentNow int) {
		a0, c0, w0 := w.sim.TotalCalls(), counting.calls.Load(), counting.writes.Load()
		start := time.Now()
		for _, p := range payerIDs {
			rep, err := rec.ReconcilePayer(w.ctx, p)
			if err != nil {
				b.Fatal(err)
			}
			sentNow += rep.Queue.Sent
		}
		return int64(w.sim.TotalCalls() - a0), counting.calls.Load() - c0, counting.writes.Load() - w0, time.Since(start), sentNow
	}
	pass() // the first pass reads AWS's list into the ledgers
	var aws, calls, writes int64
	var took time.Duration
	b.ResetTimer()
	for b.Loop() {
		a, c, wr, d, n := pass()
		if n != 0 {
			b.Fatalf("a steady pass sent %d", n)
		}
		aws, calls, writes, took = aws+a, calls+c, writes+wr, took+d
	}
	b.StopTimer()
	n := int64(b.N) * payers
	b.ReportMetric(float64(aws)/float64(n), "aws-calls/payer")
	b.ReportMetric(float64(calls)/float64(n), "store-calls/payer")
	b.ReportMetric(float64(writes)/float64(n), "store-writes/payer")
	b.ReportMetric(float64(took.Milliseconds())/float64(b.N), "steady-pass-ms")
	// One acceptance per payer: the pass that sees it sends one queued invite per payer.
	for _, p := range payerIDs {
		w.asAccount(sent[p][0], true)
	}
	a, c, wr, d, sentNow := pass()
	if sentNow != payers {
		b.Fatalf("the pass after %d acceptances sent %d queued invites", payers, sentNow)
	}
	b.ReportMetric(float64(a)/payers, "release-aws-calls/payer")
	b.ReportMetric(float64(c)/payers, "release-store-calls/payer")
	b.ReportMetric(float64(wr)/payers, "release-store-writes/payer")
	b.ReportMetric(float64(d.Milliseconds()), "release-pass-ms")
}

func (c *queueCountingStore) SetQueuePlaces(ctx context.Context, payer string, places []invite.QueuePlace) error {
	c.calls.Add(1)
	c.writes.Add(1)
	return c.ReconcilerStore.SetQueuePlaces(ctx, payer, places)
}
