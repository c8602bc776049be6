package webhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DefaultTimeout bounds one attempt, from dialing to the last byte of the response read.
const DefaultTimeout = 10 * time.Second

// SnippetBytes is how much of a response body an Attempt keeps: enough for a receiver's error message, not
// enough for a receiver to fill the attempt records.
const SnippetBytes = 1024

// Attempt is the record of one delivery attempt.
type Attempt struct {
	// At is when the attempt started.
	At time.Time
	// StatusCode is the receiver's HTTP status, 0 when there was no response.
	StatusCode int
	// Latency is how long the attempt took.
	Latency time.Duration
	// Error says why the attempt failed; empty when it succeeded.
	Error string
	// ResponseSnippet is the start of the response body, at most SnippetBytes, as valid UTF-8.
	ResponseSnippet string
}

// OK reports whether the receiver took the message: a 2xx answer.
func (a Attempt) OK() bool { return a.Error == "" && a.StatusCode >= 200 && a.StatusCode < 300 }

// SenderOptions configures a Sender; the zero value is the production sender.
type SenderOptions struct {
	// Guard vets every connection; nil means the zero Guard (https and public addresses only).
	Guard *Guard
	// Timeout bounds one attempt; DefaultTimeout when zero.
	Timeout time.Duration
	// TLSConfig is used for https; nil means the system's roots. Tests give their receiver's certificate.
	TLSConfig *tls.Config
	// Now is the clock of the webhook-timestamp header and of Attempt.At; nil means time.Now.
	Now func() time.Time
	// UserAgent is sent with every request; "aws-invites-webhooks" when empty.
	UserAgent string
}

// Sender delivers messages, one attempt per call. It is safe for concurrent use.
type Sender struct {
	guard  *Guard
	client *http.Client
	now    func() time.Time
	agent  string
}

// NewSender returns a Sender.
func NewSender(opts SenderOptions) *Sender {
	if opts.Guard == nil {
		opts.Guard = &Guard{}
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "aws-invites-webhooks"
	}
	tr := &http.Transport{
		// No proxy, ever: a proxy would resolve and connect on our behalf, past the guard.
		Proxy:               nil,
		DialContext:         opts.Guard.DialContext,
		TLSClientConfig:     opts.TLSConfig,
		TLSHandshakeTimeout: opts.Timeout,
		ForceAttemptHTTP2:   true,
		MaxIdleConns:        100,
		IdleConnTimeout:     90 * time.Second,
	}
	return &Sender{
		guard: opts.Guard,
		client: &http.Client{
			Transport: tr,
			Timeout:   opts.Timeout,
			// A redirect is the receiver's mistake or an attempt to lead us elsewhere; either way the attempt
			// fails and the 3xx is what it records.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		now:   opts.Now,
		agent: opts.UserAgent,
	}
}

// Send makes one attempt to deliver m to endpoint, signed with every one of secrets (the current one, and during
// a rotation the previous one too). It never returns without an Attempt: failures are in Attempt.Error.
func (s *Sender) Send(ctx context.Context, endpoint string, secrets []string, m Message) Attempt {
	start := s.now()
	a := Attempt{At: start}
	fail := func(format string, args ...any) Attempt {
		a.Error = fmt.Sprintf(format, args...)
		a.Latency = s.now().Sub(start)
		return a
	}
	body, err := m.Body()
	if err != nil {
		return fail("%v", err)
	}
	if len(secrets) == 0 {
		return fail("webhook: no secret to sign with")
	}
	for i, sec := range secrets {
		if _, err := ParseSecret(sec); err != nil {
			return fail("secret %d of %d: %v", i+1, len(secrets), err)
		}
	}
	u, err := s.guard.parse(endpoint)
	if err != nil {
		return fail("%v", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return fail("webhook: request: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", s.agent)
	req.Header.Set(HeaderID, m.ID)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(start.Unix(), 10))
	req.Header.Set(HeaderSignature, Sign(secrets, m.ID, start, body))

	resp, err := s.client.Do(req)
	if err != nil {
		return fail("%s", s.describe(err))
	}
	defer resp.Body.Close()
	a.StatusCode = resp.StatusCode
	// A body that breaks off after a 2xx does not undo the receiver's yes, so a read error is not a failure.
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, SnippetBytes))
	a.ResponseSnippet = clean(snippet)
	a.Latency = s.now().Sub(start)
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		a.Error = fmt.Sprintf("receiver answered %s redirecting to %q; redirects are not followed",
			resp.Status, resp.Header.Get("Location"))
	case resp.StatusCode < 200 || resp.StatusCode >= 300:
		a.Error = "receiver answered " + resp.Status
	}
	return a
}

// describe turns a transport error into words for the attempt record, without net/http's "Post <url>:" prefix
// (the URL may carry a partner's token in its query).
func (s *Sender) describe(err error) string {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Sprintf("no response within %s", s.client.Timeout)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if errors.Is(err, context.Canceled) {
		return "delivery canceled: " + err.Error()
	}
	return err.Error()
}

// clean makes a snippet storable as text: valid UTF-8 (the cut may split a character) and no NUL bytes, which
// PostgreSQL text refuses.
func clean(b []byte) string {
	return strings.ReplaceAll(strings.ToValidUTF8(string(b), "\uFFFD"), "\x00", "")
}
