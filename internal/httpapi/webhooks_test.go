package httpapi_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/http"
	"net/http/httptest"
	netmail "net/mail"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudreseller/aws-invites/internal/auth"
	"github.com/cloudreseller/aws-invites/internal/mail/mailtest"
	"github.com/cloudreseller/aws-invites/internal/notify"
	"github.com/cloudreseller/aws-invites/internal/store"
)

// receiver is a partner's webhook endpoint: it verifies every delivery with the Standard Webhooks algorithm
// (HMAC-SHA256 over id.timestamp.body with the base64-decoded secret), and answers what the test tells it to.
type receiver struct {
	t   testing.TB
	srv *httptest.Server

	mu       sync.Mutex
	secrets  []string // accepted signing secrets
	got      []delivered
	answer   func(d delivered) int // the status to answer; 204 when nil
	attempts map[string]int        // by webhook-id
	times    map[string][]time.Time
	now      func() time.Time // the receiver's own clock: the real time of the test's world
}

type delivered struct {
	ID, Type, Timestamp string
	Signatures          []string
	Raw                 []byte // the body as sent: what was signed
	Body                map[string]any
	At                  time.Time
}

func newReceiver(t testing.TB) *receiver {
	r := &receiver{t: t, attempts: map[string]int{}, times: map[string][]time.Time{}}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

// signedBy reports whether one of the signatures of the header is the spec's signature with the secret.
func signedBy(secret, id, ts string, body []byte, header string) bool {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return false
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + ts + "."))
	m.Write(body)
	want := "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
	for _, sig := range strings.Fields(header) {
		if hmac.Equal([]byte(sig), []byte(want)) {
			return true
		}
	}
	return false
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	id, ts, sig := req.Header.Get("webhook-id"), req.Header.Get("webhook-timestamp"), req.Header.Get("webhook-signature")
	r.mu.Lock()
	defer r.mu.Unlock()
	ok := false
	for _, s := range r.secrets {
		ok = ok || signedBy(s, id, ts, body, sig)
	}
	if !ok {
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	// The Standard Webhooks reference library's rule: the timestamp (seconds) within five minutes of the
	// receiver's own clock, either way ("Message timestamp too old" / "too new").
	now := time.Now()
	if r.now != nil {
		now = r.now()
	}
	if sec, err := strconv.ParseInt(ts, 10, 64); err != nil || now.Sub(time.Unix(sec, 0)).Abs() > 5*time.Minute {
		http.Error(w, "Message timestamp too old or too new", http.StatusUnauthorized)
		return
	}
	d := delivered{ID: id, Timestamp: ts, Signatures: strings.Fields(sig), Raw: body, At: time.Now()}
	if err := json.Unmarshal(body, &d.Body); err != nil {
		http.Error(w, "not JSON", http.StatusBadRequest)
		return
	}
	d.Type, _ = d.Body["type"].(string)
	r.attempts[id]++
	r.times[id] = append(r.times[id], d.At)
	status := http.StatusNoContent
	if r.answer != nil {
		status = r.answer(d)
	}
	if status < 300 {
		r.got = append(r.got, d)
	}
	w.WriteHeader(status)
}

func (r *receiver) types() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, d := range r.got {
		out = append(out, d.Type)
	}
	return out
}

// waitFor waits until the receiver accepted n deliveries.
func (r *receiver) waitFor(n int) []delivered {
	r.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		got := append([]delivered(nil), r.got...)
		r.mu.Unlock()
		if len(got) >= n {
			return got
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.t.Fatalf("the receiver got %v, want %d deliveries", r.types(), n)
	return nil
}

func (e *env) addWebhook(r *receiver, events ...string) (id, secret string) {
	e.t.Helper()
	body := map[string]any{"url": r.srv.URL + "/hooks", "description": "partner"}
	if len(events) > 0 {
		body["events"] = events
	}
	res := e.do("POST", "/billing-profiles/"+profile+"/webhooks", e.token(), body)
	if res.status != http.StatusCreated {
		e.t.Fatalf("add webhook: %d %s", res.status, res.body)
	}
	ep := res.json(e.t)
	secret, _ = ep["secret"].(string)
	if !strings.HasPrefix(secret, "whsec_") {
		e.t.Fatalf("no secret in the answer: %s", res.body)
	}
	r.mu.Lock()
	r.secrets = append(r.secrets, secret)
	r.now = e.clock.Now
	r.mu.Unlock()
	return ep["id"].(string), secret
}

func TestWebhookDelivery(t *testing.T) {
	for _, dialect := range []string{store.DialectPostgres, store.DialectSQLite} {
		t.Run(dialect, func(t *testing.T) {
			e := newEnv(t, envOptions{dialect: dialect, sandbox: true, notify: true})
			r := newReceiver(t)
			hook, secret := e.addWebhook(r)
			base := "/billing-profiles/" + profile + "/webhooks/" + hook

			// The secret is shown once.
			got := e.do("GET", base, e.token(), nil)
			if got.status != 200 || strings.Contains(string(got.body), secret) || strings.Contains(string(got.body), "whsec_") {
				t.Fatalf("get: %d %s", got.status, got.body)
			}
			// Reading needs assignment; changing needs licenses_manager.
			reader := e.token(func(c *auth.Claims) { c.Permissions = nil })
			if r := e.do("GET", "/billing-profiles/"+profile+"/webhooks", reader, nil); r.status != 200 {
				t.Errorf("a reader lists: %d %s", r.status, r.body)
			}
			e.problem(e.do("POST", "/billing-profiles/"+profile+"/webhooks", reader, map[string]any{"url": "http://127.0.0.1:1/x"}), 403, "forbidden")
			e.problem(e.do("GET", "/billing-profiles/globex-main/webhooks", e.token(), nil), 404, "not_found")

			inv := e.create("100000000001")
			e.do("POST", invitesPath(profile)+"/"+inv["id"].(string)+"/sandbox/accept", e.token(), nil)
			ds := r.waitFor(3)
			if types := strings.Join(r.types(), ","); types != "invite.created,invite.accepted,invite.joined" {
				t.Fatalf("delivered %s", types)
			}
			first := ds[0]
			data := first.Body["data"].(map[string]any)
			if data["id"] != first.ID || data["inviteId"] != inv["id"] || data["type"] != "invite.created" ||
				data["invite"].(map[string]any)["accountId"] != "100000000001" || first.Body["timestamp"] == nil {
				t.Errorf("the delivered event: %v", first.Body)
			}
			if joined := ds[2].Body["data"].(map[string]any)["invite"].(map[string]any); joined["state"] != "awaiting_cur" {
				t.Errorf("invite.joined carries %v", joined["state"])
			}
			// The receiver refuses a wrong secret: the signature is the spec's, with this endpoint's secret only.
			if !signedBy(secret, first.ID, first.Timestamp, first.Raw, strings.Join(first.Signatures, " ")) ||
				signedBy("whsec_"+base64.StdEncoding.EncodeToString([]byte("another secret of 24 bytes")), first.ID, first.Timestamp,
					first.Raw, strings.Join(first.Signatures, " ")) {
				t.Error("the signature does not verify with the endpoint's secret only")
			}

			// The deliveries, newest first, with their attempts (recorded once the receiver answered).
			var items []any
			waitUntil(t, func() bool {
				items = e.do("GET", base+"/deliveries", e.token(), nil).json(t)["items"].([]any)
				for _, it := range items {
					if it.(map[string]any)["state"] != "delivered" {
						return false
					}
				}
				return len(items) == 3
			})
			d := items[0].(map[string]any)
			att := d["attempts"].([]any)[0].(map[string]any)
			if d["state"] != "delivered" || d["eventType"] != "invite.joined" || att["statusCode"] != float64(204) || att["at"] == nil {
				t.Errorf("newest delivery: %v", d)
			}

			// A test event reaches this endpoint.
			if r := e.do("POST", base+"/test", e.token(), nil); r.status != http.StatusAccepted {
				t.Fatalf("test: %d %s", r.status, r.body)
			}
			if ds := r.waitFor(4); ds[3].Type != "webhook.test" {
				t.Errorf("test event: %v", ds[3].Body)
			}
			// Update and delete.
			if r := e.do("PATCH", base, e.token(), map[string]any{"events": []string{"invite.expired"}, "enabled": false}); r.status != 200 ||
				r.json(t)["enabled"] != false {
				t.Errorf("update: %d %s", r.status, r.body)
			}
			if r := e.do("DELETE", base, e.token(), nil); r.status != http.StatusNoContent {
				t.Errorf("delete: %d %s", r.status, r.body)
			}
			e.problem(e.do("GET", base, e.token(), nil), 404, "not_found")
		})
	}
}

// TestWebhookRetriesAndOrder: failed attempts are retried with growing delays, under the same webhook-id; an event
// of an invite is not delivered before an earlier one of the same invite, whatever fails meanwhile.
func TestWebhookRetriesAndOrder(t *testing.T) {
	e := newEnv(t, envOptions{sandbox: true, notify: true,
		backoff: func(attempt int) time.Duration { return time.Duration(attempt) * 150 * time.Millisecond }})
	r := newReceiver(t)
	failCreated := 3
	r.answer = func(d delivered) int {
		if d.Type == "invite.created" && r.attempts[d.ID] <= failCreated {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	}
	hook, _ := e.addWebhook(r)
	inv := e.create("100000000002")
	e.do("POST", invitesPath(profile)+"/"+inv["id"].(string)+"/sandbox/accept", e.token(), nil)
	ds := r.waitFor(3)
	if types := strings.Join(r.types(), ","); types != "invite.created,invite.accepted,invite.joined" {
		t.Fatalf("order under failures: %s", types)
	}
	r.mu.Lock()
	attempts := r.attempts[ds[0].ID]
	r.mu.Unlock()
	if attempts != failCreated+1 {
		t.Errorf("invite.created was tried %d times, want %d", attempts, failCreated+1)
	}
	list := e.do("GET", "/billing-profiles/"+profile+"/webhooks/"+hook+"/deliveries", e.token(), nil).json(t)["items"].([]any)
	created := list[len(list)-1].(map[string]any)
	as := created["attempts"].([]any)
	if len(as) != failCreated+1 || created["state"] != "delivered" {
		t.Fatalf("invite.created's attempts: %v", created)
	}
	for i := 0; i < failCreated; i++ {
		if as[i].(map[string]any)["statusCode"] != float64(500) {
			t.Errorf("attempt %d: %v", i+1, as[i])
		}
	}
	// The receiver saw the retries come with growing delays (the schedule: 150 ms, 300 ms, 450 ms).
	r.mu.Lock()
	defer r.mu.Unlock()
	times := r.times[ds[0].ID]
	for i := 1; i < len(times); i++ {
		gap, least := times[i].Sub(times[i-1]), time.Duration(i)*150*time.Millisecond
		if gap < least*9/10 {
			t.Errorf("retry %d came after %s, before its delay of %s", i, gap, least)
		}
		if i > 1 && gap <= times[i-1].Sub(times[i-2]) {
			t.Errorf("retry %d came after %s, not later than the one before (%s)", i, gap, times[i-1].Sub(times[i-2]))
		}
	}
	if len(r.got) != 3 {
		t.Errorf("the receiver accepted %d deliveries (one per event), want 3", len(r.got))
	}
}

// TestWebhookSecretRotation: after a rotation both secrets sign for 24 hours, then only the new one.
func TestWebhookSecretRotation(t *testing.T) {
	e := newEnv(t, envOptions{sandbox: true, notify: true})
	r := newReceiver(t)
	hook, old := e.addWebhook(r, "invite.created")
	res := e.do("POST", "/billing-profiles/"+profile+"/webhooks/"+hook+"/rotate-secret", e.token(), nil)
	fresh, _ := res.json(t)["secret"].(string)
	if res.status != 200 || !strings.HasPrefix(fresh, "whsec_") || fresh == old {
		t.Fatalf("rotate: %d %s", res.status, res.body)
	}
	r.mu.Lock()
	r.secrets = []string{fresh}
	r.mu.Unlock()
	e.create("100000000003")
	d := r.waitFor(1)[0]
	body := d.Raw
	if len(d.Signatures) != 2 || !signedBy(old, d.ID, d.Timestamp, body, strings.Join(d.Signatures, " ")) {
		t.Errorf("within the overlap: %d signatures, old one valid: %v", len(d.Signatures), signedBy(old, d.ID, d.Timestamp, body, strings.Join(d.Signatures, " ")))
	}
	e.clock.Advance(notify.SecretOverlap + time.Minute)
	e.create("100000000004")
	d = r.waitFor(2)[1]
	if len(d.Signatures) != 1 || signedBy(old, d.ID, d.Timestamp, d.Raw, d.Signatures[0]) {
		t.Errorf("after the overlap: %v", d.Signatures)
	}
}

// TestWebhookDisabledAfterFiveDays: an endpoint whose every attempt fails for five days is disabled, and says so.
func TestWebhookDisabledAfterFiveDays(t *testing.T) {
	e := newEnv(t, envOptions{sandbox: true, notify: true, backoff: func(int) time.Duration { return 50 * time.Millisecond }})
	r := newReceiver(t)
	r.answer = func(delivered) int { return http.StatusServiceUnavailable }
	hook, _ := e.addWebhook(r)
	path := "/billing-profiles/" + profile + "/webhooks/" + hook
	e.create("100000000005")
	waitUntil(t, func() bool { ep := e.do("GET", path, e.token(), nil).json(t); return ep["failingSince"] != nil })
	e.clock.Advance(notify.DisableAfterFailing)
	waitUntil(t, func() bool { return e.do("GET", path, e.token(), nil).json(t)["enabled"] == false })
	ep := e.do("GET", path, e.token(), nil).json(t)
	if reason, _ := ep["disabledReason"].(string); !strings.Contains(reason, "failed") {
		t.Errorf("disabled without saying why: %v", ep)
	}
	// Enabling it again starts afresh.
	r.answer = nil
	if res := e.do("PATCH", path, e.token(), map[string]any{"enabled": true}); res.status != 200 || res.json(t)["disabledReason"] != nil ||
		res.json(t)["failingSince"] != nil {
		t.Errorf("re-enabled: %d %s", res.status, res.body)
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 20 s")
		}
		time.Sleep(30 * time.Millisecond)
	}
}

// TestWebhookDestinationsGuarded: in aws mode, URLs that are not https or resolve to loopback, private, link-local
// or metadata addresses are refused when the endpoint is added.
func TestWebhookDestinationsGuarded(t *testing.T) {
	e := newEnv(t, envOptions{aws: true})
	for _, u := range []string{"https://127.0.0.1/hooks", "https://169.254.169.254/latest/meta-data", "https://10.0.0.1/hooks",
		"https://[::1]/hooks", "https://localhost/hooks", "http://partner.example.com/hooks"} {
		p := e.problem(e.do("POST", "/billing-profiles/"+profile+"/webhooks", e.token(), map[string]any{"url": u}), 422, "webhook_url_refused")
		if fields, _ := p["errors"].([]any); len(fields) == 0 || fields[0].(map[string]any)["field"] != "url" {
			t.Errorf("%s: %v", u, p)
		}
	}
	if items := e.do("GET", "/billing-profiles/"+profile+"/webhooks", e.token(), nil).json(t)["items"].([]any); len(items) != 0 {
		t.Errorf("refused endpoints were stored: %v", items)
	}
	e.problem(e.do("POST", "/billing-profiles/"+profile+"/webhooks", e.token(), map[string]any{"url": "https://partner.example.com/h", "events": []string{"webhook.test"}}),
		422, "validation_failed")
}

// TestNotificationSettingsAndSandboxMail: the invite's sender and the profile's recipients hear of an acceptance
// by email, kept in the sandbox's mailbox; the settings are validated.
func TestNotificationSettingsAndSandboxMail(t *testing.T) {
	e := newEnv(t, envOptions{sandbox: true, notify: true})
	path := "/billing-profiles/" + profile + "/notifications"
	e.problem(e.do("PUT", path, e.token(), map[string]any{"recipients": []string{"not an address"}}), 422, "validation_failed")
	e.problem(e.do("PUT", path, e.token(), map[string]any{"recipients": []string{"ops@acme.example"}, "events": []string{"invite.created"}}), 422, "validation_failed")
	if r := e.do("PUT", path, e.token(), map[string]any{"recipients": []string{"Ops@Acme.example"}, "events": []string{"invite.accepted"}}); r.status != 200 {
		t.Fatalf("put notifications: %d %s", r.status, r.body)
	}
	if got := e.do("GET", path, e.token(), nil).json(t); got["recipients"].([]any)[0] != "ops@acme.example" {
		t.Errorf("settings: %v", got)
	}
	inv := e.create("100000000006")
	e.do("POST", invitesPath(profile)+"/"+inv["id"].(string)+"/sandbox/accept", e.token(), nil)
	var items []any
	waitUntil(t, func() bool {
		items = e.do("GET", "/sandbox/mail", e.token(), nil).json(t)["items"].([]any)
		return len(items) >= 1
	})
	m := items[0].(map[string]any)
	to := m["to"].([]any)
	if len(to) != 2 || to[0] != "alice@acme.example" || to[1] != "ops@acme.example" ||
		!strings.Contains(m["subject"].(string), "100000000006") || !strings.Contains(m["text"].(string), "Acme main") ||
		!strings.Contains(m["html"].(string), "<li>") {
		t.Errorf("mail: %v", m)
	}
	time.Sleep(300 * time.Millisecond)
	if n := len(e.do("GET", "/sandbox/mail", e.token(), nil).json(t)["items"].([]any)); n != 1 {
		t.Errorf("%d mails; invite.created and invite.joined are not emailed, so want 1", n)
	}
}

// TestEmailThroughSMTP: the acceptance of an invite is emailed, through a real SMTP server, to the user who sent
// it and the billing profile's recipients, with a subject naming the account and both a text and an HTML body.
func TestEmailThroughSMTP(t *testing.T) {
	srv := mailtest.Start(t)
	e := newEnv(t, envOptions{sandbox: true, notify: true, smtpURL: "smtp://" + srv.Addr})
	if r := e.do("PUT", "/billing-profiles/"+profile+"/notifications", e.token(), map[string]any{"recipients": []string{"ops@acme.example"}}); r.status != 200 {
		t.Fatalf("notifications: %d %s", r.status, r.body)
	}
	inv := e.create("100000000007")
	e.do("POST", invitesPath(profile)+"/"+inv["id"].(string)+"/sandbox/accept", e.token(), nil)
	waitUntil(t, func() bool { return len(srv.Taken()) >= 1 })
	m := srv.Taken()[0]
	msg, err := netmail.ReadMessage(bytes.NewReader(m.Data))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(m.To, ",") != "alice@acme.example,ops@acme.example" || msg.Header.Get("From") == "" ||
		!strings.Contains(msg.Header.Get("Subject"), "100000000007") || !strings.Contains(msg.Header.Get("Subject"), "accepted") {
		t.Errorf("envelope to %v, headers %v", m.To, msg.Header)
	}
	_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || params["boundary"] == "" {
		t.Fatalf("content type %q: %v", msg.Header.Get("Content-Type"), err)
	}
	parts := multipart.NewReader(msg.Body, params["boundary"])
	bodies := map[string]string{}
	for {
		p, err := parts.NextPart()
		if err != nil {
			break
		}
		raw, _ := io.ReadAll(quotedprintable.NewReader(p))
		mt, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		bodies[mt] = string(raw)
	}
	if text := bodies["text/plain"]; !strings.Contains(text, "Billing profile: Acme main (acme-main)") || !strings.Contains(text, "What to do next") {
		t.Errorf("text body: %q", text)
	}
	if html := bodies["text/html"]; !strings.Contains(html, "<strong>AWS account 100000000007 accepted the invitation.</strong>") {
		t.Errorf("HTML body: %q", html)
	}
}
