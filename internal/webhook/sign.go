package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The headers of a delivery, as the specification names them.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// DefaultTolerance is how far a timestamp may be from the receiver's clock when Verify is given no tolerance; the
// specification suggests five minutes.
const DefaultTolerance = 5 * time.Minute

// Errors of Verify; each wrapped with details, so test with errors.Is.
var (
	// ErrTimestamp means the webhook-timestamp header is missing, not a number, or outside the tolerance: the
	// message may be a replay.
	ErrTimestamp = errors.New("webhook: timestamp")
	// ErrSignature means no v1 signature in the header matches the secret.
	ErrSignature = errors.New("webhook: no matching signature")
)

// Sign returns the webhook-signature header for one message: a "v1,<base64 HMAC-SHA256>" entry per secret,
// separated by spaces. During a rotation both the old and the new secret sign, so that receivers may switch at
// their own pace. A secret that ParseSecret refuses is left out: Sender checks its secrets first and refuses to send.
func Sign(secrets []string, id string, ts time.Time, body []byte) string {
	entries := make([]string, 0, len(secrets))
	for _, s := range secrets {
		key, err := ParseSecret(s)
		if err != nil {
			continue
		}
		entries = append(entries, "v1,"+base64.StdEncoding.EncodeToString(mac(key, id, strconv.FormatInt(ts.Unix(), 10), body)))
	}
	return strings.Join(entries, " ")
}

// mac is the specification's signature: HMAC-SHA256 over id "." timestamp "." body.
func mac(key []byte, id, ts string, body []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(id))
	h.Write([]byte{'.'})
	h.Write([]byte(ts))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// Verify checks a received message as a partner's receiver should: ts (the webhook-timestamp header, unix seconds)
// must be within tolerance of now (DefaultTolerance when tolerance is not positive), and one of the v1 entries of
// signatureHeader must be the signature of id, ts and body under secret. Entries of other versions (such as the
// asymmetric v1a) are skipped. The comparison is in constant time.
func Verify(secret, id, ts string, body []byte, signatureHeader string, now time.Time, tolerance time.Duration) error {
	key, err := ParseSecret(secret)
	if err != nil {
		return err
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w %q is not unix seconds", ErrTimestamp, ts)
	}
	sent := time.Unix(sec, 0)
	switch {
	case sent.Before(now.Add(-tolerance)):
		return fmt.Errorf("%w %s is more than %s old", ErrTimestamp, sent.UTC().Format(time.RFC3339), tolerance)
	case sent.After(now.Add(tolerance)):
		return fmt.Errorf("%w %s is more than %s in the future", ErrTimestamp, sent.UTC().Format(time.RFC3339), tolerance)
	}
	want := mac(key, id, ts, body)
	for _, entry := range strings.Fields(signatureHeader) {
		version, sig, ok := strings.Cut(entry, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(sig)
		if err != nil {
			continue
		}
		if hmac.Equal(got, want) {
			return nil
		}
	}
	return ErrSignature
}
