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

	"github.com/cloudreseller/aws-invites/internal/awsorg"
	"github.com/cloudreseller/aws-invites/internal/cloudhealth"
	"github.com/cloudreseller/aws-invites/internal/invite"
	"github.com/cloudreseller/aws-invites/internal/jobs"
)

// The readers, one a concern, each after the defaults and the documentation of the variables it reads. A reader
// fills its part of Config and refuses a wrong setting with one line naming the variable.

// env is the environment as FromEnv reads it.
type env func(string) string

// trimmed is a variable's value without surrounding white space.
func (e env) trimmed(name string) string { return strings.TrimSpace(e(name)) }

// or is a variable's value as given, or def when it is unset or blank.
func (e env) or(name, def string) string {
	if v := e(name); strings.TrimSpace(v) != "" {
		return v
	}
	return def
}

// duration is a variable's duration, def when unset; zero is refused unless allowZero.
func (e env) duration(name string, def time.Duration, allowZero bool) (time.Duration, error) {
	s := e(name)
	if s == "" {
		return def, nil
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 || (v == 0 && !allowZero) {
		return 0, fmt.Errorf("%s %q is not a positive duration like %s", name, s, short(def))
	}
	return v, nil
}

// Mode (AWS or the sandbox).

var modeEnv = []Var{
	{"AWS_INVITES_MODE", ModeSandbox + " (default: an in-process AWS Organizations simulator) or " + ModeAWS + " (real AWS via the SDK's default credential chain and AWS_ENDPOINT_URL_* overrides); required when DATABASE_URL is PostgreSQL"},
}

// readMode reads AWS_INVITES_MODE: the sandbox by default, except on PostgreSQL, where it must be said, so a
// forgotten setting never turns production into a sandbox. It needs the database read.
func readMode(e env, c *Config) error {
	c.Mode = e.trimmed("AWS_INVITES_MODE")
	switch c.Mode {
	case ModeSandbox, ModeAWS:
	case "":
		if IsPostgres(c.DatabaseURL) {
			return errors.New("AWS_INVITES_MODE is not set but DATABASE_URL is PostgreSQL: set AWS_INVITES_MODE=aws for production, or =sandbox to run the simulator, so a forgotten setting never turns production into a sandbox")
		}
		c.Mode = ModeSandbox
	default:
		return fmt.Errorf("AWS_INVITES_MODE must be %q or %q, not %q", ModeSandbox, ModeAWS, c.Mode)
	}
	return nil
}

// Server: the API's address, its CORS origins, metrics, the profiler, shutdown.

const (
	// DefaultListenAddr is where the API is served.
	DefaultListenAddr = "127.0.0.1:8080"
	// DefaultShutdownTimeout is how long, after the drain, the requests in flight and the running background jobs
	// have to finish.
	DefaultShutdownTimeout = 15 * time.Second
	// DefaultRequestTimeout bounds each API request: its statements and its AWS calls end with it, so a database
	// that hangs gives 503s instead of hung requests.
	DefaultRequestTimeout = 30 * time.Second
	// DefaultShutdownDrain is how long the listener keeps serving after SIGTERM while /readyz answers 503: long
	// enough for a load balancer's readiness checks (commonly every 5 s or less) to take the instance out.
	DefaultShutdownDrain = 5 * time.Second
)

var serverEnv = []Var{
	{"LISTEN_ADDR", "address to serve on (default " + DefaultListenAddr + ")"},
	{"CORS_ALLOWED_ORIGINS", "comma-separated origins of the web app allowed to call the API (default none)"},
	{"METRICS_ADDR", "host:port to serve /metrics on, on a listener of its own; the API's address then does not serve it (default: /metrics beside the API)"},
	{"PPROF_ADDR", "loopback host:port serving Go's profiler at /debug/pprof/ (CPU, heap, allocations) for measuring under load (default: off)"},
	{"METRICS_TOKEN", "when set, /metrics requires Authorization: Bearer <METRICS_TOKEN> (default: no token)"},
	{"OTEL_EXPORTER_OTLP_ENDPOINT", "turns OpenTelemetry tracing on: spans go by OTLP over HTTP to <endpoint>/v1/traces (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT); the SDK's other OTEL_* variables apply, OTEL_SDK_DISABLED=true turns it off (default: off)"},
	{"REQUEST_TIMEOUT", "the deadline of each API request: its database statements and AWS calls are canceled at it, and it answers 503 (default " + short(DefaultRequestTimeout) + "); an Idempotency-Key whose request died with the database is settled by the first retry after REQUEST_TIMEOUT plus 5s"},
	{"SHUTDOWN_DRAIN", "after SIGTERM, how long /readyz answers 503 while the API still serves, so load balancers stop sending requests before the listener closes; 0 closes at once (default " + short(DefaultShutdownDrain) + ")"},
	{"SHUTDOWN_TIMEOUT", "after the drain, how long requests in flight and running background jobs have to finish; beyond it they are canceled and the process exits 1 (default " + short(DefaultShutdownTimeout) + ")"},
}

// readServer reads where and how the API is served.
func readServer(e env, c *Config) error {
	c.ListenAddr = e.or("LISTEN_ADDR", DefaultListenAddr)
	c.MetricsAddr, c.MetricsToken, c.PprofAddr = e.trimmed("METRICS_ADDR"), e.trimmed("METRICS_TOKEN"), e.trimmed("PPROF_ADDR")
	if err := checkAddr("LISTEN_ADDR", c.ListenAddr); err != nil {
		return err
	}
	if c.MetricsAddr != "" {
		if err := checkAddr("METRICS_ADDR", c.MetricsAddr); err != nil {
			return err
		}
		if _, port, _ := net.SplitHostPort(c.MetricsAddr); c.MetricsAddr == c.ListenAddr && port != "0" {
			return fmt.Errorf("METRICS_ADDR %q is LISTEN_ADDR too: give /metrics another port, or unset METRICS_ADDR to serve it beside the API", c.MetricsAddr)
		}
	}
	if c.PprofAddr != "" {
		if err := checkAddr("PPROF_ADDR", c.PprofAddr); err != nil {
			return err
		}
		// The profiler shows the process's memory and command line: it never listens beyond this machine.
		if host, _, _ := net.SplitHostPort(c.PprofAddr); !isLoopback(host) {
			return fmt.Errorf("PPROF_ADDR %q must be a loopback address such as 127.0.0.1:6060: the profiler is not for the network", c.PprofAddr)
		}
	}
	// The token travels as "Authorization: Bearer <token>", which cannot carry spaces or control characters.
	if strings.ContainsFunc(c.MetricsToken, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return errors.New("METRICS_TOKEN must not contain spaces or control characters: it is sent as Authorization: Bearer <token>")
	}
	origins, err := readOrigins(e("CORS_ALLOWED_ORIGINS"))
	if err != nil {
		return err
	}
	c.CORSAllowedOrigins = origins
	if c.RequestTimeout, err = e.duration("REQUEST_TIMEOUT", DefaultRequestTimeout, false); err != nil {
		return err
	}
	if c.ShutdownDrain, err = e.duration("SHUTDOWN_DRAIN", DefaultShutdownDrain, true); err != nil {
		return err
	}
	c.ShutdownTimeout, err = e.duration("SHUTDOWN_TIMEOUT", DefaultShutdownTimeout, true)
	return err
}

// readOrigins reads a comma-separated list of web origins (or *).
func readOrigins(list string) ([]string, error) {
	var out []string
	for _, o := range strings.Split(list, ",") {
		o = strings.TrimSpace(o)
		if o == "" {
			continue
		}
		u, err := url.Parse(o)
		if o != "*" && (err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/")) {
			return nil, fmt.Errorf("CORS_ALLOWED_ORIGINS: %q is not an origin like https://app.example.com", o)
		}
		out = append(out, strings.TrimSuffix(o, "/"))
	}
	return out, nil
}

// Database: where the data lives.

const (
	// appDir is the service's folder under the user's data home.
	appDir = "aws-invites"
	// DatabaseFile is the SQLite file in the data directory when DATABASE_URL is not set.
	DatabaseFile = "aws-invites.db"
)

// DefaultDatabaseConnectTimeout bounds opening one PostgreSQL connection, so a database host that does not answer
// fails a request (503) instead of holding it for the operating system's TCP timeout.
const DefaultDatabaseConnectTimeout = 5 * time.Second

var databaseEnv = []Var{
	{"DATABASE_URL", "postgres://... URL, or a SQLite file path (default: <data dir>/" + DatabaseFile + ")"},
	{"DATABASE_CONNECT_TIMEOUT", "how long opening a PostgreSQL connection may take (default " + short(DefaultDatabaseConnectTimeout) + "; connect_timeout in DATABASE_URL wins)"},
	{"AWS_INVITES_DATA_DIR", "where the SQLite file and the development token secret live (default $XDG_DATA_HOME/" + appDir + " or ~/.local/share/" + appDir + ")"},
}

// readDatabase reads the data directory and the database, a SQLite file in it by default.
func readDatabase(e env, c *Config) error {
	c.DataDir = e("AWS_INVITES_DATA_DIR")
	if c.DataDir == "" {
		c.DataDir = defaultDataDir(e)
	}
	c.DatabaseURL = e.trimmed("DATABASE_URL")
	if c.DatabaseURL == "" {
		c.DatabaseURL = filepath.Join(c.DataDir, DatabaseFile)
	}
	var err error
	c.DatabaseConnectTimeout, err = e.duration("DATABASE_CONNECT_TIMEOUT", DefaultDatabaseConnectTimeout, false)
	return err
}

// IsPostgres reports whether a DATABASE_URL names PostgreSQL rather than a SQLite file.
func IsPostgres(u string) bool {
	return strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://")
}

// defaultDataDir is the XDG data home's folder of the service, else the home directory's.
func defaultDataDir(e env) string {
	if x := e("XDG_DATA_HOME"); x != "" {
		return filepath.Join(x, appDir)
	}
	home := e("HOME")
	if home == "" {
		if h, err := os.UserHomeDir(); err == nil {
			home = h
		}
	}
	if home == "" {
		return "." + appDir
	}
	return filepath.Join(home, ".local", "share", appDir)
}

// Auth: how bearer tokens are checked.

const (
	// DevIssuer and DevAudience are the iss and aud of tokens signed with the development secret.
	DevIssuer   = "aws-invites-dev"
	DevAudience = "aws-invites"
)

var authEnv = []Var{
	{"AUTH_HS256_SECRET", "shared secret for HS256 tokens, at least 32 bytes (default in the sandbox: a development secret kept in the data dir)"},
	{"AUTH_JWKS_URL", "JWKS URL for RS256/ES256/EdDSA tokens (production)"},
	{"AUTH_ISSUER", "the iss tokens must carry; required with AUTH_JWKS_URL or AUTH_HS256_SECRET (default with the development secret: " + DevIssuer + ")"},
	{"AUTH_AUDIENCE", "an aud tokens must carry; required with AUTH_JWKS_URL or AUTH_HS256_SECRET (default with the development secret: " + DevAudience + ")"},
}

// readAuth reads how tokens are checked: a shared secret or a JWKS, with the issuer and audience they must name;
// without either, the sandbox's development secret. It needs the mode read.
func readAuth(e env, c *Config) error {
	if s := e("AUTH_HS256_SECRET"); s != "" {
		c.AuthHS256Secret = []byte(s)
	}
	c.AuthJWKSURL, c.AuthIssuer, c.AuthAudience = e.trimmed("AUTH_JWKS_URL"), e.trimmed("AUTH_ISSUER"), e.trimmed("AUTH_AUDIENCE")
	if c.AuthHS256Secret != nil && len(c.AuthHS256Secret) < 32 {
		return fmt.Errorf("AUTH_HS256_SECRET must be at least 32 bytes, it has %d", len(c.AuthHS256Secret))
	}
	if c.AuthJWKSURL != "" {
		u, err := url.Parse(c.AuthJWKSURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("AUTH_JWKS_URL %q is not an http(s) URL", c.AuthJWKSURL)
		}
		if u.Scheme == "http" && !isLoopback(u.Hostname()) {
			return fmt.Errorf("AUTH_JWKS_URL %q must use https (plain http only on loopback)", c.AuthJWKSURL)
		}
	}
	if c.Mode == ModeAWS && c.AuthHS256Secret == nil && c.AuthJWKSURL == "" {
		return errors.New("AWS_INVITES_MODE=aws needs AUTH_JWKS_URL (or AUTH_HS256_SECRET): the development token secret is for the sandbox only")
	}
	if c.DevAuth() {
		c.AuthIssuer = orDefault(c.AuthIssuer, DevIssuer)
		c.AuthAudience = orDefault(c.AuthAudience, DevAudience)
	} else if missing := missingAuthClaims(*c); missing != "" {
		// Defaults here would be guesses about someone else's identity provider; without the checks, a token
		// issued for any other service would be accepted.
		return fmt.Errorf("set %s: required with %s (only the sandbox's development secret has defaults)", missing, authSource(*c))
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

// Jobs: how often the background work runs (the domain's defaults), how much of it at once, and how long a payer's
// role session lasts.

var jobsEnv = []Var{
	{"RECONCILE_INTERVAL", "how often each payer's handshakes are reconciled with AWS (default " + short(invite.DefaultReconcileEvery) + ")"},
	{"CLOUDHEALTH_INTERVAL", "how often CloudHealth's account list is read (default " + short(invite.DefaultCloudHealthEvery) + ")"},
	{"CUR_SCAN_INTERVAL", "how often each payer's Cost and Usage Report is looked at (default " + short(invite.DefaultCURScanEvery) + ")"},
	{"BACKGROUND_CONCURRENCY", fmt.Sprintf("how many payers one replica reconciles at once (CUR scans: a sixteenth of it, at least %d); a payer waiting on AWS holds no database connection, so size it to payers x AWS latency, not to the database: the pool grows by one connection per %d (default %d: 10,000 payers a minute at 100 ms a call need about 120 in flight)",
		jobs.DefaultCURWorkers, jobs.WorkersPerConn, jobs.DefaultWorkers)},
	{"AWS_ROLE_SESSION_DURATION", "how long a session of a payer's IAM role assumed through STS lasts, reused until shortly before it ends; at most the role's MaxSessionDuration, and 1h when the service's own credentials are a role session (role chaining) (default " + short(awsorg.DefaultRoleSessionDuration) + ", from 15m to 12h)"},
}

// The bounds of the background settings: more concurrency than this would exhaust the database server's
// connections (one per WorkersPerConn workers, per replica) and STS refuses sessions outside these.
const (
	maxBackgroundConcurrency = 4096
	minRoleSessionDuration   = 15 * time.Minute
	maxRoleSessionDuration   = 12 * time.Hour
)

// readJobs reads the intervals of the periodic work, its concurrency and the role session's length.
func readJobs(e env, c *Config) error {
	for _, d := range []struct {
		name string
		dst  *time.Duration
		def  time.Duration
	}{
		{"RECONCILE_INTERVAL", &c.ReconcileEvery, invite.DefaultReconcileEvery},
		{"CLOUDHEALTH_INTERVAL", &c.CloudHealthEvery, invite.DefaultCloudHealthEvery},
		{"CUR_SCAN_INTERVAL", &c.CURScanEvery, invite.DefaultCURScanEvery},
	} {
		v, err := e.duration(d.name, d.def, false)
		if err != nil {
			return err
		}
		*d.dst = v
	}
	c.BackgroundConcurrency = jobs.DefaultWorkers
	if s := e.trimmed("BACKGROUND_CONCURRENCY"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 || v > maxBackgroundConcurrency {
			return fmt.Errorf("BACKGROUND_CONCURRENCY %q is not a whole number of payers from 1 to %d like %d", s, maxBackgroundConcurrency, jobs.DefaultWorkers)
		}
		c.BackgroundConcurrency = v
	}
	var err error
	c.AWSRoleSessionDuration, err = e.duration("AWS_ROLE_SESSION_DURATION", awsorg.DefaultRoleSessionDuration, false)
	if err != nil {
		return err
	}
	if d := c.AWSRoleSessionDuration; d < minRoleSessionDuration || d > maxRoleSessionDuration {
		return fmt.Errorf("AWS_ROLE_SESSION_DURATION %s is outside what STS grants (%s to %s)", short(d), short(minRoleSessionDuration), short(maxRoleSessionDuration))
	}
	return nil
}

// CloudHealth: its API and how long a joined account may be unknown to it.

// SandboxCheckerPrincipal is the sandbox's CLOUDHEALTH_CHECKER_PRINCIPAL by default: the simulated IAM's
// accounts trust it, so the sandbox's validations check each permission.
const SandboxCheckerPrincipal = "arn:aws:iam::000000000000:role/aws-invites-sandbox"

// DefaultCloudHealthURL is CloudHealth's API.
const DefaultCloudHealthURL = "https://chapi.cloudhealthtech.com"

var cloudHealthEnv = []Var{
	{"CLOUDHEALTH_API_URL", "CloudHealth API (default " + DefaultCloudHealthURL + "; the sandbox runs a simulator)"},
	{"CLOUDHEALTH_API_KEY", "CloudHealth API key; CloudHealth is not followed in aws mode without it"},
	{"CLOUDHEALTH_CLIENT_API_ID", "partner keys: the default customer tenant the key acts for (client_api_id); a billing profile's cloudHealthClientApiId wins"},
	{"CLOUDHEALTH_EXTERNAL_ID", "external id for the CloudHealth IAM setup when no CloudHealth key is set (with a key, CloudHealth's generate_external_id gives it, once per tenant)"},
	{"CLOUDHEALTH_TEMPLATE_URL", "https S3 URL where the reseller hosts the CloudHealth role's template (`aws-invites cloudhealth-template` prints it): the setup then offers a quick-create link"},
	{"CLOUDHEALTH_CHECKER_PRINCIPAL", "the reseller's IAM principal (a role ARN) the optional checker role of the CloudHealth template trusts: the setup and the template offer it, and in aws mode validation assumes " + cloudhealth.CheckerRoleName + " with these credentials to check each permission (default none; the sandbox: " + SandboxCheckerPrincipal + ")"},
	{"CLOUDHEALTH_GRACE", "how long a joined account may stay unknown or without payer in CloudHealth before it is critical (default " + short(invite.DefaultCloudHealthGrace) + ")"},
}

// readCloudHealth reads how CloudHealth is reached and its grace period.
func readCloudHealth(e env, c *Config) error {
	c.CloudHealthURL = e.or("CLOUDHEALTH_API_URL", DefaultCloudHealthURL)
	c.CloudHealthAPIKey = e.trimmed("CLOUDHEALTH_API_KEY")
	c.CloudHealthClientID = e.trimmed("CLOUDHEALTH_CLIENT_API_ID")
	c.CloudHealthExternalID = e.trimmed("CLOUDHEALTH_EXTERNAL_ID")
	c.CloudHealthTemplateURL = e.trimmed("CLOUDHEALTH_TEMPLATE_URL")
	if t := c.CloudHealthTemplateURL; t != "" {
		if u, err := url.Parse(t); err != nil || u.Scheme != "https" || u.Host == "" {
			return fmt.Errorf("CLOUDHEALTH_TEMPLATE_URL %q is not an https URL (CloudFormation loads templates from Amazon S3)", t)
		}
	}
	c.CloudHealthCheckerPrincipal = e.trimmed("CLOUDHEALTH_CHECKER_PRINCIPAL")
	if p := c.CloudHealthCheckerPrincipal; !cloudhealth.ValidCheckerPrincipal(p) {
		return fmt.Errorf("CLOUDHEALTH_CHECKER_PRINCIPAL %q is not an IAM principal's ARN like arn:aws:iam::123456789012:role/aws-invites", p)
	}
	if c.Mode == ModeSandbox && c.CloudHealthCheckerPrincipal == "" {
		c.CloudHealthCheckerPrincipal = SandboxCheckerPrincipal
	}
	if u, err := url.Parse(c.CloudHealthURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("CLOUDHEALTH_API_URL %q is not an http(s) URL", c.CloudHealthURL)
	}
	var err error
	c.CloudHealthGrace, err = e.duration("CLOUDHEALTH_GRACE", invite.DefaultCloudHealthGrace, false)
	return err
}

// Notifications: webhook destinations and email.

// DefaultSMTPFrom is the From address of the service's email.
const DefaultSMTPFrom = "aws-invites@localhost"

// webhooksMayBePrivate is whether webhook URLs may be plain http and private addresses in a mode, by default: the
// sandbox's receivers are local.
func webhooksMayBePrivate(mode string) bool { return mode == ModeSandbox }

var notifyEnv = []Var{
	{"WEBHOOK_ALLOW_PRIVATE_NETWORKS", fmt.Sprintf("true lets webhook URLs use plain http and resolve to loopback or private addresses (default %t in the %s, %t in %s mode)",
		webhooksMayBePrivate(ModeSandbox), ModeSandbox, webhooksMayBePrivate(ModeAWS), ModeAWS)},
	{"SMTP_URL", "email server, smtp://user:pass@host:587 (STARTTLS) or smtps://...:465; without it no email is sent (the sandbox keeps mail at GET /sandbox/mail)"},
	{"SMTP_FROM", "the From address of the service's email (default " + DefaultSMTPFrom + ")"},
}

// readNotify reads where webhooks may go and how email is sent. It needs the mode read.
func readNotify(e env, c *Config) error {
	c.WebhookAllowPrivate = webhooksMayBePrivate(c.Mode)
	if v := e.trimmed("WEBHOOK_ALLOW_PRIVATE_NETWORKS"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("WEBHOOK_ALLOW_PRIVATE_NETWORKS %q is not true or false", v)
		}
		c.WebhookAllowPrivate = b
	}
	c.SMTPURL = e.trimmed("SMTP_URL")
	c.SMTPFrom = orDefault(e.trimmed("SMTP_FROM"), DefaultSMTPFrom)
	if c.SMTPURL != "" {
		if u, err := url.Parse(c.SMTPURL); err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Host == "" {
			return errors.New("SMTP_URL is not an smtp:// or smtps:// URL like smtp://user:pass@mail.example.com:587")
		}
	}
	return nil
}

// Rate limits: each caller's token buckets.

// Default rate limits: generous for people and integrations, and for AWS calls well within what one payer
// organization's Organizations quotas allow. They hold per replica (the buckets live in each process).
const (
	DefaultRateLimitRPS      = 20
	DefaultRateLimitBurst    = 40
	DefaultRateLimitAWSRPS   = 2
	DefaultRateLimitAWSBurst = 10
)

var rateLimitEnv = []Var{
	{"RATE_LIMIT_RPS", fmt.Sprintf("requests a second each caller (token subject and customer; without a valid token, client address) may sustain, per replica; 0 turns the limit off (default %d)", DefaultRateLimitRPS)},
	{"RATE_LIMIT_BURST", fmt.Sprintf("requests each caller may send at once; 0 turns the limit off (default %d)", DefaultRateLimitBurst)},
	{"RATE_LIMIT_AWS_RPS", fmt.Sprintf("AWS calls a second each caller's requests may sustain, per replica (a request takes its operation's x-aws-calls in openapi.yaml); 0 turns the limit off (default %d)", DefaultRateLimitAWSRPS)},
	{"RATE_LIMIT_AWS_BURST", fmt.Sprintf("AWS calls each caller's requests may make at once; 0 turns it off (default %d)", DefaultRateLimitAWSBurst)},
}

// readRateLimits reads the RATE_LIMIT_* variables: rates are decimal numbers, bursts whole numbers, none negative.
func readRateLimits(e env, c *Config) (err error) {
	if c.RateLimitRPS, err = e.rate("RATE_LIMIT_RPS", DefaultRateLimitRPS); err != nil {
		return err
	}
	if c.RateLimitAWSRPS, err = e.rate("RATE_LIMIT_AWS_RPS", DefaultRateLimitAWSRPS); err != nil {
		return err
	}
	if c.RateLimitBurst, err = e.burst("RATE_LIMIT_BURST", DefaultRateLimitBurst); err != nil {
		return err
	}
	c.RateLimitAWSBurst, err = e.burst("RATE_LIMIT_AWS_BURST", DefaultRateLimitAWSBurst)
	return err
}

// rate is a rate limit's rate, def when unset: a decimal number, not negative.
func (e env) rate(name string, def float64) (float64, error) {
	s := e.trimmed(name)
	if s == "" {
		return def, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, fmt.Errorf("%s %q is not a number of requests a second like 20 or 0.5 (0 turns the limit off)", name, s)
	}
	return v, nil
}

// burst is a rate limit's burst, def when unset: a whole number, not negative.
func (e env) burst(name string, def int) (int, error) {
	s := e.trimmed(name)
	if s == "" {
		return def, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 0 || v > 1_000_000 {
		return 0, fmt.Errorf("%s %q is not a whole number of requests like 40 (0 turns the limit off)", name, s)
	}
	return v, nil
}

// Sandbox: the simulated AWS's quota.

// DefaultSandboxInvitesPerDay is AWS Organizations' quota of invitations a payer organization may send a day.
const DefaultSandboxInvitesPerDay = 20

// DefaultSandboxSharedClockCustomer is the customer whose users may move the sandbox's shared clock by default:
// the embedded default's demo customer, the one user of a sandbox on a developer's machine.
const DefaultSandboxSharedClockCustomer = "demo-customer"

var sandboxEnv = []Var{
	{"SANDBOX_SHARED_CLOCK_CUSTOMER", fmt.Sprintf("sandbox only: the one customer whose licenses_manager users may move the shared test clock besides platform administrators (default %s, the demo customer; `none` for platform administrators only, as a sandbox shared by partners wants: each partner gets a test clock of its own)", DefaultSandboxSharedClockCustomer)},
	{"SANDBOX_INVITES_PER_DAY", fmt.Sprintf("sandbox only: how many invitations the simulated AWS Organizations lets each payer send in any 24 hours, accepted ones excepted (default %d, AWS's quota; load tests raise it)", DefaultSandboxInvitesPerDay)},
}

// readSandbox reads the sandbox's settings.
func readSandbox(e env, c *Config) error {
	c.SandboxInvitesPerDay = DefaultSandboxInvitesPerDay
	switch s := e.trimmed("SANDBOX_SHARED_CLOCK_CUSTOMER"); s {
	case "":
		c.SandboxSharedClockCustomer = DefaultSandboxSharedClockCustomer
	case "none":
		c.SandboxSharedClockCustomer = ""
	default:
		c.SandboxSharedClockCustomer = s
	}
	if s := e.trimmed("SANDBOX_INVITES_PER_DAY"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 || v > 1_000_000 {
			return fmt.Errorf("SANDBOX_INVITES_PER_DAY %q is not a whole number of invitations like %d", s, DefaultSandboxInvitesPerDay)
		}
		c.SandboxInvitesPerDay = v
	}
	return nil
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
