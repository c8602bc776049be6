package awsbc

import (
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/billingconductor/types"
	smithy "github.com/aws/smithy-go"

	"github.com/cloudreseller/aws-invites/internal/invite"
)

// operation says which call failed, where the same AWS error means different things.
type operation int

const (
	opList operation = iota
	opAssociate
	opDisassociate
)

const detailUnavailable = "AWS Billing Conductor is not answering or is throttling requests right now; nothing was changed. It is tried again later."

// groupReasons are the ValidationException reasons that say the billing group cannot take the call: for the
// reseller to fix in AWS Billing Conductor.
var groupReasons = map[types.ValidationExceptionReason]string{
	types.ValidationExceptionReasonMissingBillinggroup:       "the billing group does not exist (MISSING_BILLINGGROUP)",
	types.ValidationExceptionReasonInvalidBillingGroupStatus: "the billing group is not ACTIVE (INVALID_BILLING_GROUP_STATUS)",
	types.ValidationExceptionReasonIllegalBillingGroupType:   "the billing group's type does not take these accounts (ILLEGAL_BILLING_GROUP_TYPE)",
	types.ValidationExceptionReasonIllegalEndedBillinggroup:  "the billing group has ended (ILLEGAL_ENDED_BILLINGGROUP)",
}

// writeConflict is ConflictException WRITE_CONFLICT_RETRY, which the model says to retry.
func writeConflict(err error) aws.Ternary {
	var ce *types.ConflictException
	if errors.As(err, &ce) && ce.Reason == types.ConflictExceptionReasonWriteConflictRetry {
		return aws.TrueTernary
	}
	return aws.UnknownTernary
}

// domainError turns an SDK error into a domain error; nil stays nil. The AWS message and request id go to the
// wrapped error (logs), never to the detail.
func (c *Client) domainError(err error, op operation) error {
	if err == nil {
		return nil
	}
	e := &invite.Error{Err: err}
	var (
		ve *types.ValidationException
		nf *types.ResourceNotFoundException
		ad *types.AccessDeniedException
		sl *types.ServiceLimitExceededException
		ae smithy.APIError
	)
	switch {
	case errors.As(err, &ve):
		switch r := ve.Reason; {
		case r == types.ValidationExceptionReasonIllegalAccounts:
			e.Code, e.Detail = invite.CodeBillingGroupNotInFamily, "AWS Billing Conductor does not count the account in the payer's consolidated billing family (ILLEGAL_ACCOUNTS)"
		case r == types.ValidationExceptionReasonAccountsAlreadyAssociated:
			e.Code, e.Detail = invite.CodeBillingGroupConflict, "the account is already associated with a billing group (ACCOUNTS_ALREADY_ASSOCIATED)"
		case r == types.ValidationExceptionReasonAccountsNotAssociated:
			e.Code, e.Detail = invite.CodeBillingGroupNotAssociated, "the billing group does not hold the account (ACCOUNTS_NOT_ASSOCIATED)"
		case groupReasons[r] != "":
			e.Code, e.Detail = invite.CodeBillingGroupMisconfigured, "AWS Billing Conductor refuses the billing group: "+groupReasons[r]
		default:
			// TOO_MANY_ACCOUNTS_IN_REQUEST, DUPLICATE_ACCOUNT and the like are the service's own mistakes.
			e.Code, e.Detail = invite.CodeAWSInvalidInput, "AWS Billing Conductor refused what the service sent ("+string(r)+")"
		}
	case errors.As(err, &nf):
		e.Code, e.Detail = invite.CodeBillingGroupMisconfigured, "AWS Billing Conductor does not know the billing group for this payer (ResourceNotFoundException)"
	case errors.As(err, &ad):
		e.Code, e.Detail = invite.CodeAWSAccessDenied, "the service's role in the payer may not use AWS Billing Conductor: it needs "+
			"billingconductor:AssociateAccounts, DisassociateAccounts, ListAccountAssociations and ListBillingGroups"
	case errors.As(err, &sl):
		e.Code, e.Detail = invite.CodeBillingGroupMisconfigured, "an AWS Billing Conductor quota of the payer is reached ("+aws.ToString(sl.LimitCode)+")"
	case errors.As(err, &ae) && op == opList && ae.ErrorCode() == "ValidationException":
		e.Code, e.Detail = invite.CodeAWSInvalidInput, "AWS Billing Conductor refused what the service sent"
	default:
		// Throttling, conflicts and server errors the retryer gave up on; broken connections; timeouts.
		e.Code, e.Detail, e.RetryAfter = invite.CodeAWSUnavailable, detailUnavailable, c.opts.RetryAfter
	}
	return e
}
