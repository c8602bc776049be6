package cloudhealth

import (
	"fmt"
	"slices"
	"strings"
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

// probeActions gives each wildcard entry of ReadOnlyActions the one concrete action the permission check asks
// IAM about. IAM's SimulatePrincipalPolicy takes "names of API operations" (ActionNames, e.g. iam:CreateUser) and
// documents no wildcard there, so a pattern is never sent: each probe is an action of the entry's service, named as
// in that service's list of IAM actions (the Service Authorization Reference; for S3 the IAM actions, which are not
// all API names: s3:ListAllMyBuckets is ListBuckets' action), that the pattern covers. It follows that a role
// allowed some but not all actions of a pattern can pass: the check asks one action per wildcard entry, and says
// so. A concrete entry is probed as itself (ProbeAction). The test keeps the table and the list in step: every
// wildcard entry has a probe, the probe is concrete and matches its pattern as IAM matches actions.
var probeActions = map[string]string{
	"autoscaling:Describe*":          "autoscaling:DescribeAutoScalingGroups",
	"cloudfront:Get*":                "cloudfront:GetDistribution",
	"cloudfront:List*":               "cloudfront:ListDistributions",
	"cloudwatch:Describe*":           "cloudwatch:DescribeAlarms",
	"cloudwatch:Get*":                "cloudwatch:GetMetricStatistics",
	"cloudwatch:List*":               "cloudwatch:ListMetrics",
	"config:Get*":                    "config:GetResourceConfigHistory",
	"config:Describe*":               "config:DescribeConfigurationRecorders",
	"config:Deliver*":                "config:DeliverConfigSnapshot",
	"config:List*":                   "config:ListDiscoveredResources",
	"cur:Describe*":                  "cur:DescribeReportDefinitions",
	"dms:Describe*":                  "dms:DescribeReplicationInstances",
	"dms:List*":                      "dms:ListTagsForResource",
	"dynamodb:List*":                 "dynamodb:ListTables",
	"ec2:Describe*":                  "ec2:DescribeInstances",
	"ecs:List*":                      "ecs:ListClusters",
	"ecs:Describe*":                  "ecs:DescribeClusters",
	"elasticache:Describe*":          "elasticache:DescribeCacheClusters",
	"elasticbeanstalk:Check*":        "elasticbeanstalk:CheckDNSAvailability",
	"elasticbeanstalk:Describe*":     "elasticbeanstalk:DescribeEnvironments",
	"elasticbeanstalk:List*":         "elasticbeanstalk:ListAvailableSolutionStacks",
	"elasticfilesystem:Describe*":    "elasticfilesystem:DescribeFileSystems",
	"elasticloadbalancing:Describe*": "elasticloadbalancing:DescribeLoadBalancers",
	"elasticmapreduce:Describe*":     "elasticmapreduce:DescribeCluster",
	"elasticmapreduce:List*":         "elasticmapreduce:ListClusters",
	"es:List*":                       "es:ListDomainNames",
	"es:Describe*":                   "es:DescribeElasticsearchDomain",
	"iam:List*":                      "iam:ListRoles",
	"iam:Get*":                       "iam:GetRole",
	"kinesis:Describe*":              "kinesis:DescribeStream",
	"kinesis:List*":                  "kinesis:ListStreams",
	"lambda:List*":                   "lambda:ListFunctions",
	"logs:Describe*":                 "logs:DescribeLogGroups",
	"redshift:Describe*":             "redshift:DescribeClusters",
	"route53:Get*":                   "route53:GetHostedZone",
	"route53:List*":                  "route53:ListHostedZones",
	"rds:Describe*":                  "rds:DescribeDBInstances",
	"s3:List*":                       "s3:ListAllMyBuckets",
	"sagemaker:Describe*":            "sagemaker:DescribeNotebookInstance",
	"sagemaker:List*":                "sagemaker:ListNotebookInstances",
	"sdb:List*":                      "sdb:ListDomains",
	"ses:Get*":                       "ses:GetSendQuota",
	"ses:List*":                      "ses:ListIdentities",
	"sns:Get*":                       "sns:GetTopicAttributes",
	"sns:List*":                      "sns:ListTopics",
	"storagegateway:List*":           "storagegateway:ListGateways",
	"storagegateway:Describe*":       "storagegateway:DescribeGatewayInformation",
	"workspaces:Describe*":           "workspaces:DescribeWorkspaces",
}

// ProbeAction is the concrete action the permission check asks IAM about for an entry of the policy: the entry
// itself when it has no wildcard, else its probe (probeActions); "" for a wildcard entry without one.
func ProbeAction(entry string) string {
	if !strings.ContainsAny(entry, "*?") {
		return entry
	}
	return probeActions[entry]
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
