package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudreseller/aws-invites/internal/testdb"
)

// hookReceiver counts what arrives per webhook-id; it can be made to fail everything.
type hookReceiver struct {
	srv  *httptest.Server
	down atomic.Bool
	mu   sync.Mutex
	seen map[string]int // accepted deliveries per webhook-id
}

func newHookReceiver(t *testing.T) *hookReceiver {
	r := &hookReceiver{seen: map[string]int{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.ReadAll(req.Body)
		if r.down.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		r.mu.Lock()
		r.seen[req.Header.Get("webhook-id")]++
		r.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *hookReceiver) counts() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]int{}
	for k, v := range r.seen {
		out[k] = v
	}
	return out
}

// TestWebhooksSurviveRestartsAndReplicas: what one process committed is delivered by another after it stopped,
// and two replicas on one database deliver each event once.
func TestWebhooksSurviveRestartsAndReplicas(t *testing.T) {
	env := map[string]string{
		"DATABASE_URL": testdb.New(t), "AWS_INVITES_MODE": "sandbox", "AWS_INVITES_DATA_DIR": t.TempDir(),
	}
	inst := start(t, env)
	m := regexp.MustCompile(`development token \(24h\): (\S+)`).FindStringSubmatch(inst.stdout.String())
	if m == nil {
		t.Fatal("no token printed")
	}
	tok := m[1]
	r := newHookReceiver(t)
	status, hook, _ := call(t, "POST", inst.url+"/billing-profiles/demo/webhooks", tok,
		map[string]any{"url": r.srv.URL, "events": []string{"invite.created"}})
	if status != 201 {
		t.Fatalf("add webhook: %d %v", status, hook)
	}

	// The receiver is down; the invitation is sent and its event committed; the process stops.
	r.down.Store(true)
	if status, inv, _ := call(t, "POST", inst.url+"/billing-profiles/demo/aws-invites", tok, map[string]any{"accountId": "100000000001"}); status != 201 {
		t.Fatalf("invite: %d %v", status, inv)
	}
	time.Sleep(1500 * time.Millisecond) // an attempt or two fail
	if err := inst.stop(); err != nil {
		t.Fatal(err)
	}
	r.down.Store(false)

	// Two replicas on the same database: the pending delivery arrives, once; then ten more events, once each.
	one, two := start2(t, env), start2(t, env)
	waitForDeliveries(t, r, 1)
	for i := range 10 {
		url := []string{one.url, two.url}[i%2]
		if status, inv, _ := call(t, "POST", url+"/billing-profiles/demo/aws-invites", tok,
			map[string]any{"accountId": fmt.Sprintf("2000000000%02d", i)}); status != 201 {
			t.Fatalf("invite %d: %d %v", i, status, inv)
		}
	}
	waitForDeliveries(t, r, 11)
	time.Sleep(2 * time.Second) // a second delivery of any of them would show now
	for id, n := range r.counts() {
		if n != 1 {
			t.Errorf("event %s delivered %d times", id, n)
		}
	}
	if got := len(r.counts()); got != 11 {
		t.Errorf("%d events delivered, want 11", got)
	}
}

func waitForDeliveries(t *testing.T, r *hookReceiver, n int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for len(r.counts()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d events delivered after a minute, want %d", len(r.counts()), n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
