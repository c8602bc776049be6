// Package awsiam implements cloudhealth.PermissionChecker over the AWS SDK for Go v2: it assumes the optional
// checker role of the CloudHealth setup (cloudhealth.CheckerRoleName) in the customer's account through STS, with
// the tenant's external id and the reseller's own credentials, then asks IAM about the CloudHealth role: GetRole
// (does it exist) and SimulatePrincipalPolicy (which of the actions its policies, and the organization's SCPs,
// allow). The checker role may do nothing else (cloudhealth.CheckerActions on that role only).
//
// From the SDK's model (service/iam v1.66.0, api_op_SimulatePrincipalPolicy.go, types/types.go): ActionNames are
// "names of API operations" such as iam:CreateUser, so the caller passes concrete actions; ResourceArns defaults
// to "*"; results come in pages (MaxItems, 100 by default; IsTruncated and Marker); EvalDecision is allowed,
// explicitDeny or implicitDeny; OrganizationsDecisionDetail.AllowedByOrganizations says whether the organization's
// SCPs allow the action, present only for an account in an organization.
package awsiam

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/middleware"

	"github.com/cloudreseller/aws-invites/internal/cloudhealth"
)

// region signs IAM and STS calls: IAM is global, served (and signed) in us-east-1 in the commercial partition; STS
// answers in every region, the config's when it names one.
const region = "us-east-1"

// Options configures a Checker. The zero value gives production behavior.
type Options struct {
	// IAMEndpoint and STSEndpoint replace the endpoints (a simulator's URL); when empty the SDK's own settings
	// apply, including AWS_ENDPOINT_URL_IAM and AWS_ENDPOINT_URL_STS.
	IAMEndpoint, STSEndpoint string
	// HTTPClient is the one HTTP client every call shares (the service's AWS client, with its pool of connections);
	// the config's when nil.
	HTTPClient aws.HTTPClient
	// RoleName is the checker role's name; cloudhealth.CheckerRoleName when empty.
	RoleName string
	// PageSize is SimulatePrincipalPolicy's MaxItems; IAM's default (100) when zero.
	PageSize int32
	// APIOptions are added to every client's middleware stack (request ids in logs, metrics).
	APIOptions []func(*middleware.Stack) error
}

// Checker probes the CloudHealth role of customers' accounts. It keeps one STS client (the reseller's own
// credentials) and builds an IAM client per check over the shared HTTP client: a check runs at most once a minute
// per invite, so nothing per account is kept.
type Checker struct {
	cfg  aws.Config
	opts Options
	sts  *sts.Client
}

var _ cloudhealth.PermissionChecker = (*Checker)(nil)

// New returns a checker whose STS calls are signed with cfg's credentials (the reseller's principal, the one the
// checker role trusts).
func New(cfg aws.Config, opts Options) *Checker {
	if opts.RoleName == "" {
		opts.RoleName = cloudhealth.CheckerRoleName
	}
	if opts.HTTPClient != nil {
		cfg.HTTPClient = opts.HTTPClient
	}
	cfg.APIOptions = append(slices.Clone(cfg.APIOptions), opts.APIOptions...)
	c := &Checker{cfg: cfg, opts: opts}
	c.sts = sts.NewFromConfig(cfg, func(o *sts.Options) {
		if o.Region == "" {
			o.Region = region
		}
		if opts.STSEndpoint != "" {
			o.BaseEndpoint = aws.String(opts.STSEndpoint)
		}
	})
	return c
}

// CheckPermissions assumes the checker role of the account and reports whether the role roleName exists and which
// of actions (concrete IAM action names) it is not allowed, and which of those an SCP denies, in the order given.
func (c *Checker) CheckPermissions(ctx context.Context, accountID, roleName, externalID string, actions []string) (cloudhealth.PermissionReport, error) {
	checker := "arn:aws:iam::" + accountID + ":role/" + c.opts.RoleName
	creds := stscreds.NewAssumeRoleProvider(c.sts, checker, func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = "aws-invites-cloudhealth-check"
		if externalID != "" {
			o.ExternalID = aws.String(externalID)
		}
	})
	// Assume first, so a refusal is told apart from IAM's answers (the IAM client would only wrap it).
	v, err := creds.Retrieve(ctx)
	if err != nil {
		var code interface{ ErrorCode() string }
		if errors.As(err, &code) && code.ErrorCode() == "AccessDenied" {
			return cloudhealth.PermissionReport{}, fmt.Errorf("%w: %s in account %s: %w", cloudhealth.ErrCheckerRefused, c.opts.RoleName, accountID, err)
		}
		return cloudhealth.PermissionReport{}, fmt.Errorf("assuming %s: %w", checker, err)
	}
	client := iam.NewFromConfig(c.cfg, func(o *iam.Options) {
		o.Region = region
		o.Credentials = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return v, nil })
		if c.opts.IAMEndpoint != "" {
			o.BaseEndpoint = aws.String(c.opts.IAMEndpoint)
		}
	})
	role, err := client.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(roleName)})
	var missing *types.NoSuchEntityException
	switch {
	case errors.As(err, &missing):
		return cloudhealth.PermissionReport{RoleFound: false}, nil
	case err != nil:
		return cloudhealth.PermissionReport{}, fmt.Errorf("iam:GetRole %s: %w", roleName, err)
	}
	rep := cloudhealth.PermissionReport{RoleFound: true}
	in := &iam.SimulatePrincipalPolicyInput{PolicySourceArn: role.Role.Arn, ActionNames: actions, ResourceArns: []string{"*"}}
	if c.opts.PageSize > 0 {
		in.MaxItems = aws.Int32(c.opts.PageSize)
	}
	missingSet, deniedSet := map[string]bool{}, map[string]bool{}
	for p := iam.NewSimulatePrincipalPolicyPaginator(client, in); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			return cloudhealth.PermissionReport{}, fmt.Errorf("iam:SimulatePrincipalPolicy %s: %w", roleName, err)
		}
		for _, r := range page.EvaluationResults {
			a := aws.ToString(r.EvalActionName)
			if r.EvalDecision != types.PolicyEvaluationDecisionTypeAllowed {
				missingSet[a] = true
			}
			if d := r.OrganizationsDecisionDetail; d != nil && !d.AllowedByOrganizations {
				missingSet[a], deniedSet[a] = true, true
			}
		}
	}
	for _, a := range actions {
		if missingSet[a] && !slices.Contains(rep.Missing, a) {
			rep.Missing = append(rep.Missing, a)
		}
		if deniedSet[a] && !slices.Contains(rep.Denied, a) {
			rep.Denied = append(rep.Denied, a)
		}
	}
	return rep, nil
}
