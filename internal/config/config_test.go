package config_test

import (
	"strings"
	"testing"

	"github.com/cloudreseller/aws-invites/internal/config"
)

func env(kv ...string) func(string) string {
	m := map[string]string{"HOME": "/home/someone"}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func TestDefaultsAreTheSandbox(t *testing.T) {
	c, err := config.FromEnv(env())
	if err != nil {
		t.Fatal(err)
	}
	if c.Mode != config.ModeSandbox || c.ListenAddr != "127.0.0.1:8080" || !c.DevAuth() {
		t.Errorf("defaults: %+v", c)
	}
	if c.DatabaseURL != "/home/someone/.local/share/aws-invites/aws-invites.db" {
		t.Errorf("database = %q", c.DatabaseURL)
	}
	if c.AuthIssuer != "aws-invites-dev" || c.AuthAudience != "aws-invites" {
		t.Errorf("dev issuer/audience = %q/%q", c.AuthIssuer, c.AuthAudience)
	}
}

func TestRefusals(t *testing.T) {
	secret := strings.Repeat("s", 32)
	cases := []struct {
		name string
		env  func(string) string
		want string
	}{
		{"postgres without a mode", env("DATABASE_URL", "postgres://db/app"), "AWS_INVITES_MODE is not set"},
		{"unknown mode", env("AWS_INVITES_MODE", "prod"), "AWS_INVITES_MODE must be"},
		{"aws mode without token keys", env("AWS_INVITES_MODE", "aws"), "needs AUTH_JWKS_URL"},
		{"short secret", env("AUTH_HS256_SECRET", "short"), "at least 32 bytes"},
		{"bad listen address", env("LISTEN_ADDR", "8080"), "LISTEN_ADDR"},
		{"jwks over plain http", env("AUTH_JWKS_URL", "http://idp.example.com/jwks"), "https"},
		{"bad origin", env("CORS_ALLOWED_ORIGINS", "app.example.com"), "CORS_ALLOWED_ORIGINS"},
		{"bad shutdown timeout", env("SHUTDOWN_TIMEOUT", "soon"), "SHUTDOWN_TIMEOUT"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.FromEnv(tc.env)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
	if _, err := config.FromEnv(env("AWS_INVITES_MODE", "aws", "DATABASE_URL", "postgres://db/app", "AUTH_HS256_SECRET", secret,
		"CORS_ALLOWED_ORIGINS", "https://app.example.com, http://localhost:5173")); err != nil {
		t.Errorf("a production configuration was refused: %v", err)
	}
}
