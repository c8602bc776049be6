package api_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// npmTools installs the contract checks' pinned npm packages (scripts/contract/install) and returns node and
// their node_modules directory; without node the test is skipped, and says why.
func npmTools(t *testing.T) (node, modules string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("skipping: node is not installed (the contract checks run openapi-typescript, tsc, Redocly and Spectral; install Node.js 20 or later)")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "../scripts/contract/install").Output()
	if err != nil {
		t.Fatalf("installing the npm packages of scripts/contract/package.json: %v", err)
	}
	return node, strings.TrimSpace(string(out))
}

// TestSpecLints: openapi.yaml passes Redocly's recommended rules and Spectral's spectral:oas without errors
// (scripts/contract/lint; the warnings left are explained in .redocly.yaml and .spectral.yaml).
func TestSpecLints(t *testing.T) {
	npmTools(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "../scripts/contract/lint").CombinedOutput()
	if err != nil {
		t.Fatalf("linting openapi.yaml: %v\n%s", err, out)
	}
}

// TestTypedClient generates the TypeScript types a web client would (openapi-typescript, with its default
// options) and compiles scripts/contract/client.ts against them with tsc --strict: requests that leave out every
// defaulted field, responses whose always-sent fields are not optional, codes that are unions.
func TestTypedClient(t *testing.T) {
	node, modules := npmTools(t)
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.CommandContext(ctx, node, args...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run(filepath.Join(modules, "openapi-typescript/bin/cli.js"), "../openapi.yaml", "-o", filepath.Join(dir, "api.d.ts"))
	client, err := os.ReadFile("../scripts/contract/client.ts")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "client.ts"), client, 0o600); err != nil {
		t.Fatal(err)
	}
	run(filepath.Join(modules, "typescript/bin/tsc"), "--noEmit", "--strict", "--target", "es2022", "--module", "esnext",
		"--moduleResolution", "bundler", filepath.Join(dir, "client.ts"))
}
