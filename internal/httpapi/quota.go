package httpapi

import (
	"context"

	"github.com/cloudreseller/aws-invites/api"
	"github.com/cloudreseller/aws-invites/internal/apiview"
)

// GetPayerInviteQuota shows a payer's daily invitation quota and queue (platform administrators).
func (s *server) GetPayerInviteQuota(ctx context.Context, req api.GetPayerInviteQuotaRequestObject) (api.GetPayerInviteQuotaResponseObject, error) {
	q, err := s.invites.Quota(ctx, principal(ctx), req.ManagementAccountId)
	if err != nil {
		return nil, err
	}
	out := api.InviteQuota{ManagementAccountId: q.Payer, Limit: q.Limit, UsedLast24h: q.Used, Reserved: q.Reserved,
		Available: q.Available, AvailableToQueue: q.AvailableToQueue, NextSlotAt: apiview.OptionalTime(q.NextSlotAt),
		HeldUntil: apiview.OptionalTime(q.HeldUntil), At: q.At.UTC(), Queued: make([]api.InviteQuotaQueued, 0, len(q.Queued))}
	for _, c := range q.Queued {
		out.Queued = append(out.Queued, api.InviteQuotaQueued{BillingProfileId: c.BillingProfileID, Queued: c.Queued,
			NextScheduledFor: apiview.OptionalTime(c.NextScheduledFor)})
	}
	if a := q.Accounts; a != nil {
		out.AccountQuota = &api.InviteAccountQuota{Waiting: a.Waiting}
		if a.Limit > 0 {
			limit := a.Limit
			out.AccountQuota.Limit = &limit
		}
	}
	return api.GetPayerInviteQuota200JSONResponse(out), nil
}
