package invite_test

import (
	"fmt"
	"testing"

	"github.com/cloudreseller/aws-invites/internal/invite"
)

// TestReconcileWithTransfersCostsPages: on one payer with 50 joins and 50 billing transfers, one pass lists the
// INVITE handshakes, the transfer handshakes and the inbound transfers once each, by pages of 20: never a call per
// invite. A payer without transfers makes no transfer call at all.
func TestReconcileWithTransfersCostsPages(t *testing.T) {
	w := newWorld(t, inMemory)
	ops := []string{"ListHandshakesForOrganization", "ListInboundResponsibilityTransfers", "DescribeResponsibilityTransfer", "DescribeAccount"}
	count := func() map[string]int {
		m := map[string]int{}
		for _, op := range ops {
			m[op] = w.sim.Calls(op)
		}
		return m
	}
	for i := range 50 {
		w.invite("bp-1", fmt.Sprintf("7000000000%02d", i))
	}
	before := count()
	if _, err := w.reconciler.ReconcilePayer(w.ctx, payerID); err != nil {
		t.Fatal(err)
	}
	after := count()
	if after["ListInboundResponsibilityTransfers"] != before["ListInboundResponsibilityTransfers"] ||
		after["ListHandshakesForOrganization"]-before["ListHandshakesForOrganization"] != 3 {
		t.Errorf("joins only: %v -> %v; want 3 handshake pages and no transfer listing", before, after)
	}
	for i := range 50 {
		v, created, err := w.invites.Create(w.ctx, w.user, "bp-2", invite.CreateInput{AccountID: fmt.Sprintf("7100000000%02d", i), Kind: invite.InviteTransfer})
		if err != nil || !created || v.Transfer == nil || v.Transfer.ID == "" {
			t.Fatalf("transfer %d: %+v %v", i, v.Transfer, err)
		}
	}
	before = count()
	if _, err := w.reconciler.ReconcilePayer(w.ctx, payerID); err != nil {
		t.Fatal(err)
	}
	after = count()
	got := map[string]int{}
	for _, op := range ops {
		if d := after[op] - before[op]; d > 0 {
			got[op] = d
		}
	}
	// 50 INVITE handshakes: 3 pages; 50 transfer handshakes: 3 pages; 50 inbound transfers: 3 pages.
	wantCalls(t, got, map[string]int{"ListHandshakesForOrganization": 6, "ListInboundResponsibilityTransfers": 3})
}
