package auth

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// DevSecretFile is the name, inside the data directory, of the file holding the development HS256 secret.
const DevSecretFile = "dev-hs256.key"

// LoadOrCreateDevSecret returns the development HS256 secret kept in dataDir, creating the directory (0700) and a new
// random secret (file 0600) on first use. The file is published with a hard link, which fails if the name exists, so
// processes starting at the same time all end up with the one secret that won.
func LoadOrCreateDevSecret(dataDir string) ([]byte, error) {
	path := filepath.Join(dataDir, DevSecretFile)
	secret, err := readDevSecret(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return secret, err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("auth: create data directory %s: %w", dataDir, err)
	}
	if err := publishNewSecret(dataDir, path); err != nil {
		return nil, err
	}
	return readDevSecret(path)
}

// publishNewSecret writes a fresh secret to a temporary file and links it to path unless path already exists.
func publishNewSecret(dataDir, path string) error {
	raw := make([]byte, MinSecretBytes)
	if _, err := rand.Read(raw); err != nil {
		return fmt.Errorf("auth: generate development secret: %w", err)
	}
	tmp, err := os.CreateTemp(dataDir, DevSecretFile+".tmp-*")
	if err != nil {
		return fmt.Errorf("auth: create development secret: %w", err)
	}
	defer os.Remove(tmp.Name()) // only the temporary name; path keeps the content through the link
	// Hex so that an operator can paste the secret into another tool; CreateTemp already made the file 0600.
	_, werr := tmp.WriteString(hex.EncodeToString(raw) + "\n")
	if werr == nil {
		werr = tmp.Sync()
	}
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return fmt.Errorf("auth: write development secret: %w", werr)
	}
	if err := os.Chmod(tmp.Name(), 0o600); err != nil {
		return fmt.Errorf("auth: restrict development secret: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("auth: publish development secret %s: %w", path, err)
	}
	return nil
}

func readDevSecret(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("auth: read development secret: %w", err)
	}
	secret, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("auth: development secret %s is not hex: %w", path, err)
	}
	if len(secret) < MinSecretBytes {
		return nil, fmt.Errorf("auth: development secret %s has %d bytes, at least %d are required", path, len(secret), MinSecretBytes)
	}
	return secret, nil
}
