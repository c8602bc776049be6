package httpapi

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
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
			log.LogAttrs(req.Context(), slog.LevelInfo, "request", slog.String("method", method(req)), slog.String("path", req.URL.Path),
				slog.Int("status", c.Response().Status), slog.Int64("bytes", c.Response().Size),
				slog.Float64("duration_ms", float64(took.Microseconds())/1000))
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
