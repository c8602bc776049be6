package httpapi

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/labstack/echo/v4"

	"github.com/cloudreseller/aws-invites/internal/invite"
	"github.com/cloudreseller/aws-invites/internal/reqlog"
)

// statusFor is the one mapping from the domain's kinds of errors to HTTP statuses.
func statusFor(k invite.ErrorKind) int {
	switch k {
	case invite.KindInvalidRequest:
		return http.StatusBadRequest
	case invite.KindUnauthenticated:
		return http.StatusUnauthorized
	case invite.KindForbidden:
		return http.StatusForbidden
	case invite.KindNotFound:
		return http.StatusNotFound
	case invite.KindMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case invite.KindConflict:
		return http.StatusConflict
	case invite.KindTooLarge:
		return http.StatusRequestEntityTooLarge
	case invite.KindUnsupportedMedia:
		return http.StatusUnsupportedMediaType
	case invite.KindValidation:
		return http.StatusUnprocessableEntity
	case invite.KindRateLimited:
		return http.StatusTooManyRequests
	case invite.KindUpstream:
		return http.StatusBadGateway
	case invite.KindUnavailable:
		return http.StatusServiceUnavailable
	case invite.KindPrecondition:
		return http.StatusPreconditionFailed
	}
	return http.StatusInternalServerError
}

// codeOfStatus names errors that arrive as bare HTTP statuses (from Echo's router or middleware).
var codeOfStatus = map[int]invite.Code{
	http.StatusBadRequest:            invite.CodeInvalidRequest,
	http.StatusUnauthorized:          invite.CodeUnauthenticated,
	http.StatusForbidden:             invite.CodeForbidden,
	http.StatusNotFound:              invite.CodeNotFound,
	http.StatusMethodNotAllowed:      invite.CodeMethodNotAllowed,
	http.StatusRequestEntityTooLarge: invite.CodePayloadTooLarge,
	http.StatusUnsupportedMediaType:  invite.CodeUnsupportedMedia,
}

// Problem is an RFC 9457 problem document with this service's extensions.
type Problem struct {
	Type      string               `json:"type"`
	Title     string               `json:"title"`
	Status    int                  `json:"status"`
	Detail    string               `json:"detail,omitempty"`
	Instance  string               `json:"instance,omitempty"`
	Code      invite.Code          `json:"code"`
	RequestID string               `json:"requestId,omitempty"`
	Errors    []invite.FieldError  `json:"errors,omitempty"`
	Items     []invite.ItemProblem `json:"items,omitempty"`
}

// problemFor turns any error into the problem a client may see, and says whether it is the server's fault.
func problemFor(err error) (Problem, *invite.Error) {
	var de *invite.Error
	var he *echo.HTTPError
	switch {
	case errors.As(err, &de):
	case errors.As(err, &he):
		de = fromHTTPError(he)
	default:
		de = &invite.Error{Code: invite.CodeInternal, Detail: "an unexpected error occurred; it was logged with the request id", Err: err}
	}
	status := statusFor(de.Code.ErrorKind())
	title := http.StatusText(status)
	if status == http.StatusInternalServerError {
		// Whatever the cause, a client sees no internals.
		de = &invite.Error{Code: invite.CodeInternal, Detail: "an unexpected error occurred; it was logged with the request id", Err: err}
	}
	return Problem{
		Type:   "urn:aws-invites:problem:" + string(de.Code),
		Title:  title,
		Status: status,
		Detail: de.Detail,
		Code:   de.Code,
		Errors: de.Fields,
		Items:  de.Items,
	}, de
}

// fromHTTPError reads an error raised by Echo or by the request validator.
func fromHTTPError(he *echo.HTTPError) *invite.Error {
	var de *invite.Error
	if errors.As(he.Internal, &de) {
		return de
	}
	if ve := fromValidation(he.Internal); ve != nil {
		return ve
	}
	code, ok := codeOfStatus[he.Code]
	if !ok {
		code = invite.CodeInternal
	}
	// Echo's messages (its binder's among them) are written for Go programmers; they go to the log only.
	detail := "the request is malformed; see /openapi.yaml for what this operation takes"
	switch code {
	case invite.CodeUnauthenticated:
		detail = "send a bearer token: Authorization: Bearer <JWT>"
	case invite.CodeForbidden:
		detail = "this operation is not allowed with this token"
	case invite.CodeUnsupportedMedia:
		detail = "send the request body as application/json"
	case invite.CodeInternal:
		detail = "an unexpected error occurred; it was logged with the request id"
	case invite.CodeNotFound:
		detail = "no such resource"
	case invite.CodePayloadTooLarge:
		detail = fmt.Sprintf("the request body is over the limit of %d bytes (%d for a batch of invites)", maxBodyBytes, largeBodies["POST /billing-profiles/:billingProfileId/aws-invite-batches"])
	case invite.CodeMethodNotAllowed:
		detail = "this method is not allowed on this resource"
	}
	return &invite.Error{Code: code, Detail: detail, Err: he}
}

// fieldChecks are the domain's own checks of body fields whose limits the spec also states: where the validator
// finds such a field at fault, the client gets the domain's code and detail, as if the request had reached it.
var fieldChecks = map[string]func(string) error{
	"notes":        invite.ValidateNotes,
	"transferName": invite.ValidateTransferName,
}

// fromValidation turns the request validator's findings into a problem that names the field at fault.
func fromValidation(err error) *invite.Error {
	var re *openapi3filter.RequestError
	if !errors.As(err, &re) {
		return nil
	}
	if re.Parameter != nil {
		field, problem := re.Parameter.Name, parameterProblem(re)
		return invite.FieldProblem(invite.CodeInvalidParameter, field, problem,
			fmt.Sprintf("%s parameter %s %s", re.Parameter.In, field, problem)).Because(err)
	}
	var se *openapi3.SchemaError
	if errors.As(re.Err, &se) {
		field := strings.Join(se.JSONPointer(), ".")
		var name string
		if _, perr := fmt.Sscanf(se.Reason, "property %q is unsupported", &name); perr == nil {
			if field != "" {
				name = field + "." + name
			}
			detail := fmt.Sprintf("the request body has an unknown field %q", name)
			if se.Schema != nil && len(se.Schema.Properties) > 0 {
				known := slices.Sorted(maps.Keys(se.Schema.Properties))
				detail += "; the fields here are " + strings.Join(known, ", ")
			}
			return invite.FieldProblem(invite.CodeUnknownField, name, "unknown field", detail).Because(err)
		}
		if check, ok := fieldChecks[field]; ok {
			if v, isString := se.Value.(string); isString {
				if cerr := check(v); cerr != nil {
					var de *invite.Error
					if errors.As(cerr, &de) {
						de.Err = err
						return de
					}
				}
			}
		}
		problem, subject := schemaProblem(se), field
		if field == "" {
			field, subject = "body", "the request body"
		}
		return invite.FieldProblem(invite.CodeValidationFailed, field, problem, subject+" "+problem).Because(err)
	}
	if strings.Contains(strings.ToLower(re.Reason), "content-type") || strings.Contains(strings.ToLower(fmt.Sprint(re.Err)), "content-type") {
		return &invite.Error{Code: invite.CodeUnsupportedMedia, Detail: "send the request body as application/json", Err: err}
	}
	if re.RequestBody != nil && (re.Err == nil || errors.Is(re.Err, openapi3filter.ErrInvalidRequired)) {
		return &invite.Error{Code: invite.CodeInvalidRequest, Detail: "a JSON request body is required", Err: err}
	}
	return &invite.Error{Code: invite.CodeMalformedJSON, Detail: "the request body is not valid JSON", Err: err}
}

// databaseRetryAfter is what a client is told to wait when the database does not answer: long enough for a
// failover or a restart of the pool's connections, short enough that a user retrying by hand is not kept waiting.
const databaseRetryAfter = 5 * time.Second

// errorHandler is Echo's one error handler: it logs internals with the request id and answers problem+json.
// dbUnavailable, when not nil, tells an unreachable database from the service's own failures.
func errorHandler(log *slog.Logger, dbUnavailable func(error) bool) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		if dbUnavailable != nil && invite.ErrorCode(err) == invite.CodeInternal && dbUnavailable(err) {
			err = &invite.Error{Code: invite.CodeDatabaseUnavailable, RetryAfter: databaseRetryAfter, Err: err,
				Detail: unavailableDetail(c, err)}
		}
		p, de := problemFor(err)
		p.RequestID = c.Response().Header().Get(echo.HeaderXRequestID)
		p.Instance = c.Request().URL.Path
		c.Set(problemCodeKey, string(p.Code))
		ctx := c.Request().Context()
		if p.Status >= 500 {
			log.ErrorContext(ctx, "request failed", "status", p.Status, "code", p.Code, "error", err)
		} else if de.Err != nil {
			log.InfoContext(ctx, "request refused", "status", p.Status, "code", p.Code, "cause", de.Err.Error())
		}
		h := c.Response().Header()
		if p.Status == http.StatusUnauthorized {
			// RFC 6750 3.1: a request without a bearer token gets no error code, a bad token invalid_token.
			challenge := `Bearer realm="aws-invites"`
			if _, sent := bearer(c.Request().Header.Get(echo.HeaderAuthorization)); sent {
				challenge += `, error="invalid_token"`
			}
			h.Set(echo.HeaderWWWAuthenticate, challenge)
		}
		if de.RetryAfter > 0 {
			h.Set(echo.HeaderRetryAfter, strconv.Itoa(invite.RetryAfterSeconds(de.RetryAfter)))
		}
		h.Set(echo.HeaderContentType, "application/problem+json")
		c.Response().WriteHeader(p.Status)
		if c.Request().Method == http.MethodHead {
			return
		}
		if werr := jsonEncode(c.Response(), p); werr != nil {
			log.WarnContext(ctx, "writing a problem response", "error", werr)
		}
	}
}

// unavailableDetail tells a client whose request met an unavailable database what it may have left behind. Only
// a request that cannot have changed anything (a read, or a create that could not even reserve its key) says
// nothing changed; a write may have been done in part, and one that called AWS may have sent an invitation.
func unavailableDetail(c echo.Context, err error) string {
	req := c.Request()
	if errors.As(err, new(unchanged)) || req.Method == http.MethodGet || req.Method == http.MethodHead {
		return "the service's database is not answering right now; nothing was changed. Try again shortly."
	}
	detail := "the service's database stopped answering while the request ran, so it may have been done in part"
	if reqlog.CallsOf(req.Context()).Made() {
		detail += "; AWS was called, so for a create or a re-send the invitation may have been sent"
	}
	if req.Header.Get("Idempotency-Key") != "" {
		return detail + ". Retry with the same Idempotency-Key: the retry answers with what was done, or does it once."
	}
	return detail + ". Look at the invite before trying again."
}
