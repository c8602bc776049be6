package cloudhealth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cloudreseller/aws-invites/internal/invite"
)

// DefaultMaxStatusAge is how old status.last_update may be before the freshness check fails. CloudHealth does not
// publish how often it refreshes an account; two days is inferred from the CUR's daily updates and its first
// delivery's 24 hours, so that an account it still reads every day passes.
const DefaultMaxStatusAge = 48 * time.Hour

// PermissionReport is what a checker found about the CloudHealth role in the customer's account.
type PermissionReport struct {
	RoleFound bool     // iam:GetRole found the role
	Missing   []string // actions the role is not allowed (an implicit or explicit deny, or the organization's SCP)
	Denied    []string // the subset an organization's SCP denies (the role may allow them; the organization does not)
}

// PermissionChecker probes the CloudHealth role of a customer's account through the optional checker role of the
// template (allowed iam:GetRole and iam:SimulatePrincipalPolicy on the CloudHealth role only). actions are concrete
// IAM action names (the probes of the published entries, ProbeAction), and the report's Missing and Denied name
// those actions. An error means the probe could not run (no checker role, or it cannot be assumed).
type PermissionChecker interface {
	CheckPermissions(ctx context.Context, accountID, roleName, externalID string, actions []string) (PermissionReport, error)
}

// ErrCheckerRefused is what a PermissionChecker's error wraps when the checker role cannot be assumed: the account
// has no checker role, or it trusts another principal or another external id.
var ErrCheckerRefused = errors.New("the checker role cannot be assumed")

// ValidationInput is everything the checks read: nothing here calls CloudHealth.
type ValidationInput struct {
	Invite invite.Invite
	// Snapshot is the tenant's last complete listing; nil when there has been none yet.
	Snapshot *Snapshot
	// ExternalID is the tenant's external id, which the account's authentication must carry; "" when unknown.
	ExternalID string
	// RoleName is the role the setup asks for; default RoleName.
	RoleName string
	// PayerCURConfigured says whether the billing profile names its payer's Cost and Usage Report.
	PayerCURConfigured bool
	Now                time.Time
	// MaxStatusAge is the freshness limit; default DefaultMaxStatusAge.
	MaxStatusAge time.Duration
	// Permissions is the checker's report in terms of the policy's entries (EntryReport), or nil without a
	// checker; PermissionsErr why the checker failed.
	Permissions    *PermissionReport
	PermissionsErr error
	// Actions are the actions the permission check expects; default the published read-only policy.
	Actions []string
	// CheckerPrincipal is the reseller's principal the checker role must trust, for the how-to; "" when the
	// service runs no checker.
	CheckerPrincipal string
}

// Checks runs every check, one result each, in a fixed order. A check whose input is missing (no listing yet, the
// account not listed) is unknown or failed with what to do, never skipped, so the answer always has all of them.
func Checks(in ValidationInput) []invite.CloudHealthCheck {
	if in.RoleName == "" {
		in.RoleName = RoleName
	}
	if in.MaxStatusAge <= 0 {
		in.MaxStatusAge = DefaultMaxStatusAge
	}
	acct, listed := Account{}, false
	var place Placement
	if in.Snapshot != nil {
		acct, listed = in.Snapshot.Account(in.Invite.AccountID)
		place, _ = in.Snapshot.Placement(in.Invite.AccountID)
	}
	return []invite.CloudHealthCheck{
		checkListed(in, listed),
		checkAuthentication(in, acct, listed),
		checkStatus(acct, listed),
		checkFreshness(in, acct, listed),
		checkPayer(in, place, listed),
		checkPayerCUR(in),
		checkPermissions(in),
	}
}

func check(name, result, detail string) invite.CloudHealthCheck {
	return invite.CloudHealthCheck{Name: name, Result: result, Detail: detail}
}

func checkListed(in ValidationInput, listed bool) invite.CloudHealthCheck {
	switch {
	case in.Snapshot == nil:
		return check(invite.CheckListed, invite.CheckUnknown,
			"The service has not completed a listing of CloudHealth's accounts yet; run the validation again after the next CloudHealth sync.")
	case !listed:
		return check(invite.CheckListed, invite.CheckFail, fmt.Sprintf(
			"CloudHealth does not list account %s (listing of %s). CloudHealth creates accounts once they appear in the payer's "+
				"Cost and Usage Report, which takes 24 to 72 hours after the account joins and only once it has usage.",
			in.Invite.AccountID, in.Snapshot.Taken.UTC().Format(time.RFC3339)))
	}
	return check(invite.CheckListed, invite.CheckPass, fmt.Sprintf("CloudHealth lists account %s.", in.Invite.AccountID))
}

func checkAuthentication(in ValidationInput, a Account, listed bool) invite.CloudHealthCheck {
	if !listed {
		return check(invite.CheckAuthentication, invite.CheckUnknown, "Not known until CloudHealth lists the account.")
	}
	wantARN := "arn:aws:iam::" + in.Invite.AccountID + ":role/" + in.RoleName
	var problems []string
	if a.Authentication.Protocol != ProtocolAssumeRole {
		problems = append(problems, fmt.Sprintf("CloudHealth reaches the account by %q, not by assume_role: enter the role's ARN in CloudHealth",
			cmpOr(a.Authentication.Protocol, "nothing")))
	}
	if arn := a.Authentication.AssumeRoleArn; arn == "" {
		problems = append(problems, "CloudHealth has no role ARN for the account: enter "+wantARN)
	} else if roleAccount(arn) != in.Invite.AccountID {
		problems = append(problems, fmt.Sprintf("CloudHealth's role ARN %s is in account %s, not in the invited account %s: enter %s",
			arn, cmpOr(roleAccount(arn), "(unreadable)"), in.Invite.AccountID, wantARN))
	}
	switch ext := a.Authentication.AssumeRoleExternalID; {
	case in.ExternalID == "":
		if len(problems) == 0 {
			return check(invite.CheckAuthentication, invite.CheckUnknown,
				"CloudHealth assumes a role in the account, but the service could not get the expected external id from CloudHealth to compare; try again later.")
		}
	case ext != in.ExternalID:
		problems = append(problems, "the external id CloudHealth presents is not the one it issued to this customer: set the role's "+
			"trust condition sts:ExternalId and CloudHealth's account setting to "+in.ExternalID)
	}
	if len(problems) > 0 {
		return check(invite.CheckAuthentication, invite.CheckFail, strings.Join(problems, "; ")+".")
	}
	return check(invite.CheckAuthentication, invite.CheckPass, fmt.Sprintf(
		"CloudHealth assumes %s with the expected external id.", a.Authentication.AssumeRoleArn))
}

// roleAccount is the account id of an IAM role ARN (arn:aws:iam::123456789012:role/Name), or "".
func roleAccount(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "iam" || !strings.HasPrefix(parts[5], "role/") {
		return ""
	}
	return parts[4]
}

func checkStatus(a Account, listed bool) invite.CloudHealthCheck {
	if !listed {
		return check(invite.CheckStatus, invite.CheckUnknown, "Not known until CloudHealth lists the account.")
	}
	switch a.Status.Level {
	case LevelGreen:
		return check(invite.CheckStatus, invite.CheckPass, "CloudHealth reports the account healthy (green).")
	case LevelYellow:
		return check(invite.CheckStatus, invite.CheckPass, "CloudHealth reports a warning (yellow): the account is usable, but "+
			"some data may be missing. CloudHealth says missing permissions show as a warning: compare the role with the published policy.")
	case LevelRed:
		return check(invite.CheckStatus, invite.CheckFail, "CloudHealth reports the account critical (red): it cannot read it. "+
			"Check the role's trust (CloudHealth's account "+TrustedAccountID+" and the external id) and its policy.")
	}
	return check(invite.CheckStatus, invite.CheckFail, fmt.Sprintf("CloudHealth reports the status %q, which signals that it "+
		"cannot authenticate to the account: check that the role exists, trusts CloudHealth's account %s with the external id, "+
		"and that its ARN is entered in CloudHealth.", cmpOr(string(a.Status.Level), string(LevelUnknown)), TrustedAccountID))
}

func checkFreshness(in ValidationInput, a Account, listed bool) invite.CloudHealthCheck {
	switch {
	case !listed:
		return check(invite.CheckFreshness, invite.CheckUnknown, "Not known until CloudHealth lists the account.")
	case a.Status.LastUpdate.IsZero():
		return check(invite.CheckFreshness, invite.CheckUnknown, "CloudHealth sent no status.last_update for the account.")
	}
	age := in.Now.Sub(a.Status.LastUpdate)
	if age > in.MaxStatusAge {
		return check(invite.CheckFreshness, invite.CheckFail, fmt.Sprintf("CloudHealth last updated the account's status at %s, "+
			"%s ago: it may have stopped reading the account. Check the role, then ask the reseller's support to refresh it in CloudHealth.",
			a.Status.LastUpdate.UTC().Format(time.RFC3339), age.Round(time.Hour)))
	}
	return check(invite.CheckFreshness, invite.CheckPass, fmt.Sprintf("CloudHealth updated the status at %s.",
		a.Status.LastUpdate.UTC().Format(time.RFC3339)))
}

func checkPayer(in ValidationInput, p Placement, listed bool) invite.CloudHealthCheck {
	if !listed {
		return check(invite.CheckPayer, invite.CheckUnknown, "Not known until CloudHealth lists the account.")
	}
	want := invite.CloudHealthPayers(in.Invite)
	switch {
	case p.PayerID == "":
		return check(invite.CheckPayer, invite.CheckFail, "CloudHealth shows no payer for the account (Payer N/A): "+p.Reason+
			". It learns the payer from the payer's bills; this resolves once the account's usage is in the payer's Cost and Usage Report.")
	case len(want) > 0 && !slices.Contains(want, p.PayerID):
		name := ""
		if p.PayerName != "" {
			name = fmt.Sprintf(" (%q)", p.PayerName)
		}
		return check(invite.CheckPayer, invite.CheckFail, fmt.Sprintf("CloudHealth places the account under payer %s%s, "+
			"not under this billing profile's payer %s: check that the account left its previous organization, then open a support ticket.",
			p.PayerID, name, in.Invite.Payer))
	}
	return check(invite.CheckPayer, invite.CheckPass, fmt.Sprintf("CloudHealth places the account under payer %s.", p.PayerID))
}

func checkPayerCUR(in ValidationInput) invite.CloudHealthCheck {
	if !in.PayerCURConfigured {
		return check(invite.CheckPayerCUR, invite.CheckFail, fmt.Sprintf("The billing profile names no Cost and Usage Report for "+
			"payer %s: CloudHealth and this service learn accounts and payers from it. The reseller must configure it.", in.Invite.Payer))
	}
	return check(invite.CheckPayerCUR, invite.CheckPass, fmt.Sprintf("Payer %s's Cost and Usage Report is configured.", in.Invite.Payer))
}

func checkPermissions(in ValidationInput) invite.CloudHealthCheck {
	switch {
	case in.Permissions == nil && in.PermissionsErr == nil:
		// No checker is configured: say what the customer can compare instead.
		return check(invite.CheckPermissions, invite.CheckUnknown, fmt.Sprintf("The service cannot see the role's permissions "+
			"(it runs no permission check): compare the role's policy with this setup's (CloudHealth's published read-only policy, %s), or update the stack "+
			"from the setup; CloudHealth shows missing permissions as unknown, critical or a warning.", PolicyVersion))
	case in.Permissions == nil:
		howTo := fmt.Sprintf("To check each permission, update the stack from the setup with the CheckerPrincipal parameter set to %s: "+
			"it adds the role %s, allowed only iam:GetRole and iam:SimulatePrincipalPolicy on the CloudHealth role.",
			cmpOr(in.CheckerPrincipal, "the reseller's principal"), CheckerRoleName)
		if errors.Is(in.PermissionsErr, ErrCheckerRefused) {
			return check(invite.CheckPermissions, invite.CheckUnknown, fmt.Sprintf("The service could not check the role's permissions: "+
				"it cannot assume the role %s in account %s (the account has no such role, or the role does not trust the reseller's "+
				"principal with this setup's external id). %s", CheckerRoleName, in.Invite.AccountID, howTo))
		}
		return check(invite.CheckPermissions, invite.CheckUnknown, "The service could not check the role's permissions ("+
			safeText(in.PermissionsErr)+"); if it persists, the role "+CheckerRoleName+" is not as the setup creates it. "+howTo)
	case !in.Permissions.RoleFound:
		return check(invite.CheckPermissions, invite.CheckFail, fmt.Sprintf("There is no role %s in account %s: create it from the setup.",
			in.RoleName, in.Invite.AccountID))
	}
	entries := cmpActions(in.Actions)
	c := check(invite.CheckPermissions, invite.CheckPass, fmt.Sprintf("The role allows all %d entries of CloudHealth's policy (%s), "+
		"as IAM's policy simulator answers for one action per wildcard entry.", len(entries), PolicyVersion))
	if len(in.Permissions.Missing) > 0 || len(in.Permissions.Denied) > 0 {
		c.Result = invite.CheckFail
		c.Missing, c.Denied = slices.Clone(in.Permissions.Missing), slices.Clone(in.Permissions.Denied)
		c.Detail = fmt.Sprintf("The role lacks %d of the %d entries of CloudHealth's policy (%s)", len(c.Missing), len(entries), PolicyVersion)
		if len(c.Denied) > 0 {
			c.Detail += fmt.Sprintf(", %d of them denied by an organization's service control policy (only the organization's "+
				"management account can lift that)", len(c.Denied))
		}
		c.Detail += ". Update the stack (or the role's policy) from the setup; CloudHealth shows missing permissions as unknown, critical or a warning."
	}
	return c
}

// EntryReport turns a checker's report on the probes of entries (ProbeAction) into one on the entries themselves,
// in the entries' order: an entry is missing (or denied) when its probe is. An entry without a probe is never
// reported (the table's test keeps every published entry probed).
func EntryReport(entries []string, probes PermissionReport) PermissionReport {
	out := PermissionReport{RoleFound: probes.RoleFound}
	for _, e := range entries {
		p := ProbeAction(e)
		if p == "" {
			continue
		}
		if slices.Contains(probes.Missing, p) {
			out.Missing = append(out.Missing, e)
		}
		if slices.Contains(probes.Denied, p) {
			out.Denied = append(out.Denied, e)
		}
	}
	return out
}

// Probes are the concrete actions the permission check asks about for entries: each entry's ProbeAction, once.
func Probes(entries []string) []string {
	var out []string
	for _, e := range entries {
		if p := ProbeAction(e); p != "" && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

func cmpActions(a []string) []string {
	if len(a) == 0 {
		return ReadOnlyActions
	}
	return a
}

// safeText is an error's text without what an SDK appends (request ids), for a customer's eyes.
func safeText(err error) string {
	var ce interface{ ErrorCode() string }
	if errors.As(err, &ce) {
		return ce.ErrorCode()
	}
	s := err.Error()
	if i := strings.Index(s, ", RequestID"); i > 0 {
		s = s[:i]
	}
	return s
}

// Validator runs the checks of an invite (invite.CloudHealthValidator) from the source's last listing, the
// setup's external id (asked of CloudHealth once per tenant) and, when configured, the permission checker. It
// never lists CloudHealth's accounts.
type Validator struct {
	Source  *Source
	Setup   *SetupSource
	Checker PermissionChecker // nil: the permissions check is unknown and says how to enable it
	// CheckerPrincipal is the reseller's principal the checker role trusts (CLOUDHEALTH_CHECKER_PRINCIPAL), for
	// the how-to of a check that could not run.
	CheckerPrincipal string
	MaxStatusAge     time.Duration
	Now              func() time.Time
}

var _ invite.CloudHealthValidator = (*Validator)(nil)

// ValidateCloudHealth runs every check of the invite.
func (v *Validator) ValidateCloudHealth(ctx context.Context, inv invite.Invite, payerCURConfigured bool) (invite.CloudHealthValidation, error) {
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	in := ValidationInput{Invite: inv, PayerCURConfigured: payerCURConfigured, Now: now(), MaxStatusAge: v.MaxStatusAge,
		CheckerPrincipal: v.CheckerPrincipal}
	tenant := ""
	if v.Source != nil {
		var err error
		if tenant, err = v.Source.Tenant(ctx, inv.BillingProfileID); err != nil {
			return invite.CloudHealthValidation{}, err
		}
		in.Snapshot = v.Source.Snapshot(tenant)
	}
	if v.Setup != nil {
		// A failure leaves the external id unknown: the authentication check says so rather than failing the run.
		// Without a CloudHealth key the setup's fallback external id is the one the checker role trusts.
		in.ExternalID, _ = v.Setup.ExternalID(ctx, tenant)
	}
	if v.Checker != nil {
		rep, err := v.Checker.CheckPermissions(ctx, inv.AccountID, RoleName, in.ExternalID, Probes(ReadOnlyActions))
		if err != nil {
			in.PermissionsErr = err
		} else {
			rep = EntryReport(ReadOnlyActions, rep)
			in.Permissions = &rep
		}
	}
	return invite.CloudHealthValidation{InviteID: inv.ID, At: in.Now, Checks: Checks(in)}, nil
}
