package httpapi_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// A browser client can use all of the contract: every method of the spec passes the preflight with every request
// header the spec takes, and every response header the spec declares is one the page may read.
func TestCORSCoversTheContract(t *testing.T) {
	c := mustContract(t)
	methods, requestHeaders, responseHeaders := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, item := range c.spec.Paths.Map() {
		for method, op := range item.Operations() {
			methods[method] = true
			for _, p := range append(item.Parameters, op.Parameters...) {
				if p.Value.In == "header" {
					requestHeaders[strings.ToLower(p.Value.Name)] = true
				}
			}
			for _, r := range op.Responses.Map() {
				for name := range r.Value.Headers {
					responseHeaders[strings.ToLower(name)] = true
				}
			}
		}
	}
	e := newEnv(t, envOptions{sandbox: true})
	origin := "https://app.example.com"
	list := func(h string) []string {
		var out []string
		for _, v := range strings.Split(h, ",") {
			out = append(out, strings.ToLower(strings.TrimSpace(v)))
		}
		return out
	}
	for method := range methods {
		asked := []string{"authorization", "content-type"}
		for h := range requestHeaders {
			asked = append(asked, h)
		}
		r := e.do("OPTIONS", "/billing-profiles/"+profile, "", nil, "Origin", origin, "Access-Control-Request-Method", method,
			"Access-Control-Request-Headers", strings.Join(asked, ","))
		if r.status != http.StatusNoContent || r.header.Get("Access-Control-Allow-Origin") != origin {
			t.Errorf("preflight of %s: %d %v", method, r.status, r.header)
			continue
		}
		if !slices.Contains(list(r.header.Get("Access-Control-Allow-Methods")), strings.ToLower(method)) {
			t.Errorf("preflight of %s: Allow-Methods %q", method, r.header.Get("Access-Control-Allow-Methods"))
		}
		allowed := list(r.header.Get("Access-Control-Allow-Headers"))
		for _, h := range asked {
			if !slices.Contains(allowed, h) {
				t.Errorf("preflight of %s: %s is not an allowed request header (%v)", method, h, allowed)
			}
		}
	}
	exposed := list(e.do("GET", "/healthz", "", nil, "Origin", origin).header.Get("Access-Control-Expose-Headers"))
	for h := range responseHeaders {
		if !slices.Contains(exposed, h) {
			t.Errorf("the page cannot read %s (exposed: %v)", h, exposed)
		}
	}
}
