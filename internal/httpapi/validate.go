package httpapi

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

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
//
// An operation whose request is only path parameters and a bearer token (a GET of an invite) is first checked by its
// quickCheck, with admit as the validator's authentication calls it: a request that passes both is one the
// validator lets through, and goes on; any other goes through the validator, which refuses it as it always did
// (TestQuickCheckAcceptsOnlyWhatTheValidatorAccepts).
func requestValidator(spec *openapi3.T, opts *echomiddleware.Options, admit func(echo.Context, *openapi3.Operation) error) (echo.MiddlewareFunc, error) {
	fallback, err := gorillamux.NewRouter(spec)
	if err != nil {
		return nil, err
	}
	type route struct{ method, path string }
	type operation struct {
		route *routers.Route
		quick *quickCheck // nil: the validator checks every request
	}
	known := map[route]operation{}
	for path, item := range spec.Paths.Map() {
		for method, op := range item.Operations() {
			known[route{method, echoPath(path)}] = operation{
				route: &routers.Route{Spec: spec, Path: path, PathItem: item, Method: method, Operation: op},
				quick: quickCheckOf(spec, path, item, op),
			}
		}
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			var router routers.Router = fallback
			if op, ok := known[route{c.Request().Method, c.Path()}]; ok {
				if q := op.quick; q != nil && q.passes(c) && (!q.secured || admit(c, op.route.Operation) == nil) {
					return next(c)
				}
				router = matched{op.route, c}
			}
			if err := echomiddleware.ValidateRequestFromContext(c, router, opts); err != nil {
				return opts.ErrorHandler(c, err)
			}
			return next(c)
		}
	}, nil
}

// quickCheck is what the validator checks of an operation whose request has only path parameters, each a string
// with at most a length and a pattern, and whose security is one bearer token or none: that each parameter is
// within its bounds and matches its pattern, and that the token admits the caller (when secured). It accepts only
// values the validator would accept (ASCII, where lengths are bytes), and says nothing of the others: those go
// through the validator, for its refusal.
type quickCheck struct {
	params  []quickParam // in the path's order, as Echo names them
	secured bool
}

type quickParam struct {
	name     string
	min, max int            // max < 0: none
	pattern  *regexp.Regexp // nil: none
}

// passes reports whether the request's path parameters are ones the validator accepts.
func (q *quickCheck) passes(c echo.Context) bool {
	if c.Request().URL.RawPath != "" {
		return false // Echo matched the escaped path; the validator unescapes its values
	}
	names, values := c.ParamNames(), c.ParamValues()
	if len(names) != len(q.params) || len(values) < len(names) {
		return false
	}
	for i, p := range q.params {
		if names[i] != p.name || !p.accepts(values[i]) {
			return false
		}
	}
	return true
}

func (p quickParam) accepts(v string) bool {
	if v == "" {
		return false // a missing parameter, to the validator
	}
	for i := range len(v) {
		if v[i] >= utf8.RuneSelf {
			return false
		}
	}
	return len(v) >= p.min && (p.max < 0 || len(v) <= p.max) && (p.pattern == nil || p.pattern.MatchString(v))
}

// quickCheckOf is the quick check of an operation, or nil when the validator checks more of its requests than a
// quickCheck does (a query, header or cookie parameter, a body, a schema with more than type, lengths and pattern, a
// parameter serialized in another style, security with more than one scheme or with scopes). What a parameter and
// its schema say is read from their JSON form, so that anything they say beyond what is understood here leaves the
// operation to the validator, whatever the version of kin-openapi adds to its types.
func quickCheckOf(spec *openapi3.T, path string, item *openapi3.PathItem, op *openapi3.Operation) *quickCheck {
	if op.RequestBody != nil {
		return nil
	}
	declared := map[string]*openapi3.Parameter{}
	for _, list := range []openapi3.Parameters{item.Parameters, op.Parameters} { // the operation's override the path's
		for _, ref := range list {
			if ref == nil || ref.Value == nil || ref.Value.In != openapi3.ParameterInPath {
				return nil
			}
			declared[ref.Value.Name] = ref.Value
		}
	}
	q := &quickCheck{}
	for _, m := range pathParam.FindAllStringSubmatch(path, -1) {
		p, ok := declared[m[1]]
		if !ok {
			return nil
		}
		delete(declared, m[1])
		qp, ok := quickParamOf(p)
		if !ok {
			return nil
		}
		q.params = append(q.params, qp)
	}
	if len(declared) > 0 {
		return nil
	}
	security := spec.Security
	if op.Security != nil {
		security = *op.Security
	}
	switch {
	case len(security) == 0:
	case len(security) == 1 && len(security[0]) == 1:
		for name, scopes := range security[0] {
			if len(scopes) > 0 || spec.Components == nil || spec.Components.SecuritySchemes[name] == nil {
				return nil
			}
		}
		q.secured = true
	default:
		return nil
	}
	return q
}

func quickParamOf(p *openapi3.Parameter) (quickParam, bool) {
	if p.Schema == nil || p.Schema.Value == nil || !onlyKeys(p, "name", "in", "required", "schema", "description") ||
		!onlyKeys(p.Schema.Value, "type", "minLength", "maxLength", "pattern", "description") {
		return quickParam{}, false
	}
	s := p.Schema.Value
	if s.Type == nil || !s.Type.Is(openapi3.TypeString) {
		return quickParam{}, false
	}
	qp := quickParam{name: p.Name, min: int(s.MinLength), max: -1}
	if s.MaxLength != nil {
		qp.max = int(*s.MaxLength)
	}
	if s.Pattern != "" {
		re, err := regexp.Compile(s.Pattern)
		if err != nil || strings.ContainsFunc(s.Pattern, func(r rune) bool { return r >= utf8.RuneSelf }) {
			return quickParam{}, false
		}
		qp.pattern = re
	}
	return qp, true
}

// onlyKeys reports whether v's JSON form is an object with no keys but these.
func onlyKeys(v any, keys ...string) bool {
	raw, err := json.Marshal(v)
	if err != nil {
		return false
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return false
	}
	for k := range m {
		if !slices.Contains(keys, k) {
			return false
		}
	}
	return true
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
