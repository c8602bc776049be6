package httpapi

import (
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// tracing makes a server span of every request, a child of the caller's when it sends a W3C traceparent, named by
// its method and route; the request's context carries it to the use cases, the database and AWS.
func tracing(tp trace.TracerProvider, prop propagation.TextMapPropagator) echo.MiddlewareFunc {
	tracer := tp.Tracer("github.com/cloudreseller/aws-invites/internal/httpapi")
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			ctx := prop.Extract(req.Context(), propagation.HeaderCarrier(req.Header))
			route := c.Path()
			if route == "" {
				route = "unmatched"
			}
			ctx, span := tracer.Start(ctx, req.Method+" "+route, trace.WithSpanKind(trace.SpanKindServer),
				trace.WithAttributes(attribute.String("http.request.method", req.Method), attribute.String("http.route", route),
					attribute.String("url.path", req.URL.Path)))
			defer span.End()
			c.SetRequest(req.WithContext(ctx))
			err := next(c)
			if err != nil {
				c.Error(err) // render it here, so that the status below is the one the client gets
			}
			status := c.Response().Status
			span.SetAttributes(attribute.Int("http.response.status_code", status),
				attribute.String("aws_invites.request_id", c.Response().Header().Get(echo.HeaderXRequestID)))
			if status >= http.StatusInternalServerError {
				span.SetStatus(codes.Error, fmt.Sprintf("status %d", status))
			}
			return nil
		}
	}
}
