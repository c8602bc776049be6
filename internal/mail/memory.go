package mail

import (
	"context"
	"fmt"
	"net/mail"
	"sync"
	"time"
)

// DefaultMemoryLimit is how many mails a Memory keeps when its Limit is zero.
const DefaultMemoryLimit = 1000

// Mail is one mail a Memory took.
type Mail struct {
	// ID is the Message-ID the mail would have had, with its angle brackets.
	ID string
	// At is when it was sent.
	At time.Time
	// From is the sender as it would appear in the From header.
	From string
	// To are the recipients' addresses, without names.
	To []string
	// Subject, Text and HTML are as given.
	Subject, Text, HTML string
	// Raw is the whole message as SMTP would have sent it.
	Raw []byte
	// CustomerID and BillingProfileID are whose the mail is, as the Message said.
	CustomerID, BillingProfileID string
}

// Memory is a mailbox that keeps what is sent to it instead of sending it: the sandbox shows it (GET
// /sandbox/mail), tests read it. It checks messages as SMTP does, so a mail the sandbox took is one SMTP would
// send. It is safe for concurrent use.
type Memory struct {
	from  *mail.Address
	limit int
	now   func() time.Time

	mu   sync.Mutex
	sent []Mail
}

// MemoryOptions tunes a Memory; the zero value is fine.
type MemoryOptions struct {
	// Limit is how many of the newest mails are kept, DefaultMemoryLimit when zero, so that a long-running sandbox
	// does not grow without end.
	Limit int
	// Now is the clock of the Date header and of Mail.At; nil means time.Now.
	Now func() time.Time
}

// NewMemory returns an empty mailbox sending as from.
func NewMemory(from string, opts MemoryOptions) (*Memory, error) {
	a, err := mail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("mail: from %q: %w", from, err)
	}
	if opts.Limit <= 0 {
		opts.Limit = DefaultMemoryLimit
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Memory{from: a, limit: opts.Limit, now: opts.Now}, nil
}

// Send keeps m, or returns the error SMTP's Send would for it.
func (b *Memory) Send(ctx context.Context, m Message) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("mail: %w", err)
	}
	e, err := prepare(b.from, m, b.now())
	if err != nil {
		return err
	}
	got := Mail{ID: e.id, At: e.date, From: e.from.String(), Subject: m.Subject, Text: m.Text, HTML: m.HTML, Raw: e.bytes,
		CustomerID: m.CustomerID, BillingProfileID: m.BillingProfileID}
	for _, a := range e.to {
		got.To = append(got.To, a.Address)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sent = append(b.sent, got)
	if over := len(b.sent) - b.limit; over > 0 {
		b.sent = append([]Mail(nil), b.sent[over:]...)
	}
	return nil
}

// Sent returns the mails kept, oldest first. The caller may change the slice, not the mails' byte slices.
func (b *Memory) Sent() []Mail {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Mail(nil), b.sent...)
}
