package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/cloudreseller/aws-invites/internal/auth"
	"github.com/cloudreseller/aws-invites/internal/awsorg"
	"github.com/cloudreseller/aws-invites/internal/awsorg/orgsim"
	"github.com/cloudreseller/aws-invites/internal/cloudhealth"
	"github.com/cloudreseller/aws-invites/internal/cloudhealth/chsim"
	"github.com/cloudreseller/aws-invites/internal/config"
	"github.com/cloudreseller/aws-invites/internal/cur"
	"github.com/cloudreseller/aws-invites/internal/httpapi"
	"github.com/cloudreseller/aws-invites/internal/invite"
	"github.com/cloudreseller/aws-invites/internal/jobs"
	"github.com/cloudreseller/aws-invites/internal/mail"
	"github.com/cloudreseller/aws-invites/internal/reqlog"
	"github.com/cloudreseller/aws-invites/internal/service"
	"github.com/cloudreseller/aws-invites/internal/store"
	"github.com/cloudreseller/aws-invites/internal/telemetry"
	"github.com/cloudreseller/aws-invites/internal/webhook"
)

// The sandbox's demo tenant, printed at start so a newcomer can walk the flow in Swagger UI.
const (
	demoCustomerID = "demo-customer"
	demoProfileID  = "demo"
	demoManagement = "111111111111"
)

func newLogger(w io.Writer) *slog.Logger {
	return slog.New(telemetry.LogHandler(httpapi.LogHandler(slog.NewJSONHandler(w, nil))))
}

// apiConns is the share of the API's requests in the database pool and in the connections to AWS, beside the
// background work's.
const apiConns = 16

// openStore opens and migrates the database.
func openStore(ctx context.Context, cfg config.Config, log *slog.Logger) (*store.Store, error) {
	// River's workers, listener and leader election need connections of their own beside the requests'.
	st, err := store.Open(ctx, cfg.DatabaseURL, store.Options{Logger: log, Clock: systemClock, ConnectTimeout: cfg.DatabaseConnectTimeout,
		MaxConns: jobs.MinPoolConns(jobs.Config{Workers: cfg.BackgroundConcurrency}) + apiConns})
	if err != nil {
		return nil, fmt.Errorf("opening the database: %w", err)
	}
	if err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, fmt.Errorf("migrating the database: %w", err)
	}
	return st, nil
}

func migrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		fmt.Fprintf(stderr, "aws-invites migrate: unexpected argument %q\n", args[0])
		return errUsage
	}
	cfg, err := config.FromEnv(getenv)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, cfg, newLogger(stderr))
	if err != nil {
		return err
	}
	defer st.Close()
	v, err := st.MigrationVersion(ctx)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "database at migration version %d\n", v)
	return err
}

// serve runs the API until ctx ends, then shuts down gracefully.
func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		fmt.Fprintf(stderr, "aws-invites serve: unexpected argument %q\n", args[0])
		return errUsage
	}
	cfg, err := config.FromEnv(getenv)
	if err != nil {
		return err
	}
	log := newLogger(stderr)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	reg := prometheus.NewRegistry()
	if err := telemetry.RegisterRuntime(reg); err != nil {
		return err
	}
	tp, stopTracing, err := tracerProvider(ctx, getenv, log)
	if err != nil {
		return err
	}
	defer stopTracing()
	a, err := build(ctx, cfg, log, reg, tp)
	if err != nil {
		return err
	}
	defer a.close()
	st, runner := a.Store, a.Runner
	verifier, err := verifier(ctx, cfg)
	if err != nil {
		return err
	}

	// River's UI over the background jobs, for platform administrators (httpapi.JobsUIPath).
	jobsUI, err := runner.UI(ctx, httpapi.JobsUIPath)
	if err != nil {
		return err
	}
	var stopping atomic.Bool // set on SIGTERM: /readyz answers 503 from then on
	e, err := a.API(httpapi.Config{
		Verifier: verifier, Logger: log, Registry: reg, CORSOrigins: cfg.CORSAllowedOrigins, Stopping: stopping.Load, JobsUI: jobsUI, TracerProvider: tp,
		RequestTimeout: cfg.RequestTimeout,
		RateLimits: httpapi.RateLimits{RPS: cfg.RateLimitRPS, Burst: cfg.RateLimitBurst,
			AWSRPS: cfg.RateLimitAWSRPS, AWSBurst: cfg.RateLimitAWSBurst},
		MetricsToken: cfg.MetricsToken, MetricsElsewhere: cfg.MetricsAddr != "",
		CloudHealthCheckerPrincipal: cfg.CloudHealthCheckerPrincipal,
	})
	if err != nil {
		return err
	}

	if err := runner.Start(ctx); err != nil {
		return fmt.Errorf("starting background jobs: %w", err)
	}
	// Until the shutdown below stops them, the background jobs stop on the way out (an error return).
	jobsStopped := false
	defer func() {
		if jobsStopped {
			return
		}
		sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
		defer scancel()
		if err := runner.Stop(sctx); err != nil {
			log.Warn("stopping background jobs", "error", err)
		}
	}()

	if cfg.MetricsAddr != "" {
		stopMetrics, err := serveMetrics(cfg.MetricsAddr, httpapi.MetricsHandler(reg, cfg.MetricsToken), log)
		if err != nil {
			return err
		}
		defer stopMetrics()
	}
	if cfg.PprofAddr != "" {
		stopPprof, err := servePprof(cfg.PprofAddr, log)
		if err != nil {
			return err
		}
		defer stopPprof()
	}

	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return fmt.Errorf("LISTEN_ADDR %s: %w", cfg.ListenAddr, err)
	}
	srv := &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second}
	addr := ln.Addr().String()
	if cfg.Mode == config.ModeSandbox {
		if err := announceSandbox(ctx, cfg, st, addr, stdout, log); err != nil {
			return err
		}
	}
	log.Info("listening", "addr", addr, "mode", cfg.Mode, "database", st.Dialect())

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	// SIGTERM: first a drain, in which /readyz answers 503 while the listener still serves, so that load
	// balancers take the instance out before it stops answering; then the listener closes, and the requests in
	// flight and the running background jobs get SHUTDOWN_TIMEOUT to finish.
	stopping.Store(true)
	log.Info("draining", "drain", cfg.ShutdownDrain.String(), "timeout", cfg.ShutdownTimeout.String())
	drain := time.NewTimer(cfg.ShutdownDrain)
	select {
	case <-drain.C:
	case err := <-errc:
		drain.Stop()
		return fmt.Errorf("serving: %w", err)
	}
	// Clients that keep their connection open are told to close it after their next answer.
	srv.SetKeepAlivesEnabled(false)
	log.Info("shutting down", "timeout", cfg.ShutdownTimeout.String())
	jobsStopped = true
	sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer scancel()
	jobsErr := make(chan error, 1)
	go func() { jobsErr <- errors.Join(runner.Stop(sctx), a.Batches.Stop(sctx)) }()
	httpErr := srv.Shutdown(sctx)
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	jerr := <-jobsErr
	if httpErr != nil || sctx.Err() != nil {
		// Past the deadline: what still ran is cut off (its clients see a closed connection, its jobs are canceled
		// and retried by River), which the exit status says.
		srv.Close()
		log.Error("shutdown timed out: requests or background jobs were still running and were canceled",
			"timeout", cfg.ShutdownTimeout.String(), "http_error", errString(httpErr), "jobs_error", errString(jerr))
		return fmt.Errorf("shutdown exceeded SHUTDOWN_TIMEOUT (%s)", cfg.ShutdownTimeout)
	}
	if jerr != nil {
		log.Warn("stopping background jobs", "error", jerr)
	}
	log.Info("stopped")
	return nil
}

// errString is err's text, empty for nil.
func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// app is the service built for serve and the command-line tasks, and how to release what it holds.
type app struct {
	*service.Service
	close func()
}

// systemClock is the real time: what every rule reads in aws mode, and what the sandbox's test clock runs over. The
// command's tests replace it (TestMain) to run the whole command as if it were another instant.
var systemClock invite.Clock = invite.SystemClock{}

// build opens the database and builds the service over AWS Organizations, CloudHealth and the CUR: the real ones
// in aws mode, simulators served on loopback ports of their own (state kept in the database) in the sandbox.
func build(ctx context.Context, cfg config.Config, log *slog.Logger, reg prometheus.Registerer, tp trace.TracerProvider) (*app, error) {
	st, err := openStore(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	closeAll := func() { cancel(); st.Close() }
	fail := func(err error) (*app, error) {
		closeAll()
		return nil, err
	}
	// The time every rule reads: the real one, or in the sandbox its test clock, kept in the database.
	// A payer of the sandbox can have a test clock of its own, which its invites and its simulated AWS read.
	clock := systemClock
	var (
		sandboxClock  *store.SandboxClock
		sandboxClocks *store.SandboxClocks
	)
	if cfg.Mode == config.ModeSandbox {
		sandboxClock = st.SandboxClock(systemClock)
		sandboxClocks = st.SandboxClocks(sandboxClock)
		clock = sandboxClock
	}
	obs, err := newObservability(reg, tp)
	if err != nil {
		return fail(err)
	}
	orgs, err := organizations(ctx, cfg, st, clock, sandboxClocks, log, obs)
	if err != nil {
		return fail(err)
	}
	groups, err := billingGroups(ctx, cfg, orgs, clock, log, obs)
	if err != nil {
		return fail(err)
	}
	ch, err := cloudHealth(ctx, cfg, st, clock, log, obs, orgs.HTTPClient())
	if err != nil {
		return fail(err)
	}
	reader, err := curReader(ctx, cfg, obs)
	if err != nil {
		return fail(err)
	}
	mailer, mailbox, err := mailers(cfg, clock.Now, log)
	if err != nil {
		return fail(err)
	}
	// Webhook deliveries are signed, retried and given up in real time, which receivers check against their own
	// clocks; the sandbox's time travels in the events' bodies.
	parts := service.Parts{Store: st, Clock: clock, RealClock: systemClock, AWS: orgs, BillingGroups: groups, CloudHealth: ch.statuses, CloudHealthGrace: cfg.CloudHealthGrace,
		CloudHealthSetup: ch.setup, CloudHealthValidator: ch.validator, CUR: reader, Webhooks: webhook.NewDomain(cfg.WebhookAllowPrivate, systemClock.Now), Mailer: mailer,
		Jobs: jobs.Config{ReconcileEvery: cfg.ReconcileEvery, CloudHealthEvery: cfg.CloudHealthEvery, CURScanEvery: cfg.CURScanEvery,
			JobTimeout: 2 * time.Minute, RescueStuckAfter: 3 * time.Minute, Workers: cfg.BackgroundConcurrency},
		Log: log, Registry: reg, TracerProvider: tp, Quota: cfg.Quota}
	if cfg.Mode == config.ModeSandbox {
		parts.Clocks = sandboxClocks
		parts.Sandbox = &invite.SandboxWorld{Accounts: orgs, CloudHealth: ch.sim, CUR: reader, Clock: sandboxClock,
			Clocks: sandboxClocks, SharedClockCustomer: cfg.SandboxSharedClockCustomer}
		if mailbox != nil {
			parts.Sandbox.Mail = mail.Mailbox{Memory: mailbox}
		}
	}
	svc, err := service.New(ctx, parts)
	if err != nil {
		return fail(err)
	}
	return &app{Service: svc, close: closeAll}, nil
}

// cloudHealthParts are the CloudHealth adapters: statuses is nil when CloudHealth is not followed, sim is set
// only in the sandbox.
type cloudHealthParts struct {
	statuses  invite.CloudHealthStatuses
	setup     invite.CloudHealthSetupSource
	validator invite.CloudHealthValidator
	sim       *chsim.Simulator
}

// cloudHealth sets up the CloudHealth client (and in the sandbox its simulator). A billing profile's tenant is its
// own cloudHealthClientApiId, else CLOUDHEALTH_CLIENT_API_ID, else the key's own.
func cloudHealth(ctx context.Context, cfg config.Config, st *store.Store, clock invite.Clock, log *slog.Logger, obs observability, httpClient aws.HTTPClient) (cloudHealthParts, error) {
	parts := cloudHealthParts{}
	url, key, fallback := cfg.CloudHealthURL, cfg.CloudHealthAPIKey, cfg.CloudHealthExternalID
	deploy := cloudhealth.DeployOptions{TemplateURL: cfg.CloudHealthTemplateURL, CheckerPrincipal: cfg.CloudHealthCheckerPrincipal}
	if cfg.Mode == config.ModeSandbox {
		key = "sandbox-" + strconv.FormatInt(time.Now().UnixNano(), 36)
		sim, err := chsim.New(chsim.Options{APIKey: key, World: chsim.NewSQLStore(st.SQLDB()), Now: clock.Now})
		if err != nil {
			return parts, err
		}
		addr, err := serveLoopback(ctx, sim, "CloudHealth simulator", log)
		if err != nil {
			return parts, err
		}
		url = "http://" + addr
		parts.sim = sim
		if fallback == "" {
			fallback = "sandbox-external-id"
		}
		if deploy.TemplateURL == "" {
			// The sandbox serves the template itself (GET /cloudhealth-template.yaml); AWS could not load it from
			// here, so there is no quick-create link, but the address shows what the reseller would host.
			deploy.TemplateURL = "http://" + cfg.ListenAddr + "/cloudhealth-template.yaml"
		}
	}
	var source *cloudhealth.Source
	if key != "" {
		client, err := cloudhealth.New(url, key, obs.cloudHealthOptions())
		if err != nil {
			return parts, fmt.Errorf("CLOUDHEALTH_API_URL / CLOUDHEALTH_API_KEY: %w", err)
		}
		source = cloudhealth.NewSource(client, cloudhealth.SourceOptions{TenantOf: cloudhealth.TenantOfProfiles(st, cfg.CloudHealthClientID)})
		parts.statuses = source
	} else {
		log.Warn("CLOUDHEALTH_API_KEY is not set: CloudHealth statuses are not followed")
	}
	if source != nil || fallback != "" {
		setup := cloudhealth.NewSetupSource(source, fallback, deploy, cloudhealth.PolicyOptions{})
		parts.setup = setup
		checker, err := permissionChecker(ctx, cfg, log, obs, httpClient)
		if err != nil {
			return parts, err
		}
		parts.validator = &cloudhealth.Validator{Source: source, Setup: setup, Checker: checker, CheckerPrincipal: cfg.CloudHealthCheckerPrincipal, Now: clock.Now}
	}
	return parts, nil
}

// curReader sets up where payers' Cost and Usage Reports are read: S3 in aws mode, a folder of the data directory
// in the sandbox (where the sandbox delivers reports).
func curReader(ctx context.Context, cfg config.Config, obs observability) (cur.Reader, error) {
	if cfg.Mode == config.ModeSandbox {
		return cur.Reader{Store: cur.DirStore{Root: filepath.Join(cfg.DataDir, "sandbox-cur")}}, nil
	}
	s3c, err := s3Client(ctx, obs.aws.APIOption("", obs.calls))
	if err != nil {
		return cur.Reader{}, err
	}
	return cur.Reader{Store: cur.S3Store{Client: s3c}}, nil
}

// s3Client is an S3 client from the SDK's default configuration; with an endpoint override (a local S3 such as
// moto or MinIO) it addresses buckets by path.
func s3Client(ctx context.Context, apiOptions ...func(*middleware.Stack) error) (*s3.Client, error) {
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("loading the AWS configuration: %w", err)
	}
	awsCfg.APIOptions = append(awsCfg.APIOptions, reqlog.AWSRequestIDs)
	awsCfg.APIOptions = append(awsCfg.APIOptions, apiOptions...)
	return s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		if os.Getenv("AWS_ENDPOINT_URL_S3") != "" || os.Getenv("AWS_ENDPOINT_URL") != "" {
			// Local S3s know neither virtual-hosted buckets nor every checksum the SDK sends by default.
			o.UsePathStyle = true
			o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
			o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		}
	}), nil
}

// serveLoopback serves a simulator on a loopback port of its own until ctx ends.
func serveLoopback(ctx context.Context, h http.Handler, what string, log *slog.Logger) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("starting the sandbox's %s: %w", what, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("sandbox simulator stopped", "simulator", what, "error", err)
		}
	}()
	context.AfterFunc(ctx, func() { srv.Close() })
	return ln.Addr().String(), nil
}

// organizations builds the AWS Organizations adapter: over real AWS in aws mode; over the simulator, served on a
// loopback port of its own and keeping its state in the service's database, in the sandbox.
func organizations(ctx context.Context, cfg config.Config, st *store.Store, clock invite.Clock, clocks *store.SandboxClocks, log *slog.Logger, obs observability) (*awsorg.Client, error) {
	if cfg.Mode == config.ModeAWS {
		awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, fmt.Errorf("loading the AWS configuration: %w", err)
		}
		awsCfg.APIOptions = append(awsCfg.APIOptions, reqlog.AWSRequestIDs)
		return awsorg.New(awsCfg, awsorg.Options{RatePerSecond: 5, Burst: 5,
			MaxConns: cfg.BackgroundConcurrency + apiConns, RoleSessionDuration: cfg.AWSRoleSessionDuration,
			Metrics: obs.aws, Observer: obs.calls}), nil
	}
	sim := orgsim.New(orgsim.Options{Conventions: true, MaxAccounts: 1000, MaxInvitesPerDay: cfg.SandboxInvitesPerDay, World: orgsim.NewSQLStore(st.SQLDB()), Clock: clock.Now,
		ClockOf: clocks.TimeOf})
	addr, err := serveLoopback(ctx, sim, "AWS Organizations simulator", log)
	if err != nil {
		return nil, err
	}
	client := awsorg.New(aws.Config{Region: "us-east-1", APIOptions: []func(*middleware.Stack) error{reqlog.AWSRequestIDs}}, awsorg.Options{
		OrganizationsEndpoint: "http://" + addr, MaxConns: cfg.BackgroundConcurrency + apiConns,
		Metrics: obs.aws, Observer: obs.calls,
		CredentialsFor: func(p invite.Payer) aws.CredentialsProvider {
			return credentials.NewStaticCredentialsProvider(orgsim.AccessKeyFor(p.ManagementAccountID), "sandbox", "")
		},
	})
	return client, nil
}

func verifier(ctx context.Context, cfg config.Config) (*auth.Verifier, error) {
	secret := cfg.AuthHS256Secret
	if cfg.DevAuth() {
		var err error
		if secret, err = auth.LoadOrCreateDevSecret(cfg.DataDir); err != nil {
			return nil, fmt.Errorf("development token secret: %w", err)
		}
	}
	v, err := auth.NewVerifier(ctx, auth.Config{HS256Secret: secret, JWKSURL: cfg.AuthJWKSURL,
		Issuer: cfg.AuthIssuer, Audience: cfg.AuthAudience, Leeway: 30 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("token verification: %w", err)
	}
	return v, nil
}

// announceSandbox makes sure the demo billing profile exists and prints what a newcomer needs to try the API.
func announceSandbox(ctx context.Context, cfg config.Config, st *store.Store, addr string, stdout io.Writer, log *slog.Logger) error {
	log.Warn("SANDBOX MODE: AWS Organizations is simulated in process; no invitation reaches AWS. Set AWS_INVITES_MODE=aws for production.")
	if _, err := st.BillingProfile(ctx, demoProfileID); invite.IsCode(err, invite.CodeNotFound) {
		if _, _, err := st.PutBillingProfile(ctx, invite.BillingProfile{ID: demoProfileID, CustomerID: demoCustomerID,
			Name: "Demo payer", ManagementAccountID: demoManagement,
			CUR: invite.CURLocation{Bucket: "demo-cur", Prefix: "cur", Report: "payer-report", Format: invite.CURLegacy}}); err != nil {
			return fmt.Errorf("creating the demo billing profile: %w", err)
		}
	} else if err != nil {
		return err
	}
	if !cfg.DevAuth() {
		fmt.Fprintf(stdout, "aws-invites sandbox on http://%s (Swagger UI: http://%s/docs/), demo billing profile %q\n", addr, addr, demoProfileID)
		if cfg.AuthHS256Secret != nil {
			// A token signed with the operator's own secret would be a real credential left in the output: say how
			// to mint one instead.
			fmt.Fprintf(stdout, "Mint a token for it with the same environment (AUTH_HS256_SECRET, AUTH_ISSUER, AUTH_AUDIENCE):\n"+
				"  TOKEN=$(aws-invites token --customer %s --billing-profiles %s --permissions %s --ttl 24h)\n",
				demoCustomerID, demoProfileID, invite.PermissionLicensesManager)
		}
		return nil
	}
	secret, err := auth.LoadOrCreateDevSecret(cfg.DataDir)
	if err != nil {
		return err
	}
	tok, err := auth.Mint(secret, auth.Claims{Subject: "demo-user", Email: "demo-user@example.com", CustomerID: demoCustomerID,
		BillingProfiles: []string{demoProfileID}, Permissions: []string{invite.PermissionLicensesManager},
		Issuer: cfg.AuthIssuer, Audience: cfg.AuthAudience}, 24*time.Hour, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, `
aws-invites sandbox is running: AWS Organizations is simulated; nothing reaches AWS.

  API:                     http://%[1]s
  Swagger UI:              http://%[1]s/docs/   (Authorize with the token below)
  demo billing profile id: %[2]s   (payer management account %[3]s)
  development token (24h): %[4]s

Try:
  TOKEN=%[4]s
  curl -s -X POST http://%[1]s/billing-profiles/%[2]s/aws-invites -H "Authorization: Bearer $TOKEN" \
       -H 'Content-Type: application/json' -d '{"accountId":"123456789012","notes":"hello"}'

`, addr, demoProfileID, demoManagement, tok)
	return nil
}
