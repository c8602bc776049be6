package httpapi

import (
	"net/http"
	"testing"

	"github.com/cloudreseller/aws-invites/internal/invite"
)

// TestStatusOfEveryCode: each kind has its status, and only the internal kind answers 500, so no code of the
// domain's table reaches a client as a server error by accident.
func TestStatusOfEveryCode(t *testing.T) {
	want := map[invite.ErrorKind]int{
		invite.KindInvalidRequest:   http.StatusBadRequest,
		invite.KindUnauthenticated:  http.StatusUnauthorized,
		invite.KindForbidden:        http.StatusForbidden,
		invite.KindNotFound:         http.StatusNotFound,
		invite.KindMethodNotAllowed: http.StatusMethodNotAllowed,
		invite.KindConflict:         http.StatusConflict,
		invite.KindTooLarge:         http.StatusRequestEntityTooLarge,
		invite.KindUnsupportedMedia: http.StatusUnsupportedMediaType,
		invite.KindValidation:       http.StatusUnprocessableEntity,
		invite.KindRateLimited:      http.StatusTooManyRequests,
		invite.KindUpstream:         http.StatusBadGateway,
		invite.KindUnavailable:      http.StatusServiceUnavailable,
		invite.KindPrecondition:     http.StatusPreconditionFailed,
		invite.KindInternal:         http.StatusInternalServerError,
	}
	for k, status := range want {
		if got := statusFor(k); got != status {
			t.Errorf("statusFor(%d) = %d, want %d", k, got, status)
		}
	}
	for _, code := range invite.Codes() {
		status := statusFor(code.ErrorKind())
		if (status == http.StatusInternalServerError) != (code == invite.CodeInternal) {
			t.Errorf("code %s answers %d", code, status)
		}
		p, _ := problemFor(&invite.Error{Code: code, Detail: "d"})
		if p.Status != status || (code != invite.CodeInternal && p.Code != code) {
			t.Errorf("problem for %s: %+v", code, p)
		}
	}
}
