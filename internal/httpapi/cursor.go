package httpapi

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"

	"github.com/cloudreseller/aws-invites/internal/invite"
)

// Every list pages with one cursor format: base64url (unpadded) of the JSON object {"p": position, "l": list},
// where the position is where the next page starts as the list's store reads it (an invite or delivery id, an
// event's sequence number, the domain's own position among a payer's handshakes) and list is the listKey of the
// list and filters the cursor was issued for. Clients pass nextCursor back as cursor and read nothing in it
// (openapi.yaml); anyone can decode and write one, though, so decodeCursor refuses a position the store could not
// take, as a cursor this service did not issue (400 invalid_cursor).

// position is what a list continues from: an id, or a sequence number.
type position interface{ string | int64 }

// listKey names a list and its filters; a cursor works only for the list key it was issued for.
type listKey string

// listOf is the key of the list named name under filters (the query's filters as the list reads them, in a
// fixed order: sorted where the query may give them in any).
func listOf(name string, filters ...string) listKey {
	raw, _ := json.Marshal(append([]string{name}, filters...))
	sum := sha256.Sum256(raw)
	return listKey(hex.EncodeToString(sum[:8]))
}

// cursor is a cursor's content.
type cursor[P position] struct {
	Position P       `json:"p"`
	List     listKey `json:"l"`
}

// encodeCursor is the nextCursor of a page of list whose next page starts at p: none on the last page (p zero).
func encodeCursor[P position](list listKey, p P) *string {
	var last P
	if p == last {
		return nil
	}
	raw, _ := json.Marshal(cursor[P]{Position: p, List: list})
	s := base64.RawURLEncoding.EncodeToString(raw)
	return &s
}

// decodeCursor is the position a cursor query parameter names in list: the zero position (the first page)
// without one, invalid_cursor for one this service did not issue for this list and these filters.
func decodeCursor[P position](list listKey, s *string) (P, error) {
	var first P
	if s == nil {
		return first, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(*s)
	var c cursor[P]
	// A cursor is readable by anyone who decodes it, and so forgeable: it must not carry what the store refuses.
	if err != nil || json.Unmarshal(raw, &c) != nil || !takes(c.Position) {
		return first, invite.Errorf(invite.CodeInvalidCursor, "cursor is not one this service issued for this list; start again without a cursor")
	}
	if c.List != list {
		return first, invite.Errorf(invite.CodeInvalidCursor, "cursor was issued for another list or other filters; keep the list's filters while paging")
	}
	return c.Position, nil
}

// takes reports whether a store can continue from p: a non-empty id without NUL characters (PostgreSQL refuses
// them in text), or a positive sequence number.
func takes[P position](p P) bool {
	switch v := any(p).(type) {
	case string:
		return v != "" && !strings.ContainsRune(v, 0)
	case int64:
		return v > 0
	}
	return false
}
