// Package mailtest runs a real SMTP server in process for tests of code that sends email: it takes every mail on
// a loopback port and keeps it, as a mail server would hand it over.
package mailtest

import (
	"io"
	"log"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// Mail is one message the server took.
type Mail struct {
	From string
	To   []string
	Data []byte // the message as sent: headers and body
}

// Server is a running SMTP server.
type Server struct {
	Addr string // host:port on loopback

	mu    sync.Mutex
	taken []Mail
}

// Start starts a server that stops when the test ends.
func Start(tb testing.TB) *Server {
	tb.Helper()
	s := &Server{}
	srv := smtp.NewServer(backend{s})
	srv.Domain = "mx.test"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.ErrorLog = log.New(io.Discard, "", 0)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s.Addr = l.Addr().String()
	go func() { _ = srv.Serve(l) }()
	tb.Cleanup(func() { _ = srv.Close() })
	return s
}

// Taken returns the mail taken so far, oldest first.
func (s *Server) Taken() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.taken...)
}

type backend struct{ s *Server }

func (b backend) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{s: b.s}, nil }

type session struct {
	s   *Server
	cur Mail
}

func (x *session) Mail(from string, _ *smtp.MailOptions) error {
	x.cur = Mail{From: from}
	return nil
}

func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.cur.To = append(x.cur.To, to)
	return nil
}

func (x *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	x.cur.Data = data
	x.s.mu.Lock()
	x.s.taken = append(x.s.taken, x.cur)
	x.s.mu.Unlock()
	return nil
}

func (x *session) Reset()        { x.cur = Mail{} }
func (x *session) Logout() error { return nil }
