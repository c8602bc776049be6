package mail_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cloudreseller/aws-invites/internal/mail"
)

// sender is the one call the domain makes; both transports must have it.
type sender interface {
	Send(ctx context.Context, m mail.Message) error
}

var (
	_ sender = (*mail.SMTP)(nil)
	_ sender = (*mail.Memory)(nil)
)

func TestMemoryKeepsWhatWasSent(t *testing.T) {
	at := time.Date(2027, 1, 15, 8, 30, 0, 0, time.UTC)
	m, err := mail.NewMemory(from, mail.MemoryOptions{Now: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}
	msg := mail.Message{
		To:      []string{"Jürgen Müller <juergen@customer.example>", "ops@customer.example"},
		Subject: "Konto aktiv ✓", Text: "Grüße\n", HTML: "<p>Grüße</p>",
	}
	if err := m.Send(ctx(t), msg); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := m.Sent()
	if len(got) != 1 {
		t.Fatalf("%d mails kept, want 1", len(got))
	}
	g := got[0]
	if g.From != `"Cloud Reseller" <noreply@reseller.example>` || fmt.Sprint(g.To) != "[juergen@customer.example ops@customer.example]" ||
		g.Subject != msg.Subject || g.Text != msg.Text || g.HTML != msg.HTML || !g.At.Equal(at) {
		t.Fatalf("kept %+v", g)
	}
	// The raw message is the one SMTP would send: it reads back the same way.
	p := parse(t, g.Raw)
	if p.subject != msg.Subject || p.parts["text/html; charset=UTF-8"] != msg.HTML || p.header.Get("Message-ID") != g.ID {
		t.Fatalf("raw message reads back as subject %q, parts %q, id %q", p.subject, p.parts, p.header.Get("Message-ID"))
	}
	if d, err := p.header.Date(); err != nil || !d.Equal(at) {
		t.Fatalf("Date %v (%v), want the mailbox's clock %v", d, err, at)
	}

	got[0].Subject = "changed by the caller"
	if m.Sent()[0].Subject != msg.Subject {
		t.Fatal("changing what Sent returned changed the mailbox")
	}
}

func TestMemoryKeepsTheNewestUpToItsLimit(t *testing.T) {
	m, err := mail.NewMemory(from, mail.MemoryOptions{Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 5; i++ {
		if err := m.Send(ctx(t), mail.Message{To: []string{"a@b.example"}, Subject: fmt.Sprint("mail ", i), Text: "t"}); err != nil {
			t.Fatal(err)
		}
	}
	var subjects []string
	for _, g := range m.Sent() {
		subjects = append(subjects, g.Subject)
	}
	if fmt.Sprint(subjects) != "[mail 3 mail 4 mail 5]" {
		t.Fatalf("kept %v, want the newest three, oldest first", subjects)
	}
}

func TestMemoryIsSafeForConcurrentUse(t *testing.T) {
	m, err := mail.NewMemory(from, mail.MemoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			if err := m.Send(context.Background(), mail.Message{To: []string{"a@b.example"}, Subject: fmt.Sprint(i), Text: "t"}); err != nil {
				t.Error(err)
			}
			_ = m.Sent()
		})
	}
	wg.Wait()
	if n := len(m.Sent()); n != 20 {
		t.Fatalf("%d mails kept, want 20", n)
	}
}

func TestMemoryRefusesACanceledContext(t *testing.T) {
	m, err := mail.NewMemory(from, mail.MemoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c, cancel := context.WithCancel(context.Background())
	cancel()
	if err := m.Send(c, mail.Message{To: []string{"a@b.example"}, Subject: "s", Text: "t"}); err == nil || len(m.Sent()) != 0 {
		t.Fatalf("Send with a canceled context: %v, %d kept", err, len(m.Sent()))
	}
	if _, err := mail.NewMemory("nobody", mail.MemoryOptions{}); err == nil {
		t.Fatal("NewMemory took a from that is not an address")
	}
}
