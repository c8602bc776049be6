package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/cloudreseller/aws-invites/internal/invite"
)

// maxJSONDepth is how deeply a request body may nest; the API's bodies nest two levels, and a bound keeps a body of
// 64 KiB of brackets from costing the decoders anything.
const maxJSONDepth = 32

// checkInput refuses what the request validator and the generated handlers would otherwise get wrong, before either
// decodes anything: a query string with broken escapes (Go's parser drops the pairs it cannot read, filters
// included), NUL characters in parameters (PostgreSQL refuses them in text, SQLite stores them), and bodies that are
// too large (also when sent chunked, without a Content-Length), not UTF-8, not exactly one JSON value, or with a
// key given twice (encoding/json keeps the last one silently). The body is read once, bounded, and put back for the
// validator and the handler. Operations that need a token are checked only for a caller with a valid one, so that
// a request without is told 401 first, as the validator (security before parameters and body) would. Only the
// operations that take a body (bodies) read one: elsewhere a body means nothing and is ignored, as the validator
// and the handlers ignore it, so that no answer depends on it.
func checkInput(limit int64, secured, bodies map[string]bool) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if _, ok := identified(c.Request().Context()); !ok && secured[c.Request().Method+" "+c.Path()] {
				return next(c)
			}
			if err := checkQuery(c.Request().URL.RawQuery); err != nil {
				return err
			}
			if err := checkPathParams(c); err != nil {
				return err
			}
			if !bodies[c.Request().Method+" "+c.Path()] {
				return next(c)
			}
			if err := readBody(c.Request(), limit); err != nil {
				return err
			}
			return next(c)
		}
	}
}

// checkQuery refuses a query string that does not parse, and NUL characters in its names and values.
func checkQuery(raw string) error {
	values, err := url.ParseQuery(raw)
	if err != nil {
		detail := "the query string is not valid URL encoding"
		var esc url.EscapeError
		switch {
		case errors.As(err, &esc):
			detail = fmt.Sprintf("the query string has %q, which is not a percent-encoded byte; write a literal %% as %%25", string(esc))
		case strings.Contains(err.Error(), "semicolon"):
			detail = "the query string separates parameters with ';'; use '&'"
		}
		return &invite.Error{Code: invite.CodeInvalidParameter, Detail: detail,
			Fields: []invite.FieldError{{Field: "query", Message: detail}}, Err: err}
	}
	var fields []invite.FieldError
	for name, vs := range values {
		if strings.ContainsRune(name, 0) {
			fields = append(fields, invite.FieldError{Field: printable(name), Message: nulMessage})
			continue
		}
		if slices.ContainsFunc(vs, func(v string) bool { return strings.ContainsRune(v, 0) }) {
			fields = append(fields, invite.FieldError{Field: name, Message: nulMessage})
		}
	}
	return nulError(invite.CodeInvalidParameter, "query parameter", fields)
}

// checkPathParams refuses NUL characters in path parameters.
func checkPathParams(c echo.Context) error {
	var fields []invite.FieldError
	values := c.ParamValues()
	for i, name := range c.ParamNames() {
		if i >= len(values) {
			break
		}
		v := values[i]
		// Echo routes on the raw path when the request has one, so a value may still be percent-encoded.
		if u, err := url.PathUnescape(v); err == nil {
			v = u
		}
		if strings.ContainsRune(v, 0) {
			if name == "*" {
				name = "path"
			}
			fields = append(fields, invite.FieldError{Field: name, Message: nulMessage})
		}
	}
	return nulError(invite.CodeInvalidParameter, "path parameter", fields)
}

const nulMessage = `must not contain NUL characters (\u0000)`

// nulError refuses the fields that hold NUL characters: a malformed parameter (invalid_parameter, 400, as the
// validator answers any parameter its schema refuses) or an invalid body value (validation_failed, 422).
func nulError(code invite.Code, what string, fields []invite.FieldError) error {
	if len(fields) == 0 {
		return nil
	}
	slices.SortFunc(fields, func(a, b invite.FieldError) int { return strings.Compare(a.Field, b.Field) })
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.Field
	}
	return &invite.Error{Code: code,
		Detail: fmt.Sprintf("%s %s %s", what, strings.Join(names, ", "), nulMessage), Fields: fields}
}

// printable renders a name that may hold control characters for a detail.
func printable(s string) string {
	q := fmt.Sprintf("%q", s)
	return q[1 : len(q)-1]
}

// readBody reads the body once, within limit, checks it when it is JSON, and puts it back.
func readBody(req *http.Request, limit int64) error {
	if req.Body == nil || req.Body == http.NoBody {
		return nil
	}
	tooLarge := invite.Errorf(invite.CodePayloadTooLarge, "the request body is over the limit of %d bytes", limit)
	if req.ContentLength > limit {
		return tooLarge
	}
	raw, err := io.ReadAll(io.LimitReader(req.Body, limit+1))
	if err != nil {
		return &invite.Error{Code: invite.CodeInvalidRequest, Detail: "the request body could not be read to its end", Err: err}
	}
	if int64(len(raw)) > limit {
		return tooLarge
	}
	req.Body = io.NopCloser(bytes.NewReader(raw))
	req.ContentLength = int64(len(raw))
	req.TransferEncoding = nil
	if len(raw) == 0 {
		return nil
	}
	mt, params, err := mime.ParseMediaType(req.Header.Get(echo.HeaderContentType))
	if err != nil || mt != echo.MIMEApplicationJSON {
		// Not JSON: the validator answers 415 on operations that take a body, and the others ignore it.
		return nil
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return invite.Errorf(invite.CodeUnsupportedMedia, "JSON is UTF-8: send Content-Type: application/json without a charset, or with charset=utf-8, not %q", cs)
	}
	// Media types are case-insensitive (RFC 9110 8.3.1), but the validator's and Echo's binder's matching is not:
	// both get the one spelling they know.
	req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
	return checkJSON(raw)
}

// checkJSON accepts exactly one JSON value in UTF-8 whose objects give each key once, nesting at most maxJSONDepth
// deep; strings with NUL characters are a validation failure naming their fields.
func checkJSON(raw []byte) error {
	if !utf8.Valid(raw) {
		at := 0
		for at < len(raw) {
			r, size := utf8.DecodeRune(raw[at:])
			if r == utf8.RuneError && size <= 1 {
				break
			}
			at += size
		}
		return invite.Errorf(invite.CodeMalformedJSON, "the request body is not valid UTF-8 (at byte %d); JSON must be sent as UTF-8", at)
	}
	type frame struct {
		object  bool
		wantKey bool // in an object: the next string is a key
		keys    map[string]bool
		path    string // of the container
		key     string // in an object: the member being read
		index   int    // in an array: the element being read
	}
	var stack []*frame
	// path names the value about to be read, in the dotted form the validator's findings use.
	path := func() string {
		if len(stack) == 0 {
			return ""
		}
		top := stack[len(stack)-1]
		name := top.key
		if !top.object {
			name = fmt.Sprint(top.index)
		}
		if top.path == "" {
			return name
		}
		return top.path + "." + name
	}
	// valueDone moves the enclosing container past the value just read.
	valueDone := func() {
		if len(stack) == 0 {
			return
		}
		top := stack[len(stack)-1]
		if top.object {
			top.wantKey = true
		} else {
			top.index++
		}
	}
	syntax := func(dec *json.Decoder, err error) error {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return &invite.Error{Code: invite.CodeMalformedJSON, Detail: "the request body ends before its JSON value does", Err: err}
		}
		return &invite.Error{Code: invite.CodeMalformedJSON,
			Detail: fmt.Sprintf("the request body is not valid JSON (at byte %d)", dec.InputOffset()), Err: err}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var nul []invite.FieldError
	for {
		tok, err := dec.Token()
		if err != nil {
			return syntax(dec, err)
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				if len(stack) == maxJSONDepth {
					return invite.Errorf(invite.CodeMalformedJSON, "the request body nests deeper than %d levels", maxJSONDepth)
				}
				stack = append(stack, &frame{object: t == '{', wantKey: t == '{', keys: map[string]bool{}, path: path()})
			default:
				stack = stack[:len(stack)-1]
				valueDone()
			}
		case string:
			if top := len(stack) - 1; top >= 0 && stack[top].object && stack[top].wantKey {
				f := stack[top]
				f.key, f.wantKey = t, false
				if f.keys[t] {
					field := printable(path())
					return &invite.Error{Code: invite.CodeMalformedJSON,
						Detail: fmt.Sprintf("the request body has the field %q more than once; send each field once", field),
						Fields: []invite.FieldError{{Field: field, Message: "given more than once"}}}
				}
				f.keys[t] = true
				if strings.ContainsRune(t, 0) {
					nul = append(nul, invite.FieldError{Field: printable(path()), Message: "the field's name " + nulMessage})
				}
				continue
			}
			if strings.ContainsRune(t, 0) {
				field := path()
				if field == "" {
					field = "body"
				}
				nul = append(nul, invite.FieldError{Field: printable(field), Message: nulMessage})
			}
			valueDone()
		default:
			valueDone()
		}
		if len(stack) > 0 {
			continue
		}
		// One value read: anything but white space after it is a second value or garbage.
		if _, err := dec.Token(); !errors.Is(err, io.EOF) {
			return invite.Errorf(invite.CodeMalformedJSON,
				"the request body goes on after its JSON value (at byte %d); send exactly one JSON value", dec.InputOffset())
		}
		return nulError(invite.CodeValidationFailed, "field", nul)
	}
}

// headAsGet answers HEAD wherever GET is answered: the request is served as a GET through the whole server (so the
// status and headers are the GET's), while the server's connection, which knows the request was a HEAD, sends no
// body (net/http drops the writes of a HEAD response and keeps their length for Content-Length).
func headAsGet(e *echo.Echo) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if req.Method != http.MethodHead {
				return next(c)
			}
			get := req.Clone(context.WithValue(req.Context(), headKey{}, true))
			get.Method = http.MethodGet
			e.ServeHTTP(c.Response().Writer, get)
			return nil
		}
	}
}

type headKey struct{}

// method is the request's method as the client sent it: HEAD for a HEAD served as a GET.
func method(req *http.Request) string {
	if head, _ := req.Context().Value(headKey{}).(bool); head {
		return http.MethodHead
	}
	return req.Method
}

// routeTable knows which methods each path supports, from the routes registered on the server (the spec's
// operations and the documentation and operations endpoints beside them), with HEAD wherever GET is.
type routeTable struct {
	routes []route
}

type route struct {
	segments []string // ":" for a parameter, "*" for the rest of the path
	method   string
}

// load reads the server's routes; New calls it once every route is registered.
func (t *routeTable) load(routes []*echo.Route) {
	for _, r := range routes {
		if r.Method == echo.RouteNotFound {
			continue
		}
		var segs []string
		for _, s := range strings.Split(strings.TrimPrefix(r.Path, "/"), "/") {
			switch {
			case strings.HasPrefix(s, ":"):
				s = ":"
			case strings.HasPrefix(s, "*"):
				s = "*"
			}
			segs = append(segs, s)
		}
		t.routes = append(t.routes, route{segments: segs, method: r.Method})
	}
}

// methods returns the methods a path supports, sorted, or nil when no route has the path.
func (t *routeTable) methods(path string) []string {
	segments := strings.Split(strings.TrimPrefix(path, "/"), "/")
	var out []string
	for _, r := range t.routes {
		if r.matches(segments) {
			out = append(out, r.method)
		}
	}
	if slices.Contains(out, http.MethodGet) {
		out = append(out, http.MethodHead)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func (r route) matches(segments []string) bool {
	for i, s := range r.segments {
		if s == "*" {
			return true
		}
		if i >= len(segments) || (s == ":" && segments[i] == "") || (s != ":" && s != segments[i]) {
			return false
		}
	}
	return len(segments) == len(r.segments)
}

// methodNotAllowed answers 405 with the Allow header RFC 9110 15.5.6 requires when a path exists but not with the
// request's method, whoever refused it: Echo's router, the request validator (405 without Allow), or the group's
// catch-all route (404 for a path outside the spec, such as POST /openapi.yaml).
func methodNotAllowed(t *routeTable) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			err := next(c)
			var he *echo.HTTPError
			if !errors.As(err, &he) || (he.Code != http.StatusMethodNotAllowed && he.Code != http.StatusNotFound) {
				return err
			}
			methods := t.methods(c.Request().URL.Path)
			if len(methods) == 0 || slices.Contains(methods, c.Request().Method) {
				return err
			}
			c.Response().Header().Set(echo.HeaderAllow, strings.Join(methods, ", "))
			return &echo.HTTPError{Code: http.StatusMethodNotAllowed, Message: http.StatusText(http.StatusMethodNotAllowed), Internal: err}
		}
	}
}
