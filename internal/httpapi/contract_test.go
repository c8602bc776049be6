package httpapi_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/cloudreseller/aws-invites/api"
)

// The harness checks every response it receives against openapi.yaml (see env.do): whatever a test sends, the
// answer must be one the spec promises. This is the response-validating half of the contract; the request
// validator in the server is the other.

// contract is openapi.yaml as written (api.SpecYAML: the served spec, not the generator's view of it) and a
// router that finds a request's operation in it.
type contract struct {
	spec   *openapi3.T
	router routers.Router
}

var loadContract = sync.OnceValues(func() (*contract, error) {
	loader := openapi3.NewLoader()
	spec, err := loader.LoadFromData(api.SpecYAML)
	if err != nil {
		return nil, err
	}
	if err := spec.Validate(context.Background()); err != nil {
		return nil, err
	}
	spec.Servers = nil // match any host, as the server's validator does
	router, err := gorillamux.NewRouter(spec)
	if err != nil {
		return nil, err
	}
	return &contract{spec: spec, router: router}, nil
})

func mustContract(tb testing.TB) *contract {
	tb.Helper()
	c, err := loadContract()
	if err != nil {
		tb.Fatalf("loading openapi.yaml: %v", err)
	}
	return c
}

// ownHeaders are the response headers the API itself sends (not Go's, Echo's CORS middleware's or a proxy's): each
// one sent must be declared on the response that carries it, so a typed client can know of it.
var ownHeaders = []string{"X-Request-Id", "X-Sandbox", "X-Sandbox-Time", "Ratelimit", "Ratelimit-Policy", "Retry-After",
	"Location", "Etag", "Idempotent-Replayed", "Www-Authenticate"}

// check says how a response departs from the spec: a status its operation does not declare, a content type or
// body the declared response does not allow, a required header missing or one of the API's own headers sent
// undeclared. A request outside the spec's paths (documentation, metrics, unknown paths) is not the spec's to judge;
// one whose path is the spec's but not its method must be answered 405 with Allow.
func (c *contract) check(req *http.Request, res response) error {
	if req.Method == http.MethodOptions { // CORS preflights are answered by middleware, before any operation
		return nil
	}
	// HEAD is answered as GET without a body: the GET's declarations apply.
	find := req
	if req.Method == http.MethodHead {
		find = req.Clone(req.Context())
		find.Method = http.MethodGet
	}
	route, params, err := c.router.FindRoute(find)
	switch {
	case errors.Is(err, routers.ErrMethodNotAllowed):
		if res.status != http.StatusMethodNotAllowed || res.header.Get("Allow") == "" {
			return fmt.Errorf("a method the path does not have answered %d (Allow %q), want 405 with Allow", res.status, res.header.Get("Allow"))
		}
		return nil
	case errors.Is(err, routers.ErrPathNotFound):
		return nil
	case err != nil:
		return fmt.Errorf("finding the operation: %w", err)
	}
	op := route.Operation
	declared := op.Responses.Status(res.status)
	if declared == nil || declared.Value == nil {
		return fmt.Errorf("%s does not declare status %d (%s)", op.OperationID, res.status, res.body)
	}
	for _, name := range ownHeaders {
		if res.header.Get(name) == "" {
			continue
		}
		if !slices.ContainsFunc(mapKeys(declared.Value.Headers), func(h string) bool { return strings.EqualFold(h, name) }) {
			return fmt.Errorf("%s %d sends %s, which it does not declare", op.OperationID, res.status, name)
		}
	}
	if ct := res.header.Get("Content-Type"); declared.Value.Content.Get("application/problem+json") != nil && ct != "application/problem+json" {
		return fmt.Errorf("%s %d is %q, not application/problem+json", op.OperationID, res.status, ct)
	}
	if req.Method == http.MethodHead {
		return nil
	}
	opts := &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}
	if mt, _, _ := mime.ParseMediaType(res.header.Get("Content-Type")); !strings.HasSuffix(mt, "json") && len(res.body) > 0 {
		// A document in another format (a CloudFormation template in YAML) is declared as a string, which the
		// validator would compare with the document it parses: only its media type is checked.
		if declared.Value.Content.Get(mt) == nil {
			return fmt.Errorf("%s %d is %s, which it does not declare", op.OperationID, res.status, mt)
		}
		opts.ExcludeResponseBody = true
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 res.status,
		Header:                 res.header,
		Body:                   io.NopCloser(bytes.NewReader(res.body)),
		Options:                opts,
	}
	if err := openapi3filter.ValidateResponse(req.Context(), in); err != nil {
		return fmt.Errorf("%s %d: %w (%s)", op.OperationID, res.status, err, res.body)
	}
	return nil
}

func mapKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestContractCheckFindsWhatTheSpecDoesNotSay: the check the harness makes of every answer refuses each way an
// answer can depart from openapi.yaml, and accepts one that does not.
func TestContractCheckFindsWhatTheSpecDoesNotSay(t *testing.T) {
	c := mustContract(t)
	problem := func(code string) []byte {
		return []byte(`{"type":"urn:aws-invites:problem:` + code + `","title":"Not Found","status":404,"code":"` + code + `","detail":"d"}`)
	}
	headers := func(kv ...string) http.Header {
		h := http.Header{"X-Request-Id": {"r-1"}}
		for i := 0; i+1 < len(kv); i += 2 {
			h.Set(kv[i], kv[i+1])
		}
		return h
	}
	for _, tc := range []struct {
		name, method string
		res          response
		err          string // empty: the answer keeps the contract
	}{
		{"a declared problem", "GET", response{404, headers("Content-Type", "application/problem+json"), problem("not_found")}, ""},
		{"HEAD as GET", "HEAD", response{404, headers("Content-Type", "application/problem+json"), nil}, ""},
		{"an undeclared status", "GET", response{418, headers("Content-Type", "application/problem+json"), problem("not_found")}, "does not declare status 418"},
		{"an undeclared header", "GET", response{404, headers("Content-Type", "application/problem+json", "Retry-After", "3"), problem("not_found")}, "Retry-After"},
		{"a problem as plain JSON", "GET", response{404, headers("Content-Type", "application/json"), problem("not_found")}, "not application/problem+json"},
		{"a code not in the enum", "GET", response{404, headers("Content-Type", "application/problem+json"), problem("no_such_code")}, "no_such_code"},
		{"no request id", "GET", response{404, http.Header{"Content-Type": {"application/problem+json"}}, problem("not_found")}, "X-Request-Id"},
		{"405 without Allow", "PATCH", response{405, headers("Content-Type", "application/problem+json"), problem("method_not_allowed")}, "Allow"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, "http://127.0.0.1/billing-profiles/acme-main/aws-invites/inv-1", nil)
			if err != nil {
				t.Fatal(err)
			}
			err = c.check(req, tc.res)
			switch {
			case tc.err == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Errorf("err = %v, want one that says %q", err, tc.err)
			}
		})
	}
}
