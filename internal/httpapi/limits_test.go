package httpapi_test

import (
	"slices"
	"testing"

	"github.com/cloudreseller/aws-invites/api"
	"github.com/cloudreseller/aws-invites/internal/invite"
	"github.com/cloudreseller/aws-invites/internal/notify"
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
	// Every list pages as the domain does.
	for path, item := range spec.Paths.Map() {
		for method, op := range item.Operations() {
			p := op.Parameters.GetByInAndName("query", "limit")
			if p == nil {
				continue
			}
			limit := p.Schema.Value
			if limit.Max == nil || int(*limit.Max) != invite.MaxPageSize || limit.Min == nil || *limit.Min != 1 {
				t.Errorf("%s %s: limit bounds %v..%v, want 1..%d", method, path, limit.Min, limit.Max, invite.MaxPageSize)
			}
			if d, ok := limit.Default.(float64); !ok || int(d) != invite.DefaultPageSize {
				t.Errorf("%s %s: limit default = %v, want %d", method, path, limit.Default, invite.DefaultPageSize)
			}
		}
	}
	schemas := spec.Components.Schemas
	for _, c := range []struct {
		schema, property string
		max              uint64
	}{
		{"WebhookEndpointInput", "url", notify.MaxWebhookURL}, {"WebhookEndpointUpdate", "url", notify.MaxWebhookURL},
		{"WebhookEndpointInput", "description", notify.MaxDescription}, {"WebhookEndpointUpdate", "description", notify.MaxDescription},
	} {
		if p := schemas[c.schema].Value.Properties[c.property].Value; p.MaxLength == nil || *p.MaxLength != c.max {
			t.Errorf("%s.%s maxLength = %v, want %d", c.schema, c.property, p.MaxLength, c.max)
		}
	}
	if r := schemas["NotificationSettings"].Value.Properties["recipients"].Value; r.MaxItems == nil || *r.MaxItems != notify.MaxRecipients {
		t.Errorf("NotificationSettings.recipients maxItems = %v, want %d", r.MaxItems, notify.MaxRecipients)
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

// enumOf returns a string schema's enum, failing when the schema is missing or has none.
func enumOf(t *testing.T, name string) []string {
	t.Helper()
	ref := mustContract(t).spec.Components.Schemas[name]
	if ref == nil || ref.Value == nil || len(ref.Value.Enum) == 0 {
		t.Fatalf("openapi.yaml has no enum schema %s", name)
	}
	out := make([]string, 0, len(ref.Value.Enum))
	for _, v := range ref.Value.Enum {
		s, ok := v.(string)
		if !ok {
			t.Fatalf("%s enum holds %v, not a string", name, v)
		}
		out = append(out, s)
	}
	return out
}

// sameSet reports what one list has that the other lacks.
func sameSet(t *testing.T, what string, spec, domain []string) {
	t.Helper()
	for _, s := range spec {
		if !slices.Contains(domain, s) {
			t.Errorf("%s: openapi.yaml lists %q, which the domain does not have", what, s)
		}
	}
	for _, d := range domain {
		if !slices.Contains(spec, d) {
			t.Errorf("%s: the domain has %q, which openapi.yaml does not list", what, d)
		}
	}
	if len(slices.Compact(slices.Sorted(slices.Values(spec)))) != len(spec) {
		t.Errorf("%s: openapi.yaml lists a value twice: %v", what, spec)
	}
}

func stringsOf[S ~string](vs []S) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

// TestSpecEnumsAreTheDomains: the stable codes a typed client switches on are exactly the domain's: problem codes,
// next steps and event types.
func TestSpecEnumsAreTheDomains(t *testing.T) {
	sameSet(t, "ProblemCode", enumOf(t, "ProblemCode"), stringsOf(invite.Codes()))
	sameSet(t, "NextStepCode", enumOf(t, "NextStepCode"), stringsOf(invite.StepCodes()))
	sameSet(t, "EventType", enumOf(t, "EventType"), stringsOf(invite.EventTypes()))
	// The schemas that carry them use them.
	schemas := mustContract(t).spec.Components.Schemas
	for _, use := range []struct{ schema, property, enum string }{
		{"Problem", "code", "ProblemCode"}, {"NextStep", "code", "NextStepCode"}, {"Event", "code", "ProblemCode"},
		{"Event", "type", "EventType"}, {"Delivery", "eventType", "EventType"},
	} {
		p := schemas[use.schema].Value.Properties[use.property]
		ref := p.Ref
		if ref == "" && p.Value != nil && len(p.Value.AllOf) == 1 {
			ref = p.Value.AllOf[0].Ref
		}
		if ref != "#/components/schemas/"+use.enum {
			t.Errorf("%s.%s is %q, not the %s enum", use.schema, use.property, ref, use.enum)
		}
	}
}

// TestErrorResponsesAreProblems: every 4xx and 5xx an operation declares is an RFC 9457 problem (the readiness
// probe's 503 excepted: it is the Health document load balancers read), and every response of every operation
// declares X-Request-Id.
func TestErrorResponsesAreProblems(t *testing.T) {
	c := mustContract(t)
	for path, item := range c.spec.Paths.Map() {
		for method, op := range item.Operations() {
			for status, ref := range op.Responses.Map() {
				r := ref.Value
				if _, ok := r.Headers["X-Request-Id"]; !ok {
					t.Errorf("%s %s %s does not declare X-Request-Id", method, path, status)
				}
				if status < "400" || (op.OperationID == "getReadiness" && status == "503") {
					continue
				}
				mt := r.Content.Get("application/problem+json")
				if len(r.Content) != 1 || mt == nil || mt.Schema == nil || mt.Schema.Ref != "#/components/schemas/Problem" {
					t.Errorf("%s %s %s is not application/problem+json with the Problem schema", method, path, status)
				}
			}
		}
	}
}
