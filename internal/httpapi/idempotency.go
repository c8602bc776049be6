package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"time"

	"github.com/cloudreseller/aws-invites/api"
	"github.com/cloudreseller/aws-invites/internal/invite"
)

// IdempotencyStore keeps the first result of a create for its Idempotency-Key.
type IdempotencyStore interface {
	ReserveIdempotencyKey(ctx context.Context, scope, key, requestHash string, now time.Time) (invite.IdempotencyRecord, bool, error)
	CompleteIdempotencyKey(ctx context.Context, scope, key string, status int, location string, body []byte) error
	ReleaseIdempotencyKey(ctx context.Context, scope, key string) error
}

// idempotency runs creating operations under the Idempotency-Key their caller sends: the first request with a key
// runs and its answer is kept; the same request again is answered with the kept answer (Idempotent-Replayed:
// true) and runs nothing; another request with the key, or one while the first still runs, is refused.
type idempotency struct {
	store IdempotencyStore
	clock invite.Clock // stamps the records
}

// idempotencyKey is one creating request's Idempotency-Key: scoped to who sends it and where, so that keys of
// different clients never meet, with the hash that recognizes the same request sent again.
type idempotencyKey struct {
	scope, key, hash string
}

// keyOf is the key of a request by p on resource (the billing profile it creates in) with the body as the domain
// reads it (normalized, so that requests the domain takes as one are one); nil when the request sent no key.
func keyOf(key *string, p invite.Principal, resource string, body any) *idempotencyKey {
	if key == nil {
		return nil
	}
	raw, _ := json.Marshal(body)
	sum := sha256.Sum256(raw)
	return &idempotencyKey{scope: p.CustomerID + "/" + p.Subject + "/" + resource, key: *key, hash: hex.EncodeToString(sum[:])}
}

// kept is what a completed request's answer is replayed from: its status, Location and JSON body.
type kept struct {
	status   int
	location string
	body     any
}

// idempotently runs create once for a key (directly without one). keep says what of create's answer a repeat is
// answered with; replay turns the stored record into the operation's answer (a replayed, which each creating
// operation's response interface takes through its Visit method). A failed create releases its key, so the
// request can be sent again with it.
func idempotently[R any](ctx context.Context, idem idempotency, k *idempotencyKey, create func() (R, error),
	keep func(R) kept, replay func(replayed) R) (R, error) {
	var none R
	if k == nil {
		return create()
	}
	rec, reserved, err := idem.store.ReserveIdempotencyKey(ctx, k.scope, k.key, k.hash, idem.clock.Now())
	if err != nil {
		return none, err
	}
	if !reserved {
		switch {
		case rec.RequestHash != k.hash:
			return none, invite.Errorf(invite.CodeIdempotencyReused, "Idempotency-Key %q was used with another request body; use a new key for a new request", k.key)
		case rec.Status == 0:
			return none, &invite.Error{Code: invite.CodeIdempotencyInUse, RetryAfter: time.Second,
				Detail: "a request with this Idempotency-Key is still being processed"}
		}
		return replay(replayed(rec)), nil
	}
	resp, err := create()
	if err != nil {
		if rerr := idem.store.ReleaseIdempotencyKey(context.WithoutCancel(ctx), k.scope, k.key); rerr != nil {
			return none, rerr
		}
		return none, err
	}
	answer := keep(resp)
	stored, _ := json.Marshal(answer.body)
	if err := idem.store.CompleteIdempotencyKey(context.WithoutCancel(ctx), k.scope, k.key, answer.status, answer.location, stored); err != nil {
		return none, err
	}
	return resp, nil
}

// replayed answers a repeated request with the stored first result.
type replayed invite.IdempotencyRecord

func (r replayed) write(w http.ResponseWriter) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Idempotent-Replayed", "true")
	if r.Location != "" {
		w.Header().Set("Location", r.Location)
	}
	w.WriteHeader(r.Status)
	_, err := w.Write(append(r.Body, '\n'))
	return err
}

func (r replayed) VisitCreateInviteResponse(w http.ResponseWriter) error { return r.write(w) }

// createInviteRequest is a create request as the domain reads it, for its Idempotency-Key: 1234-5678-9012 and
// 123456789012 are one request, while notes count as given. An account id the domain refuses is kept as sent;
// that request fails and releases its key anyway.
func createInviteRequest(body *api.CreateInviteRequest) api.CreateInviteRequest {
	normalized := *body
	if body.AccountId != nil {
		if id, err := invite.NormalizeAccountID(*body.AccountId); err == nil {
			normalized.AccountId = &id
		}
	}
	return normalized
}

// createInviteKept is what a repeated create is answered with: 201 or 200, the invite's Location and the invite.
func createInviteKept(resp api.CreateInviteResponseObject) kept {
	switch r := resp.(type) {
	case api.CreateInvite201JSONResponse:
		return kept{status: http.StatusCreated, location: *r.Headers.Location, body: r.Body}
	case api.CreateInvite200JSONResponse:
		return kept{status: http.StatusOK, location: *r.Headers.Location, body: r.Body}
	}
	return kept{status: http.StatusOK, body: api.Invite{}}
}
