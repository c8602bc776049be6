package invite

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// NormalizeAccountID accepts a 12-digit AWS account id, also written with dashes or spaces (1234-5678-9012), and
// returns its 12 digits; anything else is a CodeInvalidAccountID error that says what was wrong.
func NormalizeAccountID(s string) (string, error) {
	var b strings.Builder
	digits := 0
	for _, r := range strings.TrimSpace(s) {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
			digits++
		case r == '-' || r == ' ':
		default:
			return "", accountIDError(fmt.Sprintf("accountId may contain only digits, dashes and spaces; found %q", r))
		}
	}
	if digits != 12 {
		return "", accountIDError(fmt.Sprintf("accountId must have exactly 12 digits; %q has %d", s, digits))
	}
	return b.String(), nil
}

func accountIDError(msg string) error {
	return FieldProblem(CodeInvalidAccountID, "accountId", msg, msg)
}

// ValidateNotes checks an invitation's notes against AWS's limit (MaxNotes characters), with a CodeNotesTooLong
// error that names the field.
func ValidateNotes(notes string) error {
	if n := utf8.RuneCountInString(notes); n > MaxNotes {
		msg := fmt.Sprintf("notes may have at most %d characters; got %d", MaxNotes, n)
		return FieldProblem(CodeNotesTooLong, "notes", msg, msg)
	}
	return nil
}
