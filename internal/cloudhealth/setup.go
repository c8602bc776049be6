package cloudhealth

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The fixed parts of the customer's IAM setup.
const (
	// RoleName is the role the reseller's docs tell customers to create.
	RoleName = "CloudHealth"
	// PolicyName is the name of the role's inline read-only policy.
	PolicyName = "CloudHealthReadOnly"
	// TrustedAccountID is CloudHealth's own AWS account, which assumes the role.
	TrustedAccountID = "454464851268"
	// TrustedPrincipal is the principal the role trusts.
	TrustedPrincipal = "arn:aws:iam::" + TrustedAccountID + ":root"
	// policyVersion is the IAM policy language version.
	policyVersion = "2012-10-17"
)

// SetupInput is what the IAM setup depends on.
type SetupInput struct {
	AccountID  string // the customer's 12-digit AWS account id
	ExternalID string // the tenant's, from generate_external_id
	// RoleName is the role's name; default RoleName.
	RoleName string
	// Policy chooses the optional parts of the policy (bucket reads, reservation changes); off by default.
	Policy PolicyOptions
	// CheckerPrincipal, when set, is the reseller's principal the optional checker role trusts: the template's
	// CheckerPrincipal default and the Terraform snippet's checker role.
	CheckerPrincipal string
}

// Setup is what the customer must create so that CloudHealth can read their account.
type Setup struct {
	AccountID         string         `json:"accountId"`
	RoleName          string         `json:"roleName"`
	RoleARN           string         `json:"roleArn"` // what to paste into CloudHealth once the role exists
	TrustedAccountID  string         `json:"trustedAccountId"`
	TrustedPrincipal  string         `json:"trustedPrincipal"`
	ExternalID        string         `json:"externalId"`
	TrustPolicy       PolicyDocument `json:"trustPolicy"`
	PolicyName        string         `json:"policyName"`
	PermissionsPolicy PolicyDocument `json:"permissionsPolicy"`
	// PolicyVersion and PolicySource say which version of CloudHealth's published policy this is.
	PolicyVersion string `json:"policyVersion"`
	PolicySource  string `json:"policySource"`
	// Deploy holds the one-click deployments, once built (Deployments).
	Deploy *Deployments `json:"deploy,omitempty"`
	// CheckerPrincipal is the reseller's principal the optional checker role trusts; "" for no checker role.
	CheckerPrincipal string `json:"-"`
}

// PolicyDocument is an IAM policy document.
type PolicyDocument struct {
	Version   string      `json:"Version" yaml:"Version"`
	Statement []Statement `json:"Statement" yaml:"Statement"`
}

// Statement is one statement of an IAM policy document.
type Statement struct {
	Sid       string                    `json:"Sid,omitempty" yaml:"Sid,omitempty"`
	Effect    string                    `json:"Effect" yaml:"Effect"`
	Principal map[string]any            `json:"Principal,omitempty" yaml:"Principal,omitempty"`
	Action    []string                  `json:"Action" yaml:"Action"`
	Resource  []any                     `json:"Resource,omitempty" yaml:"Resource,omitempty"`
	Condition map[string]map[string]any `json:"Condition,omitempty" yaml:"Condition,omitempty"`
}

// isBucketName applies the S3 bucket naming rule, minus its rarer exceptions (no IP-like names and so on).
func isBucketName(b string) bool {
	if len(b) < 3 || len(b) > 63 {
		return false
	}
	for i, r := range b {
		alnum := r >= 'a' && r <= 'z' || r >= '0' && r <= '9'
		if !alnum && (i == 0 || i == len(b)-1 || (r != '.' && r != '-')) {
			return false
		}
	}
	return true
}

// NewSetup builds the IAM setup of one customer account.
func NewSetup(in SetupInput) (Setup, error) {
	if len(in.AccountID) != 12 || !isDigits(in.AccountID) {
		return Setup{}, fmt.Errorf("cloudhealth setup: account id %q is not 12 digits", in.AccountID)
	}
	if !validExternalID(in.ExternalID) {
		return Setup{}, fmt.Errorf("cloudhealth setup: external id is not 2-1224 characters of [A-Za-z0-9+=,.@:/_-]")
	}
	if in.RoleName == "" {
		in.RoleName = RoleName
	}
	if !ValidCheckerPrincipal(in.CheckerPrincipal) {
		return Setup{}, fmt.Errorf("cloudhealth setup: checker principal %q is not an IAM principal's ARN", in.CheckerPrincipal)
	}
	if !validRoleName(in.RoleName) {
		return Setup{}, fmt.Errorf("cloudhealth setup: role name %q is not 1-64 characters of [A-Za-z0-9+=,.@_-]", in.RoleName)
	}
	policy, err := PermissionsPolicy(in.Policy)
	if err != nil {
		return Setup{}, fmt.Errorf("cloudhealth setup: %w", err)
	}
	s := Setup{
		AccountID:         in.AccountID,
		RoleName:          in.RoleName,
		RoleARN:           "arn:aws:iam::" + in.AccountID + ":role/" + in.RoleName,
		TrustedAccountID:  TrustedAccountID,
		TrustedPrincipal:  TrustedPrincipal,
		ExternalID:        in.ExternalID,
		TrustPolicy:       trustPolicy(in.ExternalID),
		PolicyName:        PolicyName,
		PermissionsPolicy: policy,
		PolicyVersion:     PolicyVersion,
		PolicySource:      PolicySource,
		CheckerPrincipal:  in.CheckerPrincipal,
	}
	return s, nil
}

// validExternalID keeps to what STS accepts: the id ends up in a CloudFormation parameter and an IAM condition.
func validExternalID(id string) bool {
	return len(id) >= 2 && len(id) <= 1224 && !strings.ContainsFunc(id, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("+=,.@:/-_", r))
	})
}

// validRoleName applies IAM's rule for role names.
func validRoleName(n string) bool {
	return len(n) >= 1 && len(n) <= 64 && !strings.ContainsFunc(n, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("+=,.@-_", r))
	})
}

func trustPolicy(externalID any) PolicyDocument {
	return PolicyDocument{Version: policyVersion, Statement: []Statement{{
		Sid:       "CloudHealthAssumeRole",
		Effect:    "Allow",
		Principal: map[string]any{"AWS": TrustedPrincipal},
		Action:    []string{"sts:AssumeRole"},
		// Without the external id, any CloudHealth customer who learns the role ARN could read this account.
		Condition: map[string]map[string]any{"StringEquals": {"sts:ExternalId": externalID}},
	}}}
}

// CheckerRoleName is the optional second role of the template, which lets the reseller's service check the
// CloudHealth role's permissions (iam:SimulatePrincipalPolicy and iam:GetRole on that role only).
const CheckerRoleName = "CloudHealthSetupCheck"

// CheckerActions are all the checker role may do, on the CloudHealth role only.
var CheckerActions = []string{"iam:GetRole", "iam:SimulatePrincipalPolicy"}

// CheckerPrincipalPattern is what the template's CheckerPrincipal parameter accepts (its AllowedPattern, which
// CloudFormation anchors at both ends): empty, or an IAM principal's ARN.
const CheckerPrincipalPattern = `(arn:aws[\w-]*:iam::\d{12}:[\w+=,.@/-]+)?`

var checkerPrincipal = regexp.MustCompile(`^` + CheckerPrincipalPattern + `$`)

// ValidCheckerPrincipal reports whether the template accepts p as its CheckerPrincipal: an IAM principal's ARN
// (arn:aws:iam::123456789012:role/Name), or empty for no checker role.
func ValidCheckerPrincipal(p string) bool { return checkerPrincipal.MatchString(p) }

// CheckerPolicyName is the name of the checker role's inline policy.
const CheckerPolicyName = "CloudHealthSetupCheck"

// checkerTrust is the checker role's trust: the reseller's principal, with the tenant's external id.
func checkerTrust(principal, externalID any) PolicyDocument {
	return PolicyDocument{Version: policyVersion, Statement: []Statement{{
		Sid: "ResellerCheck", Effect: "Allow", Principal: map[string]any{"AWS": principal},
		Action:    []string{"sts:AssumeRole"},
		Condition: map[string]map[string]any{"StringEquals": {"sts:ExternalId": externalID}},
	}}}
}

// checkerPolicy is the checker role's policy: CheckerActions on the CloudHealth role alone.
func checkerPolicy(cloudHealthRoleARN any) PolicyDocument {
	return PolicyDocument{Version: policyVersion, Statement: []Statement{{Sid: "CheckCloudHealthRole", Effect: "Allow",
		Action: slices.Clone(CheckerActions), Resource: []any{cloudHealthRoleARN}}}}
}

// CheckerRole returns the checker role's trust and inline policy as the template creates them in an account, with
// the values of its parameters: the CloudHealth role's name, the reseller's principal and the external id.
func CheckerRole(accountID, roleName, principal, externalID string) (trust, policy PolicyDocument) {
	return checkerTrust(principal, externalID), checkerPolicy("arn:aws:iam::" + accountID + ":role/" + roleName)
}

// TemplateOptions are the parts of the CloudFormation template that differ between its uses.
type TemplateOptions struct {
	// ExternalIDDefault fills the ExternalId parameter's default (a setup's own template); empty for a template
	// the reseller hosts for quick-create, where the external id comes as a parameter.
	ExternalIDDefault string
	// CheckerPrincipalDefault fills the CheckerPrincipal parameter's default: the reseller's principal (an IAM role
	// ARN) the checker role trusts. The checker role is created only when the parameter is not empty.
	CheckerPrincipalDefault string
}

// CloudFormation returns the setup as a CloudFormation template in YAML, with the external id as the
// ExternalId parameter's default and the reseller's checker principal, if any, as CheckerPrincipal's.
func (s Setup) CloudFormation() ([]byte, error) {
	return Template(s.PermissionsPolicy, TemplateOptions{ExternalIDDefault: s.ExternalID, CheckerPrincipalDefault: s.CheckerPrincipal})
}

// HostedTemplate is the template a reseller hosts (an S3 URL) for quick-create links: the same role, every value
// that differs between customers a parameter; the reseller's checker principal (CLOUDHEALTH_CHECKER_PRINCIPAL),
// when it has one, is CheckerPrincipal's default.
func HostedTemplate(o PolicyOptions, checkerPrincipal string) ([]byte, error) {
	if !ValidCheckerPrincipal(checkerPrincipal) {
		return nil, fmt.Errorf("cloudhealth template: checker principal %q is not an IAM principal's ARN", checkerPrincipal)
	}
	policy, err := PermissionsPolicy(o)
	if err != nil {
		return nil, err
	}
	return Template(policy, TemplateOptions{CheckerPrincipalDefault: checkerPrincipal})
}

// Template returns the CloudHealth role as a CloudFormation template in YAML: parameters for the external id, the
// role's name and the optional checker role's principal; the role with its trust and inline policy; the checker
// role when its principal is given; and the roles' ARNs as outputs. No parameter is NoEcho: quick-create links
// ignore NoEcho parameters, and an external id is not a secret (it guards against the confused deputy, not
// against being read). Only the long forms of intrinsic functions (Ref, Fn::GetAtt, Fn::Sub...) are used, so any
// YAML parser reads it.
func Template(policy PolicyDocument, o TemplateOptions) ([]byte, error) {
	type (
		param struct {
			Type           string `yaml:"Type"`
			Default        string `yaml:"Default"`
			Description    string `yaml:"Description"`
			MinLength      *int   `yaml:"MinLength,omitempty"`
			MaxLength      int    `yaml:"MaxLength,omitempty"`
			AllowedPattern string `yaml:"AllowedPattern"`
		}
		inlinePolicy struct {
			PolicyName     string         `yaml:"PolicyName"`
			PolicyDocument PolicyDocument `yaml:"PolicyDocument"`
		}
		roleProps struct {
			RoleName                 any            `yaml:"RoleName"`
			Description              string         `yaml:"Description"`
			MaxSessionDuration       int            `yaml:"MaxSessionDuration"`
			AssumeRolePolicyDocument PolicyDocument `yaml:"AssumeRolePolicyDocument"`
			Policies                 []inlinePolicy `yaml:"Policies"`
		}
		resource struct {
			Type       string    `yaml:"Type"`
			Condition  string    `yaml:"Condition,omitempty"`
			Properties roleProps `yaml:"Properties"`
		}
		output struct {
			Description string `yaml:"Description"`
			Condition   string `yaml:"Condition,omitempty"`
			Value       any    `yaml:"Value"`
		}
		template struct {
			FormatVersion string              `yaml:"AWSTemplateFormatVersion"`
			Description   string              `yaml:"Description"`
			Parameters    map[string]param    `yaml:"Parameters"`
			Conditions    map[string]any      `yaml:"Conditions"`
			Resources     map[string]resource `yaml:"Resources"`
			Outputs       map[string]output   `yaml:"Outputs"`
		}
	)
	two, zero := 2, 0
	roleArn := map[string]string{"Fn::Sub": "arn:aws:iam::${AWS::AccountId}:role/${RoleName}"}
	t := template{
		FormatVersion: "2010-09-09",
		Description: fmt.Sprintf("Read-only IAM role that lets CloudHealth (AWS account %s) read this AWS account: the policy CloudHealth publishes (%s).",
			TrustedAccountID, PolicyVersion),
		Parameters: map[string]param{
			"ExternalId": {Type: "String", Default: o.ExternalIDDefault, MinLength: &two, MaxLength: 1224,
				Description:    "The external id CloudHealth issued to your organization; CloudHealth must present it to assume the role.",
				AllowedPattern: `[\w+=,.@:/-]*`},
			"RoleName": {Type: "String", Default: RoleName, MinLength: &two, MaxLength: 64,
				Description: "The role's name; enter the role's ARN in CloudHealth once it exists.", AllowedPattern: `[\w+=,.@-]+`},
			"CheckerPrincipal": {Type: "String", Default: o.CheckerPrincipalDefault, MinLength: &zero,
				Description: "Optional: the reseller's IAM principal (a role ARN) allowed to check the CloudHealth role's " +
					"permissions (iam:GetRole and iam:SimulatePrincipalPolicy on that role only). Leave empty to create no checker role.",
				AllowedPattern: CheckerPrincipalPattern},
		},
		Conditions: map[string]any{"CreateChecker": map[string]any{
			"Fn::Not": []any{map[string]any{"Fn::Equals": []any{map[string]string{"Ref": "CheckerPrincipal"}, ""}}}}},
		Resources: map[string]resource{
			"CloudHealthRole": {Type: "AWS::IAM::Role", Properties: roleProps{
				RoleName:                 map[string]string{"Ref": "RoleName"},
				Description:              "Read-only access for CloudHealth.",
				MaxSessionDuration:       3600,
				AssumeRolePolicyDocument: trustPolicy(map[string]string{"Ref": "ExternalId"}),
				Policies:                 []inlinePolicy{{PolicyName: PolicyName, PolicyDocument: policy}},
			}},
			"CheckerRole": {Type: "AWS::IAM::Role", Condition: "CreateChecker", Properties: roleProps{
				RoleName:                 CheckerRoleName,
				Description:              "Lets the reseller check the CloudHealth role's permissions; it can read nothing else.",
				MaxSessionDuration:       3600,
				AssumeRolePolicyDocument: checkerTrust(map[string]string{"Ref": "CheckerPrincipal"}, map[string]string{"Ref": "ExternalId"}),
				Policies:                 []inlinePolicy{{PolicyName: CheckerPolicyName, PolicyDocument: checkerPolicy(roleArn)}},
			}},
		},
		Outputs: map[string]output{
			"RoleArn": {Description: "The ARN to enter in CloudHealth for this account.",
				Value: map[string][]string{"Fn::GetAtt": {"CloudHealthRole", "Arn"}}},
			"CheckerRoleArn": {Description: "The checker role's ARN.", Condition: "CreateChecker",
				Value: map[string][]string{"Fn::GetAtt": {"CheckerRole", "Arn"}}},
		},
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(t); err != nil {
		return nil, fmt.Errorf("cloudhealth setup: encode template: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("cloudhealth setup: encode template: %w", err)
	}
	return buf.Bytes(), nil
}
