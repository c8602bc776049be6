package mail_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// delivery is what the test server took of one mail.
type delivery struct {
	from string
	to   []string
	data []byte
	tls  bool   // whether the session was encrypted when the mail came
	user string // who authenticated, "" for nobody
}

// backend is an SMTP server's mail store: it takes mail for anyone but the refused, and authenticates users.
type backend struct {
	users   map[string]string // user -> password
	refused map[string]bool   // recipients answered with 550

	mu      sync.Mutex
	taken   []delivery
	authAs  []string // every AUTH attempt's user name, successful or not
	started int      // sessions
}

func (b *backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	b.mu.Lock()
	b.started++
	b.mu.Unlock()
	return &session{b: b, c: c}, nil
}

func (b *backend) deliveries() []delivery {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]delivery(nil), b.taken...)
}

func (b *backend) authAttempts() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.authAs...)
}

type session struct {
	b    *backend
	c    *smtp.Conn
	user string
	cur  delivery
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		s.b.mu.Lock()
		s.b.authAs = append(s.b.authAs, user)
		s.b.mu.Unlock()
		if want, ok := s.b.users[user]; !ok || want != pass {
			return errors.New("invalid credentials")
		}
		s.user = user
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if len(s.b.users) > 0 && s.user == "" {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "authentication required"}
	}
	_, isTLS := s.c.TLSConnectionState()
	s.cur = delivery{from: from, tls: isTLS, user: s.user}
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.b.refused[to] {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user here"}
	}
	s.cur.to = append(s.cur.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.data = data
	s.b.mu.Lock()
	s.b.taken = append(s.b.taken, s.cur)
	s.b.mu.Unlock()
	return nil
}

func (s *session) Reset()        { s.cur = delivery{} }
func (s *session) Logout() error { return nil }

// serverOptions shapes a test server.
type serverOptions struct {
	cert        *tls.Certificate // offered with STARTTLS, or for implicit TLS
	implicitTLS bool
	users       map[string]string
	refused     map[string]bool
}

// startServer starts a real SMTP server on a loopback port and returns its address and its store.
func startServer(t *testing.T, o serverOptions) (string, *backend) {
	t.Helper()
	be := &backend{users: o.users, refused: o.refused}
	srv := smtp.NewServer(be)
	srv.Domain = "mx.test"
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	// AUTH without TLS is offered so that the tests can show the client does not use it where it must not.
	srv.AllowInsecureAuth = true
	srv.ErrorLog = log.New(io.Discard, "", 0)
	var l net.Listener
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if o.cert != nil {
		cfg := &tls.Config{Certificates: []tls.Certificate{*o.cert}}
		if o.implicitTLS {
			l = tls.NewListener(l, cfg)
		} else {
			srv.TLSConfig = cfg
		}
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().String(), be
}

// newCert returns a self-signed certificate for the given names and addresses, and a pool that trusts it.
func newCert(t *testing.T, names []string, ips []net.IP) (*tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "test mail server"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              names,
		IPAddresses:           ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}
