package invite_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cloudreseller/aws-invites/internal/cloudhealth"
	"github.com/cloudreseller/aws-invites/internal/cloudhealth/chsim"
	"github.com/cloudreseller/aws-invites/internal/invite"
)

// chWorld is a world whose CloudHealth follower reads a simulator of its own over HTTP, through the real client,
// with a fast budget; the simulator's key may differ from the client's (a refused key).
type chWorld struct {
	*world
	sim      *chsim.Simulator
	follower *invite.CloudHealthFollower
}

const chGrace = 72 * time.Hour

func newCHWorld(t *testing.T, simKey string, tenants map[string]string) *chWorld {
	t.Helper()
	w := newWorld(t, inMemory)
	sim, err := chsim.New(chsim.Options{APIKey: simKey, Now: w.clock.Now, Rate: cloudhealth.Rate{Requests: -1}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	c, err := cloudhealth.New(srv.URL, "ch-key", cloudhealth.Options{Rate: cloudhealth.Rate{Requests: 30, Per: 10 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	src := cloudhealth.NewSource(c, cloudhealth.SourceOptions{TenantOf: func(_ context.Context, bp string) (string, error) {
		return tenants[bp], nil
	}})
	return &chWorld{world: w, sim: sim, follower: invite.NewCloudHealthFollower(w.store, invite.Deps{Clock: w.clock, Log: slog.New(slog.DiscardHandler)}, src, chGrace)}
}

// joined returns an invite whose account joined the payer (awaiting_cur).
func (w *chWorld) joined(account string) invite.Invite {
	w.t.Helper()
	inv := w.invite("bp-1", account)
	w.asAccount(inv, true)
	if _, _, err := w.reconcile(); err != nil {
		w.t.Fatal(err)
	}
	if got := w.get(inv); got.State != invite.StateAwaitingCUR {
		w.t.Fatalf("%s did not join: %s", account, got.State)
	}
	return w.get(inv)
}

func (w *chWorld) set(account, level, payer string) {
	w.t.Helper()
	if err := w.sim.SetStatus(w.ctx, account, level, payer); err != nil {
		w.t.Fatal(err)
	}
}

func (w *chWorld) sync() {
	w.t.Helper()
	if err := w.follower.Sync(w.ctx); err != nil {
		w.t.Fatal(err)
	}
}

// Green and yellow under the billing profile's payer stay healthy past the grace (yellow with a warning); red is
// critical at once; unknown only after the grace.
func TestCloudHealthLevels(t *testing.T) {
	w := newCHWorld(t, "ch-key", nil)
	green, yellow, red, unknown := w.joined("700000000001"), w.joined("700000000002"), w.joined("700000000003"), w.joined("700000000004")
	w.set(green.AccountID, "green", payerID)
	w.set(yellow.AccountID, "yellow", payerID)
	w.set(red.AccountID, "red", payerID)
	w.set(unknown.AccountID, "unknown", payerID)
	w.sync()
	for inv, want := range map[string]invite.State{green.ID: invite.StateAwaitingCUR, yellow.ID: invite.StateAwaitingCUR,
		red.ID: invite.StateCloudHealthCritical, unknown.ID: invite.StateAwaitingCUR} {
		if got := w.get(invite.Invite{ID: inv, BillingProfileID: "bp-1"}); got.State != want {
			t.Errorf("within the grace: %s is %s, want %s", got.AccountID, got.State, want)
		}
	}
	w.clock.Advance(chGrace + time.Hour)
	w.sync()
	for inv, want := range map[string]invite.State{green.ID: invite.StateAwaitingCUR, yellow.ID: invite.StateAwaitingCUR,
		red.ID: invite.StateCloudHealthCritical, unknown.ID: invite.StateCloudHealthCritical} {
		if got := w.get(invite.Invite{ID: inv, BillingProfileID: "bp-1"}); got.State != want {
			t.Errorf("past the grace: %s is %s, want %s", got.AccountID, got.State, want)
		}
	}
	g := w.get(green)
	if g.CloudHealth == nil || g.CloudHealth.PayerAccountID != payerID || g.CloudHealth.Warning() != "" {
		t.Errorf("green: %+v", g.CloudHealth)
	}
	if y := w.get(yellow); y.CloudHealth == nil || !strings.Contains(y.CloudHealth.Warning(), "warning") {
		t.Errorf("yellow carries no warning: %+v", y.CloudHealth)
	}
	if !strings.Contains(w.lastEvent(red).Reason, "red") {
		t.Errorf("red's reason: %q", w.lastEvent(red).Reason)
	}
}

// Placed under another payer: critical after the grace, with a reason and a next step naming that payer; back
// when CloudHealth corrects it.
func TestCloudHealthOtherPayer(t *testing.T) {
	w := newCHWorld(t, "ch-key", nil)
	const other = "333333333333"
	inv := w.joined("700000000001")
	w.set(inv.AccountID, "green", other)
	w.sync()
	if got := w.get(inv); got.State != invite.StateAwaitingCUR {
		t.Fatalf("under another payer within the grace: %s", got.State)
	}
	w.clock.Advance(chGrace)
	w.sync()
	got := w.get(inv)
	if got.State != invite.StateCloudHealthCritical || !strings.Contains(w.lastEvent(inv).Reason, other) {
		t.Fatalf("under another payer past the grace: %s %q", got.State, w.lastEvent(inv).Reason)
	}
	steps := fmt.Sprint(invite.NextSteps(got, w.clock.Now()))
	// The payer's name rides along only where the store keeps it; its id is always there.
	for _, want := range []string{other, payerID, "FlexRI"} {
		if !strings.Contains(steps, want) {
			t.Errorf("next steps do not name %q: %s", want, steps)
		}
	}
	w.set(inv.AccountID, "green", payerID)
	w.sync()
	if got := w.get(inv); got.State != invite.StateAwaitingCUR || got.CloudHealth.PayerAccountID != payerID {
		t.Errorf("corrected: %s %+v", got.State, got.CloudHealth)
	}
}

// A partner's customer: the billing profile's tenant is its client_api_id; the payer comes from the assignments.
func TestCloudHealthPartnerTenant(t *testing.T) {
	w := newCHWorld(t, "ch-key", map[string]string{"bp-1": "cust-1"})
	inv := w.joined("700000000001")
	w.sim.AssignCustomer("cust-1", inv.AccountID)
	w.set(inv.AccountID, "green", payerID)
	w.clock.Advance(chGrace + time.Hour)
	w.sync()
	got := w.get(inv)
	if got.State != invite.StateAwaitingCUR || got.CloudHealth == nil || got.CloudHealth.PayerAccountID != payerID {
		t.Fatalf("partner tenant: %s %+v", got.State, got.CloudHealth)
	}
	for _, r := range w.sim.Requests() {
		if r.Tenant != "cust-1" {
			t.Errorf("a request for tenant %q: %+v", r.Tenant, r)
		}
	}
}

// A refused key (403 "Bad API Key", or 401) is the reseller's to fix: the sync fails with its own error and
// moves no invite, neither to critical (an account CloudHealth would not list past the grace) nor back.
func TestCloudHealthRefusedKeyMovesNothing(t *testing.T) {
	w := newCHWorld(t, "another-key", nil)
	inv := w.joined("700000000001")
	w.clock.Advance(chGrace + time.Hour)
	err := w.follower.Sync(w.ctx)
	if !errors.Is(err, invite.ErrCloudHealthKeyRefused) {
		t.Fatalf("sync with a refused key: %v", err)
	}
	got := w.get(inv)
	if got.State != invite.StateAwaitingCUR || got.CloudHealth != nil || got.Version != inv.Version {
		t.Errorf("the invite moved: %s %+v (version %d, was %d)", got.State, got.CloudHealth, got.Version, inv.Version)
	}
	w.sim.InjectFault(chsim.Fault{Status: 401})
	if err := w.follower.Sync(w.ctx); !errors.Is(err, invite.ErrCloudHealthKeyRefused) {
		t.Fatalf("sync with 401: %v", err)
	}
	if got := w.get(inv); got.Version != inv.Version {
		t.Errorf("the invite moved on a 401: %s", got.State)
	}
}
