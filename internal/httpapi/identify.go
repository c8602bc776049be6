package httpapi

import (
	"context"
	"regexp"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"

	"github.com/cloudreseller/aws-invites/internal/invite"
)

// verified is a bearer token's verification, done once per request before anything else looks at the request:
// the rate limiter keys buckets by the caller, the input checks leave requests without a valid token to the
// validator's 401, and the validator's authentication reuses it.
type verified struct {
	token     string
	principal invite.Principal
	err       error
}

type verifiedKey struct{}

// identify verifies the request's bearer token, if it has one, and keeps the result in the request context (its
// exchange; a context value where there is none).
func identify(v Verifier) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if token, ok := bearer(req.Header.Get(echo.HeaderAuthorization)); ok {
				p, err := v.Verify(req.Context(), token)
				got := &verified{token, p, err}
				if x := exchangeOf(req.Context()); x != nil {
					x.verified = got
				} else {
					c.SetRequest(req.WithContext(context.WithValue(req.Context(), verifiedKey{}, got)))
				}
			}
			return next(c)
		}
	}
}

// verificationOf is the verification identify kept for a request's token; nil without a token.
func verificationOf(ctx context.Context) *verified {
	if x := exchangeOf(ctx); x != nil {
		return x.verified
	}
	got, _ := ctx.Value(verifiedKey{}).(*verified)
	return got
}

// identified returns the caller a valid bearer token names.
func identified(ctx context.Context) (invite.Principal, bool) {
	got := verificationOf(ctx)
	if got == nil || got.err != nil {
		return invite.Principal{}, false
	}
	return got.principal, true
}

// verifyOnce verifies the token unless this request's context already holds its verification.
func verifyOnce(ctx context.Context, v Verifier, token string) (invite.Principal, error) {
	if got := verificationOf(ctx); got != nil && got.token == token {
		return got.principal, got.err
	}
	return v.Verify(ctx, token)
}

// specRoutes names the spec's operations that satisfy pred the way Echo names routes: "POST /a/:b".
func specRoutes(spec *openapi3.T, pred func(*openapi3.Operation) bool) map[string]bool {
	out := map[string]bool{}
	for path, item := range spec.Paths.Map() {
		for method, op := range item.Operations() {
			if pred(op) {
				out[echoRoute(method, path)] = true
			}
		}
	}
	return out
}

// pathParam is a parameter of a path as the spec writes it.
var pathParam = regexp.MustCompile(`\{([^}]+)\}`)

// echoRoute is the key of an operation as Echo routes it: "METHOD /echo/:path".
func echoRoute(method, specPath string) string {
	return strings.ToUpper(method) + " " + pathParam.ReplaceAllString(specPath, ":$1")
}

// secured reports whether an operation requires a token: its own security requirements, else the spec's.
func secured(spec *openapi3.T) func(*openapi3.Operation) bool {
	return func(op *openapi3.Operation) bool {
		if op.Security != nil {
			return len(*op.Security) > 0
		}
		return len(spec.Security) > 0
	}
}
