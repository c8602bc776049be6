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
			route := c.Request().Method + " " + c.Path()
			if !bodies[route] {
				return next(c)
			}
			max := limit
			if l, ok := largeBodies[route]; ok {
				max = l
			}
			if err := readBody(c.Request(), max); err != nil {
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
		return invite.FieldProblem(invite.CodeInvalidParameter, "query", detail, detail).Because(err)
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
	if err := checkUTF8(raw); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	nul, err := readOneValue(dec)
	if err != nil {
		return err
	}
	if err := checkNothingAfter(dec); err != nil {
		return err
	}
	return nulError(invite.CodeValidationFailed, "field", nul)
}

// checkUTF8 refuses a body that is not UTF-8, saying at which byte it stops being so.
func checkUTF8(raw []byte) error {
	if utf8.Valid(raw) {
		return nil
	}
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

// readOneValue reads one JSON value token by token, refusing broken syntax, nesting beyond maxJSONDepth and keys
// given twice, and returns the fields whose names or strings hold NUL characters.
func readOneValue(dec *json.Decoder) ([]invite.FieldError, error) {
	var at jsonPath
	var nul []invite.FieldError
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil, syntaxError(dec, err)
		}
		switch t := tok.(type) {
		case json.Delim:
			err = at.delim(t)
		case string:
			var f *invite.FieldError
			if f, err = at.str(t); f != nil {
				nul = append(nul, *f)
			}
		default:
			at.valueDone()
		}
		if err != nil {
			return nil, err
		}
		if len(at) == 0 {
			return nul, nil
		}
	}
}

// syntaxError tells what broke a body's JSON: an end before the value's, or where the syntax went wrong.
func syntaxError(dec *json.Decoder, err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return &invite.Error{Code: invite.CodeMalformedJSON, Detail: "the request body ends before its JSON value does", Err: err}
	}
	return &invite.Error{Code: invite.CodeMalformedJSON,
		Detail: fmt.Sprintf("the request body is not valid JSON (at byte %d)", dec.InputOffset()), Err: err}
}

// checkNothingAfter refuses anything but white space after the body's value: a second value, or garbage.
func checkNothingAfter(dec *json.Decoder) error {
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return invite.Errorf(invite.CodeMalformedJSON,
			"the request body goes on after its JSON value (at byte %d); send exactly one JSON value", dec.InputOffset())
	}
	return nil
}

// jsonPath is where a reader of a JSON value is: the objects and arrays it is in, outermost first.
type jsonPath []*jsonFrame

// jsonFrame is an object or array being read.
type jsonFrame struct {
	object  bool
	wantKey bool // in an object: the next string is a key
	keys    map[string]bool
	path    string // of the container
	key     string // in an object: the member being read
	index   int    // in an array: the element being read
}

// current names the value about to be read, in the dotted form the validator's findings use ("" for the body).
func (p jsonPath) current() string {
	if len(p) == 0 {
		return ""
	}
	top := p[len(p)-1]
	name := top.key
	if !top.object {
		name = fmt.Sprint(top.index)
	}
	if top.path == "" {
		return name
	}
	return top.path + "." + name
}

// delim opens an object or array, refused beyond maxJSONDepth, or closes one, the value it was.
func (p *jsonPath) delim(d json.Delim) error {
	switch d {
	case '{', '[':
		if len(*p) == maxJSONDepth {
			return invite.Errorf(invite.CodeMalformedJSON, "the request body nests deeper than %d levels", maxJSONDepth)
		}
		*p = append(*p, &jsonFrame{object: d == '{', wantKey: d == '{', keys: map[string]bool{}, path: p.current()})
	default:
		*p = (*p)[:len(*p)-1]
		p.valueDone()
	}
	return nil
}

// valueDone moves the enclosing container past the value just read.
func (p jsonPath) valueDone() {
	if len(p) == 0 {
		return
	}
	top := p[len(p)-1]
	if top.object {
		top.wantKey = true
	} else {
		top.index++
	}
}

// str reads a string: an object's key, refused when the object gave it already, or a value. It returns the field
// when the string holds a NUL character.
func (p jsonPath) str(s string) (*invite.FieldError, error) {
	if len(p) == 0 || !p[len(p)-1].object || !p[len(p)-1].wantKey {
		f := nulIn(p.current(), s, false)
		p.valueDone()
		return f, nil
	}
	top := p[len(p)-1]
	top.key, top.wantKey = s, false
	if top.keys[s] {
		field := printable(p.current())
		return nil, invite.FieldProblem(invite.CodeMalformedJSON, field, "given more than once",
			fmt.Sprintf("the request body has the field %q more than once; send each field once", field))
	}
	top.keys[s] = true
	return nulIn(p.current(), s, true), nil
}

// nulIn is the finding of a NUL character in the field at path: in its name (key), or in its value (the body's
// own when path is empty); nil when s has none.
func nulIn(path, s string, key bool) *invite.FieldError {
	switch {
	case !strings.ContainsRune(s, 0):
		return nil
	case key:
		return &invite.FieldError{Field: printable(path), Message: "the field's name " + nulMessage}
	case path == "":
		path = "body"
	}
	return &invite.FieldError{Field: printable(path), Message: nulMessage}
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
