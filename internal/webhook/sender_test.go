package webhook_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudreseller/aws-invites/internal/webhook"
)

// received is what a test receiver saw of one request.
type received struct {
	method, contentType   string
	id, timestamp, header string
	body                  []byte
}

// receiver is a real HTTP(S) endpoint that records the requests it gets and answers with answer.
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	got    []received
	answer http.HandlerFunc
}

func newReceiver(t *testing.T, tlsServer bool, answer http.HandlerFunc) *receiver {
	t.Helper()
	r := &receiver{answer: answer}
	h := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, received{
			method: req.Method, contentType: req.Header.Get("Content-Type"),
			id: req.Header.Get("webhook-id"), timestamp: req.Header.Get("webhook-timestamp"),
			header: req.Header.Get("webhook-signature"), body: body,
		})
		r.mu.Unlock()
		r.answer(w, req)
	})
	if tlsServer {
		r.srv = httptest.NewTLSServer(h)
	} else {
		r.srv = httptest.NewServer(h)
	}
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

// urlAs returns the receiver's URL with its host replaced by name, which the test's resolver maps to the
// receiver's address.
func (r *receiver) urlAs(t *testing.T, name, path string) string {
	t.Helper()
	u, err := url.Parse(r.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = name + ":" + u.Port()
	u.Path = path
	return u.String()
}

// tlsConfig trusts the receiver's certificate (issued to example.com and 127.0.0.1).
func (r *receiver) tlsConfig() *tls.Config {
	return r.srv.Client().Transport.(*http.Transport).TLSClientConfig
}

// specSigned reports whether header carries the signature the specification defines for id, ts and body under
// secret, computed here from the specification's text rather than with the package.
func specSigned(t *testing.T, secret, id, ts string, body []byte, header string) bool {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		t.Fatal(err)
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + ts + "." + string(body)))
	want := "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
	for _, entry := range strings.Split(header, " ") {
		if entry == want {
			return true
		}
	}
	return false
}

// sandbox returns a sender whose guard allows the loopback receivers of these tests, resolving example.com to
// them so that TLS checks the receiver's certificate against a name.
func sandbox(res *resolver, opts webhook.SenderOptions) *webhook.Sender {
	opts.Guard = &webhook.Guard{AllowPrivate: true, Resolver: res}
	return webhook.NewSender(opts)
}

func loopbackResolver() *resolver {
	return &resolver{answers: map[string][]string{"example.com": {"127.0.0.1"}}}
}

func event() webhook.Message {
	return webhook.Message{
		ID:        "evt_01JH7Q4M8V",
		Type:      "invite.accepted",
		Timestamp: time.Date(2027, 1, 15, 8, 30, 0, 0, time.UTC),
		Data:      json.RawMessage(`{"inviteId":"inv_42","accountId":"123456789012","state":"accepted"}`),
	}
}

func TestSendDeliversASignedMessage(t *testing.T) {
	secret, stranger := mustSecret(t), mustSecret(t)
	rcv := newReceiver(t, true, func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, "thanks")
	})
	s := sandbox(loopbackResolver(), webhook.SenderOptions{TLSConfig: rcv.tlsConfig()})

	before := time.Now()
	a := s.Send(context.Background(), rcv.urlAs(t, "example.com", "/hooks"), []string{secret}, event())
	if !a.OK() || a.StatusCode != http.StatusAccepted || a.Error != "" {
		t.Fatalf("attempt %+v, want a success with 202", a)
	}
	if a.ResponseSnippet != "thanks" || a.Latency <= 0 || a.At.Before(before) {
		t.Fatalf("attempt %+v, want the answer's body, a latency and the start time", a)
	}

	got := rcv.requests()
	if len(got) != 1 {
		t.Fatalf("%d requests, want 1", len(got))
	}
	r := got[0]
	if r.method != http.MethodPost || r.contentType != "application/json" || r.id != "evt_01JH7Q4M8V" {
		t.Fatalf("request %s, content type %q, webhook-id %q", r.method, r.contentType, r.id)
	}
	sec, err := strconv.ParseInt(r.timestamp, 10, 64)
	if err != nil || sec < before.Unix() || sec > time.Now().Unix() {
		t.Fatalf("webhook-timestamp %q, want the unix seconds of the attempt", r.timestamp)
	}
	var body struct {
		Type      string          `json:"type"`
		Timestamp string          `json:"timestamp"`
		Data      json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatalf("body %s: %v", r.body, err)
	}
	if body.Type != "invite.accepted" || body.Timestamp != "2027-01-15T08:30:00Z" || string(body.Data) != string(event().Data) {
		t.Fatalf("body %s, want the event's type, RFC 3339 time and data", r.body)
	}

	if !specSigned(t, secret, r.id, r.timestamp, r.body, r.header) {
		t.Fatalf("signature %q does not verify with the specification's algorithm", r.header)
	}
	if err := webhook.Verify(secret, r.id, r.timestamp, r.body, r.header, time.Now(), 0); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if specSigned(t, stranger, r.id, r.timestamp, r.body, r.header) {
		t.Fatal("the signature verifies with a secret the sender did not have")
	}
	if err := webhook.Verify(stranger, r.id, r.timestamp, r.body, r.header, time.Now(), 0); !errors.Is(err, webhook.ErrSignature) {
		t.Fatalf("Verify with a wrong secret: %v, want ErrSignature", err)
	}
}

func TestSendDuringRotationSignsWithBothSecrets(t *testing.T) {
	old, current := mustSecret(t), mustSecret(t)
	rcv := newReceiver(t, false, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	s := sandbox(loopbackResolver(), webhook.SenderOptions{})

	for attempt := 1; attempt <= 2; attempt++ {
		if a := s.Send(context.Background(), rcv.srv.URL, []string{old, current}, event()); !a.OK() {
			t.Fatalf("attempt %d: %+v", attempt, a)
		}
	}
	got := rcv.requests()
	for i, r := range got {
		if n := len(strings.Fields(r.header)); n != 2 {
			t.Fatalf("request %d: header %q has %d entries, want 2", i, r.header, n)
		}
		if !specSigned(t, old, r.id, r.timestamp, r.body, r.header) || !specSigned(t, current, r.id, r.timestamp, r.body, r.header) {
			t.Fatalf("request %d: header %q is not signed by both secrets", i, r.header)
		}
	}
	if got[0].id != got[1].id || string(got[0].body) != string(got[1].body) {
		t.Fatalf("a retry changed the webhook-id (%q, %q) or the body", got[0].id, got[1].id)
	}
}

func TestSendFailures(t *testing.T) {
	secret := mustSecret(t)
	elsewhere := newReceiver(t, false, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })

	tests := []struct {
		name      string
		answer    http.HandlerFunc
		secrets   []string
		msg       func() webhook.Message
		status    int
		errSays   string
		snippet   string
		delivered bool // whether the receiver got a request
	}{
		{
			name: "redirects are not followed",
			answer: func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, elsewhere.srv.URL+"/stolen", http.StatusFound)
			},
			status: http.StatusFound, errSays: "redirects are not followed", delivered: true,
		},
		{
			name: "permanent redirect",
			answer: func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, elsewhere.srv.URL, http.StatusPermanentRedirect)
			},
			status: http.StatusPermanentRedirect, errSays: "308", delivered: true,
		},
		{
			name: "server error",
			answer: func(w http.ResponseWriter, _ *http.Request) {
				http.Error(w, "database is down", http.StatusInternalServerError)
			},
			status: http.StatusInternalServerError, errSays: "500 Internal Server Error",
			snippet: "database is down\n", delivered: true,
		},
		{
			name:   "client error",
			answer: func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusGone) },
			status: http.StatusGone, errSays: "410", delivered: true,
		},
		{
			name:    "a secret that is not one",
			secrets: []string{secret, "hunter2"},
			errSays: "secret 2 of 2",
		},
		{
			name:    "no secret",
			secrets: []string{},
			errSays: "no secret",
		},
		{
			name:    "data that is not JSON",
			msg:     func() webhook.Message { m := event(); m.Data = json.RawMessage(`{"oops"`); return m },
			errSays: "not JSON",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			answer := tt.answer
			if answer == nil {
				answer = func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }
			}
			rcv := newReceiver(t, false, answer)
			secrets := tt.secrets
			if secrets == nil {
				secrets = []string{secret}
			}
			msg := event()
			if tt.msg != nil {
				msg = tt.msg()
			}
			a := sandbox(loopbackResolver(), webhook.SenderOptions{}).Send(context.Background(), rcv.srv.URL, secrets, msg)
			if a.OK() || a.StatusCode != tt.status || !strings.Contains(a.Error, tt.errSays) {
				t.Fatalf("attempt %+v, want a failure with status %d saying %q", a, tt.status, tt.errSays)
			}
			if tt.snippet != "" && a.ResponseSnippet != tt.snippet {
				t.Fatalf("snippet %q, want %q", a.ResponseSnippet, tt.snippet)
			}
			if n := len(rcv.requests()); (n == 1) != tt.delivered {
				t.Fatalf("%d requests reached the receiver, want delivered=%v", n, tt.delivered)
			}
		})
	}
	if n := len(elsewhere.requests()); n != 0 {
		t.Fatalf("the redirect target got %d requests, want none", n)
	}
}

func TestSendTimesOutOnASlowReceiver(t *testing.T) {
	rcv := newReceiver(t, false, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
		w.WriteHeader(http.StatusOK)
	})
	s := sandbox(loopbackResolver(), webhook.SenderOptions{Timeout: 200 * time.Millisecond})
	a := s.Send(context.Background(), rcv.srv.URL, []string{mustSecret(t)}, event())
	if a.OK() || a.StatusCode != 0 || !strings.Contains(a.Error, "no response within 200ms") {
		t.Fatalf("attempt %+v, want a timeout after 200ms", a)
	}
	if a.Latency < 200*time.Millisecond || a.Latency > 3*time.Second {
		t.Fatalf("latency %s, want about the 200ms timeout", a.Latency)
	}
}

func TestSendKeepsAtMostOneKiBOfTheAnswer(t *testing.T) {
	tests := []struct {
		name   string
		answer string
		want   string
	}{
		{"short", "ok", "ok"},
		{"exactly 1 KiB", strings.Repeat("a", 1024), strings.Repeat("a", 1024)},
		{"long", strings.Repeat("b", 5000), strings.Repeat("b", 1024)},
		// 1023 bytes and then a two-byte character: the cut splits it, and what is kept stays valid UTF-8.
		{"cut inside a character", strings.Repeat("c", 1023) + "é and more", strings.Repeat("c", 1023) + "\uFFFD"},
		{"NUL bytes dropped", "a\x00b", "ab"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rcv := newReceiver(t, false, func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(http.StatusOK)
				io.WriteString(w, tt.answer)
			})
			a := sandbox(loopbackResolver(), webhook.SenderOptions{}).Send(context.Background(), rcv.srv.URL, []string{mustSecret(t)}, event())
			if !a.OK() || a.ResponseSnippet != tt.want {
				t.Fatalf("attempt ok=%v, snippet of %d bytes %.40q..., want %d bytes", a.OK(), len(a.ResponseSnippet), a.ResponseSnippet, len(tt.want))
			}
		})
	}
}

func TestSendUsesTheGuardsResolver(t *testing.T) {
	// hooks.partner.example exists only in the test's resolver: the delivery arriving proves the connection went
	// where the guard's lookup said.
	rcv := newReceiver(t, false, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	res := &resolver{answers: map[string][]string{"hooks.partner.example": {"127.0.0.1"}}}
	a := sandbox(res, webhook.SenderOptions{}).Send(context.Background(), rcv.urlAs(t, "hooks.partner.example", "/in"), []string{mustSecret(t)}, event())
	if !a.OK() || len(rcv.requests()) != 1 {
		t.Fatalf("attempt %+v, %d requests; want the delivery through the guard's resolver", a, len(rcv.requests()))
	}
}

// TestSendRefusesRebindingAtDelivery: the endpoint passed CheckURL with a public address; at delivery the name
// points at the service's own host, where a receiver is listening. Production refuses to connect; the same
// setup in the sandbox does reach it, so the refusal is the guard's and not a broken test.
func TestSendRefusesRebindingAtDelivery(t *testing.T) {
	for _, allowPrivate := range []bool{false, true} {
		t.Run("allowPrivate="+strconv.FormatBool(allowPrivate), func(t *testing.T) {
			rcv := newReceiver(t, true, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
			res := &resolver{rounds: map[string][][]string{"example.com": {{"93.184.215.14"}, {"127.0.0.1"}}}}
			g := &webhook.Guard{AllowPrivate: allowPrivate, Resolver: res}
			endpoint := rcv.urlAs(t, "example.com", "/hooks")
			if err := g.CheckURL(context.Background(), endpoint); err != nil {
				t.Fatalf("CheckURL with the public answer: %v", err)
			}
			s := webhook.NewSender(webhook.SenderOptions{Guard: g, TLSConfig: rcv.tlsConfig()})
			a := s.Send(context.Background(), endpoint, []string{mustSecret(t)}, event())
			n := len(rcv.requests())
			if allowPrivate {
				if !a.OK() || n != 1 {
					t.Fatalf("sandbox: attempt %+v, %d requests; want delivered", a, n)
				}
				return
			}
			if a.OK() || a.StatusCode != 0 || !strings.Contains(a.Error, "resolves to 127.0.0.1, a loopback address") || n != 0 {
				t.Fatalf("attempt %+v, %d requests; want refused before connecting", a, n)
			}
		})
	}
}

func TestSendRefusesHTTPInProduction(t *testing.T) {
	rcv := newReceiver(t, false, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	a := webhook.NewSender(webhook.SenderOptions{}).Send(context.Background(), rcv.srv.URL, []string{mustSecret(t)}, event())
	if a.OK() || !strings.Contains(a.Error, "only https") || len(rcv.requests()) != 0 {
		t.Fatalf("attempt %+v; want http refused without a request", a)
	}
}
