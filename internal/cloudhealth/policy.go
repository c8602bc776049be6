package cloudhealth

import (
	"fmt"
	"slices"
)

// PolicySource is where ReadOnlyActions come from: CloudHealth's own IAM module, the version this code follows.
// CloudHealth says its policy grows over time; when the module changes, change the list, this line, and the copy
// in testdata/ together (the test compares them action by action).
const PolicySource = "CloudHealth/terraform-cloudhealth-iam role/inputs.tf at commit c68d9c5 (2023-02-14)"

// PolicyVersion names the list's version in the served setup, so a customer's role can be compared with it.
const PolicyVersion = "terraform-cloudhealth-iam@c68d9c5"

// ReadOnlyActions is the read-only policy CloudHealth publishes for its role, on resource "*": 87 entries, in the
// module's order. It is the one place the list is written.
var ReadOnlyActions = []string{
	"autoscaling:Describe*",
	"cloudformation:ListStacks", "cloudformation:ListStackResources", "cloudformation:DescribeStacks",
	"cloudformation:DescribeStackEvents", "cloudformation:DescribeStackResources", "cloudformation:GetTemplate",
	"cloudfront:Get*", "cloudfront:List*",
	"cloudtrail:DescribeTrails", "cloudtrail:GetEventSelectors", "cloudtrail:ListTags",
	"cloudwatch:Describe*", "cloudwatch:Get*", "cloudwatch:List*",
	"config:Get*", "config:Describe*", "config:Deliver*", "config:List*",
	"cur:Describe*",
	"dms:Describe*", "dms:List*",
	"dynamodb:DescribeTable", "dynamodb:List*",
	"ec2:Describe*", "ec2:GetReservedInstancesExchangeQuote",
	"ecs:List*", "ecs:Describe*",
	"elasticache:Describe*", "elasticache:ListTagsForResource",
	"elasticbeanstalk:Check*", "elasticbeanstalk:Describe*", "elasticbeanstalk:List*",
	"elasticbeanstalk:RequestEnvironmentInfo", "elasticbeanstalk:RetrieveEnvironmentInfo",
	"elasticfilesystem:Describe*",
	"elasticloadbalancing:Describe*",
	"elasticmapreduce:Describe*", "elasticmapreduce:List*",
	"es:List*", "es:Describe*",
	"firehose:ListDeliveryStreams", "firehose:DescribeDeliveryStream",
	"iam:List*", "iam:Get*", "iam:SimulateCustomPolicy", "iam:GenerateCredentialReport",
	"kinesis:Describe*", "kinesis:List*",
	"kms:DescribeKey", "kms:GetKeyRotationStatus", "kms:ListKeys",
	"lambda:List*",
	"logs:Describe*",
	"organizations:ListAccounts", "organizations:ListTagsForResource", "organizations:DescribeOrganization",
	"redshift:Describe*",
	"route53:Get*", "route53:List*",
	"rds:Describe*", "rds:ListTagsForResource",
	"s3:GetAccountPublicAccessBlock", "s3:GetBucketPublicAccessBlock", "s3:GetBucketAcl", "s3:GetBucketLocation",
	"s3:GetBucketLogging", "s3:GetBucketPolicy", "s3:GetBucketPolicyStatus", "s3:GetBucketTagging",
	"s3:GetBucketVersioning", "s3:GetBucketWebsite", "s3:List*",
	"sagemaker:Describe*", "sagemaker:List*",
	"savingsplans:DescribeSavingsPlans",
	"sdb:GetAttributes", "sdb:List*",
	"ses:Get*", "ses:List*",
	"sns:Get*", "sns:List*",
	"sqs:GetQueueAttributes", "sqs:ListQueues",
	"storagegateway:List*", "storagegateway:Describe*",
	"workspaces:Describe*",
}

// The optional parts of the same module, each off unless chosen.
const (
	// ModifyReservedInstancesAction lets CloudHealth change reservations (automated reservation changes).
	ModifyReservedInstancesAction = "ec2:ModifyReservedInstances"
)

// bucketReadActions are what the module grants on the billing, CUR, CloudTrail, Config and ECS buckets it is told.
var bucketReadActions = []string{"s3:Get*", "s3:List*"}

// PolicyOptions are the optional parts of CloudHealth's policy; the zero value is the read-only policy alone.
type PolicyOptions struct {
	// Buckets are S3 buckets of the account CloudHealth may read (the billing or CUR bucket, CloudTrail, Config,
	// ECS); none by default.
	Buckets []string
	// ModifyReservedInstances allows ec2:ModifyReservedInstances, for automated reservation changes; off by default.
	ModifyReservedInstances bool
}

func (o PolicyOptions) validate() error {
	for _, b := range o.Buckets {
		if !isBucketName(b) {
			return fmt.Errorf("%q is not an s3 bucket name", b)
		}
	}
	return nil
}

// PermissionsPolicy returns CloudHealth's policy with the chosen optional parts. The read-only statement is always
// first and holds exactly ReadOnlyActions.
func PermissionsPolicy(o PolicyOptions) (PolicyDocument, error) {
	if err := o.validate(); err != nil {
		return PolicyDocument{}, fmt.Errorf("cloudhealth policy: %w", err)
	}
	doc := PolicyDocument{Version: policyVersion, Statement: []Statement{{
		Sid:      "CloudHealthReadOnly",
		Effect:   "Allow",
		Action:   slices.Clone(ReadOnlyActions),
		Resource: []any{"*"},
	}}}
	if len(o.Buckets) > 0 {
		var res []any
		for _, b := range o.Buckets {
			res = append(res, "arn:aws:s3:::"+b, "arn:aws:s3:::"+b+"/*")
		}
		doc.Statement = append(doc.Statement, Statement{Sid: "CloudHealthBucketRead", Effect: "Allow",
			Action: slices.Clone(bucketReadActions), Resource: res})
	}
	if o.ModifyReservedInstances {
		doc.Statement = append(doc.Statement, Statement{Sid: "CloudHealthModifyReservedInstances", Effect: "Allow",
			Action: []string{ModifyReservedInstancesAction}, Resource: []any{"*"}})
	}
	return doc, nil
}

// Actions returns every action the policy allows, in statement order.
func (d PolicyDocument) Actions() []string {
	var out []string
	for _, s := range d.Statement {
		out = append(out, s.Action...)
	}
	return out
}
