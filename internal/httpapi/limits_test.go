package httpapi_test

import (
	"testing"

	"github.com/cloudreseller/aws-invites/api"
	"github.com/cloudreseller/aws-invites/internal/invite"
)

// TestSpecStatesTheDomainsLimits: the limits a client can validate against in openapi.yaml are the domain's.
func TestSpecStatesTheDomainsLimits(t *testing.T) {
	spec, err := api.GetSpec()
	if err != nil {
		t.Fatal(err)
	}
	notes := spec.Components.Schemas["CreateInviteRequest"].Value.Properties["notes"].Value
	if notes.MaxLength == nil || *notes.MaxLength != invite.MaxNotes {
		t.Errorf("CreateInviteRequest.notes maxLength = %v, want %d", notes.MaxLength, invite.MaxNotes)
	}
	list := spec.Paths.Find("/billing-profiles/{billingProfileId}/aws-invites").Get
	limit := list.Parameters.GetByInAndName("query", "limit").Schema.Value
	if limit.Max == nil || int(*limit.Max) != invite.MaxPageSize {
		t.Errorf("limit maximum = %v, want %d", limit.Max, invite.MaxPageSize)
	}
	if d, ok := limit.Default.(float64); !ok || int(d) != invite.DefaultPageSize {
		t.Errorf("limit default = %v, want %d", limit.Default, invite.DefaultPageSize)
	}
	states := spec.Components.Schemas["InviteState"].Value.Enum
	if len(states) != len(invite.States()) {
		t.Errorf("InviteState enum = %v, want the lifecycle's %v", states, invite.States())
	}
	for i, s := range invite.States() {
		if i < len(states) && states[i] != string(s) {
			t.Errorf("InviteState enum[%d] = %v, want %s", i, states[i], s)
		}
	}
}
