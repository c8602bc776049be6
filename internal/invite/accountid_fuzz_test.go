package invite_test

import (
	"errors"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/cloudreseller/aws-invites/internal/invite"
)

// FuzzNormalizeAccountID checks NormalizeAccountID against the rule it
// documents, worked out here rune by rune: an input of ASCII digits, dashes
// and spaces holding exactly 12 digits is accepted as those digits, and
// anything else is refused with an *invite.Error coded invalid_account_id
// whose message is valid UTF-8 (it reaches API clients). What it accepts
// is 12 ASCII digits and normalizes to itself, also when written back as
// 1234-5678-9012.
//
// One leniency of the implementation is part of the rule here: it trims
// leading and trailing Unicode white space (strings.TrimSpace) first, so
// "\t123456789012\n" is accepted while a tab inside is refused.
func FuzzNormalizeAccountID(f *testing.F) {
	for _, s := range []string{
		"123456789012", "1234-5678-9012", "1234 5678 9012", " 012345678901 ", "000000000000", "--1-2-3-4-5-6-7-8-9-0-1-2--",
		"12345678901", "1234567890123", "12345678901a", "", "1234_5678_9012", "１２３４５６７８９０１２", "١٢٣٤٥٦٧٨٩٠١٢",
		"\t123456789012\n", "1234\t5678 9012", "123456789012\x00", "\xff123456789012", "12345678901\u00a0",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := invite.NormalizeAccountID(s)

		var digits strings.Builder
		valid := true
		for _, r := range strings.TrimFunc(s, unicode.IsSpace) {
			switch {
			case r >= '0' && r <= '9':
				digits.WriteRune(r)
			case r == '-' || r == ' ':
			default:
				valid = false
			}
		}
		want := digits.String()
		if !valid || len(want) != 12 {
			want = ""
		}

		if want == "" {
			if err == nil {
				t.Fatalf("NormalizeAccountID(%q) = %q, want it refused", s, got)
			}
			var e *invite.Error
			if !errors.As(err, &e) || e.Code != invite.CodeInvalidAccountID || invite.ErrorCode(err) != invite.CodeInvalidAccountID {
				t.Fatalf("NormalizeAccountID(%q): error %#v, want an *invite.Error coded %s", s, err, invite.CodeInvalidAccountID)
			}
			if got != "" {
				t.Fatalf("NormalizeAccountID(%q) returned %q with its error", s, got)
			}
			if !utf8.ValidString(e.Detail) || len(e.Fields) != 1 || e.Fields[0].Field != "accountId" || !utf8.ValidString(e.Fields[0].Message) {
				t.Fatalf("NormalizeAccountID(%q): error detail %q, fields %+v; want valid UTF-8 naming accountId", s, e.Detail, e.Fields)
			}
			return
		}
		if err != nil {
			t.Fatalf("NormalizeAccountID(%q): %v, want %q", s, err, want)
		}
		if got != want {
			t.Fatalf("NormalizeAccountID(%q) = %q, want %q", s, got, want)
		}
		for _, again := range []string{got, got[:4] + "-" + got[4:8] + "-" + got[8:]} {
			if n, err := invite.NormalizeAccountID(again); n != got || err != nil {
				t.Fatalf("NormalizeAccountID(%q) = %q, %v; want %q", again, n, err, got)
			}
		}
	})
}
