package httpapi

import (
	"encoding/json"
	"io"

	"github.com/cloudreseller/aws-invites/api"
	"github.com/cloudreseller/aws-invites/internal/apiview"
	"github.com/cloudreseller/aws-invites/internal/invite"
)

// The conversions live in apiview, which events share; these names keep the handlers short.
var (
	toInvite            = apiview.Invite
	toBillingProfile    = apiview.BillingProfile
	toPayerHandshake    = apiview.PayerHandshake
	toValidation        = apiview.CloudHealthValidation
	toCloudHealthTenant = apiview.CloudHealthTenant
)

func toEvents(events []invite.Event) ([]api.Event, error) {
	out := make([]api.Event, 0, len(events))
	for _, e := range events {
		ev, err := apiview.Event(e)
		if err != nil {
			return nil, err
		}
		out = append(out, ev)
	}
	return out, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func jsonEncode(w io.Writer, v any) error {
	return json.NewEncoder(w).Encode(v)
}
