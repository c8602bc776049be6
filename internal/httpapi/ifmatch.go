package httpapi

import (
	"strings"

	"github.com/cloudreseller/aws-invites/internal/invite"
)

// parseIfMatch reads an If-Match header (RFC 9110 13.1.1): "*", or a comma-separated list of entity tags, each
// "opaque" or W/"opaque". A weak tag is kept, and so never matches: If-Match compares strongly. Anything else is a
// malformed header, which a client is told rather than having its write refused for a version it never named.
func parseIfMatch(header *string) (invite.IfMatch, error) {
	if header == nil || strings.TrimSpace(*header) == "" {
		return invite.IfMatch{}, nil
	}
	if strings.TrimSpace(*header) == "*" {
		return invite.IfMatch{Any: true}, nil
	}
	var m invite.IfMatch
	for _, part := range strings.Split(*header, ",") {
		tag := strings.TrimSpace(part)
		opaque := strings.TrimPrefix(tag, "W/")
		if len(opaque) < 2 || opaque[0] != '"' || opaque[len(opaque)-1] != '"' || strings.Contains(opaque[1:len(opaque)-1], `"`) {
			detail := `If-Match must be * or entity tags as the ETag header gives them, in double quotes ("..."), separated by commas`
			return invite.IfMatch{}, invite.FieldProblem(invite.CodeInvalidParameter, "If-Match", detail, detail)
		}
		m.ETags = append(m.ETags, tag)
	}
	return m, nil
}
