// Package httpapi serves the aws-invites REST API with Echo: the generated strict server bound to the domain,
// request validation against openapi.yaml, authentication, one problem+json error handler, Swagger UI, health and
// metrics.
package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	echomiddleware "github.com/oapi-codegen/echo-middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/swaggest/swgui"
	"github.com/swaggest/swgui/v5emb"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/cloudreseller/aws-invites/api"
	"github.com/cloudreseller/aws-invites/internal/cloudhealth"
	"github.com/cloudreseller/aws-invites/internal/invite"
	"github.com/cloudreseller/aws-invites/internal/notify"
)

// maxBodyBytes is the largest request body accepted.
const maxBodyBytes = 64 << 10

// Verifier checks a bearer token and returns who is calling.
type Verifier interface {
	Verify(ctx context.Context, token string) (invite.Principal, error)
}

// Config is what the HTTP layer is built from.
type Config struct {
	Invites    *invite.Invites
	Batches    *invite.Batches // batches of invites; their endpoints answer 404 without
	Profiles   *invite.Profiles
	Reconciler *invite.Reconciler
	// Sandbox is set only in the sandbox: its endpoints answer 404 sandbox_only without it, and with it every response says
	// X-Sandbox: true.
	Sandbox     *invite.Sandbox
	Webhooks    *notify.Webhooks
	Verifier    Verifier
	Idempotency IdempotencyStore
	Clock       invite.Clock // stamps idempotency records; SystemClock when nil
	// Clocks is the time of each payer (the sandbox's test clocks), and ProfilePayer the payer of a billing
	// profile: a sandbox response about one payer says its time. Clock for everything when nil.
	Clocks       invite.Clocks
	ProfilePayer func(ctx context.Context, billingProfileID string) (string, bool)
	Ready        func(context.Context) error // readiness probe (the database)
	Logger       *slog.Logger
	Registry     *prometheus.Registry // metrics are registered here and served at /metrics
	CORSOrigins  []string
	// RateLimits are each caller's token buckets; the zero value turns rate limiting off.
	RateLimits RateLimits

	// MetricsToken, when set, is the bearer token /metrics requires (see MetricsHandler).
	MetricsToken string
	// MetricsElsewhere leaves /metrics out of this server, for a caller that serves MetricsHandler on a listener
	// of its own (METRICS_ADDR); the zero value serves it here, beside the API.
	MetricsElsewhere bool

	// DatabaseUnavailable reports whether an error says the database could not be reached (store.Unavailable):
	// such a request answers 503 database_unavailable, which a client may retry, instead of 500. Nil: none does.
	DatabaseUnavailable func(error) bool

	// RequestTimeout is the deadline of each request: its statements and AWS calls are canceled at it (a database
	// that hangs answers 503 instead of holding requests), and an Idempotency-Key whose request died is settled by
	// its retry once that long (plus 5 s) passed. None when zero.
	RequestTimeout time.Duration

	// TracerProvider, when set, makes a span of every request (a caller's W3C traceparent is its parent).
	TracerProvider trace.TracerProvider

	// JobsUI is River's web UI over the background jobs, served at JobsUIPath to platform administrators only,
	// read-only (jobsui.go); not served when nil.
	JobsUI http.Handler

	// CloudHealth tells platform administrators how each CloudHealth tenant is read; nil without CloudHealth.
	CloudHealth invite.CloudHealthReporter
	// CloudHealthCheckerPrincipal is the default of the hosted CloudHealth template's CheckerPrincipal parameter
	// (CLOUDHEALTH_CHECKER_PRINCIPAL); none when empty.
	CloudHealthCheckerPrincipal string

	// Stopping reports whether the process is shutting down: /readyz then answers 503 at once, so a load balancer
	// stops sending new requests while the listener still serves (SHUTDOWN_DRAIN). Nil: never.
	Stopping func() bool
}

// New builds the Echo server.
func New(cfg Config) (*echo.Echo, error) {
	spec, err := api.GetSpec()
	if err != nil {
		return nil, fmt.Errorf("loading the embedded openapi spec: %w", err)
	}
	spec.Servers = nil // the validator must not check the Host header

	clock := cfg.Clock
	if clock == nil {
		clock = invite.SystemClock{}
	}

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = errorHandler(cfg.Logger, cfg.DatabaseUnavailable)
	e.Pre(headAsGet(e))
	if cfg.TracerProvider != nil {
		e.Use(tracing(cfg.TracerProvider, propagation.TraceContext{}))
	}
	e.Use(requestID(), observe(cfg.Logger, cfg.Registry), middleware.Recover())
	if cfg.RequestTimeout > 0 {
		e.Use(deadline(cfg.RequestTimeout))
	}
	if cfg.Sandbox != nil {
		// Every sandbox response says so, and tells the time that applies to it (the payer's own test clock for
		// what concerns one payer, else the shared one), so a client can reason about resendAvailableAt and expiry
		// while a test clock runs ahead of the real one. It is read when the answer is written, after the work.
		times := sandboxTimes{shared: clock, clocks: cfg.Clocks, payerOf: cfg.ProfilePayer}
		e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
			return func(c echo.Context) error {
				h := c.Response().Header()
				h.Set("X-Sandbox", "true")
				c.Response().Before(func() {
					h.Set("X-Sandbox-Time", times.of(c).UTC().Format(time.RFC3339Nano))
				})
				return next(c)
			}
		})
	}
	if len(cfg.CORSOrigins) > 0 {
		e.Use(middleware.CORSWithConfig(middleware.CORSConfig{
			AllowOrigins: cfg.CORSOrigins,
			AllowMethods: []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete},
			AllowHeaders: []string{echo.HeaderAuthorization, echo.HeaderContentType, echo.HeaderXRequestID, "traceparent",
				"Idempotency-Key", "If-Match", "Prefer"},
			ExposeHeaders: []string{echo.HeaderWWWAuthenticate, "ETag", echo.HeaderLocation, echo.HeaderRetryAfter,
				echo.HeaderXRequestID, "Idempotent-Replayed", "X-Sandbox", "X-Sandbox-Time", "RateLimit", "RateLimit-Policy",
				"Preference-Applied"},
			MaxAge: 600,
		}))
	}
	routes := &routeTable{}
	e.Use(methodNotAllowed(routes))
	e.Use(identify(cfg.Verifier))
	calls, err := awsCalls(spec)
	if err != nil {
		return nil, fmt.Errorf("the embedded openapi spec: %w", err)
	}
	if lim := newLimiter(cfg.RateLimits, clock, calls); lim.on() {
		e.Use(lim.middleware())
	}
	e.Use(checkInput(maxBodyBytes, specRoutes(spec, secured(spec)),
		specRoutes(spec, func(op *openapi3.Operation) bool { return op.RequestBody != nil })))

	// Documentation and operations endpoints sit beside the API and are not described by its spec.
	docs := v5emb.NewWithConfig(swgui.Config{Title: "aws-invites", SwaggerJSON: "/openapi.yaml", BasePath: "/docs/",
		SettingsUI: map[string]string{"persistAuthorization": "true"}})("aws-invites", "/openapi.yaml", "/docs/")
	e.GET("/docs", func(c echo.Context) error { return c.Redirect(http.StatusMovedPermanently, "/docs/") })
	e.GET("/docs/*", echo.WrapHandler(docs))
	e.GET("/openapi.yaml", func(c echo.Context) error { return c.Blob(http.StatusOK, "application/yaml", api.SpecYAML) })
	if !cfg.MetricsElsewhere {
		e.GET("/metrics", echo.WrapHandler(MetricsHandler(cfg.Registry, cfg.MetricsToken)))
	}
	if cfg.JobsUI != nil {
		mountJobsUI(e, cfg.JobsUI, cfg.Verifier)
	}

	roles, err := requiredRoles(spec)
	if err != nil {
		return nil, fmt.Errorf("the embedded openapi spec: %w", err)
	}
	if _, err := operationAccess(spec); err != nil {
		return nil, fmt.Errorf("the embedded openapi spec: %w", err)
	}
	validator, err := requestValidator(spec, &echomiddleware.Options{
		Options: openapi3filter.Options{AuthenticationFunc: authenticate(cfg.Verifier, roles)},
		ErrorHandler: func(c echo.Context, err *echo.HTTPError) error {
			return err
		},
	}, func(c echo.Context, op *openapi3.Operation) error {
		return admit(c, c.Request(), cfg.Verifier, roles[op])
	})
	if err != nil {
		return nil, fmt.Errorf("the embedded openapi spec: %w", err)
	}
	g := e.Group("", validator)
	srv := &server{invites: cfg.Invites, batches: cfg.Batches, profiles: cfg.Profiles, reconciler: cfg.Reconciler, sandbox: cfg.Sandbox, webhooks: cfg.Webhooks,
		idem: newIdempotency(cfg.Idempotency, clock, cfg.RequestTimeout, cfg.Logger), ready: cfg.Ready, stopping: cfg.Stopping, mode: "aws", cloudHealth: cfg.CloudHealth,
		hostedTemplate: sync.OnceValues(func() ([]byte, error) {
			return cloudhealth.HostedTemplate(cloudhealth.PolicyOptions{}, cfg.CloudHealthCheckerPrincipal)
		})}
	if cfg.Sandbox != nil {
		srv.mode = "sandbox"
	}
	api.RegisterHandlers(g, api.NewStrictHandler(srv, nil))
	routes.load(e.Routes())
	return e, nil
}

// sandboxTimes tells the sandbox time that applies to a request: its payer's, named by the path (a billing
// profile's payer, or a payer's own id), else the shared time.
type sandboxTimes struct {
	shared  invite.Clock
	clocks  invite.Clocks
	payerOf func(ctx context.Context, billingProfileID string) (string, bool)
}

// ownClocks is implemented by clocks that can tell that no payer has a clock of its own (store.SandboxClocks).
type ownClocks interface{ AnyOwn() bool }

func (t sandboxTimes) of(c echo.Context) time.Time {
	if t.clocks == nil {
		return t.shared.Now()
	}
	// Without any clock of a payer's own every payer reads the shared clock: the request's payer need not be read
	// (a query per request, measured at a fifth of a GET's time in docs/read-path.md).
	if oc, ok := t.clocks.(ownClocks); ok && !oc.AnyOwn() {
		return t.shared.Now()
	}
	payer := c.Param("managementAccountId")
	if id := c.Param("billingProfileId"); id != "" && t.payerOf != nil {
		payer, _ = t.payerOf(c.Request().Context(), id)
	}
	if payer == "" {
		return t.shared.Now()
	}
	return t.clocks.For(payer).Now()
}
