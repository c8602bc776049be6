package invite

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
)

// ETag is the entity tag of the billing profile as this view shows it: a strong validator (RFC 9110 8.8.3) that
// changes whenever anything in the view changes (every write stamps UpdatedAt), and that differs between the full
// view and a customer's, which are different representations. It is a hash of the view, so a customer's tag says
// nothing about the role and external id it leaves out.
func (v ProfileView) ETag() string {
	v.CreatedAt, v.UpdatedAt = v.CreatedAt.UTC(), v.UpdatedAt.UTC()
	// Every exported field takes part, so a field added later cannot be forgotten here; a ProfileView always
	// marshals.
	raw, _ := json.Marshal(v)
	sum := sha256.Sum256(raw)
	return `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`
}

// ETag is the entity tag of the full view of the billing profile, the one platform administrators read and write.
func (bp BillingProfile) ETag() string {
	return ProfileView{BillingProfile: bp, ActsFromAccountID: bp.ActsFromAccountID()}.ETag()
}

// IfMatch is the precondition of a conditional write (HTTP If-Match, RFC 9110 13.1.1): the write happens only
// when the resource exists and, unless Any, its current entity tag is one of ETags (compared strongly, so a weak
// tag never matches). The zero value is no precondition.
type IfMatch struct {
	Any   bool     // If-Match: *
	ETags []string // the tags as sent, quotes included
}

// Set reports whether there is a precondition at all.
func (m IfMatch) Set() bool { return m.Any || len(m.ETags) > 0 }

// Holds reports whether the precondition holds for the current billing profile, nil when there is none.
func (m IfMatch) Holds(current *BillingProfile) bool {
	switch {
	case !m.Set():
		return true
	case current == nil:
		return false
	case m.Any:
		return true
	}
	tag := current.ETag()
	for _, t := range m.ETags {
		if t == tag {
			return true
		}
	}
	return false
}
