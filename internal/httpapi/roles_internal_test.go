package httpapi

import (
	"context"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

func loadSpec(t *testing.T, security, roles string) *openapi3.T {
	t.Helper()
	doc := `openapi: 3.0.3
info: {title: t, version: "1"}
components:
  securitySchemes:
    bearerAuth: {type: http, scheme: bearer}
paths:
  /x:
    get:
      operationId: getX
      security: ` + security + `
` + roles + `
      responses:
        '200': {description: ok}
`
	spec, err := openapi3.NewLoader().LoadFromData([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if err := spec.Validate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return spec
}

// A spec that names roles any other way than the server enforces is refused when the server is built, not
// silently served unenforced.
func TestRequiredRolesRefusesWhatItCannotEnforce(t *testing.T) {
	for _, tc := range []struct{ name, security, roles, err string }{
		{"scopes", "[{bearerAuth: [platform_admin]}]", "", "names scopes"},
		{"not a list", "[{bearerAuth: []}]", "      x-required-roles: platform_admin", "list of role names"},
		{"an empty list", "[{bearerAuth: []}]", "      x-required-roles: []", "list of role names"},
		{"not names", "[{bearerAuth: []}]", "      x-required-roles: [1]", "list of role names"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := requiredRoles(loadSpec(t, tc.security, tc.roles)); err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("err = %v, want one that says %q", err, tc.err)
			}
		})
	}
	roles, err := requiredRoles(loadSpec(t, "[{bearerAuth: []}]", "      x-required-roles: [platform_admin, auditor]"))
	if err != nil {
		t.Fatal(err)
	}
	for _, got := range roles {
		if strings.Join(got, ",") != "platform_admin,auditor" {
			t.Errorf("roles = %v", got)
		}
	}
	if len(roles) != 1 {
		t.Errorf("%d operations with roles, want 1", len(roles))
	}
}
