package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/cloudreseller/aws-invites/internal/invite"
)

// FuzzDecodeCursor: whatever a client sends as a cursor is either refused as invalid_cursor or names a position
// the store can take (an id without NUL, a positive sequence number), bound to the list and filters it was issued
// for.
func FuzzDecodeCursor(f *testing.F) {
	list := inviteList(invite.ListQuery{BillingProfileID: "acme-main"})
	other := inviteList(invite.ListQuery{BillingProfileID: "acme-main", States: []invite.State{invite.StateInvited}})
	events := listOf("events", "acme-main", "", "", "")
	for _, seed := range []string{
		*encodeCursor(list, "0193c7c0-0000-7000-8000-000000000000"),
		*encodeCursor(other, "0193c7c0-0000-7000-8000-000000000000"),
		*encodeCursor(list, "x\x00"),
		*encodeCursor(events, int64(42)),
		"bm90IGEgY3Vyc29y", "%%%", "", "e30", "eyJwIjoiIn0", "eyJwIjoxfQ", "////", "eyJwIjoieCIsImwiOm51bGx9",
	} {
		f.Add(seed)
	}
	refused := func(t *testing.T, s string, err error) {
		t.Helper()
		var de *invite.Error
		if !errors.As(err, &de) || de.Code != invite.CodeInvalidCursor || de.Detail == "" {
			t.Fatalf("decodeCursor(%q) = %v, want an invalid_cursor error", s, err)
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		if n, err := decodeCursor[int64](events, &s); err != nil {
			refused(t, s, err)
		} else if n <= 0 {
			t.Fatalf("decodeCursor(%q) = %d: not an event the feed can continue from", s, n)
		}
		after, err := decodeCursor[string](list, &s)
		if err != nil {
			refused(t, s, err)
			return
		}
		if after == "" || strings.ContainsRune(after, 0) {
			t.Fatalf("decodeCursor(%q) = %q: not a position the database can take", s, after)
		}
		if _, err := decodeCursor[string](other, &s); err == nil {
			t.Fatalf("cursor %q works for other filters too", s)
		}
		if again, err := decodeCursor[string](list, encodeCursor(list, after)); err != nil || again != after {
			t.Fatalf("the position %q does not survive a round trip: %q, %v", after, again, err)
		}
	})
}

// FuzzCheckJSON: the body check accepts only what encoding/json accepts, in UTF-8, without NUL anywhere; it
// refuses with malformed_json, or validation_failed naming the fields for NUL in well-formed JSON.
func FuzzCheckJSON(f *testing.F) {
	for _, seed := range []string{
		`{"accountId":"123456789013","notes":"x"}`, `{"accountId":"123456789013"} {"accountId":"123456789014"}`,
		`{"accountId":"123456789013"}x`, `{"accountId":"1","accountId":"2"}`, `{"a":"1","\u0061":"2"}`,
		`{"x":[{"a":1,"a":2}]}`, "{\"notes\":\"caf\xe9\"}", `{"notes":"a\u0000b"}`, `{"a\u0000":1}`, `["\u0000"]`,
		`{"accountId": 1e400}`, `{"accountId":"1234`, `[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]`,
		`null`, `"x"`, ` {} `, `{}`, `[]`, `{"a":{"b":{"c":[1,2,{"d":null}]}}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		err := checkJSON(raw)
		if err == nil {
			v, derr := decodeOne(raw)
			if !utf8.Valid(raw) || derr != nil {
				t.Fatalf("accepted %q, which is not one UTF-8 JSON value", raw)
			}
			if hasNUL(v) {
				t.Fatalf("accepted %q, which holds NUL", raw)
			}
			return
		}
		var de *invite.Error
		if !errors.As(err, &de) || de.Detail == "" {
			t.Fatalf("checkJSON(%q) = %v, want a domain error with a detail", raw, err)
		}
		switch de.Code {
		case invite.CodeMalformedJSON:
		case invite.CodeValidationFailed:
			v, derr := decodeOne(raw)
			if derr != nil || !hasNUL(v) || len(de.Fields) == 0 {
				t.Fatalf("checkJSON(%q): validation_failed %+v, for JSON that is broken or holds no NUL", raw, de)
			}
		default:
			t.Fatalf("checkJSON(%q): code %s", raw, de.Code)
		}
	})
}

// decodeOne reads exactly one JSON value the way encoding/json does, numbers of any size included.
func decodeOne(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("more after the value")
	}
	return v, nil
}

func hasNUL(v any) bool {
	switch v := v.(type) {
	case string:
		return strings.ContainsRune(v, 0)
	case []any:
		for _, x := range v {
			if hasNUL(x) {
				return true
			}
		}
	case map[string]any:
		for k, x := range v {
			if strings.ContainsRune(k, 0) || hasNUL(x) {
				return true
			}
		}
	}
	return false
}
