package cloudhealth_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/cloudreseller/aws-invites/internal/awsiam/iamsim"
	"github.com/cloudreseller/aws-invites/internal/cloudhealth"
)

// concreteAction is an IAM action name: a service prefix and an operation name, no wildcard.
var concreteAction = regexp.MustCompile(`^[a-z0-9-]+:[A-Za-z0-9]+$`)

// Every published entry has a probe: itself when concrete, else one concrete action of its service that the
// pattern covers as IAM matches actions; no two entries share one, so a missing probe names one entry.
func TestProbeTable(t *testing.T) {
	seen := map[string]string{}
	wildcards := 0
	for _, entry := range cloudhealth.ReadOnlyActions {
		p := cloudhealth.ProbeAction(entry)
		switch {
		case p == "":
			t.Errorf("%s has no probe", entry)
			continue
		case !concreteAction.MatchString(p):
			t.Errorf("%s: probe %q is not a concrete action name", entry, p)
		case !iamsim.MatchAction(entry, p):
			t.Errorf("%s: probe %q is not covered by the entry", entry, p)
		case strings.Split(entry, ":")[0] != strings.Split(p, ":")[0]:
			t.Errorf("%s: probe %q is of another service", entry, p)
		}
		if strings.ContainsAny(entry, "*?") {
			wildcards++
		} else if p != entry {
			t.Errorf("concrete %s is probed as %s", entry, p)
		}
		if other, ok := seen[p]; ok {
			t.Errorf("%s and %s share the probe %s", other, entry, p)
		}
		seen[p] = entry
	}
	probes := cloudhealth.Probes(cloudhealth.ReadOnlyActions)
	if len(probes) != len(cloudhealth.ReadOnlyActions) {
		t.Errorf("%d probes for %d entries", len(probes), len(cloudhealth.ReadOnlyActions))
	}
	t.Logf("%d entries, %d of them wildcards, %d probes", len(cloudhealth.ReadOnlyActions), wildcards, len(probes))
	// A stale probe (its entry gone from the list) is not reachable, but says the table and the list drifted.
	if got := cloudhealth.ProbeAction("ec2:Get*"); got != "" {
		t.Errorf("an entry not in the published list has the probe %q", got)
	}
}

// The matching the table is tested with is IAM's: "*" any run, "?" one character, case-insensitive.
func TestActionMatching(t *testing.T) {
	for _, tc := range []struct {
		pattern, action string
		want            bool
	}{
		{"ec2:Describe*", "ec2:DescribeInstances", true},
		{"ec2:Describe*", "EC2:describeinstances", true},
		{"ec2:Describe*", "ec2:Describe", true},
		{"ec2:Describe*", "ec2:GetConsoleOutput", false},
		{"ec2:Describe*", "ec2x:DescribeInstances", false},
		{"s3:List*", "s3:ListAllMyBuckets", true},
		{"s3:Get?ucketAcl", "s3:GetBucketAcl", true},
		{"s3:Get?ucketAcl", "s3:GetucketAcl", false},
		{"*", "iam:GetRole", true},
		{"iam:*Role", "iam:GetRole", true},
		{"iam:*Role", "iam:GetRolePolicy", false},
		{"iam:Get*Policy", "iam:GetRolePolicy", true},
		{"cloudformation:ListStacks", "cloudformation:ListStackResources", false},
	} {
		if got := iamsim.MatchAction(tc.pattern, tc.action); got != tc.want {
			t.Errorf("MatchAction(%q, %q) = %t", tc.pattern, tc.action, got)
		}
	}
}

// EntryReport names the published entries, in the published order, whatever order the probes came back in.
func TestEntryReport(t *testing.T) {
	rep := cloudhealth.EntryReport(cloudhealth.ReadOnlyActions, cloudhealth.PermissionReport{RoleFound: true,
		Missing: []string{"route53:ListHostedZones", "logs:DescribeLogGroups", "s3:ListAllMyBuckets"}, Denied: []string{"s3:ListAllMyBuckets"}})
	if want := []string{"logs:Describe*", "route53:List*", "s3:List*"}; !slices.Equal(rep.Missing, want) || !slices.Equal(rep.Denied, []string{"s3:List*"}) || !rep.RoleFound {
		t.Errorf("report %+v, want missing %v", rep, want)
	}
}
