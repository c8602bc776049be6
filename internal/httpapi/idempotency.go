package httpapi

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	"github.com/cloudreseller/aws-invites/api"
	"github.com/cloudreseller/aws-invites/internal/invite"
)

// idempotencyHash identifies a create request for its Idempotency-Key: the request as the domain reads it, so
// 1234-5678-9012 and 123456789012 are one request, while notes count as given. An account id the domain refuses
// is hashed as sent; that request fails and releases its key anyway.
func idempotencyHash(body *api.CreateInviteRequest) string {
	normalized := *body
	if body.AccountId != nil {
		if id, err := invite.NormalizeAccountID(*body.AccountId); err == nil {
			normalized.AccountId = &id
		}
	}
	raw, _ := json.Marshal(normalized)
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:])
}
