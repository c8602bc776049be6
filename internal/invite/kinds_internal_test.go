package invite

import "testing"

// TestRulesFor: each kind's rules are found by its name (join when unset), once; an unknown kind is a
// validation failure on the field kind. That every kind answers every rule, the compiler checks (kindRules).
func TestRulesFor(t *testing.T) {
	seen := map[InviteKind]bool{}
	for _, r := range inviteKinds {
		if seen[r.kind()] {
			t.Errorf("kind %q has two sets of rules", r.kind())
		}
		seen[r.kind()] = true
		if got, err := rulesFor(r.kind()); err != nil || got.kind() != r.kind() {
			t.Errorf("rulesFor(%q) = %v, %v", r.kind(), got, err)
		}
	}
	if got, err := rulesFor(""); err != nil || got.kind() != InviteJoin {
		t.Errorf(`rulesFor("") = %v, %v; want the join rules`, got, err)
	}
	_, err := rulesFor("merge")
	if e, ok := err.(*Error); !ok || e.Code != CodeValidationFailed || len(e.Fields) != 1 || e.Fields[0].Field != "kind" {
		t.Errorf(`rulesFor("merge") = %v; want validation_failed on kind`, err)
	}
}

// Every step says who acts, and an operation it offers is one the API renders a path for (apiview).
func TestEveryStepSaysWhoActs(t *testing.T) {
	for _, c := range StepCodes() {
		if _, ok := stepKinds[c]; !ok || c.Actor() == "" {
			t.Errorf("step %s: no actor", c)
		}
		if a := c.Action(); a.Operation != "" && a.URL != "" {
			t.Errorf("step %s offers both an operation and a page", c)
		}
	}
}
