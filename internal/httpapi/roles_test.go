package httpapi_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/cloudreseller/aws-invites/internal/invite"
)

// adminOnly are the operations only platform administrators may call: the reseller's own configuration (writing
// billing profiles, reseller-wide webhooks), everyone's activity, moving invites between billing profiles and
// reading what AWS holds for a payer, and how CloudHealth is read.
var adminOnly = []string{"createResellerWebhook", "createTestClock", "deleteResellerWebhook", "getPayerInviteQuota", "getResellerWebhook", "listCloudHealthTenants", "listEvents",
	"listPayerHandshakes", "listResellerWebhookDeliveries", "listResellerWebhooks", "putBillingProfile", "reassignInvite",
	"rotateResellerWebhookSecret", "testResellerWebhook", "updateResellerWebhook"}

// TestRolesAreDeclaredAndEnforced: the spec declares the role of exactly the admin-only operations, in
// x-required-roles (bearer security requirements name no scopes), and the server enforces what it declares: a
// licenses manager assigned to the billing profile gets 403 on each, a platform administrator does not.
func TestRolesAreDeclaredAndEnforced(t *testing.T) {
	c := mustContract(t)
	var declared []string
	for path, item := range c.spec.Paths.Map() {
		for method, op := range item.Operations() {
			if op.Security != nil {
				for _, req := range *op.Security {
					for scheme, scopes := range req {
						if len(scopes) > 0 {
							t.Errorf("%s %s: security %s names scopes %v", method, path, scheme, scopes)
						}
					}
				}
			}
			roles, ok := op.Extensions["x-required-roles"]
			if !ok {
				continue
			}
			declared = append(declared, op.OperationID)
			if list, _ := roles.([]any); len(list) != 1 || list[0] != invite.RolePlatformAdmin {
				t.Errorf("%s: x-required-roles = %v, want [%s]", op.OperationID, roles, invite.RolePlatformAdmin)
			}
		}
	}
	slices.Sort(declared)
	if !slices.Equal(declared, adminOnly) {
		t.Errorf("operations with x-required-roles: %v, want %v", declared, adminOnly)
	}

	e := newEnv(t, envOptions{sandbox: true})
	params := existing(e)
	reseller := resellerHook(e, params)
	manager := e.token() // a licenses manager assigned to acme-main
	for _, o := range operations(t) {
		if !slices.Contains(adminOnly, o.id) {
			continue
		}
		t.Run(o.id, func(t *testing.T) {
			e := e.with(t)
			url := o.url(t, paramsFor(o, params, reseller))
			p := e.problem(e.do(o.method, url, manager, o.validBody(t)), 403, "forbidden")
			if !strings.Contains(p["detail"].(string), invite.RolePlatformAdmin) {
				t.Errorf("the detail does not name the role: %v", p["detail"])
			}
			if r := e.do(o.method, url, rootToken(e), o.validBody(t)); r.status == 403 {
				t.Errorf("a platform administrator: 403 %s", r.body)
			}
		})
	}
}
