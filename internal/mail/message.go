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
	"unicode/utf8"
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
	// CustomerID and BillingProfileID say whose the mail is; a Memory keeps them, so the sandbox shows a mail to
	// that customer's users only. They are never sent.
	CustomerID, BillingProfileID string
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
	header := func(k, v string) { buf.WriteString(fold(k+": "+v) + "\r\n") }
	header("From", e.from.String())
	header("To", strings.Join(to, ", "))
	header("Subject", encodeText(e.msg.Subject))
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

// lineLimit is the line length RFC 5322 recommends for headers.
const lineLimit = 78

// fold breaks a header line longer than lineLimit before spaces, as RFC 5322 allows (a line break followed by
// white space is unfolded by the reader), never right after the field name. Between encoded words and between
// addresses a space is always there; a single word longer than the limit stays whole (the hard limit is 998).
func fold(line string) string {
	var b strings.Builder
	first := strings.IndexByte(line, ' ') + 1 // the value starts here; no break before it
	for len(line) > lineLimit {
		cut := strings.LastIndexByte(line[:lineLimit+1], ' ')
		if cut < first {
			next := strings.IndexByte(line[max(first, lineLimit):], ' ')
			if next < 0 {
				break
			}
			cut = max(first, lineLimit) + next
		}
		b.WriteString(line[:cut] + "\r\n")
		line, first = line[cut:], 1
	}
	b.WriteString(line)
	return b.String()
}

// encodeText returns a header's text as it may go on the wire: printable ASCII as it is, anything else as RFC 2047
// "Q" encoded words of UTF-8. The words are kept short, and each is whole characters, so that fold can put them on
// lines of their own; the spaces between encoded words are not part of the text (RFC 2047, section 6.2).
func encodeText(s string) string {
	plain := !strings.Contains(s, "=?")
	for i := 0; plain && i < len(s); i++ {
		plain = s[i] >= ' ' && s[i] <= '~'
	}
	if plain {
		return s
	}
	const prefix, suffix = "=?UTF-8?q?", "?="
	const maxWord = 60 // short of RFC 2047's 75, so that "Subject: " and a word fit a 78 character line
	var words []string
	var cur strings.Builder
	for _, r := range s {
		enc := qEncode(r)
		if cur.Len() > 0 && len(prefix)+cur.Len()+len(enc)+len(suffix) > maxWord {
			words = append(words, prefix+cur.String()+suffix)
			cur.Reset()
		}
		cur.WriteString(enc)
	}
	words = append(words, prefix+cur.String()+suffix)
	return strings.Join(words, " ")
}

// qEncode is one character in RFC 2047's "Q" encoding, as it may appear in a Subject: letters, digits and a few
// marks as they are, a space as "_", and everything else as =XX per UTF-8 byte.
func qEncode(r rune) string {
	switch {
	case r == ' ':
		return "_"
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.ContainsRune("!*+-/", r):
		return string(r)
	}
	var b [utf8.UTFMax]byte
	n := utf8.EncodeRune(b[:], r)
	var out strings.Builder
	for _, c := range b[:n] {
		fmt.Fprintf(&out, "=%02X", c)
	}
	return out.String()
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
