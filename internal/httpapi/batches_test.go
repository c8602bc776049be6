package httpapi_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cloudreseller/aws-invites/internal/auth"
	"github.com/cloudreseller/aws-invites/internal/store"
)

func batchesPath(bp string) string { return "/billing-profiles/" + bp + "/aws-invite-batches" }

// awaitBatch reads a batch until it is done.
func (e *env) awaitBatch(location, tok string) map[string]any {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := e.do("GET", location, tok, nil)
		if r.status != 200 {
			e.t.Fatalf("GET %s: %d %s", location, r.status, r.body)
		}
		b := r.json(e.t)
		if b["state"] == "done" {
			return b
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("batch still %v after 30s: %s", b["state"], r.body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func batchOf(accounts ...string) []map[string]any {
	out := make([]map[string]any, len(accounts))
	for i, a := range accounts {
		out[i] = map[string]any{"accountId": a}
	}
	return out
}

func accountsFrom(first, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("4%011d", first+i)
	}
	return out
}

// A batch of 25 on one payer whose daily quota is AWS's 20: the free slots less the 2 reserved for single invites
// are sent, the rest wait in the queue with when they are expected; a retry with the key answers the same batch;
// the batch's completion is an event. A malformed batch creates nothing; a dry run calls no AWS write; the queued
// items cancel without AWS.
func TestInviteBatches(t *testing.T) {
	for _, dialect := range []string{store.DialectPostgres, store.DialectSQLite} {
		t.Run(dialect, func(t *testing.T) {
			e := newEnv(t, envOptions{dialect: dialect, sandbox: true})
			tok := e.token()
			key := "Idempotency-Key"

			// One malformed item refuses all: every bad item's index and code, nothing created.
			bad := batchOf("123456789012", "12345", "123456789012", management)
			p := e.problem(e.do("POST", batchesPath(profile), tok, map[string]any{"accounts": bad}, key, "bad-1"), 422, "batch_invalid")
			var got []string
			for _, it := range p["items"].([]any) {
				m := it.(map[string]any)
				got = append(got, fmt.Sprintf("%v:%v", m["index"], m["code"]))
			}
			if strings.Join(got, " ") != "1:invalid_account_id 2:duplicate_account 3:validation_failed" {
				t.Errorf("items of the refusal: %v", got)
			}
			if inv, _ := e.counts(); inv != 0 {
				t.Errorf("a refused batch left %d invites", inv)
			}
			if r := e.do("POST", batchesPath(profile), tok, map[string]any{"accounts": batchOf("123456789012")}, key, ""); r.status != 400 {
				t.Errorf("a batch without Idempotency-Key: %d %s", r.status, r.body)
			}

			// A dry run predicts, calling no AWS write.
			sentBefore := e.sim.Calls("InviteAccountToOrganization")
			r := e.do("POST", batchesPath(profile), tok, map[string]any{"accounts": batchOf(accountsFrom(0, 25)...), "dryRun": true}, key, "dry-1")
			if r.status != 202 {
				t.Fatalf("dry run: %d %s", r.status, r.body)
			}
			dry := r.json(t)
			counts := dry["counts"].(map[string]any)
			if dry["state"] != "done" || counts["would_send"] != float64(18) || counts["would_queue"] != float64(7) {
				t.Errorf("dry run: state %v, counts %v; want done, 18 would_send and 7 would_queue", dry["state"], counts)
			}
			if n := e.sim.Calls("InviteAccountToOrganization"); n != sentBefore {
				t.Errorf("a dry run sent %d invitations", n-sentBefore)
			}
			if inv, _ := e.counts(); inv != 0 {
				t.Errorf("a dry run left %d invites", inv)
			}

			// The batch itself.
			body := map[string]any{"accounts": batchOf(accountsFrom(0, 25)...), "defaults": map[string]any{"notes": "Welcome aboard"}}
			r = e.do("POST", batchesPath(profile), tok, body, key, "batch-1")
			if r.status != 202 || !strings.HasPrefix(r.header.Get("Location"), batchesPath(profile)+"/") {
				t.Fatalf("batch: %d %s (Location %q)", r.status, r.body, r.header.Get("Location"))
			}
			loc := r.header.Get("Location")
			b := e.awaitBatch(loc, tok)
			counts = b["counts"].(map[string]any)
			if counts["sent"] != float64(18) || counts["queued"] != float64(7) {
				t.Fatalf("counts %v, want 18 sent and 7 queued", counts)
			}
			queuedIDs := []string{}
			for _, it := range b["items"].([]any) {
				m := it.(map[string]any)
				if m["outcome"] == "queued" {
					if m["scheduledFor"] == nil || m["invite"] == nil {
						t.Errorf("queued item without scheduledFor or invite link: %v", m)
					}
					queuedIDs = append(queuedIDs, m["inviteId"].(string))
				}
			}
			if again := e.do("POST", batchesPath(profile), tok, body, key, "batch-1"); again.status != 202 || again.json(t)["id"] != b["id"] {
				t.Errorf("retry with the key: %d %s, want batch %v", again.status, again.body, b["id"])
			}
			e.problem(e.do("POST", batchesPath(profile), tok, map[string]any{"accounts": batchOf("111122223333")}, key, "batch-1"), 422, "idempotency_key_reused")
			feed := e.do("GET", "/billing-profiles/"+profile+"/events?type=batch.completed", tok, nil).json(t)["items"].([]any)
			if len(feed) != 1 || !strings.Contains(feed[0].(map[string]any)["reason"].(string), "18 sent, 7 queued") {
				t.Errorf("batch.completed events: %v", feed)
			}

			// The reserve lets a single invite through while the batch's items wait.
			if r := e.do("POST", invitesPath(profile), tok, map[string]any{"accountId": "999900001111"}); r.status != 201 {
				t.Errorf("a single invite during the batch: %d %s", r.status, r.body)
			}

			// A second batch with an account of the first: already invited, nothing re-sent.
			sentBefore = e.sim.Calls("InviteAccountToOrganization")
			r = e.do("POST", batchesPath(profile), tok, map[string]any{"accounts": batchOf(accountsFrom(0, 1)...)}, key, "batch-2")
			second := e.awaitBatch(r.header.Get("Location"), tok)
			if it := second["items"].([]any)[0].(map[string]any); it["outcome"] != "already_invited" {
				t.Errorf("an account the first batch invited: %v", it)
			}
			if n := e.sim.Calls("InviteAccountToOrganization"); n != sentBefore {
				t.Errorf("the second batch sent %d invitations", n-sentBefore)
			}

			// Acceptances free slots: with the single invite above using one of the 2 reserved, two acceptances
			// free one slot a batch may use; the pass sends the oldest queued item, and the batch shows it sent.
			var sentIDs []string
			for _, it := range b["items"].([]any) {
				if m := it.(map[string]any); m["outcome"] == "sent" && len(sentIDs) < 2 {
					sentIDs = append(sentIDs, m["inviteId"].(string))
				}
			}
			for _, id := range sentIDs {
				if r := e.do("POST", invitesPath(profile)+"/"+id+"/sandbox/accept", tok, nil); r.status != 200 {
					t.Fatalf("accept: %d %s", r.status, r.body)
				}
			}
			if r := e.do("POST", invitesPath(profile)+"/"+queuedIDs[0]+"/refresh", tok, nil); r.status != 200 || r.json(t)["state"] != "invited" {
				t.Fatalf("the oldest queued after an acceptance: %d %s", r.status, r.body)
			}
			if c := e.do("GET", loc, tok, nil).json(t)["counts"].(map[string]any); c["sent"] != float64(19) || c["queued"] != float64(6) {
				t.Errorf("the batch after its first queued item went out: counts %v, want 19 sent and 6 queued", c)
			}

			// Canceling the queued items calls nothing at AWS.
			cancels := e.sim.Calls("CancelHandshake")
			r = e.do("POST", loc+"/cancel-queued", tok, nil)
			if r.status != 200 {
				t.Fatalf("cancel queued: %d %s", r.status, r.body)
			}
			if c := r.json(t)["counts"].(map[string]any); c["canceled"] != float64(6) || c["sent"] != float64(19) {
				t.Errorf("after cancel: counts %v", c)
			}
			for _, id := range queuedIDs[1:] {
				if st := e.do("GET", invitesPath(profile)+"/"+id, tok, nil).json(t)["state"]; st != "canceled" {
					t.Errorf("queued invite %s is %v after the cancel", id, st)
				}
			}
			if n := e.sim.Calls("CancelHandshake"); n != cancels {
				t.Errorf("canceling queued items made %d CancelHandshake calls", n-cancels)
			}

			// Another customer cannot read the batch.
			other := e.token(func(c *auth.Claims) { c.CustomerID = "globex"; c.BillingProfiles = []string{"globex-main"} })
			e.problem(e.do("GET", loc, other, nil), 404, "not_found")
		})
	}
}

// BenchmarkBatchOf500 measures a batch of 500 accounts on one payer whose daily quota is AWS's 20: how long the
// POST takes to answer (the whole batch checked and kept) and how long its background run takes to give every item
// its outcome (18 sent, 482 queued), through the real SDK against the simulator, on PostgreSQL.
func BenchmarkBatchOf500(b *testing.B) {
	e := newEnv(b, envOptions{sandbox: true})
	tok := e.token()
	var answer, run time.Duration
	for i := range b.N {
		body := map[string]any{"accounts": batchOf(accountsFrom(i*1000, 500)...), "defaults": map[string]any{"notes": "Welcome aboard"}}
		began := time.Now()
		r := e.do("POST", batchesPath(profile), tok, body)
		answer += time.Since(began)
		if r.status != 202 {
			b.Fatalf("batch: %d %s", r.status, r.body)
		}
		done := e.awaitBatch(r.header.Get("Location"), tok)
		run += time.Since(began)
		if c := done["counts"].(map[string]any); count(c, "sent")+count(c, "queued") != 500 {
			b.Fatalf("counts %v", c)
		}
	}
	b.ReportMetric(float64(answer.Milliseconds())/float64(b.N), "ms/answer")
	b.ReportMetric(float64(run.Milliseconds())/float64(b.N), "ms/run")
}

// count is the count of an outcome in a batch's counts, 0 when absent.
func count(counts map[string]any, outcome string) int {
	n, _ := counts[outcome].(float64)
	return int(n)
}

// An Idempotency-Key is kept a day (service.IdempotencyRetention): within it a retry with another body is refused;
// after it the hourly housekeeping (run here by the sandbox clock's advance) has deleted the record and the key
// names a new request.
func TestIdempotencyKeysExpireAfterADay(t *testing.T) {
	e := newEnv(t, envOptions{sandbox: true})
	tok := e.token()
	key := "Idempotency-Key"
	if r := e.do("POST", invitesPath(profile), tok, map[string]any{"accountId": "123456789012"}, key, "once"); r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/sandbox/clock", tok, map[string]any{"advance": "23h"}); r.status != 200 {
		t.Fatalf("advance: %d %s", r.status, r.body)
	}
	e.problem(e.do("POST", invitesPath(profile), tok, map[string]any{"accountId": "210987654321"}, key, "once"), 422, "idempotency_key_reused")
	if r := e.do("POST", "/sandbox/clock", tok, map[string]any{"advance": "2h"}); r.status != 200 {
		t.Fatalf("advance: %d %s", r.status, r.body)
	}
	if r := e.do("POST", invitesPath(profile), tok, map[string]any{"accountId": "210987654321"}, key, "once"); r.status != 201 {
		t.Errorf("the key a day later: %d %s, want a new request's 201", r.status, r.body)
	}
}

// The completion of a batch reaches a webhook subscribed to batch.completed, signed like every delivery, with the
// batch's counts in its reason and no invite.
func TestBatchCompletedWebhook(t *testing.T) {
	e := newEnv(t, envOptions{sandbox: true, notify: true})
	r := newReceiver(t)
	e.addWebhook(r, "batch.completed")
	res := e.do("POST", batchesPath(profile), e.token(), map[string]any{"accounts": batchOf(accountsFrom(100, 3)...)})
	if res.status != 202 {
		t.Fatalf("batch: %d %s", res.status, res.body)
	}
	e.awaitBatch(res.header.Get("Location"), e.token())
	got := r.waitFor(1)
	data, _ := got[0].Body["data"].(map[string]any)
	if got[0].Type != "batch.completed" || data == nil || !strings.Contains(data["reason"].(string), "3 sent") || data["invite"] != nil {
		t.Errorf("delivery: %s %s", got[0].Type, got[0].Raw)
	}
}
