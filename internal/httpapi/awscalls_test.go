package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cloudreseller/aws-invites/internal/invite"
)

// declaredAWSCalls are the x-aws-calls of openapi.yaml's operations, by operation id.
func declaredAWSCalls(t *testing.T) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, item := range mustContract(t).spec.Paths.Map() {
		for _, op := range item.Operations() {
			if n, ok := op.Extensions["x-aws-calls"].(float64); ok {
				out[op.OperationID] = int(n)
			}
		}
	}
	return out
}

// TestAWSCallsAreDeclared holds openapi.yaml's x-aws-calls, which the rate limiter takes from the AWS bucket, to
// what the service does, as the AWS Organizations simulator counts it: every operation of the spec is sent on its
// usual path, in a payer organization of its own, and must make exactly the calls it declares (none without
// x-aws-calls); on the other paths tried after, an operation that calls AWS at all must declare it.
func TestAWSCallsAreDeclared(t *testing.T) {
	e := newEnv(t, envOptions{sandbox: true, testClocks: true}).with(t)
	ctx := context.Background()
	root := rootToken(e)
	declared := declaredAWSCalls(t)
	cur := invite.CURLocation{Bucket: "payer-cur", Prefix: "cur", Report: "payer", Format: invite.CURLegacy}

	// own gives an operation a billing profile on a payer of its own (so what it reads in AWS is its alone), with
	// a CUR location, an invite sent five minutes ago (a re-send is allowed) and a webhook endpoint (reseller-wide
	// for the /webhooks paths). The sandbox
	// delivers CUR data for a join without AWS; for a billing transfer it lists the transferred organization's
	// accounts, the call sandboxDeliverCUR declares: its invite is a transfer's.
	own := func(e *env, i int, o operation) map[string]string {
		bp := invite.BillingProfile{ID: "calls-" + o.id, CustomerID: customer, Name: o.id, ManagementAccountID: fmt.Sprintf("7%011d", i+1), CUR: cur}
		sibling := bp
		sibling.ID += "-sibling"
		for _, p := range []invite.BillingProfile{bp, sibling} {
			if _, _, err := e.store.PutBillingProfile(ctx, p); err != nil {
				t.Fatal(err)
			}
		}
		if o.id == "getTestClock" || o.id == "advanceTestClock" { // the payer's own clock, the customer's
			if c := e.do("POST", "/sandbox/test-clocks", root, map[string]any{"managementAccountId": bp.ManagementAccountID, "customerId": customer}); c.status != http.StatusCreated {
				t.Fatalf("test clock: %d %s", c.status, c.body)
			}
		}
		body := map[string]any{"accountId": fmt.Sprintf("6%011d", i+1)}
		if o.id == "sandboxDeliverCUR" {
			body = map[string]any{"accountId": "999200000001", "kind": "billing_transfer"}
		}
		inv := e.do("POST", invitesPath(bp.ID), root, body)
		hook := e.do("POST", "/billing-profiles/"+bp.ID+"/webhooks", root, map[string]any{"url": "http://127.0.0.1:9/hooks"})
		if inv.status != http.StatusCreated || hook.status != http.StatusCreated {
			t.Fatalf("setting up: %d %s, %d %s", inv.status, inv.body, hook.status, hook.body)
		}
		if o.id == "sandboxChangeAccount" { // a joined account leaves (its usual path)
			path := invitesPath(bp.ID) + "/" + inv.json(t)["id"].(string) + "/sandbox/accept"
			if r := e.do("POST", path, root, nil); r.status != http.StatusOK {
				t.Fatalf("joining first: %d %s", r.status, r.body)
			}
		}
		e.clock.Advance(invite.ResendAfter)
		params := map[string]string{"billingProfileId": bp.ID, "inviteId": inv.json(t)["id"].(string),
			"webhookId": hook.json(t)["id"].(string), "managementAccountId": bp.ManagementAccountID}
		if strings.Contains(o.path, "{batchId}") { // a batch of one account, run to its end before the operation
			r := e.do("POST", batchesPath(bp.ID), root, map[string]any{"accounts": batchOf(fmt.Sprintf("5%011d", i+1))})
			if r.status != http.StatusAccepted {
				t.Fatalf("a batch: %d %s", r.status, r.body)
			}
			params["batchId"] = e.awaitBatch(r.header.Get("Location"), root)["id"].(string)
		}
		if strings.HasPrefix(o.path, "/webhooks/") {
			hook := e.do("POST", "/webhooks", root, map[string]any{"url": "http://127.0.0.1:9/hooks"})
			if hook.status != http.StatusCreated {
				t.Fatalf("a reseller-wide webhook: %d %s", hook.status, hook.body)
			}
			params["webhookId"] = hook.json(t)["id"].(string)
		}
		return params
	}
	// usualBodies replace validBodies where these would leave the usual path here: a billing profile keeps its
	// payer, an invite moves to a profile of the same payer.
	usualBodies := map[string]func(p map[string]string) any{
		"putBillingProfile": func(p map[string]string) any {
			return map[string]any{"customerId": customer, "name": "renamed", "managementAccountId": p["managementAccountId"]}
		},
		"reassignInvite": func(p map[string]string) any {
			return map[string]any{"billingProfileId": p["billingProfileId"] + "-sibling"}
		},
	}

	for i, o := range operations(t) {
		t.Run(o.id, func(t *testing.T) {
			e := e.with(t)
			params := own(e, i, o)
			body := o.validBody(t)
			if b, ok := usualBodies[o.id]; ok {
				body = b(params)
			}
			if o.id == "getCloudHealthValidation" { // there is a last result to read
				if r := e.do("POST", o.url(t, params), root, nil); r.status != http.StatusOK {
					t.Fatalf("validating first: %d %s", r.status, r.body)
				}
			}
			want := declared[o.id]
			if o.id == "advanceSandboxClock" {
				// Its x-aws-calls counts one payer's reconciliation; it reconciles every payer.
				payers, err := e.store.Payers(ctx)
				if err != nil {
					t.Fatal(err)
				}
				want *= len(payers)
			}
			before := e.sim.TotalCalls()
			r := e.do(o.method, o.url(t, params), root, body)
			made := e.sim.TotalCalls() - before
			if r.status >= 300 {
				t.Fatalf("the usual request answered %d %s", r.status, r.body)
			}
			if made != want {
				t.Errorf("%d AWS calls on the usual path; openapi.yaml declares x-aws-calls: %d", made, declared[o.id])
			}
		})
	}

	// Other paths: adopting a handshake sent from the console, a billing transfer accepted, refreshed once in force
	// and ended, entering an open invite's account again (a re-send). Each may cost more or less than the usual path, but an
	// operation that calls AWS on any of them declares it.
	t.Run("other paths", func(t *testing.T) {
		e := e.with(t)
		payer := invite.Payer{ManagementAccountID: "710000000000"}
		if _, _, err := e.store.PutBillingProfile(ctx, invite.BillingProfile{ID: "calls-other", CustomerID: customer, Name: "other",
			ManagementAccountID: payer.ManagementAccountID, CUR: cur}); err != nil {
			t.Fatal(err)
		}
		base := invitesPath("calls-other")
		console, _, err := e.orgs.InviteAccount(ctx, payer, "610000000001", "from the console")
		if err != nil {
			t.Fatal(err)
		}
		var transfer string
		var start time.Time
		for _, step := range []struct {
			op, method string
			path       func() string
			body       any
			status     int
		}{
			{"createInvite", "POST", func() string { return base }, map[string]any{"adoptHandshakeId": console.ID}, 201},
			{"createInvite", "POST", func() string { return base }, map[string]any{"accountId": "999200000002", "kind": "billing_transfer"}, 201},
			{"sandboxAcceptInvite", "POST", func() string { return base + "/" + transfer + "/sandbox/accept" }, nil, 200},
			{"refreshInvite", "POST", func() string { return base + "/" + transfer + "/refresh" }, nil, 200},
			{"cancelInvite", "DELETE", func() string { return base + "/" + transfer }, nil, 200},
			{"createInvite", "POST", func() string { return base }, map[string]any{"accountId": "610000000002"}, 201},
			{"createInvite", "POST", func() string { return base }, map[string]any{"accountId": "610000000002"}, 200},
		} {
			switch {
			case step.op == "createInvite" && step.status == 200:
				e.clock.Advance(invite.ResendAfter + time.Second)
			case step.op == "refreshInvite":
				e.clock.Advance(start.Sub(e.clock.Now()) + time.Hour)
			}
			before := e.sim.TotalCalls()
			r := e.do(step.method, step.path(), root, step.body)
			if r.status != step.status {
				t.Fatalf("%s %v: %d %s", step.op, step.body, r.status, r.body)
			}
			if made := e.sim.TotalCalls() - before; made > 0 && declared[step.op] == 0 {
				t.Errorf("%s made %d AWS calls (%v) and declares no x-aws-calls", step.op, made, step.body)
			}
			if inv := r.json(t); transfer == "" && inv["kind"] == "billing_transfer" {
				transfer, start = inv["id"].(string), e.startOf(inv)
			}
		}
	})
}
