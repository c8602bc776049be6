package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/smtp"
	"net/url"
	"os"
	"strings"
	"time"
)

// DefaultTimeout bounds one Send when its context has no deadline: a mail server that stops answering must not
// hold a job forever.
const DefaultTimeout = 30 * time.Second

// Option tunes an SMTP sender.
type Option func(*SMTP)

// WithTLSConfig sets the TLS configuration (for a private CA, or a test server's certificate); the server name is
// the URL's host unless the configuration names one.
func WithTLSConfig(cfg *tls.Config) Option { return func(c *SMTP) { c.tls = cfg.Clone() } }

// WithTimeout sets how long one Send may take when its context has no deadline.
func WithTimeout(d time.Duration) Option { return func(c *SMTP) { c.timeout = d } }

// WithClock sets the clock of the Date header.
func WithClock(now func() time.Time) Option { return func(c *SMTP) { c.now = now } }

// WithDialer sets how the TCP connection to the server is made; tests use it to reach a local server under a
// name that is not loopback.
func WithDialer(dial func(ctx context.Context, network, addr string) (net.Conn, error)) Option {
	return func(c *SMTP) { c.dial = dial }
}

// WithHelloName sets the name the client gives in EHLO; the machine's host name by default.
func WithHelloName(name string) Option { return func(c *SMTP) { c.helo = name } }

// SMTP sends mail through one SMTP server. It is safe for concurrent use; every Send is one connection.
type SMTP struct {
	host, port  string
	implicitTLS bool
	user, pass  string
	auth        bool
	from        *mail.Address

	tls     *tls.Config
	timeout time.Duration
	now     func() time.Time
	dial    func(ctx context.Context, network, addr string) (net.Conn, error)
	helo    string
}

// New returns a sender for the server at smtpURL, sending as from ("Name <addr>" or "addr").
//
// smtp://user:pass@host:587 submits on port 587 (the default) with STARTTLS, which is required unless the host
// is loopback (a local relay); smtps://user:pass@host:465 uses implicit TLS, port 465 by default. Without user
// and password no AUTH is made. Credentials go only over TLS, or to loopback.
func New(smtpURL, from string, opts ...Option) (*SMTP, error) {
	u, err := url.Parse(smtpURL)
	if err != nil {
		return nil, errors.New("mail: smtp url is not a url")
	}
	c := &SMTP{timeout: DefaultTimeout, now: time.Now}
	switch u.Scheme {
	case "smtp":
		c.port = "587"
	case "smtps":
		c.port, c.implicitTLS = "465", true
	default:
		return nil, fmt.Errorf("mail: smtp url %s: scheme %q, want smtp or smtps", u.Redacted(), u.Scheme)
	}
	if c.host = u.Hostname(); c.host == "" {
		return nil, fmt.Errorf("mail: smtp url %s has no host", u.Redacted())
	}
	if p := u.Port(); p != "" {
		c.port = p
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return nil, fmt.Errorf("mail: smtp url %s: want no path or query", u.Redacted())
	}
	if u.User != nil {
		c.user = u.User.Username()
		c.pass, _ = u.User.Password()
		c.auth = c.user != ""
	}
	if c.from, err = mail.ParseAddress(from); err != nil {
		return nil, fmt.Errorf("mail: from %q: %w", from, err)
	}
	for _, o := range opts {
		o(c)
	}
	if c.tls == nil {
		c.tls = &tls.Config{}
	}
	if c.tls.ServerName == "" {
		c.tls.ServerName = c.host
	}
	if c.tls.MinVersion == 0 {
		c.tls.MinVersion = tls.VersionTLS12
	}
	if c.dial == nil {
		c.dial = (&net.Dialer{}).DialContext
	}
	if c.helo == "" {
		c.helo = helloName()
	}
	return c, nil
}

// helloName is the machine's name if it looks like one a server accepts in EHLO.
func helloName() string {
	if h, err := os.Hostname(); err == nil && h != "" && !strings.ContainsAny(h, " \t\r\n") {
		return h
	}
	return "localhost"
}

// loopback reports whether the server is on this machine, where a plain connection does not cross a network.
func (c *SMTP) loopback() bool {
	if c.host == "localhost" {
		return true
	}
	ip := net.ParseIP(c.host)
	return ip != nil && ip.IsLoopback()
}

// Send sends m in one SMTP transaction. An error means the server did not take the mail, for no recipient: when
// one recipient is refused, none is sent to.
func (c *SMTP) Send(ctx context.Context, m Message) error {
	e, err := prepare(c.from, m, c.now())
	if err != nil {
		return err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	addr := net.JoinHostPort(c.host, c.port)
	conn, err := c.dial(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("mail: connect to %s: %w", addr, err)
	}
	defer conn.Close()
	// net/smtp knows no contexts: the deadline bounds every read and write, and a cancel closes the connection.
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	if err := c.transact(ctx, conn, e); err != nil {
		// The connection's deadline is the context's, and may fire a moment before the context notices.
		if cause := ctx.Err(); cause != nil || errors.Is(err, os.ErrDeadlineExceeded) {
			if cause == nil {
				cause = context.DeadlineExceeded
			}
			return fmt.Errorf("mail: %s: %w (%v)", addr, cause, err)
		}
		return fmt.Errorf("mail: %s: %w", addr, err)
	}
	return nil
}

func (c *SMTP) transact(ctx context.Context, conn net.Conn, e *envelope) error {
	if c.implicitTLS {
		tc := tls.Client(conn, c.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			return fmt.Errorf("tls: %w", err)
		}
		conn = tc
	}
	cl, err := smtp.NewClient(conn, c.host)
	if err != nil {
		return err
	}
	defer cl.Close()
	if err := cl.Hello(c.helo); err != nil {
		return err
	}
	if !c.implicitTLS {
		if ok, _ := cl.Extension("STARTTLS"); ok {
			if err := cl.StartTLS(c.tls); err != nil {
				return fmt.Errorf("starttls: %w", err)
			}
		} else if !c.loopback() {
			return errors.New("server does not offer STARTTLS; mail and credentials are not sent in clear " +
				"over the network (use smtps:// for implicit TLS)")
		}
	}
	if c.auth {
		if ok, _ := cl.Extension("AUTH"); !ok {
			return errors.New("server does not offer AUTH, and the url has credentials")
		}
		// PlainAuth itself refuses a connection without TLS to a host other than localhost.
		if err := cl.Auth(smtp.PlainAuth("", c.user, c.pass, c.host)); err != nil {
			return fmt.Errorf("auth as %s: %w", c.user, err)
		}
	}
	if err := cl.Mail(e.from.Address); err != nil {
		return fmt.Errorf("sender %s refused: %w", e.from.Address, err)
	}
	for _, to := range e.to {
		if err := cl.Rcpt(to.Address); err != nil {
			return fmt.Errorf("recipient %s refused: %w", to.Address, err)
		}
	}
	w, err := cl.Data()
	if err != nil {
		return fmt.Errorf("data: %w", err)
	}
	if _, err := w.Write(e.bytes); err != nil {
		return fmt.Errorf("data: %w", err)
	}
	// Close reads the server's answer to the message: this is where it takes the mail or not.
	if err := w.Close(); err != nil {
		return fmt.Errorf("message refused: %w", err)
	}
	// The mail is taken; a failed QUIT must not make the caller send it again.
	_ = cl.Quit()
	return nil
}
