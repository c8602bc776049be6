package cloudhealth

import (
	"bytes"
	"fmt"
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
	ExternalID string // what CloudHealth issued (GenerateExternalID)
	// Buckets are S3 buckets of the customer's account CloudHealth may read objects of (CUR, CloudTrail, Config),
	// when the customer has any; optional.
	Buckets []string
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
	Principal map[string]string         `json:"Principal,omitempty" yaml:"Principal,omitempty"`
	Action    []string                  `json:"Action" yaml:"Action"`
	Resource  []string                  `json:"Resource,omitempty" yaml:"Resource,omitempty"`
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
	// The external id ends up in a CloudFormation default and an IAM condition: keep to what STS accepts.
	if n := len(in.ExternalID); n < 2 || n > 1224 || strings.ContainsFunc(in.ExternalID, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("+=,.@:/-_", r))
	}) {
		return Setup{}, fmt.Errorf("cloudhealth setup: external id is not 2-1224 characters of [A-Za-z0-9+=,.@:/_-]")
	}
	for _, b := range in.Buckets {
		if !isBucketName(b) {
			return Setup{}, fmt.Errorf("cloudhealth setup: %q is not an s3 bucket name", b)
		}
	}
	s := Setup{
		AccountID:         in.AccountID,
		RoleName:          RoleName,
		RoleARN:           "arn:aws:iam::" + in.AccountID + ":role/" + RoleName,
		TrustedAccountID:  TrustedAccountID,
		TrustedPrincipal:  TrustedPrincipal,
		ExternalID:        in.ExternalID,
		TrustPolicy:       trustPolicy(in.ExternalID),
		PolicyName:        PolicyName,
		PermissionsPolicy: readOnlyPolicy(in.Buckets),
	}
	return s, nil
}

func trustPolicy(externalID any) PolicyDocument {
	return PolicyDocument{Version: policyVersion, Statement: []Statement{{
		Sid:       "CloudHealthAssumeRole",
		Effect:    "Allow",
		Principal: map[string]string{"AWS": TrustedPrincipal},
		Action:    []string{"sts:AssumeRole"},
		// Without the external id, any CloudHealth customer who learns the role ARN could read this account.
		Condition: map[string]map[string]any{"StringEquals": {"sts:ExternalId": externalID}},
	}}}
}

// readOnlyPolicy lists what CloudHealth reads: inventory and configuration metadata, billing and usage, and, only
// on the customer's named buckets, the objects of reports and logs. It leaves out reads of data (no
// s3:GetObject elsewhere, no dynamodb:GetItem, no secrets, no ssm parameters, no lambda code).
func readOnlyPolicy(buckets []string) PolicyDocument {
	doc := PolicyDocument{Version: policyVersion, Statement: []Statement{
		{
			Sid:    "Inventory",
			Effect: "Allow",
			Action: []string{
				"acm:Describe*", "acm:List*",
				"autoscaling:Describe*",
				"cloudformation:Describe*", "cloudformation:List*",
				"cloudfront:Get*", "cloudfront:List*",
				"cloudtrail:Describe*", "cloudtrail:GetTrailStatus", "cloudtrail:ListTags",
				"cloudwatch:Describe*", "cloudwatch:GetMetricStatistics", "cloudwatch:GetMetricData", "cloudwatch:List*",
				"config:Describe*", "config:Get*", "config:List*",
				"dynamodb:DescribeTable", "dynamodb:ListTables", "dynamodb:ListTagsOfResource",
				"ec2:Describe*", "ec2:GetReservedInstancesExchangeQuote",
				"ecr:DescribeRepositories", "ecs:Describe*", "ecs:List*",
				"eks:Describe*", "eks:List*",
				"elasticache:Describe*", "elasticache:ListTagsForResource",
				"elasticbeanstalk:Describe*",
				"elasticfilesystem:Describe*",
				"elasticloadbalancing:Describe*",
				"elasticmapreduce:Describe*", "elasticmapreduce:List*",
				"es:Describe*", "es:ListDomainNames", "es:ListTags",
				"fsx:Describe*",
				"iam:GetAccountSummary", "iam:GetAccountPasswordPolicy", "iam:GetRole", "iam:GetPolicy",
				"iam:GetPolicyVersion", "iam:GetUser", "iam:ListAccountAliases", "iam:ListRoles", "iam:ListUsers",
				"iam:ListPolicies", "iam:ListAttachedRolePolicies",
				"kinesis:Describe*", "kinesis:ListStreams", "kinesis:ListTagsForStream",
				"kms:DescribeKey", "kms:ListKeys", "kms:ListAliases", "kms:ListResourceTags",
				"lambda:GetFunctionConfiguration", "lambda:ListFunctions", "lambda:ListTags",
				"logs:DescribeLogGroups",
				"rds:Describe*", "rds:ListTagsForResource",
				"redshift:Describe*",
				"route53:GetHostedZone", "route53:ListHostedZones", "route53:ListResourceRecordSets",
				"s3:GetBucketLocation", "s3:GetBucketTagging", "s3:GetBucketLogging", "s3:GetBucketVersioning",
				"s3:GetBucketPolicyStatus", "s3:GetEncryptionConfiguration", "s3:GetLifecycleConfiguration",
				"s3:ListAllMyBuckets",
				"sagemaker:Describe*", "sagemaker:List*",
				"sns:GetTopicAttributes", "sns:ListTopics",
				"sqs:GetQueueAttributes", "sqs:ListQueues",
				"tag:GetResources", "tag:GetTagKeys",
				"workspaces:Describe*",
			},
			Resource: []string{"*"},
		},
		{
			Sid:    "BillingAndUsage",
			Effect: "Allow",
			Action: []string{
				"ce:Describe*", "ce:Get*", "ce:List*",
				"cur:Describe*",
				"organizations:Describe*", "organizations:List*",
				"pricing:DescribeServices", "pricing:GetProducts",
				"savingsplans:Describe*",
				"support:DescribeTrustedAdvisorCheck*",
			},
			Resource: []string{"*"},
		},
	}}
	if len(buckets) > 0 {
		var res []string
		for _, b := range buckets {
			res = append(res, "arn:aws:s3:::"+b, "arn:aws:s3:::"+b+"/*")
		}
		doc.Statement = append(doc.Statement, Statement{
			Sid:      "ReportBuckets",
			Effect:   "Allow",
			Action:   []string{"s3:GetObject", "s3:ListBucket"},
			Resource: res,
		})
	}
	return doc
}

// CloudFormation returns the setup as a CloudFormation template in YAML: a Parameters section for the external id
// (its default filled in), the role with its trust and inline policy, and the role's ARN as an output. It uses
// only the long forms of intrinsic functions (Ref, Fn::GetAtt), so any YAML parser reads it.
func (s Setup) CloudFormation() ([]byte, error) {
	type (
		param struct {
			Type           string `yaml:"Type"`
			Default        string `yaml:"Default"`
			Description    string `yaml:"Description"`
			MinLength      int    `yaml:"MinLength"`
			AllowedPattern string `yaml:"AllowedPattern"`
		}
		inlinePolicy struct {
			PolicyName     string         `yaml:"PolicyName"`
			PolicyDocument PolicyDocument `yaml:"PolicyDocument"`
		}
		roleProps struct {
			RoleName                 string         `yaml:"RoleName"`
			Description              string         `yaml:"Description"`
			MaxSessionDuration       int            `yaml:"MaxSessionDuration"`
			AssumeRolePolicyDocument PolicyDocument `yaml:"AssumeRolePolicyDocument"`
			Policies                 []inlinePolicy `yaml:"Policies"`
		}
		resource struct {
			Type       string    `yaml:"Type"`
			Properties roleProps `yaml:"Properties"`
		}
		output struct {
			Description string `yaml:"Description"`
			Value       any    `yaml:"Value"`
		}
		template struct {
			FormatVersion string              `yaml:"AWSTemplateFormatVersion"`
			Description   string              `yaml:"Description"`
			Parameters    map[string]param    `yaml:"Parameters"`
			Resources     map[string]resource `yaml:"Resources"`
			Outputs       map[string]output   `yaml:"Outputs"`
		}
	)
	t := template{
		FormatVersion: "2010-09-09",
		Description: fmt.Sprintf("Read-only IAM role %s that lets CloudHealth (AWS account %s) read AWS account %s.",
			s.RoleName, s.TrustedAccountID, s.AccountID),
		Parameters: map[string]param{"ExternalId": {
			Type:           "String",
			Default:        s.ExternalID,
			Description:    "The external id CloudHealth issued for this account; CloudHealth must present it to assume the role.",
			MinLength:      2,
			AllowedPattern: `[\w+=,.@:/-]*`,
		}},
		Resources: map[string]resource{"CloudHealthRole": {
			Type: "AWS::IAM::Role",
			Properties: roleProps{
				RoleName:                 s.RoleName,
				Description:              "Read-only access for CloudHealth.",
				MaxSessionDuration:       3600,
				AssumeRolePolicyDocument: trustPolicy(map[string]string{"Ref": "ExternalId"}),
				Policies:                 []inlinePolicy{{PolicyName: s.PolicyName, PolicyDocument: s.PermissionsPolicy}},
			},
		}},
		Outputs: map[string]output{"RoleArn": {
			Description: "The ARN to enter in CloudHealth for this account.",
			Value:       map[string][]string{"Fn::GetAtt": {"CloudHealthRole", "Arn"}},
		}},
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
