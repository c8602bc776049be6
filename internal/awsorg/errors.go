package awsorg

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/organizations/types"
	smithy "github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/cloudreseller/aws-invites/internal/invite"
)

// operation says which call failed, where the same AWS error means different things.
type operation int

const (
	opOther operation = iota
	opInvite
	opInviteWithNotes // an invitation with notes: AWS's screening of free text may refuse them
	opAccept
	opDescribeAccount
	opTransfer  // InviteOrganizationToTransferResponsibility
	opTerminate // TerminateResponsibilityTransfer
)

// How long callers are told to wait in cases AWS resolves over time.
const (
	finalizingRetryAfter = 10 * time.Minute // AWS finishes setting up an organization within the hour
	dailyLimitRetryAfter = 24 * time.Hour   // the invitation quota is per rolling day
	laterRetryAfter      = time.Hour
)

// Details shared by several codes.
const (
	detailUnavailable = "AWS Organizations is not answering or is throttling requests right now; nothing was changed. Try again later."
	detailInOtherOrg  = "The AWS account belongs to another AWS organization, and AWS refuses to move it directly (most member " +
		"accounts can accept an invitation without leaving first, but not this one). Its owner must first leave that organization " +
		"(AWS Organizations console, Leave organization); then send the invitation again."
	detailIsMgmt = "The AWS account is the management account of another AWS organization that still has member accounts, " +
		"and AWS does not let it join another organization while it manages one. To keep that organization, transfer its " +
		"consolidated bill to the payer instead (a billing transfer: ask your reseller). Otherwise its owner must remove each " +
		"member account from that organization, delete the organization, and then accept the invitation; each removed " +
		"account then needs its own invitation."
	detailAccountLimit = "The payer organization has reached its maximum number of accounts (open invitations count too). " +
		"Cancel invitations that are no longer needed, or ask your reseller to have the organization's account quota raised."
	detailDailyLimit = "The payer organization has sent as many invitations as AWS allows in one day. Try again tomorrow."
	detailPayment    = "The AWS account has no valid payment method. Its owner must add one in the AWS Billing console; " +
		"then send the invitation again."
	detailSeller = "The AWS account is billed by a different AWS seller of record (for example AWS Europe, AWS India or " +
		"another partition) than the payer organization, so it cannot join it. Use an account of the same seller of " +
		"record, or ask your reseller for a payer organization of the account's seller."
	detailEmailNotVerified = "The email address of the payer organization's management account is not verified, and AWS " +
		"allows no invitations until it is. Ask your reseller to verify it."
	detailPayerSetup = "The payer organization's management account is not set up to accept new accounts. Ask your reseller to complete its setup."
	// detailNotesRefused: AWS screens free text against cross-site scripting patterns it does not publish
	// (InvalidInputException INVALID_PATTERN, SDK model of July 2026), so the examples are ours, not AWS's list.
	detailNotesRefused = "AWS Organizations refused the notes: it screens free text against common cross-site scripting " +
		"patterns (markup such as <script> or an onload= attribute, or a javascript: link, for example), and the notes " +
		"look like one to it. Reword the notes, or leave them out, and send the invitation again."
)

// reasonRule is what a constraint violation reason means for the customer.
type reasonRule struct {
	code       invite.Code
	detail     string
	retryAfter time.Duration
}

// reasons covers the HandshakeConstraintViolationException and ConstraintViolationException reasons an invitation
// can meet; any other reason gets a generic rule.
var reasons = map[string]reasonRule{
	"ALREADY_IN_AN_ORGANIZATION":                   {invite.CodeInOtherOrg, detailInOtherOrg, 0},
	"ACCOUNT_NUMBER_LIMIT_EXCEEDED":                {invite.CodeAccountLimit, detailAccountLimit, 0},
	"HANDSHAKE_RATE_LIMIT_EXCEEDED":                {invite.CodeDailyInviteLimit, detailDailyLimit, dailyLimitRetryAfter},
	"ORGANIZATION_FROM_DIFFERENT_SELLER_OF_RECORD": {invite.CodeDifferentSeller, detailSeller, 0},
	"PAYMENT_INSTRUMENT_REQUIRED":                  {invite.CodePaymentInstrument, detailPayment, 0},
	"MEMBER_ACCOUNT_PAYMENT_INSTRUMENT_REQUIRED":   {invite.CodePaymentInstrument, detailPayment, 0},
	"INVALID_PAYMENT_INSTRUMENT":                   {invite.CodePaymentInstrument, detailPayment, 0},
	"PAST_DUE_INVOICE": {invite.CodePaymentInstrument, "The AWS account has an unpaid, past-due invoice. Its owner " +
		"must pay it in the AWS Billing console; then send the invitation again.", 0},
	"MASTER_ACCOUNT_PAYMENT_INSTRUMENT_REQUIRED": {invite.CodePaymentInstrument, "The payer organization's management " +
		"account has no valid payment method. Ask your reseller to add one.", 0},
	"ORGANIZATION_MEMBERSHIP_CHANGE_RATE_LIMIT_EXCEEDED": {invite.CodeMembershipRate, "The AWS account changed " +
		"organizations too often recently, and AWS refuses another change for now. Try again later.", laterRetryAfter},
	"INVITE_DISABLED_DURING_ENABLE_ALL_FEATURES": {invite.CodeEnableAllFeatures, "The payer organization is switching " +
		"to all features, and AWS sends no invitations until that finishes. Try again later.", laterRetryAfter},
	"MANAGEMENT_ACCOUNT_EMAIL_NOT_VERIFIED": {invite.CodeEmailNotVerified, detailEmailNotVerified, 0},
	"UNUSED_PREPAYMENT_BALANCE": {invite.CodeUnusedPrepayment, "The AWS account has an unused prepayment balance, " +
		"which prevents it from joining another organization. Its owner must use it up or ask AWS Support to " +
		"settle it; then send the invitation again.", 0},
	"TARGET_ACCOUNT_VALIDATION_FAILURE": {invite.CodeAccountNotValidated, "AWS could not validate the AWS account for " +
		"joining an organization. Check the account id, and ask the account's owner to check the account's status " +
		"and contact information; then send the invitation again.", 0},
	"MASTER_ACCOUNT_MISSING_CONTACT_INFO":               {invite.CodePayerSetupIncomplete, detailPayerSetup, 0},
	"MASTER_ACCOUNT_MISSING_BUSINESS_LICENSE":           {invite.CodePayerSetupIncomplete, detailPayerSetup, 0},
	"MASTER_ACCOUNT_ADDRESS_DOES_NOT_MATCH_MARKETPLACE": {invite.CodePayerSetupIncomplete, detailPayerSetup, 0},
	"LEGACY_PERMISSIONS_STILL_IN_USE": {invite.CodeLegacyBillingPermissions, "The payer organization still uses " +
		"the retired IAM actions for billing (aws-portal), and AWS sends no invitations until it moves to the " +
		"fine-grained actions for billing, cost management and accounts. Ask your reseller to migrate the payer " +
		"organization's policies; then send the invitation again.", 0},
	"UNMET_BILLING_PREREQUISITE": {invite.CodeBillingPrerequisite, "AWS finds the payer organization's billing " +
		"configuration unsupported for this. Ask your reseller to contact AWS Support; then send the invitation again.", 0},
	"WAIT_PERIOD_ACTIVE": {invite.CodeMembershipRate, "The AWS account was created or moved too recently for this " +
		"change; AWS requires a waiting period. Try again later.", laterRetryAfter},

	// Billing transfers (types/errors.go describes each reason).
	"RESPONSIBILITY_TRANSFER_ALREADY_EXISTS": {invite.CodeTransferExists, "The AWS organization already has a " +
		"billing transfer pending or in force (with this payer or another), and AWS allows one at a time. Wait until " +
		"the other invitation is answered or expires, or until the transfer in force ends (either side can withdraw " +
		"it); then send the invitation again for a later month.", 0},
	"SOURCE_AND_TARGET_CANNOT_MATCH": {invite.CodeTransferToSelf, "The AWS account is the payer organization's own " +
		"management account. A billing transfer must come from the management account of another organization.", 0},
	"RESPONSIBILITY_TRANSFER_MAX_INBOUND_QUOTA_VIOLATION": {invite.CodeTransferQuota, "The payer organization " +
		"manages as many billing transfers as AWS allows it. Ask your reseller to end transfers no longer needed or " +
		"to have the quota raised.", 0},
	"RESPONSIBILITY_TRANSFER_MAX_OUTBOUND_QUOTA_VIOLATION": {invite.CodeTransferQuota, "The AWS organization has " +
		"as many outbound billing transfers as AWS allows it. Its owner must withdraw one it no longer needs; then " +
		"send the invitation again.", 0},
	"RESPONSIBILITY_TRANSFER_MAX_LEVEL_VIOLATION": {invite.CodeTransferQuota, "The billing transfer would make the " +
		"chain of transfers (an organization's bill transferred to an account whose own bill is transferred, and so " +
		"on) longer than AWS allows. Ask your reseller.", 0},
	"RESPONSIBILITY_TRANSFER_MAX_TRANSFERS_QUOTA_VIOLATION": {invite.CodeTransferQuota, "The chain of billing " +
		"transfers the payer belongs to has as many transfers as AWS allows. Ask your reseller.", 0},
	"ACTIVE_RESPONSIBILITY_TRANSFER_PROCESS": {invite.CodeTransferProcessActive, "A billing transfer of the AWS " +
		"organization is under way (a pending invitation or a transfer in progress), which blocks this change. Wait " +
		"until it is answered or ends, or cancel it; then try again.", 0},
	"UNSUPPORTED_PRICING": {invite.CodeTransferPricing, "The AWS organization cannot transfer its bill: it is " +
		"subject to a pricing agreement with AWS that Billing Transfer does not support. Its owner can ask AWS about " +
		"the agreement; otherwise invite its accounts to join the payer organization instead.", 0},
	"TRANSFER_RESPONSIBILITY_SOURCE_DELETION_IN_PROGRESS": {invite.CodeTransferSourceDeleting, "The AWS " +
		"organization is marked for deletion, so AWS accepts no billing transfer for it. Once it is deleted its " +
		"accounts are standalone and can be invited to join the payer organization instead.", 0},
	"TRANSFER_RESPONSIBILITY_TARGET_DELETION_IN_PROGRESS": {invite.CodeTransferPayerDeleting, "The payer " +
		"organization is marked for deletion, so AWS accepts no billing transfer into it. Ask your reseller.", 0},
	"ACCOUNT_NOT_ACTIVE_FOR_TRANSFER_RESPONSIBILITY": {invite.CodeAWSInvalidInput, "AWS does not consider the " +
		"management account fully set up and active for billing transfers. Its owner (for the payer, your " +
		"reseller) must complete the account's setup; then try again.", 0},
	"TRANSFER_RESPONSIBILITY_UPDATE_NOT_ALLOWED": {invite.CodeTransferNotActive, "The billing transfer is no longer " +
		"active on AWS (withdrawn, declined, expired or canceled) and cannot be changed.", 0},
}

// transferReasons replace reasons whose meaning differs for a billing transfer invitation.
var transferReasons = map[string]reasonRule{
	"TARGET_ACCOUNT_VALIDATION_FAILURE": {invite.CodeAWSInvalidInput, "AWS does not offer billing transfer for " +
		"this AWS account. Its owner can ask AWS Support why; otherwise invite its accounts to join the payer " +
		"organization instead.", 0},
}

// mapError turns an SDK error into the domain's *invite.Error. The AWS message and request id stay in Err, for
// logs; Detail only says what the customer can do.
func mapError(op operation, err error, unavailableAfter time.Duration) *invite.Error {
	e := &invite.Error{Err: fmt.Errorf("aws organizations: %w", err)}
	set := func(code invite.Code, detail string, after time.Duration) *invite.Error {
		e.Code, e.Detail, e.RetryAfter = code, detail, after
		return e
	}
	unavailable := func() *invite.Error { return set(invite.CodeAWSUnavailable, detailUnavailable, unavailableAfter) }

	if fromSTS(err) {
		var ae smithy.APIError
		if errors.As(err, &ae) && statusOf(err) < 500 && !isThrottle(ae.ErrorCode()) {
			return set(invite.CodeAWSAccessDenied, "The service could not assume its role in the payer organization's "+
				"management account. Ask your reseller to check the role, its trust policy and its external id.", 0)
		}
		return unavailable()
	}

	var ae smithy.APIError
	if !errors.As(err, &ae) {
		// No answer at all: a timeout, a dropped connection, the caller's deadline, or retries exhausted on those.
		return unavailable()
	}
	switch code := ae.ErrorCode(); code {
	case "TooManyRequestsException", "ConcurrentModificationException", "ServiceException":
		return unavailable()
	case "HandshakeConstraintViolationException", "ConstraintViolationException":
		reason := reasonOf(err)
		if reason == "ALREADY_IN_AN_ORGANIZATION" && op == opAccept {
			return set(invite.CodeIsManagementAcct, detailIsMgmt, 0)
		}
		if r, ok := transferReasons[reason]; ok && op == opTransfer {
			return set(r.code, r.detail, r.retryAfter)
		}
		if r, ok := reasons[reason]; ok {
			return set(r.code, r.detail, r.retryAfter)
		}
		return set(invite.CodeAWSInvalidInput, fmt.Sprintf("AWS Organizations refused the request because of a "+
			"constraint (%s). Contact your reseller's support with this reason.", reason), 0)
	case "DuplicateHandshakeException":
		if op == opTransfer {
			return set(invite.CodeSendInProgress, "A billing transfer invitation for this AWS account is already "+
				"open; it will be picked up shortly.", unavailableAfter)
		}
		return set(invite.CodeSendInProgress, "An invitation for this AWS account is already open; it will be "+
			"picked up shortly.", unavailableAfter)
	case "AccountOwnerNotVerifiedException":
		return set(invite.CodeEmailNotVerified, detailEmailNotVerified, 0)
	case "AccessDeniedException":
		return set(invite.CodeAWSAccessDenied, "The service's role in the payer organization's management account "+
			"lacks the AWS Organizations permissions it needs. Ask your reseller to check the role's policy.", 0)
	case "AWSOrganizationsNotInUseException":
		return set(invite.CodeAWSOrgNotInUse, "The billing profile's payer account is not the management account of "+
			"an AWS organization. Ask your reseller to check the billing profile's management account.", 0)
	case "FinalizingOrganizationException":
		return set(invite.CodeAWSOrgFinalizing, "AWS is still setting up the payer organization, which can take up "+
			"to an hour. Try again later.", finalizingRetryAfter)
	case "InvalidInputException":
		return invalidInput(op, reasonOf(err), set)
	case "HandshakeNotFoundException":
		return set(invite.CodeHandshakeNotFound, "AWS no longer has this invitation: invitations disappear 30 days "+
			"after they end.", 0)
	case "InvalidHandshakeTransitionException", "HandshakeAlreadyInStateException":
		return set(invite.CodeHandshakeFinalized, "The invitation is no longer open on AWS: it was already accepted, "+
			"declined, canceled or it expired.", 0)
	case "AccountNotFoundException":
		return set(invite.CodeNotFound, "The AWS account is not a member of the payer organization.", 0)
	case "ResponsibilityTransferNotFoundException":
		return set(invite.CodeNotFound, "AWS has no such billing transfer for the payer organization.", 0)
	case "InvalidResponsibilityTransferTransitionException", "ResponsibilityTransferAlreadyInStatusException":
		return set(invite.CodeTransferNotActive, "The billing transfer is not in force on AWS: only an accepted "+
			"transfer can be ended, and a withdrawn one already ends on its end date. An invitation still waiting for "+
			"an answer is canceled instead.", 0)
	default:
		if statusOf(err) >= 500 {
			return unavailable()
		}
		return set(invite.CodeInternal, "AWS Organizations answered in an unexpected way. Try again later, or "+
			"contact support if it persists.", 0)
	}
}

func invalidInput(op operation, reason string, set func(invite.Code, string, time.Duration) *invite.Error) *invite.Error {
	if d, ok := transferDateReasons[reason]; ok && (op == opTransfer || op == opTerminate) {
		return set(d.code, d.detail, 0)
	}
	switch {
	case op == opInviteWithNotes && reason == "INVALID_PATTERN":
		// The account id was checked before it was sent; what AWS screens and refuses is then the notes.
		return set(invite.CodeNotesRefused, detailNotesRefused, 0)
	case (op == opInvite || op == opInviteWithNotes || op == opDescribeAccount) &&
		(reason == "INVALID_PATTERN" || reason == "INVALID_PATTERN_TARGET_ID"):
		return set(invite.CodeInvalidAccountID, "The AWS account id must be 12 digits.", 0)
	case (op == opInvite || op == opInviteWithNotes) && reason == "MAX_LENGTH_EXCEEDED":
		return set(invite.CodeNotesTooLong, fmt.Sprintf("The notes must be at most %d characters.", invite.MaxNotes), 0)
	}
	// What remains is input the service itself built (the customer's own values are checked before, or mapped
	// above): nothing the customer can change, so the detail points at the reseller's support, as its 502 does.
	return set(invite.CodeAWSInvalidInput, fmt.Sprintf("AWS Organizations refused the input the service sent (%s); "+
		"nothing was changed. Contact your reseller's support with this reason.", reason), 0)
}

// transferDateReasons are the InvalidInputException reasons of a transfer's start and end (types/errors.go).
var transferDateReasons = map[string]reasonRule{
	"START_DATE_NOT_BEGINNING_OF_DAY":   {invite.CodeTransferStartInvalid, detailStart, 0},
	"START_DATE_NOT_BEGINNING_OF_MONTH": {invite.CodeTransferStartInvalid, detailStart, 0},
	"START_DATE_TOO_EARLY":              {invite.CodeTransferStartInvalid, detailStart, 0},
	"START_DATE_TOO_LATE": {invite.CodeTransferStartInvalid, "The billing transfer's start is further ahead than " +
		"AWS allows. Choose an earlier month.", 0},
	"INVALID_START_DATE":        {invite.CodeTransferStartInvalid, detailStart, 0},
	"END_DATE_NOT_END_OF_MONTH": {invite.CodeTransferEndInvalid, detailEnd, 0},
	"END_DATE_TOO_EARLY":        {invite.CodeTransferEndInvalid, detailEnd, 0},
	"END_DATE_TOO_LATE": {invite.CodeTransferEndInvalid, "The billing transfer's end is further ahead than AWS " +
		"allows. Choose an earlier month.", 0},
	"INVALID_END_DATE": {invite.CodeTransferEndInvalid, "The chosen end does not meet the minimum notice period of " +
		"the payer's partner agreement with AWS. Choose a later month, or ask your reseller.", 0},
}

const (
	detailStart = "A billing transfer starts at 00:00 UTC on the first day of a month, more than 24 hours ahead " +
		"(the invitation must be accepted at least 24 hours before the start). Choose such a month."
	detailEnd = "A billing transfer ends at the end of a month (23:59:59.999 UTC on its last day), not before the " +
		"current month nor before the transfer starts. Choose such a month."
)

// alreadyJoined is the answer to inviting an account that is already a member of the payer organization.
func alreadyJoined(accountID string, err error) *invite.Error {
	return &invite.Error{
		Code:   invite.CodeAlreadyJoined,
		Detail: fmt.Sprintf("The AWS account %s is already a member of the payer organization.", accountID),
		Err:    fmt.Errorf("aws organizations: %w", err),
	}
}

// reasonOf returns the Reason member of a constraint violation or invalid input error.
func reasonOf(err error) string {
	var hcv *types.HandshakeConstraintViolationException
	var cv *types.ConstraintViolationException
	var ii *types.InvalidInputException
	switch {
	case errors.As(err, &hcv):
		return string(hcv.Reason)
	case errors.As(err, &cv):
		return string(cv.Reason)
	case errors.As(err, &ii):
		return string(ii.Reason)
	}
	return ""
}

func statusOf(err error) int {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.Response != nil {
		return re.Response.StatusCode
	}
	return http.StatusOK
}

func isThrottle(code string) bool {
	switch code {
	case "Throttling", "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded":
		return true
	}
	return false
}

// fromSTS reports whether the failure happened while assuming the payer's role rather than in Organizations.
func fromSTS(err error) bool {
	for err != nil {
		var oe *smithy.OperationError
		if !errors.As(err, &oe) {
			return false
		}
		if oe.Service() == "STS" {
			return true
		}
		err = oe.Unwrap()
	}
	return false
}
