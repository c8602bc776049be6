package main

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudreseller/aws-invites/internal/auth"
)

// TestLogsForSupport walks the sandbox as a customer would (create, a refusal, webhooks with a failing receiver,
// accept, refresh, rotate, cancel, a bad token) and reads every log line written meanwhile: each request line names
// the caller and the problem code it answered, creates name their AWS request ids, job lines their job, and no line
// holds the token, a webhook secret, the token-signing secret or the metrics token.
func TestLogsForSupport(t *testing.T) {
	dir := t.TempDir()
	const metricsToken = "scrape-me-f1e2d3c4b5a6"
	inst := start(t, map[string]string{"AWS_INVITES_DATA_DIR": dir, "METRICS_TOKEN": metricsToken})
	tok := devToken(t, inst)
	base := inst.url + "/billing-profiles/demo/aws-invites"

	var failing atomic.Int32 // the receiver refuses its first deliveries, so delivery jobs fail and retry
	failing.Store(2)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if failing.Add(-1) >= 0 {
			http.Error(w, "not now", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(receiver.Close)

	var secrets []string
	whsec := regexp.MustCompile(`whsec_[A-Za-z0-9+/=_-]+`)
	keepSecret := func(body map[string]any) {
		raw, _ := json.Marshal(body)
		for _, s := range whsec.FindAllString(string(raw), -1) {
			secrets = append(secrets, s, strings.TrimPrefix(s, "whsec_"))
		}
	}
	status, hook, _ := call(t, "POST", inst.url+"/billing-profiles/demo/webhooks", tok, map[string]any{"url": receiver.URL})
	if status != 201 {
		t.Fatalf("add webhook: %d %v", status, hook)
	}
	keepSecret(hook)
	if len(secrets) == 0 {
		t.Fatalf("no whsec_ secret in the webhook's answer: %v", hook)
	}
	status, rotated, _ := call(t, "POST", inst.url+"/billing-profiles/demo/webhooks/"+hook["id"].(string)+"/rotate-secret", tok, nil)
	if status != 200 {
		t.Fatalf("rotate: %d %v", status, rotated)
	}
	keepSecret(rotated)

	req, _ := http.NewRequest("POST", base, strings.NewReader(`{"accountId":"123456789012"}`))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", "support-walk-1")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var inv map[string]any
	json.NewDecoder(res.Body).Decode(&inv)
	res.Body.Close()
	if res.StatusCode != 201 {
		t.Fatalf("create: %d %v", res.StatusCode, inv)
	}
	createID := res.Header.Get("X-Request-Id")
	id := inv["id"].(string)
	if s, p, _ := call(t, "POST", base, tok, map[string]any{"accountId": "999600000001"}); s != 409 {
		t.Fatalf("an account AWS will not move: %d %v", s, p)
	}
	if s, p, _ := call(t, "POST", base+"/"+id+"/sandbox/accept", tok, nil); s != 200 {
		t.Fatalf("accept: %d %v", s, p)
	}
	if s, p, _ := call(t, "POST", base+"/"+id+"/refresh", tok, nil); s != 200 {
		t.Fatalf("refresh: %d %v", s, p)
	}
	if s, p, _ := call(t, "GET", base+"?limit=5", tok, nil); s != 200 {
		t.Fatalf("list: %d %v", s, p)
	}
	if s, _, _ := call(t, "GET", base, tok+"x", nil); s != 401 {
		t.Fatalf("a tampered token: %d", s)
	}
	mreq, _ := http.NewRequest("GET", inst.url+"/metrics", nil)
	mreq.Header.Set("Authorization", "Bearer "+metricsToken)
	if mres, err := http.DefaultClient.Do(mreq); err != nil || mres.StatusCode != 200 {
		t.Fatalf("metrics: %v %v", mres, err)
	} else {
		mres.Body.Close()
	}
	deadline := time.Now().Add(30 * time.Second)
	for failing.Load() >= 0 && time.Now().Before(deadline) { // the deliveries failed, then one arrived
		time.Sleep(100 * time.Millisecond)
	}
	if failing.Load() >= 0 {
		t.Fatal("no webhook delivery arrived after the failures")
	}
	if err := inst.stop(); err != nil {
		t.Fatal(err)
	}

	devSecret, err := auth.LoadOrCreateDevSecret(dir)
	if err != nil {
		t.Fatal(err)
	}
	logs := inst.logs.String()
	for what, s := range map[string]string{"the bearer token": tok, "the token's signature": tok[strings.LastIndex(tok, ".")+1:],
		"the metrics token": metricsToken, "the development secret (hex)": hex.EncodeToString(devSecret),
		"the development secret (base64)":    base64.StdEncoding.EncodeToString(devSecret),
		"the development secret (base64url)": base64.RawURLEncoding.EncodeToString(devSecret),
		"the development secret":             string(devSecret)} {
		if strings.Contains(logs, s) {
			t.Errorf("a log line holds %s", what)
		}
	}
	for _, s := range secrets {
		if strings.Contains(logs, s) {
			t.Errorf("a log line holds a webhook secret")
		}
	}
	if regexp.MustCompile(`sandbox-[0-9a-z]{11,}`).MatchString(logs) {
		t.Error("a log line holds the sandbox's CloudHealth API key")
	}

	var requests, refused, created, jobLines int
	for _, raw := range strings.Split(strings.TrimSpace(logs), "\n") {
		var l map[string]any
		if err := json.Unmarshal([]byte(raw), &l); err != nil {
			t.Fatalf("a log line is not JSON: %s", raw)
		}
		if l["job_kind"] != nil {
			jobLines++
			if l["job_id"] == nil {
				t.Errorf("a job's line without its id: %s", raw)
			}
			if k := l["job_kind"].(string); strings.HasPrefix(k, "reconcile_payer") && l["payer"] == nil {
				t.Errorf("a payer's job line without its payer: %s", raw)
			}
		}
		if l["msg"] != "request" || !strings.Contains(l["path"].(string), "/billing-profiles/") {
			continue
		}
		requests++
		status := int(l["status"].(float64))
		if status != 401 && (l["subject"] != "demo-user" || l["customer"] != "demo-customer") {
			t.Errorf("a request line without its caller: %s", raw)
		}
		if status >= 400 {
			if l["code"] == nil {
				t.Errorf("a refusal's line without its code: %s", raw)
			}
			if l["code"] == "account_in_another_organization" {
				refused++
				if ids, _ := l["aws_request_ids"].([]any); len(ids) == 0 {
					t.Errorf("AWS's refusal without its AWS request id: %s", raw)
				}
			}
		}
		if l["request_id"] == createID {
			created++
			if ids, _ := l["aws_request_ids"].([]any); len(ids) == 0 {
				t.Errorf("the create's line has no AWS request id: %s", raw)
			}
		}
	}
	if requests < 8 || refused != 1 || created != 1 {
		t.Errorf("%d request lines, %d refused by AWS, %d of the create", requests, refused, created)
	}
	if jobLines == 0 {
		t.Error("no line of a job (the failed deliveries) was logged")
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("logs:\n%s", logs)
	}
}
