package iamsim

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Decisions of a simulation, as EvalDecision carries them (types.PolicyEvaluationDecisionType).
const (
	Allowed      = "allowed"
	ExplicitDeny = "explicitDeny"
	ImplicitDeny = "implicitDeny"
)

// MatchAction reports whether an IAM policy's Action (or NotAction) element matches an action, as IAM's policy
// reference documents it: "*" matches any run of characters, "?" any one character, and action names are not
// case sensitive.
func MatchAction(pattern, action string) bool {
	return glob(strings.ToLower(pattern), strings.ToLower(action))
}

// matchResource matches a Resource element against a resource ARN: the same wildcards, case sensitive.
func matchResource(pattern, resource string) bool { return glob(pattern, resource) }

// glob matches p against s with "*" (any run, empty included) and "?" (exactly one character).
func glob(p, s string) bool {
	// The classic linear matcher with one backtracking point: the last "*" seen.
	pi, si, star, mark := 0, 0, -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == s[si]):
			pi++
			si++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// document is an IAM policy document as the simulator reads it.
type document struct {
	Statement oneOrMany[statement] `json:"Statement"`
}

type statement struct {
	Effect      string            `json:"Effect"`
	Principal   any               `json:"Principal"`
	Action      oneOrMany[string] `json:"Action"`
	NotAction   oneOrMany[string] `json:"NotAction"`
	Resource    oneOrMany[string] `json:"Resource"`
	NotResource oneOrMany[string] `json:"NotResource"`
	Condition   map[string]any    `json:"Condition"`
}

// oneOrMany reads an element that IAM accepts as one value or a list of them (Statement, Action, Resource...).
type oneOrMany[T any] []T

func (l *oneOrMany[T]) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] != '[' && string(b) != "null" {
		var one T
		if err := json.Unmarshal(b, &one); err != nil {
			return err
		}
		*l = oneOrMany[T]{one}
		return nil
	}
	var many []T
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*l = many
	return nil
}

func parseDocument(text string) (document, error) {
	var d document
	if err := json.Unmarshal([]byte(text), &d); err != nil {
		return d, fmt.Errorf("malformed policy document: %w", err)
	}
	for _, st := range d.Statement {
		if st.Effect != "Allow" && st.Effect != "Deny" {
			return d, fmt.Errorf("malformed policy document: Effect %q", st.Effect)
		}
		if (len(st.Action) == 0) == (len(st.NotAction) == 0) {
			return d, fmt.Errorf("malformed policy document: a statement needs Action or NotAction")
		}
	}
	return d, nil
}

// appliesTo reports whether a permissions statement covers the action on the resource. A statement with a
// Condition is never applied: the simulator has no request context to evaluate it with (the CloudHealth and
// checker roles' policies carry none).
func (st statement) appliesTo(action, resource string) bool {
	if len(st.Condition) > 0 {
		return false
	}
	if len(st.Action) > 0 && !anyMatch(st.Action, action, MatchAction) {
		return false
	}
	if len(st.NotAction) > 0 && anyMatch(st.NotAction, action, MatchAction) {
		return false
	}
	switch {
	case len(st.Resource) > 0:
		return anyMatch(st.Resource, resource, matchResource)
	case len(st.NotResource) > 0:
		return !anyMatch(st.NotResource, resource, matchResource)
	}
	return true // an identity policy's statement without Resource would be refused by IAM; not reached here
}

func anyMatch(patterns []string, s string, match func(p, s string) bool) bool {
	for _, p := range patterns {
		if match(p, s) {
			return true
		}
	}
	return false
}

// evaluate is IAM's documented evaluation within one account over a principal's identity policies: an explicit
// Deny wins over any Allow, an Allow over the implicit deny.
func evaluate(docs []document, action, resource string) string {
	decision := ImplicitDeny
	for _, d := range docs {
		for _, st := range d.Statement {
			if !st.appliesTo(action, resource) {
				continue
			}
			if st.Effect == "Deny" {
				return ExplicitDeny
			}
			decision = Allowed
		}
	}
	return decision
}

// trusts reports whether a role's trust policy lets the caller (its principal ARN, its account) assume the role
// with the external id given. A principal matches when it is "*", the caller's ARN, or the caller's account
// (the 12 digits or arn:aws:iam::<account>:root: the account delegates to its own principals). Of conditions
// only StringEquals on sts:ExternalId is understood; a statement with any other condition does not apply (the
// simulator refuses what it cannot evaluate rather than grant it).
func trusts(d document, callerARN, callerAccount, externalID string) bool {
	allowed := false
	for _, st := range d.Statement {
		if !anyMatch(st.Action, "sts:AssumeRole", MatchAction) || !principalMatches(st.Principal, callerARN, callerAccount) {
			continue
		}
		if !conditionHolds(st.Condition, externalID) {
			continue
		}
		if st.Effect == "Deny" {
			return false
		}
		allowed = true
	}
	return allowed
}

func principalMatches(p any, callerARN, callerAccount string) bool {
	var names []string
	switch v := p.(type) {
	case string:
		names = []string{v}
	case map[string]any:
		switch aws := v["AWS"].(type) {
		case string:
			names = []string{aws}
		case []any:
			for _, n := range aws {
				if s, ok := n.(string); ok {
					names = append(names, s)
				}
			}
		}
	}
	for _, n := range names {
		if n == "*" || n == callerARN || n == callerAccount || n == "arn:aws:iam::"+callerAccount+":root" {
			return true
		}
	}
	return false
}

func conditionHolds(cond map[string]any, externalID string) bool {
	for op, block := range cond {
		keys, ok := block.(map[string]any)
		if op != "StringEquals" || !ok {
			return false
		}
		for key, want := range keys {
			if !strings.EqualFold(key, "sts:ExternalId") || externalID == "" {
				return false
			}
			var values []string
			switch v := want.(type) {
			case string:
				values = []string{v}
			case []any:
				for _, x := range v {
					if s, ok := x.(string); ok {
						values = append(values, s)
					}
				}
			}
			found := false
			for _, v := range values {
				found = found || v == externalID
			}
			if !found {
				return false
			}
		}
	}
	return true
}
