package httpapi

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/cloudreseller/aws-invites/api"
)

// quickOperations are the spec's operations that have a quick check, each with its route and that check.
func quickOperations(t testing.TB) (map[string]*routers.Route, map[string]*quickCheck) {
	t.Helper()
	spec, err := api.GetSpec()
	if err != nil {
		t.Fatal(err)
	}
	spec.Servers = nil
	routes, checks := map[string]*routers.Route{}, map[string]*quickCheck{}
	for path, item := range spec.Paths.Map() {
		for method, op := range item.Operations() {
			if q := quickCheckOf(spec, path, item, op); q != nil {
				routes[op.OperationID] = &routers.Route{Spec: spec, Path: path, PathItem: item, Method: method, Operation: op}
				checks[op.OperationID] = q
			}
		}
	}
	return routes, checks
}

// pathValues are values of path parameters on either side of every check the spec's path parameters make: lengths
// around their bounds, characters their patterns refuse, escapes, non-ASCII and control characters.
var pathValues = []string{"", "a", "demo", "acme-main", "a.b_c-d", "A9", "0190d3c4-0000-7000-8000-000000000001",
	strings.Repeat("a", 63), strings.Repeat("a", 64), strings.Repeat("a", 65), strings.Repeat("b", 127),
	strings.Repeat("b", 128), strings.Repeat("b", 129), strings.Repeat("é", 32), strings.Repeat("é", 33), "é",
	"a b", "a/b", "a%2Fb", "a\x00b", "a\nb", "\t", "..", "a,b", "a;b", "a=b", "a?b", "a#b", "日本", "😀", "\xff",
	"a+b", "~a", "a*", "(a)", "a'b", `a"b`, "a\\b"}

// The quick check accepts only what the validator accepts: for every operation that has one, and every value of
// pathValues in every parameter, a value the quick check lets through is one the validator's own check of that
// parameter passes. (A value the quick check does not let through goes to the validator, which answers it as it
// always did.) Among ASCII values the two agree exactly, so the quick check does serve what it was made for.
func TestQuickCheckAcceptsOnlyWhatTheValidatorAccepts(t *testing.T) {
	routes, checks := quickOperations(t)
	for _, want := range []string{"GetInvite", "GetBillingProfile", "ListInviteEvents"} {
		if checks[want] == nil || !checks[want].secured {
			t.Errorf("%s has no quick check for its bearer token and path parameters", want)
		}
	}
	for id, q := range checks {
		route := routes[id]
		params := map[string]*openapi3.Parameter{}
		for _, ref := range append(route.PathItem.Parameters, route.Operation.Parameters...) {
			params[ref.Value.Name] = ref.Value
		}
		for _, p := range q.params {
			for _, v := range pathValues {
				fast := p.accepts(v)
				kin := validatorAccepts(t, route, params[p.name], v)
				switch {
				case fast && !kin:
					t.Errorf("%s: %s=%q passes the quick check, the validator refuses it", id, p.name, v)
				case kin && !fast && isASCII(v) && v != "":
					t.Errorf("%s: %s=%q is refused by the quick check, the validator accepts it", id, p.name, v)
				}
			}
		}
	}
}

// FuzzQuickCheck holds the same for any value of the invite's and the billing profile's ids.
func FuzzQuickCheck(f *testing.F) {
	for _, v := range pathValues {
		f.Add(v)
	}
	routes, checks := quickOperations(f)
	route, q := routes["GetInvite"], checks["GetInvite"]
	params := map[string]*openapi3.Parameter{}
	for _, ref := range append(route.PathItem.Parameters, route.Operation.Parameters...) {
		params[ref.Value.Name] = ref.Value
	}
	f.Fuzz(func(t *testing.T, v string) {
		for _, p := range q.params {
			if p.accepts(v) && !validatorAccepts(t, route, params[p.name], v) {
				t.Errorf("%s=%q passes the quick check, the validator refuses it", p.name, v)
			}
		}
	})
}

// validatorAccepts is the validator's verdict on one path parameter's value, as it checks it for a request.
func validatorAccepts(t testing.TB, route *routers.Route, p *openapi3.Parameter, v string) bool {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://localhost/", nil)
	if err != nil {
		t.Fatal(err)
	}
	in := &openapi3filter.RequestValidationInput{Request: req, Route: route, PathParams: map[string]string{p.Name: v},
		Options: &openapi3filter.Options{}}
	return openapi3filter.ValidateParameter(context.Background(), in, p) == nil
}

func isASCII(s string) bool {
	for i := range len(s) {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
