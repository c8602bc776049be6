// Package httpapi serves the aws-invites REST API with Echo: the generated strict server bound to the domain,
// request validation against openapi.yaml, authentication, one problem+json error handler, Swagger UI, health and
// metrics.
package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	echomiddleware "github.com/oapi-codegen/echo-middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/swaggest/swgui"
	"github.com/swaggest/swgui/v5emb"

	"github.com/cloudreseller/aws-invites/api"
	"github.com/cloudreseller/aws-invites/internal/invite"
)

// maxBodyBytes is the largest request body accepted.
const maxBodyBytes = 64 << 10

// Verifier checks a bearer token and returns who is calling.
type Verifier interface {
	Verify(ctx context.Context, token string) (invite.Principal, error)
}

// Config is what the HTTP layer is built from.
type Config struct {
	Service     *invite.Service
	Verifier    Verifier
	Idempotency IdempotencyStore
	Ready       func(context.Context) error // readiness probe (the database)
	Logger      *slog.Logger
	Registry    *prometheus.Registry // metrics are registered here and served at /metrics
	Sandbox     bool
	CORSOrigins []string

	// MetricsToken, when set, is the bearer token /metrics requires (see MetricsHandler).
	MetricsToken string
	// MetricsElsewhere leaves /metrics out of this server, for a caller that serves MetricsHandler on a listener
	// of its own (METRICS_ADDR); the zero value serves it here, beside the API.
	MetricsElsewhere bool
}

// New builds the Echo server.
func New(cfg Config) (*echo.Echo, error) {
	spec, err := api.GetSpec()
	if err != nil {
		return nil, fmt.Errorf("loading the embedded openapi spec: %w", err)
	}
	spec.Servers = nil // the validator must not check the Host header

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = errorHandler(cfg.Logger)
	e.Use(requestID(), observe(cfg.Logger, cfg.Registry), middleware.Recover())
	if cfg.Sandbox {
		e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
			return func(c echo.Context) error {
				c.Response().Header().Set("X-Sandbox", "true")
				return next(c)
			}
		})
	}
	if len(cfg.CORSOrigins) > 0 {
		e.Use(middleware.CORSWithConfig(middleware.CORSConfig{
			AllowOrigins:  cfg.CORSOrigins,
			AllowMethods:  []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete},
			AllowHeaders:  []string{echo.HeaderAuthorization, echo.HeaderContentType, "Idempotency-Key"},
			ExposeHeaders: []string{echo.HeaderLocation, echo.HeaderRetryAfter, echo.HeaderXRequestID, "X-Sandbox", "Idempotent-Replayed"},
			MaxAge:        600,
		}))
	}
	e.Use(middleware.BodyLimit(strconv.Itoa(maxBodyBytes/1024) + "K"))

	// Documentation and operations endpoints sit beside the API and are not described by its spec.
	docs := v5emb.NewWithConfig(swgui.Config{Title: "aws-invites", SwaggerJSON: "/openapi.yaml", BasePath: "/docs/",
		SettingsUI: map[string]string{"persistAuthorization": "true"}})("aws-invites", "/openapi.yaml", "/docs/")
	e.GET("/docs", func(c echo.Context) error { return c.Redirect(http.StatusMovedPermanently, "/docs/") })
	e.GET("/docs/*", echo.WrapHandler(docs))
	e.GET("/openapi.yaml", func(c echo.Context) error { return c.Blob(http.StatusOK, "application/yaml", api.SpecYAML) })
	if !cfg.MetricsElsewhere {
		e.GET("/metrics", echo.WrapHandler(MetricsHandler(cfg.Registry, cfg.MetricsToken)))
	}

	validator := echomiddleware.OapiRequestValidatorWithOptions(spec, &echomiddleware.Options{
		Options: openapi3filter.Options{AuthenticationFunc: authenticate(cfg.Verifier)},
		ErrorHandler: func(c echo.Context, err *echo.HTTPError) error {
			return err
		},
	})
	g := e.Group("", validator)
	srv := &server{svc: cfg.Service, idem: cfg.Idempotency, ready: cfg.Ready, mode: "aws"}
	if cfg.Sandbox {
		srv.mode = "sandbox"
	}
	api.RegisterHandlers(g, api.NewStrictHandler(srv, nil))
	return e, nil
}

type principalKey struct{}

func principal(ctx context.Context) invite.Principal {
	p, _ := ctx.Value(principalKey{}).(invite.Principal)
	return p
}

// authenticate verifies the bearer token for operations that declare security, and checks the roles an operation
// declares as scopes. The principal travels in the request context to the handlers.
func authenticate(v Verifier) openapi3filter.AuthenticationFunc {
	return func(ctx context.Context, in *openapi3filter.AuthenticationInput) error {
		c := echomiddleware.GetEchoContext(ctx)
		raw := in.RequestValidationInput.Request.Header.Get(echo.HeaderAuthorization)
		token, ok := bearer(raw)
		if !ok {
			return unauthenticated("send a bearer token: Authorization: Bearer <JWT>")
		}
		p, err := v.Verify(c.Request().Context(), token)
		if err != nil {
			return unauthenticated("the bearer token is not valid: " + err.Error())
		}
		for _, role := range in.Scopes {
			if !contains(p.Roles, role) {
				return &echo.HTTPError{Code: http.StatusForbidden, Internal: invite.Errorf(invite.CodeForbidden, "this operation needs the %q role", role)}
			}
		}
		c.SetRequest(c.Request().WithContext(context.WithValue(c.Request().Context(), principalKey{}, p)))
		return nil
	}
}

func unauthenticated(detail string) error {
	return &echo.HTTPError{Code: http.StatusUnauthorized, Internal: invite.Errorf(invite.CodeUnauthenticated, "%s", detail)}
}

func bearer(header string) (string, bool) {
	const prefix = "bearer "
	if len(header) <= len(prefix) || !equalFold(header[:len(prefix)], prefix) {
		return "", false
	}
	return header[len(prefix):], true
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range len(a) {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// requestID gives every request an id (the caller's X-Request-Id when sensible), returns it, and puts it in the
// request context, where the log handler finds it for every line logged while serving the request.
func requestID() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			id := c.Request().Header.Get(echo.HeaderXRequestID)
			if id == "" || len(id) > 128 {
				id = uuid.NewString()
			}
			c.Response().Header().Set(echo.HeaderXRequestID, id)
			ctx := WithRequestID(c.Request().Context(), id)
			// The strict handlers see only the context; content negotiation needs the Accept header.
			ctx = context.WithValue(ctx, acceptKey{}, c.Request().Header.Get(echo.HeaderAccept))
			c.SetRequest(c.Request().WithContext(ctx))
			return next(c)
		}
	}
}

type requestIDKey struct{}

type acceptKey struct{}

func accept(ctx context.Context) string {
	a, _ := ctx.Value(acceptKey{}).(string)
	return a
}

// WithRequestID returns a context that carries a request id for logs.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the request id a context carries, if any.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// LogHandler wraps a slog handler so that every record logged with a request's context carries its request id.
func LogHandler(h slog.Handler) slog.Handler { return requestIDHandler{h} }

type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(attrs)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}

// observe renders a request's error (so what is logged and counted is what the client got), then logs the request
// with its request id and counts it by route.
func observe(log *slog.Logger, reg *prometheus.Registry) echo.MiddlewareFunc {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "aws_invites_http_requests_total", Help: "HTTP requests by route, method and status.",
	}, []string{"method", "route", "status"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "aws_invites_http_request_duration_seconds", Help: "HTTP request latency by route and method.",
		Buckets: prometheus.DefBuckets,
	}, []string{"method", "route"})
	reg.MustRegister(requests, duration)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			if err := next(c); err != nil {
				c.Error(err)
			}
			took := time.Since(start)
			req := c.Request()
			log.InfoContext(req.Context(), "request", "method", req.Method, "path", req.URL.Path,
				"status", c.Response().Status, "bytes", c.Response().Size, "duration_ms", float64(took.Microseconds())/1000)
			route := c.Path()
			if route == "" {
				route = "unmatched"
			}
			requests.WithLabelValues(c.Request().Method, route, strconv.Itoa(c.Response().Status)).Inc()
			duration.WithLabelValues(c.Request().Method, route).Observe(took.Seconds())
			return nil
		}
	}
}
