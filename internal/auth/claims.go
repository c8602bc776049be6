package auth

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// jsonKind is the JSON type a claim must have (README "API in short", RFC 7519 §4.1).
type jsonKind int

const (
	kindString jsonKind = iota
	kindNumber
	kindStrings // a JSON array whose every element is a string
	// kindAudience is what RFC 7519 §4.1.3 allows for aud: one string or an array of strings.
	kindAudience
)

func (k jsonKind) String() string {
	switch k {
	case kindString:
		return "a string"
	case kindNumber:
		return "a number"
	case kindStrings:
		return "an array of strings"
	default:
		return "a string or an array of strings"
	}
}

// matches reports whether the raw JSON value v is of kind k. encoding/json alone is too lenient for this: it decodes
// "123" into a json.Number, null into any field, and null elements of an array into empty strings.
func (k jsonKind) matches(v json.RawMessage) bool {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return false
	}
	switch k {
	case kindString:
		return v[0] == '"'
	case kindNumber:
		return v[0] == '-' || ('0' <= v[0] && v[0] <= '9')
	case kindStrings:
		return isStringArray(v)
	default:
		return v[0] == '"' || isStringArray(v)
	}
}

func isStringArray(v json.RawMessage) bool {
	var elems []json.RawMessage
	if v[0] != '[' || json.Unmarshal(v, &elems) != nil {
		return false
	}
	for _, e := range elems {
		if !kindString.matches(e) {
			return false
		}
	}
	return true
}

// claimTypeError says which claim had the wrong JSON type; it is shown to the caller, who sent the claim.
type claimTypeError struct {
	claim string
	want  jsonKind
}

func (e *claimTypeError) Error() string { return fmt.Sprintf("claim %s must be %s", e.claim, e.want) }

// UnmarshalJSON decodes the claims the service reads, each only if it has its exact type. A claim of the wrong type
// is left empty and remembered in typeErr rather than failing the decoding, because the parser decodes before it
// checks the signature and the type of a claim matters only in a token that is genuine. Claims the service does
// not read (jti, custom ones) are ignored whatever their type.
func (c *tokenClaims) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*c = tokenClaims{}
	for _, f := range []struct {
		name string
		kind jsonKind
		dst  any
	}{
		{"iss", kindString, &c.Issuer},
		{"sub", kindString, &c.Subject},
		{"aud", kindAudience, &c.Audience},
		{"exp", kindNumber, &c.ExpiresAt},
		{"nbf", kindNumber, &c.NotBefore},
		{"iat", kindNumber, &c.IssuedAt},
		{"email", kindString, &c.Email},
		{"customer_id", kindString, &c.CustomerID},
		{"permissions", kindStrings, &c.Permissions},
		{"billing_profiles", kindStrings, &c.BillingProfiles},
		{"roles", kindStrings, &c.Roles},
	} {
		v, present := raw[f.name]
		if !present {
			continue
		}
		// A number too large for a date (1e400) passes matches but not the decoder: the same refusal.
		if !f.kind.matches(v) || json.Unmarshal(v, f.dst) != nil {
			if c.typeErr == nil {
				c.typeErr = &claimTypeError{claim: f.name, want: f.kind}
			}
		}
	}
	return nil
}
