package invite_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/cloudreseller/aws-invites/internal/invite"
	"github.com/cloudreseller/aws-invites/internal/store"
)

// BenchmarkReconcile10kInvitesOver10Payers measures one reconciliation of 10 payers holding 1,000 invites each
// against the simulator, over real PostgreSQL: the first pass after 10% of the accounts accepted (state changes and
// membership checks), then steady passes where nothing changed. It reports AWS calls per pass.
//
//	go test -run '^$' -bench Reconcile10k -benchtime 5x ./internal/invite/
func BenchmarkReconcile10kInvitesOver10Payers(b *testing.B) {
	const payers, perPayer = 10, 1000
	w := newWorldTB(b, store.DialectPostgres)
	var payerIDs []string
	var accepted []invite.Invite
	for p := range payers {
		mgmt := fmt.Sprintf("9%011d", p+1)
		payerIDs = append(payerIDs, mgmt)
		bp := fmt.Sprintf("bench-%d", p)
		if _, _, err := w.store.PutBillingProfile(w.ctx, invite.BillingProfile{ID: bp, CustomerID: "acme", Name: bp, ManagementAccountID: mgmt}); err != nil {
			b.Fatal(err)
		}
		w.user.BillingProfiles = append(w.user.BillingProfiles, bp)
		for i := range perPayer {
			inv := w.invite(bp, fmt.Sprintf("%02d%010d", p+10, i))
			if i%10 == 0 {
				accepted = append(accepted, inv)
			}
		}
	}
	for _, inv := range accepted {
		w.asAccount(inv, true)
	}
	pass := func() (time.Duration, int) {
		calls := w.sim.TotalCalls()
		start := time.Now()
		for _, p := range payerIDs {
			if _, err := w.reconciler.ReconcilePayer(w.ctx, p); err != nil {
				b.Fatal(err)
			}
		}
		return time.Since(start), w.sim.TotalCalls() - calls
	}
	firstTime, firstCalls := pass()
	for _, inv := range accepted[:3] {
		if got := w.get(inv); got.State != invite.StateAwaitingCUR {
			b.Fatalf("accepted invite is %s after the first pass", got.State)
		}
	}
	var calls int
	b.ResetTimer()
	for b.Loop() {
		_, n := pass()
		calls += n
	}
	b.ReportMetric(float64(calls)/float64(b.N), "aws-calls/op")
	// ResetTimer drops metrics reported before it: the first pass is reported last.
	b.ReportMetric(float64(firstTime.Milliseconds()), "first-pass-ms")
	b.ReportMetric(float64(firstCalls), "first-pass-aws-calls")
}
