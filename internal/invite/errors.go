package invite

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Code is a stable, machine-readable error code. Clients may rely on it. Every code has an ErrorKind, which is all an
// adapter needs to answer it (the HTTP layer maps kinds to statuses in one function).
type Code string

// ErrorKind is the kind of failure a code stands for.
type ErrorKind int

// The kinds of failures.
const (
	kindNone             ErrorKind = iota // the zero value: a code nobody gave a kind (a test forbids it)
	KindInvalidRequest                    // the request is malformed: the caller must fix its form
	KindUnauthenticated                   // no or bad credentials
	KindForbidden                         // the caller lacks a permission, role or assignment
	KindNotFound                          // no such resource, or not the caller's to see
	KindMethodNotAllowed                  // the resource does not support the method
	KindConflict                          // the resource's current state does not allow it; the answer says why
	KindTooLarge                          // the request body is over the limit
	KindUnsupportedMedia                  // the request body's media type is not accepted
	KindValidation                        // well-formed input with invalid values
	KindRateLimited                       // too many requests for now; Retry-After says when
	KindInternal                          // the service failed; details are only in its logs
	KindUpstream                          // AWS refused in a way only the reseller can fix
	KindUnavailable                       // a dependency is unavailable or not configured; try again later
	KindPrecondition                      // a conditional request's precondition (If-Match) does not hold
)

// Error codes. Each has exactly one kind, in the kinds table below.
const (
	CodeInvalidRequest   Code = "invalid_request"        // malformed input the schema cannot describe
	CodeMalformedJSON    Code = "malformed_json"         // the body is not JSON
	CodeUnknownField     Code = "unknown_field"          // the body has a field the schema does not know
	CodeInvalidParameter Code = "invalid_parameter"      // a path, query or header parameter is malformed
	CodeInvalidCursor    Code = "invalid_cursor"         // a pagination cursor this service did not issue
	CodeUnauthenticated  Code = "unauthenticated"        // no or bad token
	CodeForbidden        Code = "forbidden"              // the token lacks a permission or role
	CodeNotAssigned      Code = "not_assigned"           // the caller is not assigned to the billing profile
	CodeNotFound         Code = "not_found"              // no such resource (or not the caller's to see)
	CodeSandboxOnly      Code = "sandbox_only"           // a sandbox endpoint outside the sandbox
	CodeMethodNotAllowed Code = "method_not_allowed"     // the method is not supported on the path
	CodePayloadTooLarge  Code = "payload_too_large"      // the body is over the limit
	CodeUnsupportedMedia Code = "unsupported_media_type" // the body is not application/json
	CodeRateLimited      Code = "rate_limited"           // the caller sent more requests than its rate limit allows

	CodePreconditionFailed Code = "precondition_failed" // If-Match names another version than the current one

	CodeValidationFailed  Code = "validation_failed"  // well-formed input with invalid values
	CodeInvalidAccountID  Code = "invalid_account_id" // not a 12-digit AWS account id
	CodeNotesTooLong      Code = "notes_too_long"     // notes over MaxNotes characters
	CodeNotesRefused      Code = "notes_refused"      // AWS's screening of free text (cross-site scripting patterns) refused the notes
	CodeBatchInvalid      Code = "batch_invalid"      // a batch with malformed items (each with its own code): nothing was created
	CodeDuplicateAccount  Code = "duplicate_account"  // an account named twice in one batch
	CodeIdempotencyReused Code = "idempotency_key_reused"
	CodeIdempotencyInUse  Code = "idempotency_key_in_use"

	CodeResendTooSoon    Code = "resend_too_soon"  // five minutes have not passed since the last send
	CodeSendInProgress   Code = "send_in_progress" // another request is sending this invite right now
	CodeAlreadyJoined    Code = "account_already_joined"
	CodeAlreadyOpen      Code = "invite_already_open" // the store refused a second invite holding the account
	CodeInvalidState     Code = "invalid_state"       // the action does not apply to the invite's state
	CodeConcurrentUpdate Code = "concurrent_update"   // another writer changed the invite first

	CodeHeldByAnotherProfile       Code = "account_held_by_another_billing_profile" // another billing profile of the payer holds the account
	CodeDifferentPayer             Code = "different_payer"                         // a billing profile of another payer organization
	CodePayerChangeWithOpenInvites Code = "payer_change_with_open_invites"          // a profile with invites in progress cannot change payer
	CodeHandshakeNotAdoptable      Code = "handshake_not_adoptable"                 // the handshake is not open, or another invite owns it
	CodeWebhookURLRefused          Code = "webhook_url_refused"                     // a webhook URL the service must not call
	CodeOtherKind                  Code = "invite_of_another_kind"                  // the account has an invite of the other kind in progress
	CodeTestClockExists            Code = "test_clock_exists"                       // the sandbox payer has its own test clock already
	CodePayerOfOtherCustomers      Code = "payer_of_other_customers"                // a test clock's payer must serve its one customer only

	CodeInOtherOrg         Code = "account_in_another_organization"
	CodeIsManagementAcct   Code = "account_is_management_account"
	CodeAccountLimit       Code = "organization_account_limit_exceeded"
	CodeDailyInviteLimit   Code = "daily_invite_limit_exceeded"
	CodeMembershipRate     Code = "membership_change_rate_exceeded"
	CodeDifferentSeller    Code = "different_seller_of_record"
	CodePaymentInstrument  Code = "payment_instrument_required"
	CodeEmailNotVerified   Code = "management_account_email_not_verified"
	CodeEnableAllFeatures  Code = "invites_disabled_during_enable_all_features"
	CodeHandshakeNotFound  Code = "handshake_not_found"
	CodeHandshakeFinalized Code = "handshake_already_finalized"
	CodeAWSAccessDenied    Code = "aws_access_denied"           // 502: the service's role in the payer cannot be assumed or lacks permissions
	CodeAWSOrgNotInUse     Code = "aws_organization_not_in_use" // 502: the billing profile's management account manages no organization
	CodeAWSInvalidInput    Code = "aws_invalid_input"           // 502: AWS refused what the service sent, for a reason only the reseller's support can look into
	CodeAWSUnavailable     Code = "aws_unavailable"
	CodeAWSOrgFinalizing   Code = "aws_organization_finalizing"

	// AWS refusals of an invitation that the account's owner can act on: not gateway failures.
	CodeUnusedPrepayment    Code = "unused_prepayment_balance" // 409: the account's prepayment balance must be used up or settled first
	CodeAccountNotValidated Code = "account_validation_failed" // 422: AWS could not validate the account; check the id, its owner its status and contact details
	// Only the reseller can fix this one: 502, like aws_access_denied.
	CodePayerSetupIncomplete Code = "payer_setup_incomplete" // the payer's management account lacks contact details, a business license or a matching address
	// CodeLegacyBillingPermissions: the payer's organization still uses the retired IAM actions for billing, and AWS
	// sends no invitations until it moves to the fine-grained ones (LEGACY_PERMISSIONS_STILL_IN_USE).
	CodeLegacyBillingPermissions Code = "payer_legacy_billing_permissions"
	// CodeBillingPrerequisite: AWS finds the payer's billing configuration unsupported (UNMET_BILLING_PREREQUISITE).
	CodeBillingPrerequisite Code = "billing_prerequisite_unmet"

	CodeCloudHealthNotConfigured Code = "cloudhealth_not_configured"
	CodeCloudHealthUnavailable   Code = "cloudhealth_unavailable"
	CodeCloudHealthKeyRefused    Code = "cloudhealth_key_refused"         // 502: CloudHealth refuses the reseller's API key (or its client_api_id)
	CodeCloudHealthCheckTooSoon  Code = "cloudhealth_validation_too_soon" // 429: one validation run per invite a minute
	CodeDatabaseUnavailable      Code = "database_unavailable"            // the database does not answer; nothing was changed

	CodeInternal Code = "internal"
)

// Billing transfer codes: AWS's refusals of a transfer invitation or of ending a transfer, each one a customer (or,
// for the payer's own state, the reseller) can act on.
const (
	CodeTransferExists         Code = "billing_transfer_already_exists"              // the organization's bill is pending or in force with a bill-transfer account
	CodeTransferToSelf         Code = "billing_transfer_source_is_payer"             // the account is the payer's own management account
	CodeTransferQuota          Code = "billing_transfer_quota_exceeded"              // a RESPONSIBILITY_TRANSFER_MAX_* quota
	CodeTransferProcessActive  Code = "billing_transfer_process_active"              // another transfer process of the organization is under way
	CodeTransferPricing        Code = "billing_transfer_unsupported_pricing"         // a pricing agreement Billing Transfer does not support
	CodeTransferSourceDeleting Code = "billing_transfer_source_deletion_in_progress" // the customer's organization is marked for deletion
	CodeTransferPayerDeleting  Code = "billing_transfer_payer_deletion_in_progress"  // the payer's organization is marked for deletion
	CodeTransferNotActive      Code = "billing_transfer_not_active"                  // the transfer is not in force (pending, ended, or withdrawn)
	CodeTransferStartInvalid   Code = "billing_transfer_start_invalid"               // not 00:00 UTC on the first of a month more than 24 hours ahead
	CodeTransferEndInvalid     Code = "billing_transfer_end_invalid"                 // not the end of a month, or too early
	CodeTransferNameInvalid    Code = "billing_transfer_name_invalid"                // not 1 to 128 printable ASCII characters
)

// AWS Billing Conductor codes (billinggroups.go): the 422 of a profile naming a group the service cannot use, and the
// problems an invite's billingGroup shows to the reseller (never the customer's to fix).
const (
	CodeBillingGroupInvalid          Code = "billing_group_invalid"                       // 422: not an ACTIVE STANDARD billing group of the profile's payer
	CodeBillingGroupNotInFamily      Code = "billing_group_account_not_in_billing_family" // AWS refuses the account (ILLEGAL_ACCOUNTS): not yet in the payer's billing family
	CodeBillingGroupConflict         Code = "billing_group_account_in_another_group"      // the account is in another billing group this period
	CodeBillingGroupMisconfigured    Code = "billing_group_misconfigured"                 // the group is missing, not ACTIVE, of another type, ended, or the role may not use it
	CodeBillingGroupNotAssociated    Code = "billing_group_account_not_associated"        // a disassociation of an account the group does not hold
	CodeBillingConductorNotAvailable Code = "billing_conductor_not_configured"            // 503: the service was built without AWS Billing Conductor
)

// kinds is the one table of codes: what kind of failure each is.
var kinds = map[Code]ErrorKind{
	CodeInvalidRequest:   KindInvalidRequest,
	CodeMalformedJSON:    KindInvalidRequest,
	CodeUnknownField:     KindInvalidRequest,
	CodeInvalidParameter: KindInvalidRequest,
	CodeInvalidCursor:    KindInvalidRequest,
	CodeUnauthenticated:  KindUnauthenticated,
	CodeForbidden:        KindForbidden,
	CodeNotAssigned:      KindForbidden,
	CodeNotFound:         KindNotFound,
	CodeSandboxOnly:      KindNotFound,
	CodeMethodNotAllowed: KindMethodNotAllowed,
	CodePayloadTooLarge:  KindTooLarge,
	CodeUnsupportedMedia: KindUnsupportedMedia,
	CodeRateLimited:      KindRateLimited,

	CodePreconditionFailed: KindPrecondition,

	CodeValidationFailed:  KindValidation,
	CodeInvalidAccountID:  KindValidation,
	CodeNotesTooLong:      KindValidation,
	CodeNotesRefused:      KindValidation,
	CodeBatchInvalid:      KindValidation,
	CodeDuplicateAccount:  KindValidation,
	CodeIdempotencyReused: KindValidation,
	CodeIdempotencyInUse:  KindConflict,

	CodeResendTooSoon:    KindConflict,
	CodeSendInProgress:   KindConflict,
	CodeAlreadyJoined:    KindConflict,
	CodeAlreadyOpen:      KindConflict,
	CodeInvalidState:     KindConflict,
	CodeConcurrentUpdate: KindConflict,

	CodeHeldByAnotherProfile:       KindConflict,
	CodeDifferentPayer:             KindConflict,
	CodePayerChangeWithOpenInvites: KindConflict,
	CodeHandshakeNotAdoptable:      KindConflict,
	CodeWebhookURLRefused:          KindValidation,
	CodeOtherKind:                  KindConflict,
	CodeTestClockExists:            KindConflict,
	CodePayerOfOtherCustomers:      KindConflict,

	CodeInOtherOrg:         KindConflict,
	CodeIsManagementAcct:   KindConflict,
	CodeAccountLimit:       KindConflict,
	CodeDailyInviteLimit:   KindRateLimited,
	CodeMembershipRate:     KindRateLimited,
	CodeDifferentSeller:    KindConflict,
	CodePaymentInstrument:  KindConflict,
	CodeEmailNotVerified:   KindConflict,
	CodeEnableAllFeatures:  KindConflict,
	CodeHandshakeNotFound:  KindConflict,
	CodeHandshakeFinalized: KindConflict,
	CodeAWSAccessDenied:    KindUpstream,
	CodeAWSOrgNotInUse:     KindUpstream,
	CodeAWSInvalidInput:    KindUpstream,
	CodeAWSUnavailable:     KindUnavailable,
	CodeAWSOrgFinalizing:   KindUnavailable,

	CodeUnusedPrepayment:         KindConflict,
	CodeAccountNotValidated:      KindValidation,
	CodePayerSetupIncomplete:     KindUpstream,
	CodeLegacyBillingPermissions: KindUpstream,
	CodeBillingPrerequisite:      KindUpstream,

	CodeCloudHealthNotConfigured: KindUnavailable,
	CodeCloudHealthUnavailable:   KindUnavailable,
	CodeCloudHealthKeyRefused:    KindUpstream,
	CodeCloudHealthCheckTooSoon:  KindRateLimited,
	CodeDatabaseUnavailable:      KindUnavailable,

	CodeInternal: KindInternal,

	CodeTransferExists:         KindConflict,
	CodeTransferToSelf:         KindValidation,
	CodeTransferQuota:          KindConflict,
	CodeTransferProcessActive:  KindConflict,
	CodeTransferPricing:        KindConflict,
	CodeTransferSourceDeleting: KindConflict,
	CodeTransferPayerDeleting:  KindUpstream,
	CodeTransferNotActive:      KindConflict,
	CodeTransferStartInvalid:   KindValidation,
	CodeTransferEndInvalid:     KindValidation,
	CodeTransferNameInvalid:    KindValidation,

	CodeBillingGroupInvalid:          KindValidation,
	CodeBillingGroupNotInFamily:      KindUpstream,
	CodeBillingGroupConflict:         KindConflict,
	CodeBillingGroupMisconfigured:    KindUpstream,
	CodeBillingGroupNotAssociated:    KindConflict,
	CodeBillingConductorNotAvailable: KindUnavailable,
}

// Kind returns the code's kind; a code missing from the table is internal (and a test fails on it).
func (c Code) ErrorKind() ErrorKind {
	if k, ok := kinds[c]; ok {
		return k
	}
	return KindInternal
}

// Known reports whether the code is in the table of codes.
func (c Code) Known() bool {
	_, ok := kinds[c]
	return ok
}

// Codes lists every error code, sorted.
func Codes() []Code {
	out := make([]Code, 0, len(kinds))
	for c := range kinds {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

// FieldError names one invalid input field.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// FieldProblem is the refusal of one field's value: its code, the detail a person reads, and the field with its
// message.
func FieldProblem(code Code, field, message, detail string) *Error {
	return &Error{Code: code, Detail: detail, Fields: []FieldError{{Field: field, Message: message}}}
}

// Because keeps the underlying cause of a refusal, for logs (it never reaches clients), and returns e.
func (e *Error) Because(err error) *Error {
	e.Err = err
	return e
}

// Invalid is CodeValidationFailed for one field, told as "field: message".
func Invalid(field, message string) *Error {
	return FieldProblem(CodeValidationFailed, field, message, field+": "+message)
}

// Error is a domain error: a stable code, a detail a client can act on, and optionally the fields at fault and
// how long to wait before trying again. Err keeps the underlying cause for logs; it never reaches clients.
type Error struct {
	Code       Code
	Detail     string
	Fields     []FieldError
	Items      []ItemProblem // for a request of many items (a batch): each malformed item
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

// errorDetail is the detail of the first domain error in err's chain (what a client is told), else a generic one.
func errorDetail(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Detail != "" {
		return e.Detail
	}
	return "an unexpected error occurred"
}

// IsCode reports whether err carries the given domain code.
func IsCode(err error, code Code) bool { return err != nil && ErrorCode(err) == code }

// RetryAfterSeconds rounds a wait up to whole seconds, at least one, for a Retry-After header.
func RetryAfterSeconds(d time.Duration) int {
	s := int((d + time.Second - 1) / time.Second)
	return max(s, 1)
}

// ItemProblem is why one item of a request of many items (a batch) is malformed.
type ItemProblem struct {
	Index  int    `json:"index"`
	Code   Code   `json:"code"`
	Detail string `json:"detail"`
}
