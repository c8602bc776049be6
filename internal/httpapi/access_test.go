package httpapi

import (
	"os"
	"strings"
	"testing"

	"github.com/cloudreseller/aws-invites/api"
)

// The table of who may do what is rendered from one source (accessRules, and x-access on every operation) into
// the spec's description and the README; the documents must hold exactly that text.
func TestAccessTableInDocs(t *testing.T) {
	spec, err := api.GetSpec()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := operationAccess(spec); err != nil {
		t.Fatal(err)
	}
	rules := renderAccessRules()
	if !strings.Contains(spec.Info.Description, rules) {
		t.Errorf("openapi.yaml's description must hold the access table as rendered:\n%s", rules)
	}
	ops, err := renderAccessOperations(spec)
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	want := "<!-- access:begin (rendered from internal/httpapi/access.go and openapi.yaml's x-access; TestAccessTableInDocs checks it) -->\n" +
		rules + "\n" + ops + "<!-- access:end -->"
	if !strings.Contains(string(readme), want) {
		t.Errorf("README.md must hold the access table as rendered:\n%s", want)
	}
}
