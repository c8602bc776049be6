package httpapi

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/labstack/echo/v4"

	"github.com/cloudreseller/aws-invites/internal/invite"
)

// Codes of errors the HTTP layer finds itself, before a request reaches the domain.
const (
	codeMalformedJSON    invite.Code = "malformed_json"
	codeUnknownField     invite.Code = "unknown_field"
	codeInvalidParameter invite.Code = "invalid_parameter"
	codeUnsupportedMedia invite.Code = "unsupported_media_type"
	codeMethodNotAllowed invite.Code = "method_not_allowed"
	codePayloadTooLarge  invite.Code = "payload_too_large"
)

// statusOf is the one table from error codes to HTTP statuses.
var statusOf = map[invite.Code]int{
	invite.CodeInvalidRequest:           http.StatusBadRequest,
	invite.CodeInvalidCursor:            http.StatusBadRequest,
	codeMalformedJSON:                   http.StatusBadRequest,
	codeUnknownField:                    http.StatusBadRequest,
	codeInvalidParameter:                http.StatusBadRequest,
	invite.CodeUnauthenticated:          http.StatusUnauthorized,
	invite.CodeForbidden:                http.StatusForbidden,
	invite.CodeNotAssigned:              http.StatusForbidden,
	invite.CodeNotFound:                 http.StatusNotFound,
	invite.CodeSandboxOnly:              http.StatusNotFound,
	codeMethodNotAllowed:                http.StatusMethodNotAllowed,
	invite.CodeResendTooSoon:            http.StatusConflict,
	invite.CodeSendInProgress:           http.StatusConflict,
	invite.CodeAlreadyJoined:            http.StatusConflict,
	invite.CodeAlreadyOpen:              http.StatusConflict,
	invite.CodeInvalidState:             http.StatusConflict,
	invite.CodeConcurrentUpdate:         http.StatusConflict,
	invite.CodeIdempotencyInUse:         http.StatusConflict,
	invite.CodeInOtherOrg:               http.StatusConflict,
	invite.CodeIsManagementAcct:         http.StatusConflict,
	invite.CodeAccountLimit:             http.StatusConflict,
	invite.CodeDifferentSeller:          http.StatusConflict,
	invite.CodePaymentInstrument:        http.StatusConflict,
	invite.CodeEmailNotVerified:         http.StatusConflict,
	invite.CodeEnableAllFeatures:        http.StatusConflict,
	invite.CodeHandshakeFinalized:       http.StatusConflict,
	invite.CodeHandshakeNotFound:        http.StatusConflict,
	codePayloadTooLarge:                 http.StatusRequestEntityTooLarge,
	codeUnsupportedMedia:                http.StatusUnsupportedMediaType,
	invite.CodeValidationFailed:         http.StatusUnprocessableEntity,
	invite.CodeInvalidAccountID:         http.StatusUnprocessableEntity,
	invite.CodeNotesTooLong:             http.StatusUnprocessableEntity,
	invite.CodeIdempotencyReused:        http.StatusUnprocessableEntity,
	invite.CodeDailyInviteLimit:         http.StatusTooManyRequests,
	invite.CodeMembershipRate:           http.StatusTooManyRequests,
	invite.CodeInternal:                 http.StatusInternalServerError,
	invite.CodeAWSAccessDenied:          http.StatusBadGateway,
	invite.CodeAWSOrgNotInUse:           http.StatusBadGateway,
	invite.CodeAWSInvalidInput:          http.StatusBadGateway,
	invite.CodeAWSUnavailable:           http.StatusServiceUnavailable,
	invite.CodeAWSOrgFinalizing:         http.StatusServiceUnavailable,
	invite.CodeCloudHealthNotConfigured: http.StatusServiceUnavailable,
	invite.CodeCloudHealthUnavailable:   http.StatusServiceUnavailable,
}

// codeOfStatus names errors that arrive as bare HTTP statuses (from Echo's router or middleware).
var codeOfStatus = map[int]invite.Code{
	http.StatusBadRequest:            invite.CodeInvalidRequest,
	http.StatusUnauthorized:          invite.CodeUnauthenticated,
	http.StatusForbidden:             invite.CodeForbidden,
	http.StatusNotFound:              invite.CodeNotFound,
	http.StatusMethodNotAllowed:      codeMethodNotAllowed,
	http.StatusRequestEntityTooLarge: codePayloadTooLarge,
	http.StatusUnsupportedMediaType:  codeUnsupportedMedia,
}

// Problem is an RFC 9457 problem document with this service's extensions.
type Problem struct {
	Type      string              `json:"type"`
	Title     string              `json:"title"`
	Status    int                 `json:"status"`
	Detail    string              `json:"detail,omitempty"`
	Instance  string              `json:"instance,omitempty"`
	Code      invite.Code         `json:"code"`
	RequestID string              `json:"requestId,omitempty"`
	Errors    []invite.FieldError `json:"errors,omitempty"`
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
	status, ok := statusOf[de.Code]
	if !ok {
		status = http.StatusInternalServerError
	}
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
	detail := fmt.Sprint(he.Message)
	switch code {
	case invite.CodeNotFound:
		detail = "no such resource"
	case codePayloadTooLarge:
		detail = fmt.Sprintf("the request body is over the limit of %d bytes", maxBodyBytes)
	case codeMethodNotAllowed:
		detail = "this method is not allowed on this resource"
	}
	return &invite.Error{Code: code, Detail: detail, Err: he}
}

// fromValidation turns the request validator's findings into a problem that names the field at fault.
func fromValidation(err error) *invite.Error {
	var re *openapi3filter.RequestError
	if !errors.As(err, &re) {
		return nil
	}
	if re.Parameter != nil {
		msg := re.Reason
		var se *openapi3.SchemaError
		if errors.As(re.Err, &se) {
			msg = se.Reason
		} else if re.Err != nil {
			msg = strings.TrimSpace(msg + " " + re.Err.Error())
		}
		field := re.Parameter.Name
		return &invite.Error{Code: codeInvalidParameter, Detail: fmt.Sprintf("%s parameter %q: %s", re.Parameter.In, field, msg),
			Fields: []invite.FieldError{{Field: field, Message: msg}}, Err: err}
	}
	var se *openapi3.SchemaError
	if errors.As(re.Err, &se) {
		field := strings.Join(se.JSONPointer(), ".")
		var name string
		if _, perr := fmt.Sscanf(se.Reason, "property %q is unsupported", &name); perr == nil {
			if field != "" {
				name = field + "." + name
			}
			return &invite.Error{Code: codeUnknownField, Detail: fmt.Sprintf("the request body has an unknown field %q", name),
				Fields: []invite.FieldError{{Field: name, Message: "unknown field"}}, Err: err}
		}
		if field == "" {
			field = "body"
		}
		return &invite.Error{Code: invite.CodeValidationFailed, Detail: field + ": " + se.Reason,
			Fields: []invite.FieldError{{Field: field, Message: se.Reason}}, Err: err}
	}
	if strings.Contains(strings.ToLower(re.Reason), "content-type") || strings.Contains(strings.ToLower(fmt.Sprint(re.Err)), "content-type") {
		return &invite.Error{Code: codeUnsupportedMedia, Detail: "send the request body as application/json", Err: err}
	}
	if re.RequestBody != nil && (re.Err == nil || errors.Is(re.Err, openapi3filter.ErrInvalidRequired)) {
		return &invite.Error{Code: invite.CodeInvalidRequest, Detail: "a JSON request body is required", Err: err}
	}
	return &invite.Error{Code: codeMalformedJSON, Detail: "the request body is not valid JSON", Err: err}
}

// errorHandler is Echo's one error handler: it logs internals with the request id and answers problem+json.
func errorHandler(log *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		p, de := problemFor(err)
		p.RequestID = c.Response().Header().Get(echo.HeaderXRequestID)
		p.Instance = c.Request().URL.Path
		ctx := c.Request().Context()
		if p.Status >= 500 {
			log.ErrorContext(ctx, "request failed", "status", p.Status, "code", p.Code, "error", err)
		} else if de.Err != nil {
			log.InfoContext(ctx, "request refused", "status", p.Status, "code", p.Code, "cause", de.Err.Error())
		}
		h := c.Response().Header()
		if p.Status == http.StatusUnauthorized {
			h.Set(echo.HeaderWWWAuthenticate, `Bearer realm="aws-invites", error="invalid_token"`)
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
