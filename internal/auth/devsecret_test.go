package auth_test

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/cloudreseller/aws-invites/internal/auth"
)

func TestLoadOrCreateDevSecretCreatesOnceAndReuses(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "not", "yet", "there")
	first, err := auth.LoadOrCreateDevSecret(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != 32 {
		t.Errorf("secret has %d bytes, want 32", len(first))
	}
	if bytes.Equal(first, make([]byte, 32)) {
		t.Error("secret is all zeros")
	}
	if runtime.GOOS != "windows" {
		info, err := os.Stat(filepath.Join(dir, auth.DevSecretFile))
		if err != nil {
			t.Fatal(err)
		}
		if perm := info.Mode().Perm(); perm != 0o600 {
			t.Errorf("secret file mode %o, want 600", perm)
		}
		dinfo, err := os.Stat(dir)
		if err != nil {
			t.Fatal(err)
		}
		if perm := dinfo.Mode().Perm(); perm != 0o700 {
			t.Errorf("data directory mode %o, want 700", perm)
		}
	}

	again, err := auth.LoadOrCreateDevSecret(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, again) {
		t.Error("second call returned a different secret; tokens minted before a restart would stop working")
	}

	other, err := auth.LoadOrCreateDevSecret(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(first, other) {
		t.Error("two data directories got the same secret; it must be random, not a constant")
	}
}

// Processes starting at once (serve and token, or two replicas) must agree on one secret.
func TestLoadOrCreateDevSecretConcurrent(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	const n = 16
	var (
		start   = make(chan struct{})
		wg      sync.WaitGroup
		secrets = make([][]byte, n)
		errs    = make([]error, n)
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			secrets[i], errs[i] = auth.LoadOrCreateDevSecret(dir)
		}()
	}
	close(start)
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("goroutine %d: %v", i, errs[i])
		}
		if !bytes.Equal(secrets[i], secrets[0]) {
			t.Fatalf("goroutine %d got another secret than goroutine 0", i)
		}
	}
	onDisk, err := auth.LoadOrCreateDevSecret(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(onDisk, secrets[0]) {
		t.Error("the secret on disk differs from the one the goroutines got")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != auth.DevSecretFile {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("data directory holds %v, want only %s (no temporary files left behind)", names, auth.DevSecretFile)
	}
}

func TestLoadOrCreateDevSecretRefusesDamagedFile(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    string
	}{
		{name: "not hex", content: "correct horse battery staple", want: "not hex"},
		{name: "too short", content: "00112233445566778899aabbccddeeff\n", want: "at least 32"},
		{name: "empty", content: "", want: "at least 32"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, auth.DevSecretFile)
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := auth.LoadOrCreateDevSecret(dir)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one mentioning %q", err, tt.want)
			}
			// A damaged file is reported, never silently replaced (that would invalidate every issued token).
			if b, _ := os.ReadFile(path); string(b) != tt.content {
				t.Error("the damaged secret file was rewritten")
			}
		})
	}
}
