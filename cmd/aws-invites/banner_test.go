package main

import (
	"bytes"
	"context"
	"io"
	"regexp"
	"strings"
	"testing"
)

// With an HS256 secret of the operator's, the sandbox prints no token but the command that mints one; run as
// printed, with the same environment, it gives a token the API accepts.
func TestSandboxBannerWithOwnSecret(t *testing.T) {
	env := map[string]string{"AWS_INVITES_DATA_DIR": t.TempDir(), "AUTH_HS256_SECRET": strings.Repeat("o", 32),
		"AUTH_ISSUER": "https://idp.example.com/", "AUTH_AUDIENCE": "aws-invites"}
	inst := start(t, env)
	out := inst.stdout.String()
	if strings.Contains(out, "development token") {
		t.Errorf("a development token was printed although AUTH_HS256_SECRET is set:\n%s", out)
	}
	m := regexp.MustCompile(`TOKEN=\$\(aws-invites (token [^)\n]+)\)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("the banner does not say how to mint a token:\n%s", out)
	}
	var tok bytes.Buffer
	if err := run(context.Background(), strings.Fields(m[1]), func(k string) string { return env[k] }, &tok, io.Discard); err != nil {
		t.Fatalf("aws-invites %s: %v", m[1], err)
	}
	status, inv, _ := call(t, "POST", inst.url+"/billing-profiles/demo/aws-invites", strings.TrimSpace(tok.String()),
		map[string]any{"accountId": "123456789012"})
	if status != 201 || inv["state"] != "invited" {
		t.Fatalf("invite with the minted token: %d %v", status, inv)
	}
}
