package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
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
	ReclaimIdempotencyKey(ctx context.Context, scope, key string, ifBefore, stamp time.Time) (bool, error)
}

// deadReservationMargin is how long past the request deadline a reservation may still belong to a live request: the
// time its request takes to record its answer after the deadline ended its work.
const deadReservationMargin = 5 * time.Second

// idempotency runs creating operations under the Idempotency-Key their caller sends: the first request with a key
// runs and its answer is kept; the same request again is answered with the kept answer (Idempotent-Replayed:
// true) and runs nothing; another request with the key, or one while the first still runs, is refused.
//
// A request can die with its key in progress (the database went away before the answer was recorded, or the
// process did). Such a reservation is dead once older than any request may run (the request deadline plus
// deadReservationMargin), or at once when its request saw that it could not tell what it left behind and marked
// it so: the next retry then takes it over and settles it from what was written (the invite the first request
// created is its answer), or, when nothing was written, does the work.
type idempotency struct {
	store IdempotencyStore
	clock invite.Clock // stamps the records
	// deadAfter is the age past which an in-progress reservation belongs to a request that died; never when zero.
	deadAfter time.Duration
	log       *slog.Logger
}

// newIdempotency keeps the keys in store; requestTimeout is the deadline of every request (none when zero).
func newIdempotency(store IdempotencyStore, clock invite.Clock, requestTimeout time.Duration, log *slog.Logger) idempotency {
	idem := idempotency{store: store, clock: clock, log: log}
	if requestTimeout > 0 {
		idem.deadAfter = requestTimeout + deadReservationMargin
	}
	if idem.log == nil {
		idem.log = slog.New(slog.DiscardHandler)
	}
	return idem
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
// operation's response interface takes through its Visit method); settle finds what a request that died with the
// key wrote since it reserved the key (found false: nothing), to answer with instead of running create again (nil:
// always run it again). A create refused for a reason known to change nothing releases its key, so the request
// can be sent again with it; one whose outcome is unknown (the database or AWS failed) keeps it for the retry to
// settle.
func idempotently[R any](ctx context.Context, idem idempotency, k *idempotencyKey, create func() (R, error),
	keep func(R) kept, replay func(replayed) R, settle func(since time.Time) (R, bool, error)) (R, error) {
	var none R
	if k == nil {
		return create()
	}
	now := idem.clock.Now()
	rec, reserved, err := idem.store.ReserveIdempotencyKey(ctx, k.scope, k.key, k.hash, now)
	if err != nil {
		return none, unchanged{err}
	}
	if reserved {
		return runReserved(ctx, idem, k, create, keep, false)
	}
	switch {
	case rec.RequestHash != k.hash:
		return none, invite.Errorf(invite.CodeIdempotencyReused, "Idempotency-Key %q was used with another request body; use a new key for a new request", k.key)
	case rec.Status != 0:
		return replay(replayed(rec)), nil
	}
	inUse := &invite.Error{Code: invite.CodeIdempotencyInUse, RetryAfter: time.Second,
		Detail: "a request with this Idempotency-Key is still being processed"}
	if idem.deadAfter == 0 || now.Sub(rec.CreatedAt) < idem.deadAfter {
		return none, inUse
	}
	// The request that reserved the key died: take its reservation over (one retry does) and settle it.
	took, err := idem.store.ReclaimIdempotencyKey(ctx, k.scope, k.key, now.Add(-idem.deadAfter), now)
	if err != nil {
		return none, unchanged{err}
	}
	if !took {
		return none, inUse
	}
	// What the first request wrote is looked for since it reserved the key: the stamp may have been moved since (by
	// an earlier take-over, or a request marking its reservation dead).
	since := rec.ReservedAt
	if since.IsZero() || rec.CreatedAt.Before(since) {
		since = rec.CreatedAt
	}
	idem.log.InfoContext(ctx, "settling an Idempotency-Key whose request died", "reserved_at", since)
	if settle != nil {
		resp, found, err := settle(since)
		if err != nil {
			idem.abandon(ctx, k)
			return none, err
		}
		if found {
			return completeReserved(ctx, idem, k, resp, keep), nil
		}
		// Background work (reconciliation adopting the invitation AWS got) may finish the first request's work
		// while the create runs again, which then meets the finished work as a conflict: look once more.
		rerun := create
		create = func() (R, error) {
			resp, err := rerun()
			if err == nil {
				return resp, nil
			}
			if again, found, serr := settle(since); serr == nil && found {
				return again, nil
			}
			return resp, err
		}
	}
	return runReserved(ctx, idem, k, create, keep, true)
}

// runReserved runs create under the key reserved for it and records the answer. settling says the key was taken
// over from a request that died: whatever the create answers short of success (say, that the first request's send
// is not over yet), the key stays for the next retry to settle, since the first request may still turn out to have
// done the work.
func runReserved[R any](ctx context.Context, idem idempotency, k *idempotencyKey, create func() (R, error), keep func(R) kept, settling bool) (R, error) {
	var none R
	resp, err := create()
	if err != nil {
		if (settling || outcomeUnknown(err)) && idem.deadAfter > 0 {
			idem.abandon(ctx, k) // without a deadline nothing would ever settle it: it is released below
		} else if rerr := idem.store.ReleaseIdempotencyKey(context.WithoutCancel(ctx), k.scope, k.key); rerr != nil {
			idem.abandon(ctx, k)
		}
		return none, err
	}
	return completeReserved(ctx, idem, k, resp, keep), nil
}

// completeReserved records resp as the answer of the key and returns it. When the answer cannot be recorded (the
// database went away after the work was done) the client still gets it; the key stays in progress, marked for the
// next retry to settle from what was written, which gives that retry the same invite.
func completeReserved[R any](ctx context.Context, idem idempotency, k *idempotencyKey, resp R, keep func(R) kept) R {
	answer := keep(resp)
	stored, _ := json.Marshal(answer.body)
	if err := idem.store.CompleteIdempotencyKey(context.WithoutCancel(ctx), k.scope, k.key, answer.status, answer.location, stored); err != nil {
		idem.log.WarnContext(ctx, "recording the answer of an Idempotency-Key failed; its retry settles it from what was written", "error", err)
		idem.abandon(ctx, k)
	}
	return resp
}

// abandon marks the key's reservation for the next retry to settle at once, instead of after deadAfter, when its
// request cannot tell what it left behind. It is worth trying although the database may well be down: the
// reservation then stays until deadAfter.
func (idem idempotency) abandon(ctx context.Context, k *idempotencyKey) {
	if idem.deadAfter == 0 {
		return
	}
	bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	now := idem.clock.Now()
	if _, err := idem.store.ReclaimIdempotencyKey(bg, k.scope, k.key, now.Add(time.Hour), now.Add(-idem.deadAfter-time.Second)); err != nil {
		idem.log.WarnContext(ctx, "marking an Idempotency-Key for its retry to settle failed; it is settled after the request deadline", "error", err)
	}
}

// outcomeUnknown reports whether a failed create may have done part of its work: the service, its database or AWS
// failed (5xx), rather than the request being refused for a reason known beforehand.
func outcomeUnknown(err error) bool {
	return statusFor(invite.ErrorCode(err).ErrorKind()) >= http.StatusInternalServerError
}

// unchanged is a failure known to have left everything as it was (the key could not even be reserved): a 503 for
// it may say that nothing changed.
type unchanged struct{ error }

func (u unchanged) Unwrap() error { return u.error }

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
	case api.CreateInvite202JSONResponse:
		return kept{status: http.StatusAccepted, location: *r.Headers.Location, body: r.Body}
	}
	return kept{status: http.StatusOK, body: api.Invite{}}
}
