package httpapi

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/labstack/echo/v4"
	echomiddleware "github.com/oapi-codegen/echo-middleware"
)

// requestValidator checks every request against the spec (parameters, body, security) before its handler runs,
// with echo-middleware's validation. The operation comes from the route Echo already matched, looked up in a
// map, rather than from the middleware's own router, which matched every request again against regular
// expressions of every path: under a load of GETs that was a tenth of the service's CPU (docs/read-path.md).
func requestValidator(spec *openapi3.T, opts *echomiddleware.Options) (echo.MiddlewareFunc, error) {
	fallback, err := gorillamux.NewRouter(spec)
	if err != nil {
		return nil, err
	}
	type route struct{ method, path string }
	known := map[route]*routers.Route{}
	for path, item := range spec.Paths.Map() {
		for method, op := range item.Operations() {
			known[route{method, echoPath(path)}] = &routers.Route{Spec: spec, Path: path, PathItem: item, Method: method, Operation: op}
		}
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			var router routers.Router = fallback
			if r, ok := known[route{c.Request().Method, c.Path()}]; ok {
				router = matched{r, c}
			}
			if err := echomiddleware.ValidateRequestFromContext(c, router, opts); err != nil {
				return opts.ErrorHandler(c, err)
			}
			return next(c)
		}
	}, nil
}

// echoPath writes an OpenAPI path template as Echo's routes name it: /a/{id} is /a/:id.
func echoPath(path string) string {
	var b strings.Builder
	for part := range strings.SplitSeq(path, "/") {
		if part == "" {
			continue
		}
		b.WriteByte('/')
		if strings.HasPrefix(part, "{") && strings.HasSuffix(part, "}") {
			b.WriteString(":" + part[1:len(part)-1])
		} else {
			b.WriteString(part)
		}
	}
	if b.Len() == 0 {
		return "/"
	}
	return b.String()
}

// matched is a routers.Router that answers the route Echo matched for one request, with Echo's path parameters
// in their percent-encoded form, as gorillamux gives them (the middleware unescapes them). Echo matched the raw
// path when the request had one that differs from the decoded path (RawPath), and the decoded path otherwise.
type matched struct {
	route *routers.Route
	c     echo.Context
}

func (m matched) FindRoute(req *http.Request) (*routers.Route, map[string]string, error) {
	names, values := m.c.ParamNames(), m.c.ParamValues()
	params := make(map[string]string, len(names))
	for i, name := range names {
		if i >= len(values) {
			break
		}
		if req.URL.RawPath == "" {
			params[name] = url.PathEscape(values[i])
		} else {
			params[name] = values[i]
		}
	}
	return m.route, params, nil
}
