// Package mail sends email: over SMTP (STARTTLS, or implicit TLS with smtps://, and AUTH PLAIN) in production, into
// a Memory mailbox in the sandbox and in tests. Both take the same Message; what the mail says (templates) is the
// caller's, this package is only the transport.
package mail

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	"time"
)

// Message is one email to send.
type Message struct {
	// To are the recipients, each an address ("ops@example.com") or a name and an address
	// ("Ops <ops@example.com>").
	To []string
	// Subject is the subject line, any UTF-8 text on one line.
	Subject string
	// Text is the plain text body; every mail has one, for the readers and filters that do not show HTML.
	Text string
	// HTML is the HTML body; empty for a text-only mail.
	HTML string
}

// envelope is a Message checked and ready to send.
type envelope struct {
	from  *mail.Address
	to    []*mail.Address
	id    string // Message-ID, with its angle brackets
	date  time.Time
	msg   Message
	bytes []byte // the whole message as it goes on the wire, CRLF line endings
}

// prepare checks m and renders it from from at now.
func prepare(from *mail.Address, m Message, now time.Time) (*envelope, error) {
	if len(m.To) == 0 {
		return nil, errors.New("mail: no recipients")
	}
	e := &envelope{from: from, date: now, msg: m}
	for _, t := range m.To {
		a, err := mail.ParseAddress(t)
		if err != nil {
			return nil, fmt.Errorf("mail: recipient %q: %w", t, err)
		}
		e.to = append(e.to, a)
	}
	// A line break in the subject would end the header and let the rest write headers of its own.
	if strings.ContainsAny(m.Subject, "\r\n") {
		return nil, errors.New("mail: subject spans several lines")
	}
	if strings.TrimSpace(m.Text) == "" {
		return nil, errors.New("mail: no text body")
	}
	id, err := messageID(from.Address)
	if err != nil {
		return nil, err
	}
	e.id = id
	if e.bytes, err = e.render(); err != nil {
		return nil, err
	}
	return e, nil
}

// messageID returns a new, globally unique Message-ID in the domain of the sender, as RFC 5322 asks.
func messageID(from string) (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("mail: message id: %w", err)
	}
	domain := "localhost"
	if at := strings.LastIndexByte(from, '@'); at >= 0 {
		domain = from[at+1:]
	}
	return "<" + hex.EncodeToString(b) + "@" + domain + ">", nil
}

// render writes the message: headers, then a multipart/alternative body with the text part first (mail readers
// show the last alternative they can), each part UTF-8 in quoted-printable, which keeps lines short and 7-bit.
func (e *envelope) render() ([]byte, error) {
	var buf bytes.Buffer
	to := make([]string, len(e.to))
	for i, a := range e.to {
		to[i] = a.String() // encodes non-ASCII names per RFC 2047
	}
	header := func(k, v string) { buf.WriteString(k + ": " + v + "\r\n") }
	header("From", e.from.String())
	header("To", strings.Join(to, ", "))
	header("Subject", mime.QEncoding.Encode("UTF-8", e.msg.Subject))
	header("Date", e.date.Format(time.RFC1123Z))
	header("Message-ID", e.id)
	header("MIME-Version", "1.0")

	if e.msg.HTML == "" {
		header("Content-Type", "text/plain; charset=UTF-8")
		header("Content-Transfer-Encoding", "quoted-printable")
		buf.WriteString("\r\n")
		if err := writeQP(&buf, e.msg.Text); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}

	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	header("Content-Type", mime.FormatMediaType("multipart/alternative", map[string]string{"boundary": mw.Boundary()}))
	buf.WriteString("\r\n")
	for _, p := range []struct{ typ, text string }{{"text/plain", e.msg.Text}, {"text/html", e.msg.HTML}} {
		w, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {p.typ + "; charset=UTF-8"},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, fmt.Errorf("mail: render: %w", err)
		}
		if err := writeQP(w, p.text); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, fmt.Errorf("mail: render: %w", err)
	}
	buf.Write(body.Bytes())
	return buf.Bytes(), nil
}

// writeQP writes text quoted-printable; its line breaks, \n or \r\n, become CRLF.
func writeQP(w io.Writer, text string) error {
	qp := quotedprintable.NewWriter(w)
	if _, err := qp.Write([]byte(text)); err != nil {
		return fmt.Errorf("mail: render: %w", err)
	}
	if err := qp.Close(); err != nil {
		return fmt.Errorf("mail: render: %w", err)
	}
	return nil
}
