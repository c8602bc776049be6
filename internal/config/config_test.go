package config_test

import (
	"strings"
	"testing"
	"time"

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
	if c.CloudHealthCheckerPrincipal != config.SandboxCheckerPrincipal {
		t.Errorf("the sandbox's checker principal = %q", c.CloudHealthCheckerPrincipal)
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
		{"secret without issuer and audience", env("AUTH_HS256_SECRET", secret), "set AUTH_ISSUER to the iss of your tokens and AUTH_AUDIENCE"},
		{"secret without audience", env("AUTH_HS256_SECRET", secret, "AUTH_ISSUER", "idp"), "set AUTH_AUDIENCE to the aud they carry for this service: required with AUTH_HS256_SECRET"},
		{"secret with a blank issuer", env("AUTH_HS256_SECRET", secret, "AUTH_ISSUER", "  ", "AUTH_AUDIENCE", "api"), "set AUTH_ISSUER"},
		{"jwks without issuer", env("AWS_INVITES_MODE", "aws", "AUTH_JWKS_URL", "https://idp.example.com/jwks", "AUTH_AUDIENCE", "api"), "set AUTH_ISSUER to the iss of your tokens: required with AUTH_JWKS_URL"},
		{"jwks without either", env("AWS_INVITES_MODE", "aws", "AUTH_JWKS_URL", "https://idp.example.com/jwks"), "required with AUTH_JWKS_URL"},
		{"metrics address without port", env("METRICS_ADDR", "127.0.0.1"), "METRICS_ADDR \"127.0.0.1\" is not host:port"},
		{"metrics address with a bad port", env("METRICS_ADDR", ":99999"), "METRICS_ADDR \":99999\" has no valid port"},
		{"metrics on the API's address", env("LISTEN_ADDR", "0.0.0.0:8080", "METRICS_ADDR", "0.0.0.0:8080"), "METRICS_ADDR \"0.0.0.0:8080\" is LISTEN_ADDR too"},
		{"profiler beyond loopback", env("PPROF_ADDR", "0.0.0.0:6060"), "PPROF_ADDR \"0.0.0.0:6060\" must be a loopback address"},
		{"profiler on a host name", env("PPROF_ADDR", "db.internal:6060"), "must be a loopback address"},
		{"profiler without port", env("PPROF_ADDR", "127.0.0.1"), "PPROF_ADDR \"127.0.0.1\" is not host:port"},
		{"metrics token with a space", env("METRICS_TOKEN", "two words"), "METRICS_TOKEN must not contain spaces"},
		{"metrics token with a newline", env("METRICS_TOKEN", "abc\ndef"), "METRICS_TOKEN must not contain spaces"},
		{"checker principal not an ARN", env("CLOUDHEALTH_CHECKER_PRINCIPAL", "aws-invites"), "CLOUDHEALTH_CHECKER_PRINCIPAL \"aws-invites\" is not an IAM principal's ARN"},
		{"checker principal of no account", env("CLOUDHEALTH_CHECKER_PRINCIPAL", "arn:aws:iam::12345:role/x"), "CLOUDHEALTH_CHECKER_PRINCIPAL"},
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
		"AUTH_ISSUER", "https://idp.example.com/", "AUTH_AUDIENCE", "aws-invites",
		"CORS_ALLOWED_ORIGINS", "https://app.example.com, http://localhost:5173")); err != nil {
		t.Errorf("a production configuration was refused: %v", err)
	}
}

// Only the development secret has an issuer and audience by default; what an operator sets is used as given.
func TestAuthIssuerAndAudience(t *testing.T) {
	secret := strings.Repeat("s", 32)
	cases := []struct {
		name     string
		env      func(string) string
		iss, aud string
		wantDev  bool
	}{
		{"development secret", env(), "aws-invites-dev", "aws-invites", true},
		{"development secret, own values", env("AUTH_ISSUER", "me", "AUTH_AUDIENCE", "us"), "me", "us", true},
		{"explicit secret", env("AUTH_HS256_SECRET", secret, "AUTH_ISSUER", " https://idp.example.com/ ", "AUTH_AUDIENCE", "aws-invites\n"),
			"https://idp.example.com/", "aws-invites", false},
		{"JWKS", env("AWS_INVITES_MODE", "aws", "AUTH_JWKS_URL", "https://idp.example.com/.well-known/jwks.json",
			"AUTH_ISSUER", "https://idp.example.com/", "AUTH_AUDIENCE", "api://aws-invites"), "https://idp.example.com/", "api://aws-invites", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := config.FromEnv(tc.env)
			if err != nil {
				t.Fatal(err)
			}
			if c.AuthIssuer != tc.iss || c.AuthAudience != tc.aud || c.DevAuth() != tc.wantDev {
				t.Errorf("issuer %q audience %q dev %v; want %q %q %v", c.AuthIssuer, c.AuthAudience, c.DevAuth(), tc.iss, tc.aud, tc.wantDev)
			}
		})
	}
}

func TestMetrics(t *testing.T) {
	c, err := config.FromEnv(env())
	if err != nil {
		t.Fatal(err)
	}
	if c.MetricsAddr != "" || c.MetricsToken != "" {
		t.Errorf("by default /metrics is served beside the API without a token, got addr %q token %q", c.MetricsAddr, c.MetricsToken)
	}
	c, err = config.FromEnv(env("METRICS_ADDR", "0.0.0.0:9090", "METRICS_TOKEN", " s3cr3t-scrape-token "))
	if err != nil {
		t.Fatal(err)
	}
	if c.MetricsAddr != "0.0.0.0:9090" || c.MetricsToken != "s3cr3t-scrape-token" {
		t.Errorf("addr %q token %q", c.MetricsAddr, c.MetricsToken)
	}
	for _, addr := range []string{"127.0.0.1:6060", "[::1]:6060", "localhost:6060"} {
		if c, err := config.FromEnv(env("PPROF_ADDR", addr)); err != nil || c.PprofAddr != addr {
			t.Errorf("PPROF_ADDR %s: %+v %v", addr, c.PprofAddr, err)
		}
	}
	// Port 0 twice is two different ports (tests do this).
	if _, err := config.FromEnv(env("LISTEN_ADDR", "127.0.0.1:0", "METRICS_ADDR", "127.0.0.1:0")); err != nil {
		t.Errorf("two ephemeral ports refused: %v", err)
	}
}

// Every variable FromEnv reads is documented in Env, which --help prints.
func TestEnvDocumentsEveryVariable(t *testing.T) {
	documented := map[string]bool{}
	for _, v := range config.Env {
		if v.Help == "" {
			t.Errorf("%s has no help", v.Name)
		}
		documented[v.Name] = true
	}
	read := map[string]bool{}
	if _, err := config.FromEnv(func(k string) string { read[k] = true; return "" }); err != nil {
		t.Fatal(err)
	}
	for k := range read {
		if !documented[k] && k != "HOME" && k != "XDG_DATA_HOME" {
			t.Errorf("FromEnv reads %s, which config.Env does not document", k)
		}
	}
	for _, k := range []string{"METRICS_ADDR", "METRICS_TOKEN", "AUTH_ISSUER", "AUTH_AUDIENCE"} {
		if !read[k] {
			t.Errorf("FromEnv does not read %s", k)
		}
	}
}

func TestSandboxInvitesPerDay(t *testing.T) {
	c, err := config.FromEnv(env())
	if err != nil {
		t.Fatal(err)
	}
	if c.SandboxInvitesPerDay != 20 {
		t.Errorf("default sandbox invitations a day: %d, want AWS's 20", c.SandboxInvitesPerDay)
	}
	if c, err = config.FromEnv(env("SANDBOX_INVITES_PER_DAY", "5000")); err != nil || c.SandboxInvitesPerDay != 5000 {
		t.Errorf("SANDBOX_INVITES_PER_DAY=5000: %d, %v", c.SandboxInvitesPerDay, err)
	}
	for _, v := range []string{"0", "-1", "many", "2.5"} {
		if _, err := config.FromEnv(env("SANDBOX_INVITES_PER_DAY", v)); err == nil || !strings.Contains(err.Error(), "SANDBOX_INVITES_PER_DAY") {
			t.Errorf("SANDBOX_INVITES_PER_DAY=%s: err = %v", v, err)
		}
	}
}

func TestRateLimits(t *testing.T) {
	c, err := config.FromEnv(env())
	if err != nil {
		t.Fatal(err)
	}
	if c.RateLimitRPS != 20 || c.RateLimitBurst != 40 || c.RateLimitAWSRPS != 2 || c.RateLimitAWSBurst != 10 {
		t.Errorf("default rate limits: %v/%d, aws %v/%d", c.RateLimitRPS, c.RateLimitBurst, c.RateLimitAWSRPS, c.RateLimitAWSBurst)
	}
	c, err = config.FromEnv(env("RATE_LIMIT_RPS", "0.5", "RATE_LIMIT_BURST", "3", "RATE_LIMIT_AWS_RPS", "0", "RATE_LIMIT_AWS_BURST", "0"))
	if err != nil {
		t.Fatal(err)
	}
	if c.RateLimitRPS != 0.5 || c.RateLimitBurst != 3 || c.RateLimitAWSRPS != 0 || c.RateLimitAWSBurst != 0 {
		t.Errorf("configured rate limits: %v/%d, aws %v/%d", c.RateLimitRPS, c.RateLimitBurst, c.RateLimitAWSRPS, c.RateLimitAWSBurst)
	}
	for _, kv := range [][2]string{
		{"RATE_LIMIT_RPS", "fast"}, {"RATE_LIMIT_RPS", "-1"}, {"RATE_LIMIT_AWS_RPS", "Inf"},
		{"RATE_LIMIT_BURST", "1.5"}, {"RATE_LIMIT_AWS_BURST", "-2"},
	} {
		_, err := config.FromEnv(env(kv[0], kv[1]))
		if err == nil || !strings.Contains(err.Error(), kv[0]+` "`+kv[1]+`"`) || !strings.Contains(err.Error(), "0 turns the limit off") {
			t.Errorf("%s=%s: err = %v", kv[0], kv[1], err)
		}
	}
	documented := map[string]bool{}
	for _, v := range config.Env {
		documented[v.Name] = true
	}
	for _, name := range []string{"RATE_LIMIT_RPS", "RATE_LIMIT_BURST", "RATE_LIMIT_AWS_RPS", "RATE_LIMIT_AWS_BURST"} {
		if !documented[name] {
			t.Errorf("%s is not in config.Env", name)
		}
	}
}

func TestBackgroundConcurrencyAndRoleSession(t *testing.T) {
	c, err := config.FromEnv(env())
	if err != nil {
		t.Fatal(err)
	}
	if c.BackgroundConcurrency != 256 || c.AWSRoleSessionDuration != time.Hour {
		t.Errorf("defaults: concurrency %d, role session %s; want 256 and 1h", c.BackgroundConcurrency, c.AWSRoleSessionDuration)
	}
	c, err = config.FromEnv(env("BACKGROUND_CONCURRENCY", "300", "AWS_ROLE_SESSION_DURATION", "4h"))
	if err != nil || c.BackgroundConcurrency != 300 || c.AWSRoleSessionDuration != 4*time.Hour {
		t.Errorf("set: concurrency %d, role session %s, %v", c.BackgroundConcurrency, c.AWSRoleSessionDuration, err)
	}
	for name, values := range map[string][]string{
		"BACKGROUND_CONCURRENCY":    {"0", "-3", "lots", "100000"},
		"AWS_ROLE_SESSION_DURATION": {"5m", "13h", "1 hour"},
	} {
		for _, v := range values {
			if _, err := config.FromEnv(env(name, v)); err == nil || !strings.Contains(err.Error(), name) {
				t.Errorf("%s=%s: err = %v", name, v, err)
			}
		}
	}
}
