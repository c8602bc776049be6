package webhook

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// SecretPrefix starts every secret, so that a secret is recognisable as one in logs, configs and leaks.
const SecretPrefix = "whsec_"

// The key lengths the specification allows, in bytes.
const (
	minKeyBytes = 24
	maxKeyBytes = 64
	newKeyBytes = 32
)

// NewSecret returns a new random secret: "whsec_" and the standard base64 of 32 random bytes.
func NewSecret() (string, error) {
	key := make([]byte, newKeyBytes)
	if _, err := rand.Read(key); err != nil {
		return "", fmt.Errorf("webhook: new secret: %w", err)
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(key), nil
}

// ParseSecret returns the HMAC key of a secret, or an error saying why it is not one; the caller may use it to
// validate a secret before storing it.
func ParseSecret(secret string) ([]byte, error) {
	enc, ok := strings.CutPrefix(secret, SecretPrefix)
	if !ok {
		return nil, errors.New("webhook: secret does not start with " + SecretPrefix)
	}
	key, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return nil, errors.New("webhook: secret is not " + SecretPrefix + " followed by standard base64")
	}
	if len(key) < minKeyBytes || len(key) > maxKeyBytes {
		return nil, fmt.Errorf("webhook: secret key is %d bytes, want %d to %d", len(key), minKeyBytes, maxKeyBytes)
	}
	return key, nil
}
