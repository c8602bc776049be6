// Package config reads the service's configuration from the environment, with defaults for the embedded sandbox
// and checks that refuse a setting that is wrong or dangerous with one line saying what and why.
//
// Each concern has its reader (readers.go) beside the variables it reads, documented in Env for --help; every
// default is a named constant (the domain's own from internal/invite where it has one) that the reader and the
// help text both use.
package config

import (
	"slices"
	"time"
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
	// ShutdownDrain is how long the API keeps serving after SIGTERM while /readyz answers 503.
	ShutdownDrain time.Duration
	// RequestTimeout is the deadline of each API request.
	RequestTimeout time.Duration
	// DatabaseConnectTimeout bounds opening one PostgreSQL connection.
	DatabaseConnectTimeout time.Duration
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
	// CloudHealthTemplateURL is where the reseller hosts the CloudHealth role's template (an https S3 URL), for
	// the quick-create links.
	CloudHealthTemplateURL string
	// CloudHealthCheckerPrincipal is the reseller's principal the template's optional checker role trusts; with it
	// the setup offers that role and validation checks each permission through it. The sandbox has a default.
	CloudHealthCheckerPrincipal string
	CloudHealthGrace            time.Duration

	ReconcileEvery   time.Duration
	CloudHealthEvery time.Duration
	CURScanEvery     time.Duration
	// BackgroundConcurrency is how many payers' background jobs one replica works at once (jobs.Config.Workers);
	// the database pool and the AWS connections are sized from it.
	BackgroundConcurrency int
	// AWSRoleSessionDuration is how long an assumed payer role's session lasts (awsorg.Options.RoleSessionDuration).
	AWSRoleSessionDuration time.Duration

	// RateLimitRPS and RateLimitBurst are each caller's token bucket for all its requests; RateLimitAWSRPS and
	// RateLimitAWSBurst the tighter one for the requests that call AWS, counted in AWS calls. A rate or burst of 0
	// turns a bucket off.
	RateLimitRPS      float64
	RateLimitBurst    int
	RateLimitAWSRPS   float64
	RateLimitAWSBurst int

	// SandboxInvitesPerDay is how many invitations the sandbox's simulated AWS Organizations lets each payer send
	// in any 24 hours (accepted ones excepted); AWS's own quota by default. Load tests raise it.
	SandboxInvitesPerDay int
	// SandboxSharedClockCustomer is the one customer whose users may move the sandbox's shared clock besides
	// platform administrators; none when empty.
	SandboxSharedClockCustomer string

	// Quota is the payers' daily invitation quota and account quota as the service keeps them (quota.go).
	Quota QuotaRules
}

// Var is one environment variable the service reads, with what --help says of it.
type Var struct{ Name, Help string }

// Env documents every environment variable the service reads, for --help and the README, concern by concern.
var Env = slices.Concat(modeEnv, serverEnv, databaseEnv, authEnv, jobsEnv, cloudHealthEnv, notifyEnv, rateLimitEnv, sandboxEnv, quotaEnv)

// FromEnv reads the configuration; getenv is os.Getenv outside tests. The first setting refused stops it.
func FromEnv(getenv func(string) string) (Config, error) {
	var c Config
	e := env(getenv)
	for _, read := range []func(env, *Config) error{
		readDatabase, readMode, readNotify, readServer, readAuth, readCloudHealth, readJobs, readSandbox, readRateLimits,
		readQuota,
	} {
		if err := read(e, &c); err != nil {
			return c, err
		}
	}
	return c, nil
}

// DevAuth reports whether tokens are checked with the development secret kept in the data directory.
func (c Config) DevAuth() bool { return c.AuthHS256Secret == nil && c.AuthJWKSURL == "" }
