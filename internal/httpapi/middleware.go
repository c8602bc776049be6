package httpapi

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cloudreseller/aws-invites/internal/invite"
	"github.com/cloudreseller/aws-invites/internal/reqlog"
)

// exchange is what the middleware learns about one request as it serves it: its id, the Accept header (the strict
// handlers see only the context; content negotiation needs it), the AWS calls it makes, the verification of its
// bearer token (identify) and the caller it may act as (authenticate). It is put in the request's context once, by
// requestID, and filled in there by the middleware after it, rather than each adding a context value and a copy of
// the request (a dozen allocations a request, docs/read-path.md). Only the goroutine serving the request writes it,
// before the handler runs.
type exchange struct {
	id        string
	accept    string
	calls     *reqlog.Calls
	verified  *verified // nil: the request has no bearer token
	principal *invite.Principal
}

type exchangeKey struct{}

// exchangeOf is the exchange of the request a context belongs to, nil outside one.
func exchangeOf(ctx context.Context) *exchange {
	x, _ := ctx.Value(exchangeKey{}).(*exchange)
	return x
}

// requestID gives every request an id (the caller's X-Request-Id when sensible), returns it, and puts it in the
// request context (its exchange), where the log handler finds it for every line logged while serving the
// request; the context also collects the request ids of the AWS calls the request makes, for its log line.
func requestID() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			id := req.Header.Get(echo.HeaderXRequestID)
			if id == "" || len(id) > 128 {
				id = uuid.NewString()
			}
			c.Response().Header().Set(echo.HeaderXRequestID, id)
			x := &exchange{id: id, accept: req.Header.Get(echo.HeaderAccept)}
			var ctx context.Context
			ctx, x.calls = reqlog.Collect(context.WithValue(req.Context(), exchangeKey{}, x))
			c.SetRequest(req.WithContext(ctx))
			return next(c)
		}
	}
}

type requestIDKey struct{}

func accept(ctx context.Context) string {
	if x := exchangeOf(ctx); x != nil {
		return x.accept
	}
	return ""
}

// WithRequestID returns a context that carries a request id for logs.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the request id a context carries, if any.
func RequestID(ctx context.Context) string {
	if id, ok := ctx.Value(requestIDKey{}).(string); ok {
		return id
	}
	if x := exchangeOf(ctx); x != nil {
		return x.id
	}
	return ""
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
// with its request id and counts it by route. It runs after requestID, whose exchange collects the request's AWS
// calls.
func observe(log *slog.Logger, reg *prometheus.Registry) echo.MiddlewareFunc {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "aws_invites_http_requests_total", Help: "HTTP requests by route, method and status.",
	}, []string{"method", "route", "status"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "aws_invites_http_request_duration_seconds", Help: "HTTP request latency by route and method.",
		Buckets: prometheus.DefBuckets,
	}, []string{"method", "route"})
	reg.MustRegister(requests, duration)
	var children sync.Map // routeMetric -> *routeMetrics
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			if err := next(c); err != nil {
				c.Error(err)
			}
			took := time.Since(start)
			req := c.Request()
			logRequest(log, c, took)
			route := c.Path()
			if route == "" {
				route = "unmatched"
			}
			// The children of a route's metrics are resolved once and kept: a vector's WithLabelValues hashes and
			// compares the labels at every call. Routes, methods and statuses are few, so the map stays small.
			key := routeMetric{method(req), route, c.Response().Status}
			m, ok := children.Load(key)
			if !ok {
				m, _ = children.LoadOrStore(key, &routeMetrics{
					requests: requests.WithLabelValues(key.method, key.route, strconv.Itoa(key.status)),
					duration: duration.WithLabelValues(key.method, key.route),
				})
			}
			m.(*routeMetrics).requests.Inc()
			m.(*routeMetrics).duration.Observe(took.Seconds())
			return nil
		}
	}
}

// routeMetric names the metrics' children of one route, method and status.
type routeMetric struct {
	method, route string
	status        int
}

type routeMetrics struct {
	requests prometheus.Counter
	duration prometheus.Observer
}

// problemCodeKey is where the error handler leaves the code of the problem a request answered, for its log line.
const problemCodeKey = "aws-invites.problem-code"

// logRequest writes the log line of a request, which tells support what was asked and answered, who asked (the
// subject and customer of a valid token; never the token), the problem code it answered, and the request ids of
// the AWS calls it made, which AWS support asks for.
func logRequest(log *slog.Logger, c echo.Context, took time.Duration) {
	req := c.Request()
	var buf [9]slog.Attr // on the stack: slog copies the attributes into its record
	attrs := append(buf[:0], slog.String("method", method(req)), slog.String("path", req.URL.Path),
		slog.Int("status", c.Response().Status), slog.Int64("bytes", c.Response().Size),
		slog.Float64("duration_ms", float64(took.Microseconds())/1000))
	if p, ok := identified(req.Context()); ok {
		attrs = append(attrs, slog.String("subject", p.Subject), slog.String("customer", p.CustomerID))
	}
	if code, _ := c.Get(problemCodeKey).(string); code != "" {
		attrs = append(attrs, slog.String("code", code))
	}
	var calls *reqlog.Calls
	if x := exchangeOf(req.Context()); x != nil {
		calls = x.calls
	}
	if ids := calls.AWSRequestIDs(); len(ids) > 0 {
		attrs = append(attrs, slog.Any("aws_request_ids", ids))
	}
	log.LogAttrs(req.Context(), slog.LevelInfo, "request", attrs...)
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
