package webhook_test

import (
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cloudreseller/aws-invites/internal/webhook"
)

// The example of the Standard Webhooks specification: secret, message id, timestamp, body and the signature it
// publishes for them.
const (
	specSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	specID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	specTimestamp = 1614265330
	specBody      = `{"test": 2432232314}`
	specSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func TestSignMatchesTheSpecificationsExample(t *testing.T) {
	got := webhook.Sign([]string{specSecret}, specID, time.Unix(specTimestamp, 0), []byte(specBody))
	if got != specSignature {
		t.Fatalf("Sign = %q, want the specification's %q", got, specSignature)
	}
	err := webhook.Verify(specSecret, specID, strconv.Itoa(specTimestamp), []byte(specBody), specSignature,
		time.Unix(specTimestamp+10, 0), 0)
	if err != nil {
		t.Fatalf("Verify of the specification's example: %v", err)
	}
}

func TestVerify(t *testing.T) {
	other := mustSecret(t)
	ts := time.Unix(1_800_000_000, 0)
	tsText := strconv.FormatInt(ts.Unix(), 10)
	body := []byte(`{"type":"invite.accepted","timestamp":"2027-01-15T08:00:00Z","data":{"id":"inv_1"}}`)
	good := webhook.Sign([]string{specSecret}, "evt_1", ts, body)

	tests := []struct {
		name    string
		secret  string
		id, ts  string
		body    []byte
		header  string
		now     time.Time
		wantErr error // nil: accepted
	}{
		{"accepted", specSecret, "evt_1", tsText, body, good, ts, nil},
		{"accepted within tolerance", specSecret, "evt_1", tsText, body, good, ts.Add(4 * time.Minute), nil},
		{"entries of other versions are skipped", specSecret, "evt_1", tsText, body,
			"v1a,c29tZXRoaW5n v2,abc " + good, ts, nil},
		{"wrong secret", other, "evt_1", tsText, body, good, ts, webhook.ErrSignature},
		{"body changed", specSecret, "evt_1", tsText, []byte(string(body) + " "), good, ts,
			webhook.ErrSignature},
		{"id changed", specSecret, "evt_2", tsText, body, good, ts, webhook.ErrSignature},
		{"timestamp changed", specSecret, "evt_1", strconv.FormatInt(ts.Unix()+1, 10), body, good, ts,
			webhook.ErrSignature},
		{"no v1 entry", specSecret, "evt_1", tsText, body, "v1a," + strings.TrimPrefix(good, "v1,"), ts,
			webhook.ErrSignature},
		{"empty header", specSecret, "evt_1", tsText, body, "", ts, webhook.ErrSignature},
		{"garbage header", specSecret, "evt_1", tsText, body, "v1,not-base64!! nonsense", ts, webhook.ErrSignature},
		{"too old", specSecret, "evt_1", tsText, body, good, ts.Add(6 * time.Minute), webhook.ErrTimestamp},
		{"from the future", specSecret, "evt_1", tsText, body, good, ts.Add(-6 * time.Minute), webhook.ErrTimestamp},
		{"timestamp not a number", specSecret, "evt_1", "2027-01-15T08:00:00Z", body, good, ts, webhook.ErrTimestamp},
		{"timestamp missing", specSecret, "evt_1", "", body, good, ts, webhook.ErrTimestamp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := webhook.Verify(tt.secret, tt.id, tt.ts, tt.body, tt.header, tt.now, 5*time.Minute)
			if tt.wantErr == nil && err != nil {
				t.Fatalf("Verify: %v, want accepted", err)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("Verify: %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestVerifyToleranceDefaultsToFiveMinutes(t *testing.T) {
	ts := time.Unix(1_800_000_000, 0)
	body := []byte(`{}`)
	sig := webhook.Sign([]string{specSecret}, "evt_1", ts, body)
	tsText := strconv.FormatInt(ts.Unix(), 10)
	if err := webhook.Verify(specSecret, "evt_1", tsText, body, sig, ts.Add(299*time.Second), 0); err != nil {
		t.Fatalf("4m59s late with the default tolerance: %v", err)
	}
	if err := webhook.Verify(specSecret, "evt_1", tsText, body, sig, ts.Add(301*time.Second), 0); !errors.Is(err, webhook.ErrTimestamp) {
		t.Fatalf("5m01s late with the default tolerance: %v, want ErrTimestamp", err)
	}
}

func TestSignDuringRotationSignsWithBothSecrets(t *testing.T) {
	old, current, stranger := mustSecret(t), mustSecret(t), mustSecret(t)
	ts := time.Unix(1_800_000_000, 0)
	body := []byte(`{"type":"invite.active"}`)
	header := webhook.Sign([]string{old, current}, "evt_9", ts, body)

	if n := len(strings.Fields(header)); n != 2 {
		t.Fatalf("header %q has %d entries, want one per secret", header, n)
	}
	for name, secret := range map[string]string{"old": old, "current": current} {
		if err := webhook.Verify(secret, "evt_9", "1800000000", body, header, ts, 0); err != nil {
			t.Errorf("a receiver with the %s secret: %v", name, err)
		}
	}
	if err := webhook.Verify(stranger, "evt_9", "1800000000", body, header, ts, 0); !errors.Is(err, webhook.ErrSignature) {
		t.Errorf("a receiver with neither secret: %v, want ErrSignature", err)
	}
}

func TestSignLeavesOutSecretsThatAreNotSecrets(t *testing.T) {
	header := webhook.Sign([]string{"not-a-secret", specSecret}, specID, time.Unix(specTimestamp, 0), []byte(specBody))
	if header != specSignature {
		t.Fatalf("Sign = %q, want only the valid secret's entry %q", header, specSignature)
	}
}

func TestNewSecret(t *testing.T) {
	seen := map[string]bool{}
	for range 50 {
		s := mustSecret(t)
		if seen[s] {
			t.Fatalf("NewSecret returned %q twice", s)
		}
		seen[s] = true
		key, err := webhook.ParseSecret(s)
		if err != nil {
			t.Fatalf("ParseSecret(NewSecret()): %v", err)
		}
		if len(key) < 24 || len(key) > 64 {
			t.Fatalf("key of %d bytes, want 24..64", len(key))
		}
	}
}

func TestParseSecret(t *testing.T) {
	b64 := func(n int) string { return base64.StdEncoding.EncodeToString(make([]byte, n)) }
	tests := []struct {
		name, secret string
		wantErr      string
	}{
		{"24 bytes", "whsec_" + b64(24), ""},
		{"64 bytes", "whsec_" + b64(64), ""},
		{"no prefix", b64(32), "does not start with whsec_"},
		{"not base64", "whsec_***", "standard base64"},
		{"too short", "whsec_" + b64(23), "23 bytes"},
		{"too long", "whsec_" + b64(65), "65 bytes"},
		{"empty", "", "does not start"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := webhook.ParseSecret(tt.secret)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("ParseSecret: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("ParseSecret: %v, want an error saying %q", err, tt.wantErr)
			}
		})
	}
}

func mustSecret(tb testing.TB) string {
	tb.Helper()
	s, err := webhook.NewSecret()
	if err != nil {
		tb.Fatalf("NewSecret: %v", err)
	}
	return s
}
