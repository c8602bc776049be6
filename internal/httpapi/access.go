package httpapi

import (
	"fmt"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// accessExtension is the operation extension that says who may call an operation: one of accessRules' names, on
// every operation of the spec. x-required-roles is what the authentication middleware enforces before the
// handler; the rest is enforced by the use cases (invite's authorize, the sandbox's clocks), and the access test
// calls every operation as every kind of caller to hold them to this table.
const accessExtension = "x-access"

// accessRule is one row of the table of who may do what. The table is the one source of the README's section and
// of the spec's summary of it (a test compares both with rendered text).
type accessRule struct {
	Name string
	Who  string
	Why  string
}

// accessRules is the table, in the order the documents show it.
var accessRules = []accessRule{
	{"public", "anyone, without a token",
		"probes for load balancers and orchestrators; they tell nothing about any customer"},
	{"any_user", "any valid token",
		"the shared sandbox time is the same for everyone; the sandbox's mail is filtered to the billing profiles the caller may read (all of it for a platform administrator), so another customer sees none"},
	{"profile_read", "a user of the billing profile's customer assigned to it (`billing_profiles` claim), or a platform administrator",
		"a customer's invites name its accounts, people and costs; another customer's profile answers 404 as if it did not exist, a user not assigned to it 403 `not_assigned`"},
	{"profile_write", "as profile_read, with the `licenses_manager` permission; or a platform administrator",
		"it changes what the customer is billed for or who is told; the sandbox's stand-ins for the invited account's owner (accept, decline), for CloudHealth and for AWS's report delivery change the invite as a write would, so they need the same (a viewer may look, not act)"},
	{"platform_admin", "the `platform_admin` role (`x-required-roles`)",
		"the reseller's own staff and systems: billing profiles, every profile's activity, a payer's handshakes, moving an invite between profiles, reseller-wide webhooks, test clocks"},
	{"shared_clock", "a platform administrator, or a `licenses_manager` of the one customer the sandbox gives its shared clock to (`SANDBOX_SHARED_CLOCK_CUSTOMER`)",
		"the shared sandbox time is the time of every partner without a test clock of its own: moving it moves theirs"},
	{"test_clock_read", "the users of the customer a payer's test clock was given to, or a platform administrator",
		"a partner's test clock is part of its tests; to another customer it answers 404 as if there were none"},
	{"test_clock_write", "as test_clock_read, with the `licenses_manager` permission",
		"moving a payer's clock runs that payer's due work only, so no other partner's invites move"},
}

// accessAdds is what a permission or role adds inside an operation, beyond its rule.
const accessAdds = "Within an operation: `adoptHandshakeId` on a create needs `platform_admin` as well; a platform administrator may do every write of a billing profile without `licenses_manager`."

// operationAccess reads every operation's x-access, by operationId; an operation without one, or with a name not
// in the table, is an error: every operation says who may call it.
func operationAccess(spec *openapi3.T) (map[string]string, error) {
	out := map[string]string{}
	for path, item := range spec.Paths.Map() {
		for method, op := range item.Operations() {
			raw, ok := op.Extensions[accessExtension].(string)
			if !ok || !slices.ContainsFunc(accessRules, func(r accessRule) bool { return r.Name == raw }) {
				return nil, fmt.Errorf("%s %s: %s must name one of the access rules, not %v", method, path, accessExtension, op.Extensions[accessExtension])
			}
			_, admin := op.Extensions[rolesExtension]
			public := op.Security != nil && len(*op.Security) == 0
			switch {
			case (raw == "platform_admin") != admin:
				return nil, fmt.Errorf("%s %s: %s %s and %s disagree: platform_admin is exactly the operations that require the role", method, path, accessExtension, raw, rolesExtension)
			case (raw == "public") != public:
				return nil, fmt.Errorf("%s %s: %s %s and its security disagree: public is exactly the operations without security", method, path, accessExtension, raw)
			}
			out[op.OperationID] = raw
		}
	}
	return out, nil
}

// renderAccessRules renders the table of rules, as the spec's description and the README show it.
func renderAccessRules() string {
	var b strings.Builder
	b.WriteString("| `x-access` | Who may call | Why |\n|---|---|---|\n")
	for _, r := range accessRules {
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", r.Name, r.Who, r.Why)
	}
	b.WriteString("\n" + accessAdds + "\n")
	return b.String()
}

// renderAccessOperations renders which operations each rule covers, as the README shows it.
func renderAccessOperations(spec *openapi3.T) (string, error) {
	ops, err := operationAccess(spec)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("| `x-access` | Operations |\n|---|---|\n")
	for _, r := range accessRules {
		var names []string
		for id, rule := range ops {
			if rule == r.Name {
				// The generator's copy of the spec capitalizes operation ids; the documents name them as openapi.yaml does.
				names = append(names, "`"+strings.ToLower(id[:1])+id[1:]+"`")
			}
		}
		slices.Sort(names)
		fmt.Fprintf(&b, "| `%s` | %s |\n", r.Name, strings.Join(names, ", "))
	}
	return b.String(), nil
}
