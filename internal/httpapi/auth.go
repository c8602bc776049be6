package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/labstack/echo/v4"
	echomiddleware "github.com/oapi-codegen/echo-middleware"

	"github.com/cloudreseller/aws-invites/internal/invite"
)

type principalKey struct{}

// principal is the caller authenticate let through; the zero Principal before, or for a public operation.
func principal(ctx context.Context) invite.Principal {
	if x := exchangeOf(ctx); x != nil {
		if x.principal != nil {
			return *x.principal
		}
		return invite.Principal{}
	}
	p, _ := ctx.Value(principalKey{}).(invite.Principal)
	return p
}

// rolesExtension is the operation extension that names the roles an operation requires, all of them: OpenAPI 3.0
// gives scopes to OAuth 2 and OpenID Connect only, and the API's tokens are bearer JWTs.
const rolesExtension = "x-required-roles"

// requiredRoles reads every operation's x-required-roles. A malformed one, or a security requirement that names
// scopes (which nothing would enforce), is an error: the spec is the one place roles are declared.
func requiredRoles(spec *openapi3.T) (map[*openapi3.Operation][]string, error) {
	out := map[*openapi3.Operation][]string{}
	for path, item := range spec.Paths.Map() {
		for method, op := range item.Operations() {
			if op.Security != nil {
				for _, req := range *op.Security {
					for scheme, scopes := range req {
						if len(scopes) > 0 {
							return nil, fmt.Errorf("%s %s: security %s names scopes %v; declare roles in %s", method, path, scheme, scopes, rolesExtension)
						}
					}
				}
			}
			raw, ok := op.Extensions[rolesExtension]
			if !ok {
				continue
			}
			list, ok := raw.([]any)
			if !ok || len(list) == 0 {
				return nil, fmt.Errorf("%s %s: %s must be a non-empty list of role names", method, path, rolesExtension)
			}
			for _, r := range list {
				role, ok := r.(string)
				if !ok || role == "" {
					return nil, fmt.Errorf("%s %s: %s must be a non-empty list of role names", method, path, rolesExtension)
				}
				out[op] = append(out[op], role)
			}
		}
	}
	return out, nil
}

// authenticate verifies the bearer token for operations that declare security, and checks the roles the route's
// operation requires (x-required-roles, read by requiredRoles): admit, as the validator calls it.
func authenticate(v Verifier, roles map[*openapi3.Operation][]string) openapi3filter.AuthenticationFunc {
	return func(ctx context.Context, in *openapi3filter.AuthenticationInput) error {
		var need []string
		if route := in.RequestValidationInput.Route; route != nil {
			need = roles[route.Operation]
		}
		return admit(echomiddleware.GetEchoContext(ctx), in.RequestValidationInput.Request, v, need)
	}
}

// admit verifies req's bearer token and checks that its caller has every role in need. The principal then travels
// in the request context to the handlers.
func admit(c echo.Context, req *http.Request, v Verifier, need []string) error {
	token, ok := bearer(req.Header.Get(echo.HeaderAuthorization))
	if !ok {
		return unauthenticated("send a bearer token: Authorization: Bearer <JWT>")
	}
	p, err := verifyOnce(c.Request().Context(), v, token)
	if err != nil {
		return unauthenticated("the bearer token is not valid: " + err.Error())
	}
	for _, role := range need {
		if !slices.Contains(p.Roles, role) {
			return &echo.HTTPError{Code: http.StatusForbidden, Internal: invite.Errorf(invite.CodeForbidden, "this operation needs the %q role", role)}
		}
	}
	if x := exchangeOf(c.Request().Context()); x != nil {
		x.principal = &p
	} else {
		c.SetRequest(c.Request().WithContext(context.WithValue(c.Request().Context(), principalKey{}, p)))
	}
	return nil
}

func unauthenticated(detail string) error {
	return &echo.HTTPError{Code: http.StatusUnauthorized, Internal: invite.Errorf(invite.CodeUnauthenticated, "%s", detail)}
}

// bearer extracts the token from an Authorization header value of the form "Bearer <token>"; the scheme is
// matched case-insensitively as RFC 9110 requires.
func bearer(header string) (string, bool) {
	scheme, rest, found := strings.Cut(strings.TrimSpace(header), " ")
	if !found || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token := strings.TrimSpace(rest)
	if token == "" || strings.ContainsAny(token, " \t") {
		return "", false
	}
	return token, true
}
