package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/labstack/echo/v4"
	echomiddleware "github.com/oapi-codegen/echo-middleware"

	"github.com/cloudreseller/aws-invites/internal/invite"
)

type principalKey struct{}

func principal(ctx context.Context) invite.Principal {
	p, _ := ctx.Value(principalKey{}).(invite.Principal)
	return p
}

// authenticate verifies the bearer token for operations that declare security, and checks the roles an operation
// declares as scopes. The principal travels in the request context to the handlers.
func authenticate(v Verifier) openapi3filter.AuthenticationFunc {
	return func(ctx context.Context, in *openapi3filter.AuthenticationInput) error {
		c := echomiddleware.GetEchoContext(ctx)
		raw := in.RequestValidationInput.Request.Header.Get(echo.HeaderAuthorization)
		token, ok := bearer(raw)
		if !ok {
			return unauthenticated("send a bearer token: Authorization: Bearer <JWT>")
		}
		p, err := verifyOnce(c.Request().Context(), v, token)
		if err != nil {
			return unauthenticated("the bearer token is not valid: " + err.Error())
		}
		for _, role := range in.Scopes {
			if !contains(p.Roles, role) {
				return &echo.HTTPError{Code: http.StatusForbidden, Internal: invite.Errorf(invite.CodeForbidden, "this operation needs the %q role", role)}
			}
		}
		c.SetRequest(c.Request().WithContext(context.WithValue(c.Request().Context(), principalKey{}, p)))
		return nil
	}
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

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
