package mail_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudreseller/aws-invites/internal/mail"
)

const from = "Cloud Reseller <noreply@reseller.example>"

// parsed is a received mail read back the way a mail reader would.
type parsed struct {
	header    netmail.Header
	rawHeader string
	subject   string
	parts     map[string]string // media type -> decoded body, line endings as LF
}

func parse(t *testing.T, data []byte) parsed {
	t.Helper()
	msg, err := netmail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("the mail does not parse: %v\n%s", err, data)
	}
	p := parsed{header: msg.Header, parts: map[string]string{}}
	p.rawHeader = string(data[:bytes.Index(data, []byte("\r\n\r\n"))])
	if p.subject, err = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); err != nil {
		t.Fatalf("subject %q: %v", msg.Header.Get("Subject"), err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("content type %q: %v", msg.Header.Get("Content-Type"), err)
	}
	if !strings.HasPrefix(mt, "multipart/") {
		body := decodePart(t, msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
		p.parts[mt+"; charset="+params["charset"]] = body
		return p
	}
	if mt != "multipart/alternative" {
		t.Fatalf("content type %s, want multipart/alternative", mt)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("part: %v", err)
		}
		pt, pp, err := mime.ParseMediaType(part.Header.Get("Content-Type"))
		if err != nil {
			t.Fatalf("part content type: %v", err)
		}
		if part.Header.Get("Content-Transfer-Encoding") != "" {
			t.Fatalf("part encoding %q, want quoted-printable (which multipart.Reader decodes and drops)", part.Header.Get("Content-Transfer-Encoding"))
		}
		p.parts[pt+"; charset="+pp["charset"]] = decodePart(t, "", part)
	}
	return p
}

func decodePart(t *testing.T, cte string, r io.Reader) string {
	t.Helper()
	switch cte {
	case "": // 7bit, or already decoded by multipart.Reader
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	default:
		t.Fatalf("Content-Transfer-Encoding %q, want quoted-printable", cte)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return strings.ReplaceAll(string(b), "\r\n", "\n")
}

func mustNew(t *testing.T, url string, opts ...mail.Option) *mail.SMTP {
	t.Helper()
	c, err := mail.New(url, from, opts...)
	if err != nil {
		t.Fatalf("New(%s): %v", url, err)
	}
	return c
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

var users = map[string]string{"alice": "s3cret pass"}

func TestSendDeliversBothBodies(t *testing.T) {
	text := "Hallo Jürgen,\n\nthe account 123456789012 joined the organization.\n.a line starting with a dot\n" +
		strings.Repeat("a long line that goes on ", 10) + "\n"
	html := "<p>Hallo J&uuml;rgen,</p>\n<p>the account <b>123456789012</b> joined – grüße.</p>\n"
	tests := []struct {
		name        string
		subject     string
		wantRawSubj string // how the Subject header looks on the wire
	}{
		{"ascii subject", "Invite accepted: 123456789012", "Subject: Invite accepted: 123456789012"},
		{"non-ascii subject", "Einladung angenommen – Konto 123456789012 ✓", "Subject: =?UTF-8?q?"},
		{"long non-ascii subject", strings.Repeat("Grüße aus Köln, ", 12) + "日本語の件名", "Subject: =?UTF-8?q?Gr=C3=BC"},
		{"long ascii subject", strings.TrimSpace(strings.Repeat("Your invitation was accepted. ", 6)), "Subject: Your invitation"},
		{"ascii that looks encoded", "=?UTF-8?q?not_a_word?=", "Subject: =?UTF-8?q?=3D=3F"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr, be := startServer(t, serverOptions{users: users})
			c := mustNew(t, "smtp://alice:s3cret%20pass@"+addr)
			err := c.Send(ctx(t), mail.Message{
				To:      []string{"ops@customer.example", "Jürgen Müller <juergen@customer.example>"},
				Subject: tt.subject, Text: text, HTML: html,
			})
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			got := be.deliveries()
			if len(got) != 1 {
				t.Fatalf("%d mails taken, want 1", len(got))
			}
			d := got[0]
			if d.user != "alice" || d.from != "noreply@reseller.example" ||
				strings.Join(d.to, ",") != "ops@customer.example,juergen@customer.example" {
				t.Fatalf("authenticated as %q, envelope from %q to %v", d.user, d.from, d.to)
			}
			p := parse(t, d.data)
			if p.subject != tt.subject {
				t.Fatalf("subject %q, want %q", p.subject, tt.subject)
			}
			if !strings.Contains(p.rawHeader, tt.wantRawSubj) {
				t.Fatalf("header\n%s\nhas no %q", p.rawHeader, tt.wantRawSubj)
			}
			if p.parts["text/plain; charset=UTF-8"] != text {
				t.Fatalf("text part %q, want %q", p.parts["text/plain; charset=UTF-8"], text)
			}
			if p.parts["text/html; charset=UTF-8"] != html {
				t.Fatalf("html part %q, want %q", p.parts["text/html; charset=UTF-8"], html)
			}
			checkHeaders(t, p)
			for i, line := range strings.Split(string(d.data), "\r\n") {
				if len(line) > 78 {
					t.Fatalf("line %d is %d characters long, longer than RFC 5322 recommends: %q", i, len(line), line)
				}
			}
		})
	}
}

func checkHeaders(t *testing.T, p parsed) {
	t.Helper()
	fromAddr, err := p.header.AddressList("From")
	if err != nil || len(fromAddr) != 1 || fromAddr[0].Address != "noreply@reseller.example" || fromAddr[0].Name != "Cloud Reseller" {
		t.Fatalf("From %q: %v %v", p.header.Get("From"), fromAddr, err)
	}
	to, err := p.header.AddressList("To")
	if err != nil || len(to) != 2 || to[1].Name != "Jürgen Müller" || to[1].Address != "juergen@customer.example" {
		t.Fatalf("To %q: %v %v", p.header.Get("To"), to, err)
	}
	if date, err := p.header.Date(); err != nil || time.Since(date) > time.Minute || time.Since(date) < -time.Minute {
		t.Fatalf("Date %q: %v", p.header.Get("Date"), err)
	}
	if id := p.header.Get("Message-ID"); !regexp.MustCompile(`^<[0-9a-f]{32}@reseller\.example>$`).MatchString(id) {
		t.Fatalf("Message-ID %q", id)
	}
	if v := p.header.Get("MIME-Version"); v != "1.0" {
		t.Fatalf("MIME-Version %q", v)
	}
}

func TestSendTextOnly(t *testing.T) {
	addr, be := startServer(t, serverOptions{})
	c := mustNew(t, "smtp://"+addr)
	if err := c.Send(ctx(t), mail.Message{To: []string{"ops@customer.example"}, Subject: "Hi", Text: "Grüße\n"}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := be.deliveries()
	if len(got) != 1 {
		t.Fatalf("%d mails, want 1", len(got))
	}
	p := parse(t, got[0].data)
	if len(p.parts) != 1 || p.parts["text/plain; charset=UTF-8"] != "Grüße\n" || got[0].user != "" {
		t.Fatalf("parts %q, user %q; want one plain text part, no AUTH", p.parts, got[0].user)
	}
}

func TestSendFailures(t *testing.T) {
	msg := mail.Message{To: []string{"ops@customer.example", "nobody@customer.example"}, Subject: "x", Text: "x"}
	tests := []struct {
		name    string
		url     string // %s is the server's address
		msg     mail.Message
		errSays []string
	}{
		{"refused recipient", "smtp://alice:s3cret%20pass@%s", msg,
			[]string{"recipient nobody@customer.example refused", "550"}},
		{"wrong password", "smtp://alice:guess@%s", msg, []string{"auth as alice", "invalid credentials"}},
		{"unknown user", "smtp://mallory:s3cret%20pass@%s", msg, []string{"auth as mallory"}},
		{"no credentials where the server wants them", "smtp://%s", msg, []string{"530"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr, be := startServer(t, serverOptions{users: users, refused: map[string]bool{"nobody@customer.example": true}})
			err := mustNew(t, strings.Replace(tt.url, "%s", addr, 1)).Send(ctx(t), tt.msg)
			if err == nil {
				t.Fatal("Send succeeded, want an error")
			}
			for _, s := range tt.errSays {
				if !strings.Contains(err.Error(), s) {
					t.Fatalf("Send: %v, want it to say %q", err, s)
				}
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Fatalf("the error repeats the password: %v", err)
			}
			if n := len(be.deliveries()); n != 0 {
				t.Fatalf("the server took %d mails, want none", n)
			}
		})
	}
}

// named returns a dialer that connects to addr whatever it is asked for: the client believes it talks to a
// server on the network, not loopback.
func named(addr string, dialed *[]string, mu *sync.Mutex) mail.Option {
	return mail.WithDialer(func(ctx context.Context, network, asked string) (net.Conn, error) {
		mu.Lock()
		*dialed = append(*dialed, asked)
		mu.Unlock()
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	})
}

func TestSendRequiresSTARTTLSOffLoopback(t *testing.T) {
	cert, pool := newCert(t, []string{"mail.example.test"}, nil)
	tests := []struct {
		name     string
		offerTLS bool
		wantErr  string // "" for a mail sent over TLS
	}{
		{"offered and used", true, ""},
		{"not offered", false, "does not offer STARTTLS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := serverOptions{users: users}
			if tt.offerTLS {
				o.cert = cert
			}
			addr, be := startServer(t, o)
			var mu sync.Mutex
			var dialed []string
			c := mustNew(t, "smtp://alice:s3cret%20pass@mail.example.test",
				named(addr, &dialed, &mu), mail.WithTLSConfig(&tls.Config{RootCAs: pool}))
			err := c.Send(ctx(t), mail.Message{To: []string{"ops@customer.example"}, Subject: "s", Text: "t"})
			if len(dialed) != 1 || dialed[0] != "mail.example.test:587" {
				t.Fatalf("dialed %v, want mail.example.test:587 (the default submission port)", dialed)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Send: %v, want %q", err, tt.wantErr)
				}
				if a := be.authAttempts(); len(a) != 0 || len(be.deliveries()) != 0 {
					t.Fatalf("credentials sent in clear (%v) or mail taken", a)
				}
				return
			}
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			got := be.deliveries()
			if len(got) != 1 || !got[0].tls || got[0].user != "alice" {
				t.Fatalf("deliveries %+v, want one, over TLS, authenticated", got)
			}
		})
	}
}

func TestSendRefusesACertificateForAnotherName(t *testing.T) {
	cert, pool := newCert(t, []string{"other.example.test"}, nil)
	addr, be := startServer(t, serverOptions{cert: cert, users: users})
	var mu sync.Mutex
	var dialed []string
	c := mustNew(t, "smtp://alice:s3cret%20pass@mail.example.test", named(addr, &dialed, &mu),
		mail.WithTLSConfig(&tls.Config{RootCAs: pool}))
	err := c.Send(ctx(t), mail.Message{To: []string{"ops@customer.example"}, Subject: "s", Text: "t"})
	if err == nil || !strings.Contains(err.Error(), "starttls") {
		t.Fatalf("Send: %v, want a TLS verification error", err)
	}
	if len(be.authAttempts()) != 0 || len(be.deliveries()) != 0 {
		t.Fatal("credentials or mail went to a server whose certificate does not match")
	}
}

func TestSendUsesSTARTTLSOnLoopbackWhenOffered(t *testing.T) {
	cert, pool := newCert(t, nil, []net.IP{net.IPv4(127, 0, 0, 1)})
	addr, be := startServer(t, serverOptions{cert: cert, users: users})
	c := mustNew(t, "smtp://alice:s3cret%20pass@"+addr, mail.WithTLSConfig(&tls.Config{RootCAs: pool}))
	if err := c.Send(ctx(t), mail.Message{To: []string{"ops@customer.example"}, Subject: "s", Text: "t"}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if got := be.deliveries(); len(got) != 1 || !got[0].tls {
		t.Fatalf("deliveries %+v, want one over TLS", got)
	}
}

func TestSendImplicitTLS(t *testing.T) {
	cert, pool := newCert(t, []string{"smtp.example.test"}, nil)
	addr, be := startServer(t, serverOptions{cert: cert, implicitTLS: true, users: users})
	var mu sync.Mutex
	var dialed []string
	c := mustNew(t, "smtps://alice:s3cret%20pass@smtp.example.test", named(addr, &dialed, &mu),
		mail.WithTLSConfig(&tls.Config{RootCAs: pool}))
	subject := "Ihr Konto ist aktiv ✓"
	if err := c.Send(ctx(t), mail.Message{To: []string{"ops@customer.example"}, Subject: subject, Text: "t", HTML: "<p>t</p>"}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if len(dialed) != 1 || dialed[0] != "smtp.example.test:465" {
		t.Fatalf("dialed %v, want smtp.example.test:465", dialed)
	}
	got := be.deliveries()
	if len(got) != 1 || !got[0].tls || got[0].user != "alice" || parse(t, got[0].data).subject != subject {
		t.Fatalf("deliveries %+v, want one over TLS, authenticated, with the subject", got)
	}
}

func TestSendGivesUpOnASilentServer(t *testing.T) {
	// A server that accepts the connection and never says a word.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	c := mustNew(t, "smtp://"+l.Addr().String())
	cx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = c.Send(cx, mail.Message{To: []string{"ops@customer.example"}, Subject: "s", Text: "t"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Send: %v, want the context's deadline", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("Send took %s after a 200ms deadline", d)
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name, url, from string
		wantErr         string // "" for accepted
	}{
		{"submission", "smtp://user:pass@mail.example.com:587", from, ""},
		{"implicit tls", "smtps://user:pass@mail.example.com", from, ""},
		{"no credentials", "smtp://localhost:25", "noreply@reseller.example", ""},
		{"other scheme", "https://mail.example.com", from, `scheme "https"`},
		{"no host", "smtp://user:pass@:587", from, "no host"},
		{"a path", "smtp://mail.example.com/inbox", from, "no path"},
		{"bad from", "smtp://mail.example.com", "not an address", "from"},
		{"password not repeated", "ftp://user:hunter2@mail.example.com", from, "xxxxx"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := mail.New(tt.url, tt.from)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("New: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("New: %v, want an error saying %q", err, tt.wantErr)
			case err != nil && strings.Contains(err.Error(), "hunter2"):
				t.Fatalf("New repeats the password: %v", err)
			}
		})
	}
}

func TestSendRefusesBadMessagesBeforeConnecting(t *testing.T) {
	tests := []struct {
		name    string
		msg     mail.Message
		wantErr string
	}{
		{"no recipients", mail.Message{Subject: "s", Text: "t"}, "no recipients"},
		{"bad recipient", mail.Message{To: []string{"ops at customer"}, Subject: "s", Text: "t"}, `recipient "ops at customer"`},
		{"header injection", mail.Message{To: []string{"a@b.example"}, Subject: "hi\r\nBcc: all@victim.example", Text: "t"}, "several lines"},
		{"no text", mail.Message{To: []string{"a@b.example"}, Subject: "s", HTML: "<p>only html</p>"}, "no text body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dials := 0
			c := mustNew(t, "smtp://mail.example.test", mail.WithDialer(func(context.Context, string, string) (net.Conn, error) {
				dials++
				return nil, errors.New("no network in this test")
			}))
			err := c.Send(ctx(t), tt.msg)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || dials != 0 {
				t.Fatalf("Send: %v after %d dials, want %q before any", err, dials, tt.wantErr)
			}
			m, _ := mail.NewMemory(from, mail.MemoryOptions{})
			if err := m.Send(ctx(t), tt.msg); err == nil || !strings.Contains(err.Error(), tt.wantErr) || len(m.Sent()) != 0 {
				t.Fatalf("Memory.Send: %v, want the same refusal", err)
			}
		})
	}
}
