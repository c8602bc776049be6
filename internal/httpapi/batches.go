package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/cloudreseller/aws-invites/api"
	"github.com/cloudreseller/aws-invites/internal/invite"
)

// largeBodies are the operations whose bodies may exceed maxBodyBytes, with their own limit: a batch of 500
// accounts, each with notes.
var largeBodies = map[string]int64{"POST /billing-profiles/:billingProfileId/aws-invite-batches": 1 << 20}

// batchesOffered refuses the batch endpoints of a service that does not wire batches.
func (s *server) batchesOffered() error {
	if s.batches == nil {
		return invite.Errorf(invite.CodeNotFound, "batches of invites are not offered by this service")
	}
	return nil
}

func (s *server) CreateInviteBatch(ctx context.Context, req api.CreateInviteBatchRequestObject) (api.CreateInviteBatchResponseObject, error) {
	if err := s.batchesOffered(); err != nil {
		return nil, err
	}
	p := principal(ctx)
	// The batch keeps the request's Idempotency-Key as the key layer scopes it (the caller's customer, subject and
	// resource), so a retry of a request that died finds the batch it made.
	key := keyOf(&req.Params.IdempotencyKey, p, req.BillingProfileId+"/aws-invite-batches", req.Body)
	in := invite.BatchInput{Key: key.scope + " " + key.key, DryRun: req.Body.DryRun != nil && *req.Body.DryRun, Items: make([]invite.BatchItemInput, len(req.Body.Accounts))}
	for i, a := range req.Body.Accounts {
		it := invite.BatchItemInput{AccountID: a.AccountId, Notes: deref(a.Notes), NotesSet: a.Notes != nil, TransferName: deref(a.TransferName)}
		if d := req.Body.Defaults; d != nil {
			if a.Notes == nil && d.Notes != nil {
				it.Notes, it.NotesSet = *d.Notes, true
			}
			if a.Kind == nil && d.Kind != nil {
				it.Kind = invite.InviteKind(*d.Kind)
			}
		}
		if a.Kind != nil {
			it.Kind = invite.InviteKind(*a.Kind)
		}
		if a.TransferStart != nil {
			it.TransferStart = time.Date(a.TransferStart.Year(), a.TransferStart.Month(), a.TransferStart.Day(), 0, 0, 0, 0, time.UTC)
		}
		in.Items[i] = it
	}
	submit := func() (api.CreateInviteBatchResponseObject, error) {
		b, err := s.batches.Submit(ctx, p, req.BillingProfileId, in)
		if err != nil {
			return nil, err
		}
		if b.State == invite.BatchRunning {
			s.batches.Start(ctx, b)
		}
		return batchAccepted(b), nil
	}
	// A request that died after it kept its batch is settled by the retry: the batch its key made.
	settle := func(time.Time) (api.CreateInviteBatchResponseObject, bool, error) {
		b, err := s.batches.ByKey(ctx, p, req.BillingProfileId, in.Key)
		if invite.IsCode(err, invite.CodeNotFound) {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, err
		}
		return batchAccepted(b), true, nil
	}
	keep := func(r api.CreateInviteBatchResponseObject) kept {
		a := r.(api.CreateInviteBatch202JSONResponse)
		return kept{status: http.StatusAccepted, location: *a.Headers.Location, body: a.Body}
	}
	replay := func(r replayed) api.CreateInviteBatchResponseObject { return r }
	return idempotently(ctx, s.idem, key, submit, keep, replay, settle)
}

func batchAccepted(b invite.Batch) api.CreateInviteBatch202JSONResponse {
	loc := batchLocation(b)
	return api.CreateInviteBatch202JSONResponse{Body: toBatch(b), Headers: api.CreateInviteBatch202ResponseHeaders{Location: &loc}}
}

// VisitCreateInviteBatchResponse replays a batch's first answer.
func (r replayed) VisitCreateInviteBatchResponse(w http.ResponseWriter) error { return r.write(w) }

func (s *server) GetInviteBatch(ctx context.Context, req api.GetInviteBatchRequestObject) (api.GetInviteBatchResponseObject, error) {
	if err := s.batchesOffered(); err != nil {
		return nil, err
	}
	b, err := s.batches.Get(ctx, principal(ctx), req.BillingProfileId, req.BatchId)
	if err != nil {
		return nil, err
	}
	return api.GetInviteBatch200JSONResponse(toBatch(b)), nil
}

func (s *server) CancelInviteBatchQueued(ctx context.Context, req api.CancelInviteBatchQueuedRequestObject) (api.CancelInviteBatchQueuedResponseObject, error) {
	if err := s.batchesOffered(); err != nil {
		return nil, err
	}
	b, err := s.batches.CancelQueued(ctx, principal(ctx), req.BillingProfileId, req.BatchId)
	if err != nil {
		return nil, err
	}
	return api.CancelInviteBatchQueued200JSONResponse(toBatch(b)), nil
}

func batchLocation(b invite.Batch) string {
	return "/billing-profiles/" + b.BillingProfileID + "/aws-invite-batches/" + b.ID
}

// toBatch is a batch as the API shows it.
func toBatch(b invite.Batch) api.InviteBatch {
	out := api.InviteBatch{Id: b.ID, BillingProfileId: b.BillingProfileID, State: api.InviteBatchState(b.State), DryRun: b.DryRun,
		CreatedAt: b.CreatedAt, UpdatedAt: b.UpdatedAt, CompletedAt: b.CompletedAt, Counts: map[string]int{},
		Items: make([]api.InviteBatchItem, len(b.Items))}
	for o, n := range b.Counts() {
		out.Counts[string(o)] = n
	}
	for i, it := range b.Items {
		item := api.InviteBatchItem{Index: it.Index, AccountId: it.Input.AccountID, Outcome: api.InviteBatchItemOutcome(it.Outcome),
			ScheduledFor: it.ScheduledFor}
		if it.InviteID != "" {
			id, link := it.InviteID, "/billing-profiles/"+b.BillingProfileID+"/aws-invites/"+it.InviteID
			item.InviteId, item.Invite = &id, &link
		}
		if it.Code != "" {
			code, detail := api.ProblemCode(it.Code), it.Detail
			item.Code, item.Detail = &code, &detail
		}
		out.Items[i] = item
	}
	return out
}
