package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudreseller/aws-invites/internal/invite"
	"github.com/cloudreseller/aws-invites/internal/store"
)

// transferOf sends a billing transfer invite for a customer's management account.
func (e *env) transferOf(account string, extra map[string]any) map[string]any {
	e.t.Helper()
	body := map[string]any{"accountId": account, "kind": "billing_transfer", "notes": "bring your organization"}
	for k, v := range extra {
		body[k] = v
	}
	r := e.do("POST", invitesPath(profile), e.token(), body)
	if r.status != http.StatusCreated {
		e.t.Fatalf("transfer %s: %d %s", account, r.status, r.body)
	}
	return r.json(e.t)
}

func (e *env) refreshInvite(id string) map[string]any {
	e.t.Helper()
	r := e.do("POST", invitesPath(profile)+"/"+id+"/refresh", e.token(), nil)
	if r.status != http.StatusOK {
		e.t.Fatalf("refresh: %d %s", r.status, r.body)
	}
	return r.json(e.t)
}

func (e *env) startOf(inv map[string]any) time.Time {
	e.t.Helper()
	start, err := time.Parse(time.RFC3339, inv["transfer"].(map[string]any)["startAt"].(string))
	if err != nil {
		e.t.Fatal(err)
	}
	return start
}

// TestBillingTransferLifecycle: a customer's management account keeps its organization and hands its bill to the
// payer: sent, accepted, in force once the start passes, active once the transferred organization's usage is in
// the payer's report, ended at the reseller's request.
func TestBillingTransferLifecycle(t *testing.T) {
	for _, dialect := range []string{store.DialectPostgres, store.DialectSQLite} {
		t.Run(dialect, func(t *testing.T) {
			e := newEnv(t, envOptions{dialect: dialect, sandbox: true})
			tok := e.token()
			if _, _, err := e.store.PutBillingProfile(context.Background(), invite.BillingProfile{ID: profile, CustomerID: customer,
				Name: "Acme main", ManagementAccountID: management,
				CUR: invite.CURLocation{Bucket: "payer-cur", Prefix: "cur", Report: "payer", Format: invite.CURLegacy}}); err != nil {
				t.Fatal(err)
			}
			inv := e.transferOf("999200000001", nil) // a management account with member accounts
			id := inv["id"].(string)
			tr := inv["transfer"].(map[string]any)
			start := e.startOf(inv)
			if inv["kind"] != "billing_transfer" || inv["state"] != "invited" || !strings.HasPrefix(tr["id"].(string), "rt-") ||
				tr["status"] != "REQUESTED" || !start.Equal(invite.DefaultTransferStart(e.clock.Now())) {
				t.Fatalf("created transfer: %v", inv)
			}
			if steps := stepCodes(inv); !strings.Contains(steps, "accept_billing_transfer") || !strings.Contains(steps, "billing_transfer_changes") {
				t.Errorf("next steps: %s", steps)
			}
			if got := e.do("GET", invitesPath(profile)+"?kind=billing_transfer", tok, nil).json(t)["items"].([]any); len(got) != 1 {
				t.Errorf("list by kind: %v", got)
			}
			if got := e.do("GET", invitesPath(profile)+"?kind=join", tok, nil).json(t)["items"].([]any); len(got) != 0 {
				t.Errorf("joins listed: %v", got)
			}
			// The same account cannot have a join beside it.
			e.problem(e.do("POST", invitesPath(profile), tok, map[string]any{"accountId": "999200000001"}), 409, "invite_of_another_kind")

			r := e.do("POST", invitesPath(profile)+"/"+id+"/sandbox/accept", tok, nil)
			if r.status != 200 || r.json(t)["state"] != "accepted" || r.json(t)["transfer"].(map[string]any)["status"] != "ACCEPTED" {
				t.Fatalf("accept: %d %s", r.status, r.body)
			}
			if steps := stepCodes(r.json(t)); !strings.Contains(steps, "billing_transfer_starts") {
				t.Errorf("accepted steps: %s", steps)
			}
			// Before the start nothing moves; once it passed, the payer pays: awaiting CUR data, as a joined account.
			if got := e.refreshInvite(id); got["state"] != "accepted" {
				t.Fatalf("before the start: %v", got["state"])
			}
			e.clock.Advance(start.Sub(e.clock.Now()) + time.Hour)
			got := e.refreshInvite(id)
			if got["state"] != "awaiting_cur" || got["joinedAt"] != start.UTC().Format(time.RFC3339) {
				t.Fatalf("after the start: %v joined %v", got["state"], got["joinedAt"])
			}
			// The sandbox delivers the transferred organization's usage: its accounts name its management account as payer.
			r = e.do("POST", invitesPath(profile)+"/"+id+"/sandbox/cur", tok, map[string]any{"unblendedCost": "7.25"})
			if r.status != 200 || r.json(t)["state"] != "active" {
				t.Fatalf("CUR: %d %s", r.status, r.body)
			}
			// Ended by the reseller: AWS ends it at the end of the month; the invite is over.
			r = e.do("DELETE", invitesPath(profile)+"/"+id, tok, nil)
			if r.status != 200 || r.json(t)["state"] != "canceled" {
				t.Fatalf("end the transfer: %d %s", r.status, r.body)
			}
			tr = r.json(t)["transfer"].(map[string]any)
			if tr["status"] != "WITHDRAWN" || tr["endAt"] == nil {
				t.Errorf("the ended transfer: %v", tr)
			}
			events := e.do("GET", invitesPath(profile)+"/"+id+"/events", tok, nil).json(t)["items"].([]any)
			last := events[len(events)-1].(map[string]any)
			if last["type"] != "invite.transfer_ended" || !strings.Contains(last["reason"].(string), "ended by the reseller") {
				t.Errorf("last event: %v", last)
			}
		})
	}
}

// TestBillingTransferEnds: declined, canceled before acceptance, not accepted before its start, withdrawn by the
// customer after it started: each is over, with its reason in the history.
func TestBillingTransferEnds(t *testing.T) {
	e := newEnv(t, envOptions{sandbox: true})
	tok := e.token()
	lastReason := func(id string) string {
		items := e.do("GET", invitesPath(profile)+"/"+id+"/events", tok, nil).json(t)["items"].([]any)
		return items[len(items)-1].(map[string]any)["reason"].(string)
	}

	declined := e.transferOf("400000000001", nil)
	if r := e.do("POST", invitesPath(profile)+"/"+declined["id"].(string)+"/sandbox/decline", tok, nil); r.status != 200 || r.json(t)["state"] != "declined" {
		t.Errorf("decline: %d %s", r.status, r.body)
	}

	canceled := e.transferOf("400000000002", nil)
	if r := e.do("DELETE", invitesPath(profile)+"/"+canceled["id"].(string), tok, nil); r.status != 200 || r.json(t)["state"] != "canceled" ||
		r.json(t)["transfer"].(map[string]any)["status"] != "CANCELED" {
		t.Errorf("cancel before acceptance: %d %s", r.status, r.body)
	}

	withdrawn := e.transferOf("400000000003", nil)
	wid := withdrawn["id"].(string)
	e.do("POST", invitesPath(profile)+"/"+wid+"/sandbox/accept", tok, nil)
	late := e.transferOf("400000000004", nil)
	start := e.startOf(late)

	// A day before the start the unanswered invitation is over.
	e.clock.Advance(start.Sub(e.clock.Now()) - invite.TransferLeadTime + time.Minute)
	if got := e.refreshInvite(late["id"].(string)); got["state"] != "expired" {
		t.Errorf("not accepted a day before the start: %v", got["state"])
	}
	// After the start, the customer withdraws it (AWS: its management account terminates the transfer).
	e.clock.Advance(invite.TransferLeadTime)
	if got := e.refreshInvite(wid); got["state"] != "awaiting_cur" {
		t.Fatalf("in force: %v", got["state"])
	}
	tid := withdrawn["transfer"].(map[string]any)["id"].(string)
	if _, err := e.orgs.TerminateTransfer(context.Background(), invite.Payer{ManagementAccountID: "400000000003"}, tid, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if got := e.refreshInvite(wid); got["state"] != "canceled" || !strings.Contains(lastReason(wid), "withdrawn") {
		t.Errorf("withdrawn: %v, %q", got["state"], lastReason(wid))
	}
}

// TestBillingTransferRefusals: what AWS or the service refuses, each with a stable code.
func TestBillingTransferRefusals(t *testing.T) {
	e := newEnv(t, envOptions{sandbox: true})
	tok := e.token()
	post := func(body map[string]any) response { return e.do("POST", invitesPath(profile), tok, body) }
	tr := func(account string, extra ...any) map[string]any {
		b := map[string]any{"accountId": account, "kind": "billing_transfer"}
		for i := 0; i+1 < len(extra); i += 2 {
			b[extra[i].(string)] = extra[i+1]
		}
		return b
	}
	now := e.clock.Now()
	e.problem(post(tr("400000000010", "transferStart", now.AddDate(0, 1, 0).Format("2006-01-02")[:8]+"15")), 422, "validation_failed")
	e.problem(post(tr("400000000010", "transferStart", now.AddDate(-1, 0, 0).Format("2006-01")+"-01")), 422, "validation_failed")
	e.problem(post(tr("400000000010", "transferStart", now.AddDate(2, 0, 0).Format("2006-01")+"-01")), 422, "validation_failed")
	if p := e.problem(post(tr("400000000010", "transferName", "Café")), 422, "validation_failed"); !strings.Contains(p["detail"].(string), "printable ASCII") {
		t.Errorf("transferName detail: %v", p["detail"])
	}
	e.problem(post(tr(management)), 422, "validation_failed")
	e.problem(post(tr("999700000001")), 409, "billing_transfer_unsupported_pricing")
	e.problem(post(map[string]any{"accountId": "400000000011", "transferName": "x"}), 422, "validation_failed")
	if inv, _ := e.counts(); inv != 0 {
		t.Errorf("refused transfers left %d invites", inv)
	}
}

// TestJoinAndTransferRaceForOneAccount: a join and a transfer of one management account, sent at once, leave one
// invite and one handshake.
func TestJoinAndTransferRaceForOneAccount(t *testing.T) {
	e := newEnv(t, envOptions{sandbox: true})
	const n = 10
	results := make([]response, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		body := map[string]any{"accountId": "400000000020"}
		if i%2 == 1 {
			body["kind"] = "billing_transfer"
		}
		wg.Go(func() {
			<-start
			results[i] = e.with(t).do("POST", invitesPath(profile), e.token(), body)
		})
	}
	close(start)
	wg.Wait()
	created := 0
	for _, r := range results {
		switch {
		case r.status == http.StatusCreated:
			created++
		case r.status != http.StatusConflict:
			t.Errorf("unexpected answer: %d %s", r.status, r.body)
		}
	}
	sent := e.sim.Calls("InviteAccountToOrganization") + e.sim.Calls("InviteOrganizationToTransferResponsibility")
	if inv, _ := e.counts(); created != 1 || inv != 1 || sent != 1 {
		t.Errorf("%d created, %d stored, %d sent to AWS; want one each", created, inv, sent)
	}
}
