// Package config reads the service's configuration from the environment, with defaults for the embedded sandbox
// and checks that refuse a setting that is wrong or dangerous with one line saying what and why.
package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/cloudreseller/aws-invites/internal/invite"
)

// Modes of operation.
const (
	ModeSandbox = "sandbox" // an in-process AWS Organizations simulator; nothing reaches AWS
	ModeAWS     = "aws"     // the real AWS, through the SDK's default credential chain
)

// Config is the service's configuration.
type Config struct {
	Mode               string
	ListenAddr         string
	DatabaseURL        string
	DataDir            string
	AuthHS256Secret    []byte
	AuthJWKSURL        string
	AuthIssuer         string
	AuthAudience       string
	CORSAllowedOrigins []string
	ShutdownTimeout    time.Duration
	// WebhookAllowPrivate lets webhook URLs be plain http and resolve to loopback or private addresses (the
	// sandbox's local receivers); off in aws mode unless set.
	WebhookAllowPrivate bool
	// SMTPURL (smtp://user:pass@host:587, or smtps:// for implicit TLS) and SMTPFrom configure email; without
	// SMTPURL no email is sent (the sandbox keeps its mail in memory instead, readable at /sandbox/mail).
	SMTPURL  string
	SMTPFrom string

	// MetricsAddr, when set, is where /metrics is served instead of beside the API on ListenAddr.
	MetricsAddr string
	// MetricsToken, when set, is the bearer token /metrics requires.
	MetricsToken string
	// PprofAddr, when set, is a loopback host:port serving Go's profiler; empty turns it off.
	PprofAddr string

	CloudHealthURL        string
	CloudHealthAPIKey     string
	CloudHealthClientID   string
	CloudHealthExternalID string
	CloudHealthGrace      time.Duration

	ReconcileEvery   time.Duration
	CloudHealthEvery time.Duration
	CURScanEvery     time.Duration

	// RateLimitRPS and RateLimitBurst are each caller's token bucket for all its requests; RateLimitAWSRPS and
	// RateLimitAWSBurst the tighter one for the requests that call AWS. A rate or burst of 0 turns a bucket off.
	RateLimitRPS      float64
	RateLimitBurst    int
	RateLimitAWSRPS   float64
	RateLimitAWSBurst int

	// SandboxInvitesPerDay is how many invitations the sandbox's simulated AWS Organizations lets each payer send
	// in any 24 hours (accepted ones excepted); AWS's own quota by default. Load tests raise it.
	SandboxInvitesPerDay int
}

// DefaultSandboxInvitesPerDay is AWS Organizations' quota of invitations a payer organization may send a day.
const DefaultSandboxInvitesPerDay = 20

// Default rate limits: generous for people and integrations, and for AWS calls well within what one payer
// organization's Organizations quotas allow. They hold per replica (the buckets live in each process).
const (
	DefaultRateLimitRPS      = 20
	DefaultRateLimitBurst    = 40
	DefaultRateLimitAWSRPS   = 2
	DefaultRateLimitAWSBurst = 10
)

// Env documents every environment variable the service reads, for --help and the README.
var Env = []struct{ Name, Help string }{
	{"AWS_INVITES_MODE", "sandbox (default: an in-process AWS Organizations simulator) or aws (real AWS via the SDK's default credential chain and AWS_ENDPOINT_URL_* overrides); required when DATABASE_URL is PostgreSQL"},
	{"DATABASE_URL", "postgres://... URL, or a SQLite file path (default: <data dir>/aws-invites.db)"},
	{"LISTEN_ADDR", "address to serve on (default 127.0.0.1:8080)"},
	{"AWS_INVITES_DATA_DIR", "where the SQLite file and the development token secret live (default $XDG_DATA_HOME/aws-invites or ~/.local/share/aws-invites)"},
	{"AUTH_HS256_SECRET", "shared secret for HS256 tokens, at least 32 bytes (default in the sandbox: a development secret kept in the data dir)"},
	{"AUTH_JWKS_URL", "JWKS URL for RS256/ES256/EdDSA tokens (production)"},
	{"AUTH_ISSUER", "the iss tokens must carry; required with AUTH_JWKS_URL or AUTH_HS256_SECRET (default with the development secret: aws-invites-dev)"},
	{"AUTH_AUDIENCE", "an aud tokens must carry; required with AUTH_JWKS_URL or AUTH_HS256_SECRET (default with the development secret: aws-invites)"},
	{"CORS_ALLOWED_ORIGINS", "comma-separated origins of the web app allowed to call the API (default none)"},
	{"METRICS_ADDR", "host:port to serve /metrics on, on a listener of its own; the API's address then does not serve it (default: /metrics beside the API)"},
	{"PPROF_ADDR", "loopback host:port serving Go's profiler at /debug/pprof/ (CPU, heap, allocations) for measuring under load (default: off)"},
	{"METRICS_TOKEN", "when set, /metrics requires Authorization: Bearer <METRICS_TOKEN> (default: no token)"},
	{"SHUTDOWN_TIMEOUT", "how long SIGTERM waits for requests in flight (default 15s)"},
	{"RECONCILE_INTERVAL", "how often each payer's handshakes are reconciled with AWS (default " + short(invite.DefaultReconcileEvery) + ")"},
	{"CLOUDHEALTH_API_URL", "CloudHealth API (default https://chapi.cloudhealthtech.com; the sandbox runs a simulator)"},
	{"CLOUDHEALTH_API_KEY", "CloudHealth API key; CloudHealth is not followed in aws mode without it"},
	{"CLOUDHEALTH_CLIENT_API_ID", "partner keys: the customer tenant the key acts for (client_api_id)"},
	{"CLOUDHEALTH_EXTERNAL_ID", "external id for the CloudHealth IAM setup of accounts CloudHealth does not list yet"},
	{"CLOUDHEALTH_GRACE", "how long a joined account may stay unknown or without payer in CloudHealth before it is critical (default " + short(invite.DefaultCloudHealthGrace) + ")"},
	{"CLOUDHEALTH_INTERVAL", "how often CloudHealth's account list is read (default " + short(invite.DefaultCloudHealthEvery) + ")"},
	{"CUR_SCAN_INTERVAL", "how often each payer's Cost and Usage Report is looked at (default " + short(invite.DefaultCURScanEvery) + ")"},
	{"WEBHOOK_ALLOW_PRIVATE_NETWORKS", "true lets webhook URLs use plain http and resolve to loopback or private addresses (default true in the sandbox, false in aws mode)"},
	{"SMTP_URL", "email server, smtp://user:pass@host:587 (STARTTLS) or smtps://...:465; without it no email is sent (the sandbox keeps mail at GET /sandbox/mail)"},
	{"SMTP_FROM", "the From address of the service's email (default aws-invites@localhost)"},
	{"RATE_LIMIT_RPS", fmt.Sprintf("requests a second each caller (token subject and customer; without a valid token, client address) may sustain, per replica; 0 turns the limit off (default %d)", DefaultRateLimitRPS)},
	{"RATE_LIMIT_BURST", fmt.Sprintf("requests each caller may send at once; 0 turns the limit off (default %d)", DefaultRateLimitBurst)},
	{"RATE_LIMIT_AWS_RPS", fmt.Sprintf("the same for requests that call AWS (invite, re-send, cancel, refresh); 0 turns it off (default %d)", DefaultRateLimitAWSRPS)},
	{"RATE_LIMIT_AWS_BURST", fmt.Sprintf("requests that call AWS each caller may send at once; 0 turns it off (default %d)", DefaultRateLimitAWSBurst)},
	{"SANDBOX_INVITES_PER_DAY", fmt.Sprintf("sandbox only: how many invitations the simulated AWS Organizations lets each payer send in any 24 hours, accepted ones excepted (default %d, AWS's quota; load tests raise it)", DefaultSandboxInvitesPerDay)},
}

// FromEnv reads the configuration; getenv is os.Getenv outside tests.
func FromEnv(getenv func(string) string) (Config, error) {
	c := Config{
		Mode:         strings.TrimSpace(getenv("AWS_INVITES_MODE")),
		ListenAddr:   orDefault(getenv("LISTEN_ADDR"), "127.0.0.1:8080"),
		DatabaseURL:  strings.TrimSpace(getenv("DATABASE_URL")),
		DataDir:      getenv("AWS_INVITES_DATA_DIR"),
		AuthJWKSURL:  strings.TrimSpace(getenv("AUTH_JWKS_URL")),
		AuthIssuer:   strings.TrimSpace(getenv("AUTH_ISSUER")),
		AuthAudience: strings.TrimSpace(getenv("AUTH_AUDIENCE")),
		MetricsAddr:  strings.TrimSpace(getenv("METRICS_ADDR")),
		MetricsToken: strings.TrimSpace(getenv("METRICS_TOKEN")),
		PprofAddr:    strings.TrimSpace(getenv("PPROF_ADDR")),
	}
	if s := getenv("AUTH_HS256_SECRET"); s != "" {
		c.AuthHS256Secret = []byte(s)
	}
	if c.DataDir == "" {
		c.DataDir = defaultDataDir(getenv)
	}
	if c.DatabaseURL == "" {
		c.DatabaseURL = filepath.Join(c.DataDir, "aws-invites.db")
	}
	switch c.Mode {
	case ModeSandbox, ModeAWS:
	case "":
		if IsPostgres(c.DatabaseURL) {
			return c, errors.New("AWS_INVITES_MODE is not set but DATABASE_URL is PostgreSQL: set AWS_INVITES_MODE=aws for production, or =sandbox to run the simulator, so a forgotten setting never turns production into a sandbox")
		}
		c.Mode = ModeSandbox
	default:
		return c, fmt.Errorf("AWS_INVITES_MODE must be %q or %q, not %q", ModeSandbox, ModeAWS, c.Mode)
	}
	c.WebhookAllowPrivate = c.Mode == ModeSandbox
	if v := strings.TrimSpace(getenv("WEBHOOK_ALLOW_PRIVATE_NETWORKS")); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return c, fmt.Errorf("WEBHOOK_ALLOW_PRIVATE_NETWORKS %q is not true or false", v)
		}
		c.WebhookAllowPrivate = b
	}
	c.SMTPURL = strings.TrimSpace(getenv("SMTP_URL"))
	c.SMTPFrom = orDefault(strings.TrimSpace(getenv("SMTP_FROM")), "aws-invites@localhost")
	if c.SMTPURL != "" {
		if u, err := url.Parse(c.SMTPURL); err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Host == "" {
			return c, errors.New("SMTP_URL is not an smtp:// or smtps:// URL like smtp://user:pass@mail.example.com:587")
		}
	}
	if err := checkAddr("LISTEN_ADDR", c.ListenAddr); err != nil {
		return c, err
	}
	if c.MetricsAddr != "" {
		if err := checkAddr("METRICS_ADDR", c.MetricsAddr); err != nil {
			return c, err
		}
		if _, port, _ := net.SplitHostPort(c.MetricsAddr); c.MetricsAddr == c.ListenAddr && port != "0" {
			return c, fmt.Errorf("METRICS_ADDR %q is LISTEN_ADDR too: give /metrics another port, or unset METRICS_ADDR to serve it beside the API", c.MetricsAddr)
		}
	}
	if c.PprofAddr != "" {
		if err := checkAddr("PPROF_ADDR", c.PprofAddr); err != nil {
			return c, err
		}
		// The profiler shows the process's memory and command line: it never listens beyond this machine.
		if host, _, _ := net.SplitHostPort(c.PprofAddr); !isLoopback(host) {
			return c, fmt.Errorf("PPROF_ADDR %q must be a loopback address such as 127.0.0.1:6060: the profiler is not for the network", c.PprofAddr)
		}
	}
	// The token travels as "Authorization: Bearer <token>", which cannot carry spaces or control characters.
	if strings.ContainsFunc(c.MetricsToken, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return c, errors.New("METRICS_TOKEN must not contain spaces or control characters: it is sent as Authorization: Bearer <token>")
	}
	if c.AuthHS256Secret != nil && len(c.AuthHS256Secret) < 32 {
		return c, fmt.Errorf("AUTH_HS256_SECRET must be at least 32 bytes, it has %d", len(c.AuthHS256Secret))
	}
	if c.AuthJWKSURL != "" {
		u, err := url.Parse(c.AuthJWKSURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return c, fmt.Errorf("AUTH_JWKS_URL %q is not an http(s) URL", c.AuthJWKSURL)
		}
		if u.Scheme == "http" && !isLoopback(u.Hostname()) {
			return c, fmt.Errorf("AUTH_JWKS_URL %q must use https (plain http only on loopback)", c.AuthJWKSURL)
		}
	}
	if c.Mode == ModeAWS && c.AuthHS256Secret == nil && c.AuthJWKSURL == "" {
		return c, errors.New("AWS_INVITES_MODE=aws needs AUTH_JWKS_URL (or AUTH_HS256_SECRET): the development token secret is for the sandbox only")
	}
	if c.DevAuth() {
		c.AuthIssuer = orDefault(c.AuthIssuer, "aws-invites-dev")
		c.AuthAudience = orDefault(c.AuthAudience, "aws-invites")
	} else if missing := missingAuthClaims(c); missing != "" {
		// Defaults here would be guesses about someone else's identity provider; without the checks, a token
		// issued for any other service would be accepted.
		return c, fmt.Errorf("set %s: required with %s (only the sandbox's development secret has defaults)", missing, authSource(c))
	}
	for _, o := range strings.Split(getenv("CORS_ALLOWED_ORIGINS"), ",") {
		o = strings.TrimSpace(o)
		if o == "" {
			continue
		}
		u, err := url.Parse(o)
		if o != "*" && (err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/")) {
			return c, fmt.Errorf("CORS_ALLOWED_ORIGINS: %q is not an origin like https://app.example.com", o)
		}
		c.CORSAllowedOrigins = append(c.CORSAllowedOrigins, strings.TrimSuffix(o, "/"))
	}
	c.CloudHealthURL = orDefault(getenv("CLOUDHEALTH_API_URL"), "https://chapi.cloudhealthtech.com")
	c.CloudHealthAPIKey = strings.TrimSpace(getenv("CLOUDHEALTH_API_KEY"))
	c.CloudHealthClientID = strings.TrimSpace(getenv("CLOUDHEALTH_CLIENT_API_ID"))
	c.CloudHealthExternalID = strings.TrimSpace(getenv("CLOUDHEALTH_EXTERNAL_ID"))
	if u, err := url.Parse(c.CloudHealthURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return c, fmt.Errorf("CLOUDHEALTH_API_URL %q is not an http(s) URL", c.CloudHealthURL)
	}
	for _, d := range []struct {
		name string
		dst  *time.Duration
		def  time.Duration
	}{
		{"SHUTDOWN_TIMEOUT", &c.ShutdownTimeout, 15 * time.Second},
		{"CLOUDHEALTH_GRACE", &c.CloudHealthGrace, invite.DefaultCloudHealthGrace},
		{"RECONCILE_INTERVAL", &c.ReconcileEvery, invite.DefaultReconcileEvery},
		{"CLOUDHEALTH_INTERVAL", &c.CloudHealthEvery, invite.DefaultCloudHealthEvery},
		{"CUR_SCAN_INTERVAL", &c.CURScanEvery, invite.DefaultCURScanEvery},
	} {
		*d.dst = d.def
		s := getenv(d.name)
		if s == "" {
			continue
		}
		v, err := time.ParseDuration(s)
		if err != nil || v < 0 || (v == 0 && d.name != "SHUTDOWN_TIMEOUT") {
			return c, fmt.Errorf("%s %q is not a positive duration like %s", d.name, s, short(d.def))
		}
		*d.dst = v
	}
	c.SandboxInvitesPerDay = DefaultSandboxInvitesPerDay
	if s := strings.TrimSpace(getenv("SANDBOX_INVITES_PER_DAY")); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 || v > 1_000_000 {
			return c, fmt.Errorf("SANDBOX_INVITES_PER_DAY %q is not a whole number of invitations like %d", s, DefaultSandboxInvitesPerDay)
		}
		c.SandboxInvitesPerDay = v
	}
	return c, readRateLimits(getenv, &c)
}

// readRateLimits reads the RATE_LIMIT_* variables: rates are decimal numbers, bursts whole numbers, none negative.
func readRateLimits(getenv func(string) string, c *Config) error {
	c.RateLimitRPS, c.RateLimitAWSRPS = DefaultRateLimitRPS, DefaultRateLimitAWSRPS
	c.RateLimitBurst, c.RateLimitAWSBurst = DefaultRateLimitBurst, DefaultRateLimitAWSBurst
	for _, r := range []struct {
		name string
		dst  *float64
	}{{"RATE_LIMIT_RPS", &c.RateLimitRPS}, {"RATE_LIMIT_AWS_RPS", &c.RateLimitAWSRPS}} {
		s := strings.TrimSpace(getenv(r.name))
		if s == "" {
			continue
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
			return fmt.Errorf("%s %q is not a number of requests a second like 20 or 0.5 (0 turns the limit off)", r.name, s)
		}
		*r.dst = v
	}
	for _, b := range []struct {
		name string
		dst  *int
	}{{"RATE_LIMIT_BURST", &c.RateLimitBurst}, {"RATE_LIMIT_AWS_BURST", &c.RateLimitAWSBurst}} {
		s := strings.TrimSpace(getenv(b.name))
		if s == "" {
			continue
		}
		v, err := strconv.Atoi(s)
		if err != nil || v < 0 || v > 1_000_000 {
			return fmt.Errorf("%s %q is not a whole number of requests like 40 (0 turns the limit off)", b.name, s)
		}
		*b.dst = v
	}
	return nil
}

// missingAuthClaims says which of AUTH_ISSUER and AUTH_AUDIENCE are unset and what they hold, or returns "".
func missingAuthClaims(c Config) string {
	var names []string
	if c.AuthIssuer == "" {
		names = append(names, "AUTH_ISSUER to the iss of your tokens")
	}
	if c.AuthAudience == "" {
		names = append(names, "AUTH_AUDIENCE to the aud they carry for this service")
	}
	return strings.Join(names, " and ")
}

// authSource names the variable that selected non-development token checks.
func authSource(c Config) string {
	if c.AuthJWKSURL != "" {
		return "AUTH_JWKS_URL"
	}
	return "AUTH_HS256_SECRET"
}

// checkAddr refuses an address that net.Listen could not use, naming the variable it came from.
func checkAddr(name, addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%s %q is not host:port: %v", name, addr, err)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%s %q has no valid port", name, addr)
	}
	return nil
}

// DevAuth reports whether tokens are checked with the development secret kept in the data directory.
func (c Config) DevAuth() bool { return c.AuthHS256Secret == nil && c.AuthJWKSURL == "" }

// IsPostgres reports whether a DATABASE_URL names PostgreSQL rather than a SQLite file.
func IsPostgres(u string) bool {
	return strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://")
}

func defaultDataDir(getenv func(string) string) string {
	if x := getenv("XDG_DATA_HOME"); x != "" {
		return filepath.Join(x, "aws-invites")
	}
	home := getenv("HOME")
	if home == "" {
		if h, err := os.UserHomeDir(); err == nil {
			home = h
		}
	}
	if home == "" {
		return ".aws-invites"
	}
	return filepath.Join(home, ".local", "share", "aws-invites")
}

// short writes a duration as people do: 1m, 10m, 1h, 72h (not 1m0s).
func short(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func orDefault(v, def string) string {
	if strings.TrimSpace(v) == "" {
		return def
	}
	return v
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
