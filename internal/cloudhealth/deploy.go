package cloudhealth

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
)

// Capability is what the customer must acknowledge to create the stack: the template names its IAM role
// (RoleName), which CloudFormation accepts only with CAPABILITY_NAMED_IAM.
const Capability = "CAPABILITY_NAMED_IAM"

// DefaultStackName is the stack's name when the reseller sets none.
const DefaultStackName = "CloudHealth"

// consoleURL is the CloudFormation console's quick-create page.
const consoleURL = "https://console.aws.amazon.com/cloudformation/home"

// DeployOptions are the reseller's choices for the one-click deployments.
type DeployOptions struct {
	// TemplateURL is where the reseller hosts HostedTemplate's output. CloudFormation loads a template URL from
	// Amazon S3 only, so production needs an S3 https URL; without one there is no quick-create link, and the
	// CloudShell command uses the template downloaded from the service.
	TemplateURL string
	// StackName names the stack; default DefaultStackName.
	StackName string
	// Region opens the console in that region (the role is global; any region works); optional.
	Region string
	// CheckerPrincipal, when set, makes the stack also create the checker role trusting it (the reseller's role).
	CheckerPrincipal string
	// TemplateFile is the file name the CloudShell command reads when there is no TemplateURL.
	TemplateFile string
}

// Deployments are the ways to create the role in one step.
type Deployments struct {
	Capability     string `json:"capability"`               // what the customer must acknowledge
	TemplateURL    string `json:"templateUrl,omitempty"`    // the hosted template
	QuickCreateURL string `json:"quickCreateUrl,omitempty"` // the console's quick-create link; empty without TemplateURL
	CloudShell     string `json:"cloudShellCommand"`        // the same as an aws cloudformation create-stack command
	Terraform      string `json:"terraform"`                // the same role as Terraform
}

// Deployments builds the one-click deployments of the setup.
func (s Setup) Deployments(o DeployOptions) (*Deployments, error) {
	if o.StackName == "" {
		o.StackName = DefaultStackName
	}
	if o.TemplateFile == "" {
		o.TemplateFile = "cloudhealth-role.yaml"
	}
	d := &Deployments{Capability: Capability, TemplateURL: o.TemplateURL}
	if loadableByAWS(o.TemplateURL) {
		u, err := QuickCreateURL(o, s.ExternalID, s.RoleName)
		if err != nil {
			return nil, err
		}
		d.QuickCreateURL = u
	}
	d.CloudShell = CloudShellCommand(o, s.ExternalID, s.RoleName)
	tf, err := TerraformSnippet(s)
	if err != nil {
		return nil, err
	}
	d.Terraform = tf
	return d, nil
}

// loadableByAWS reports whether CloudFormation could load a template from u: an https URL. (It loads only from
// Amazon S3; any https URL is accepted here, as the reseller may front its bucket with its own domain name and
// CloudFormation's own refusal is then clearer than ours.) The sandbox's own http address is not.
func loadableByAWS(u string) bool {
	t, err := url.Parse(u)
	return err == nil && t.Scheme == "https" && t.Host != ""
}

// stackParameters are the template's parameters a deployment sets, in a fixed order.
func stackParameters(o DeployOptions, externalID, roleName string) [][2]string {
	p := [][2]string{{"ExternalId", externalID}, {"RoleName", roleName}}
	if o.CheckerPrincipal != "" {
		p = append(p, [2]string{"CheckerPrincipal", o.CheckerPrincipal})
	}
	return p
}

// QuickCreateURL is the CloudFormation console's quick-create link for the hosted template, the stack name and
// the parameters filled in (the console reads them as param_<Name> from the query inside the URL's fragment).
func QuickCreateURL(o DeployOptions, externalID, roleName string) (string, error) {
	t, err := url.Parse(o.TemplateURL)
	if err != nil || t.Scheme != "https" || t.Host == "" {
		return "", fmt.Errorf("cloudhealth: template url %q: want an https url", o.TemplateURL)
	}
	if o.StackName == "" {
		o.StackName = DefaultStackName
	}
	q := []string{"templateURL=" + url.QueryEscape(o.TemplateURL), "stackName=" + url.QueryEscape(o.StackName)}
	for _, p := range stackParameters(o, externalID, roleName) {
		q = append(q, "param_"+p[0]+"="+url.QueryEscape(p[1]))
	}
	base := consoleURL
	if o.Region != "" {
		base += "?region=" + url.QueryEscape(o.Region)
	}
	return base + "#/stacks/quickcreate?" + strings.Join(q, "&"), nil
}

// CloudShellCommand is the same stack as an AWS CLI command to paste into CloudShell (or any shell with the CLI).
// Values are single-quoted: none of the characters an external id, a role name or an ARN may hold is special
// inside single quotes.
func CloudShellCommand(o DeployOptions, externalID, roleName string) string {
	if o.StackName == "" {
		o.StackName = DefaultStackName
	}
	var b strings.Builder
	fmt.Fprintf(&b, "aws cloudformation create-stack --stack-name %s", shellQuote(o.StackName))
	if loadableByAWS(o.TemplateURL) {
		fmt.Fprintf(&b, " --template-url %s", shellQuote(o.TemplateURL))
	} else {
		fmt.Fprintf(&b, " --template-body %s", shellQuote("file://"+cmpOr(o.TemplateFile, "cloudhealth-role.yaml")))
	}
	fmt.Fprintf(&b, " --capabilities %s --parameters", Capability)
	for _, p := range stackParameters(o, externalID, roleName) {
		fmt.Fprintf(&b, " %s", shellQuote("ParameterKey="+p[0]+",ParameterValue="+p[1]))
	}
	return b.String()
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// TerraformSnippet is the same role as Terraform (the AWS provider's aws_iam_role and aws_iam_role_policy), with
// the policies as the service serves them, so all deployments grant the same actions.
func TerraformSnippet(s Setup) (string, error) {
	role, err := terraformRole("cloudhealth", s.RoleName, s.TrustPolicy, s.PolicyName, s.PermissionsPolicy)
	if err != nil {
		return "", err
	}
	tf := fmt.Sprintf("# CloudHealth's read-only role (%s).\n", PolicySource) + role + `
output "cloudhealth_role_arn" {
  value = aws_iam_role.cloudhealth.arn
}
`
	if s.CheckerPrincipal == "" {
		return tf, nil
	}
	// The template's optional checker role, with the same trust and policy (CheckerRole).
	ctrust, cpolicy := CheckerRole(s.AccountID, s.RoleName, s.CheckerPrincipal, s.ExternalID)
	checker, err := terraformRole("cloudhealth_setup_check", CheckerRoleName, ctrust, CheckerPolicyName, cpolicy)
	if err != nil {
		return "", err
	}
	return tf + `
# Optional: lets the reseller check the CloudHealth role's permissions (iam:GetRole and iam:SimulatePrincipalPolicy
# on that role, nothing else). Leave it out to have no permission check.
` + checker, nil
}

// terraformRole is one IAM role as Terraform: the aws_iam_role named resource with its trust, and its inline
// policy as an aws_iam_role_policy of the same resource name.
func terraformRole(resource, name string, trust any, policyName string, policy any) (string, error) {
	t, err := json.MarshalIndent(trust, "", "  ")
	if err != nil {
		return "", err
	}
	p, err := json.MarshalIndent(policy, "", "  ")
	if err != nil {
		return "", err
	}
	return fmt.Sprintf(`resource "aws_iam_role" %[1]q {
  name                 = %[2]q
  max_session_duration = 3600
  assume_role_policy   = <<-JSON
%[3]s
  JSON
}

resource "aws_iam_role_policy" %[1]q {
  name   = %[4]q
  role   = aws_iam_role.%[1]s.id
  policy = <<-JSON
%[5]s
  JSON
}
`, resource, name, indent(string(t), "    "), policyName, indent(string(p), "    ")), nil
}

func indent(s, by string) string {
	return by + strings.ReplaceAll(s, "\n", "\n"+by)
}
