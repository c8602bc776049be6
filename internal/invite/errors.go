package invite

import (
	"errors"
	"fmt"
	"time"
)

// Code is a stable, machine-readable error code. Clients may rely on it; the HTTP layer maps each to a status.
type Code string

// Error codes of the domain. Each has exactly one HTTP status (see internal/httpapi).
const (
	CodeInvalidRequest           Code = "invalid_request"    // malformed input the schema cannot describe
	CodeValidationFailed         Code = "validation_failed"  // well-formed input with invalid values
	CodeInvalidAccountID         Code = "invalid_account_id" // not a 12-digit AWS account id
	CodeNotesTooLong             Code = "notes_too_long"     // notes over 1024 characters
	CodeInvalidCursor            Code = "invalid_cursor"     // a pagination cursor this service did not issue
	CodeUnauthenticated          Code = "unauthenticated"    // no or bad token
	CodeForbidden                Code = "forbidden"          // the token lacks a permission or role
	CodeNotAssigned              Code = "not_assigned"       // the caller is not assigned to the billing profile
	CodeNotFound                 Code = "not_found"          // no such resource (or not the caller's to see)
	CodeResendTooSoon            Code = "resend_too_soon"    // five minutes have not passed since the last send
	CodeSendInProgress           Code = "send_in_progress"   // another request is sending this invite right now
	CodeAlreadyJoined            Code = "account_already_joined"
	CodeInvalidState             Code = "invalid_state"     // the action does not apply to the invite's state
	CodeConcurrentUpdate         Code = "concurrent_update" // another writer changed the invite first
	CodeIdempotencyReused        Code = "idempotency_key_reused"
	CodeIdempotencyInUse         Code = "idempotency_key_in_use"
	CodeSandboxOnly              Code = "sandbox_only"
	CodeAWSUnavailable           Code = "aws_unavailable"
	CodeAWSAccessDenied          Code = "aws_access_denied"
	CodeAWSOrgNotInUse           Code = "aws_organization_not_in_use"
	CodeAWSOrgFinalizing         Code = "aws_organization_finalizing"
	CodeAWSInvalidInput          Code = "aws_invalid_input"
	CodeInOtherOrg               Code = "account_in_another_organization"
	CodeIsManagementAcct         Code = "account_is_management_account"
	CodeAccountLimit             Code = "organization_account_limit_exceeded"
	CodeDailyInviteLimit         Code = "daily_invite_limit_exceeded"
	CodeMembershipRate           Code = "membership_change_rate_exceeded"
	CodeDifferentSeller          Code = "different_seller_of_record"
	CodePaymentInstrument        Code = "payment_instrument_required"
	CodeEmailNotVerified         Code = "management_account_email_not_verified"
	CodeEnableAllFeatures        Code = "invites_disabled_during_enable_all_features"
	CodeHandshakeNotFound        Code = "handshake_not_found"
	CodeHandshakeFinalized       Code = "handshake_already_finalized"
	CodeCloudHealthNotConfigured Code = "cloudhealth_not_configured"
	CodeCloudHealthUnavailable   Code = "cloudhealth_unavailable"
	CodeInternal                 Code = "internal"
)

// FieldError names one invalid input field.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is a domain error: a stable code, a detail a client can act on, and optionally the fields at fault and
// how long to wait before trying again. Err keeps the underlying cause for logs; it never reaches clients.
type Error struct {
	Code       Code
	Detail     string
	Fields     []FieldError
	RetryAfter time.Duration
	Err        error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Detail, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Detail)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns a domain error with a formatted detail.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Detail: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first domain error in err's chain, or CodeInternal.
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// IsCode reports whether err carries the given domain code.
func IsCode(err error, code Code) bool { return err != nil && ErrorCode(err) == code }
