package httpapi

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cloudreseller/aws-invites/internal/reqlog"
)

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
	if attrs := reqlog.Attrs(ctx); len(attrs) > 0 { // a job's id, kind and payer
		r.AddAttrs(withoutKeysOf(r, attrs)...)
	}
	return h.Handler.Handle(ctx, r)
}

// withoutKeysOf is attrs without those whose key the record has already (a job's line that names its payer).
func withoutKeysOf(r slog.Record, attrs []slog.Attr) []slog.Attr {
	has := map[string]bool{}
	r.Attrs(func(a slog.Attr) bool {
		has[a.Key] = true
		return true
	})
	out := make([]slog.Attr, 0, len(attrs))
	for _, a := range attrs {
		if !has[a.Key] {
			out = append(out, a)
		}
	}
	return out
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
			ctx, calls := reqlog.Collect(c.Request().Context())
			c.SetRequest(c.Request().WithContext(ctx))
			if err := next(c); err != nil {
				c.Error(err)
			}
			took := time.Since(start)
			req := c.Request()
			log.LogAttrs(req.Context(), slog.LevelInfo, "request", requestLine(c, calls, took)...)
			route := c.Path()
			if route == "" {
				route = "unmatched"
			}
			requests.WithLabelValues(method(req), route, strconv.Itoa(c.Response().Status)).Inc()
			duration.WithLabelValues(method(req), route).Observe(took.Seconds())
			return nil
		}
	}
}

// problemCodeKey is where the error handler leaves the code of the problem a request answered, for its log line.
const problemCodeKey = "aws-invites.problem-code"

// requestLine is what the log line of a request tells support: what was asked and answered, who asked (the
// subject and customer of a valid token; never the token), the problem code it answered, and the request ids of
// the AWS calls it made, which AWS support asks for.
func requestLine(c echo.Context, calls *reqlog.Calls, took time.Duration) []slog.Attr {
	req := c.Request()
	attrs := []slog.Attr{slog.String("method", method(req)), slog.String("path", req.URL.Path),
		slog.Int("status", c.Response().Status), slog.Int64("bytes", c.Response().Size),
		slog.Float64("duration_ms", float64(took.Microseconds())/1000)}
	if p, ok := identified(req.Context()); ok {
		attrs = append(attrs, slog.String("subject", p.Subject), slog.String("customer", p.CustomerID))
	}
	if code, _ := c.Get(problemCodeKey).(string); code != "" {
		attrs = append(attrs, slog.String("code", code))
	}
	if ids := calls.AWSRequestIDs(); len(ids) > 0 {
		attrs = append(attrs, slog.Any("aws_request_ids", ids))
	}
	return attrs
}

// deadline gives each request's context a deadline: the database statements and AWS calls made for it end there,
// so a database that hangs rather than refusing answers 503 (store.Unavailable) instead of holding the request.
func deadline(d time.Duration) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			ctx, cancel := context.WithTimeout(c.Request().Context(), d)
			defer cancel()
			c.SetRequest(c.Request().WithContext(ctx))
			return next(c)
		}
	}
}
