package httpapi

import (
	"context"

	"github.com/cloudreseller/aws-invites/api"
	"github.com/cloudreseller/aws-invites/internal/invite"
)

// SandboxChangeAccount makes a joined account leave the payer's organization, or closes it, in the sandbox's
// simulated AWS Organizations, then reconciles its payer.
func (s *server) SandboxChangeAccount(ctx context.Context, req api.SandboxChangeAccountRequestObject) (api.SandboxChangeAccountResponseObject, error) {
	out, err := s.sandboxed(func(sb *invite.Sandbox) (invite.View, error) {
		return sb.ChangeAccount(ctx, principal(ctx), req.BillingProfileId, req.InviteId, invite.AccountChange(req.Body.Change))
	})
	if err != nil {
		return nil, err
	}
	return api.SandboxChangeAccount200JSONResponse(out), nil
}
