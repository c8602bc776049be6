package invite

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// CloudHealth levels as the API reports them (the UI says Healthy, Warning, Critical, Unknown; that the words map
// to the levels in this order is inferred, as nothing public states it).
const (
	LevelGreen   = "green"
	LevelYellow  = "yellow"
	LevelRed     = "red"
	LevelUnknown = "unknown"
)

// ErrCloudHealthKeyRefused marks a CloudHealth answer of 401 or 403: the reseller's API key (or the client_api_id
// it acts for) is refused. It is the reseller's configuration to fix, so it never moves a customer's invite.
var ErrCloudHealthKeyRefused = errors.New("CloudHealth refused the service's API key (cloudhealth_key_refused)")

// Health is the verdict of the CloudHealth rule on one joined account.
type Health string

// The verdicts.
const (
	HealthHealthy  Health = "healthy"  // green or yellow, under the invite's payer
	HealthGrace    Health = "grace"    // not healthy yet, but not red: within the grace period
	HealthCritical Health = "critical" // red, or not healthy after the grace period
)

// Verdict is the outcome of EvaluateCloudHealth.
type Verdict struct {
	Health  Health
	Reason  string        // why it is not healthy, for the history; empty when healthy
	Warning string        // set when healthy with a warning (yellow), for the invite's view
	Left    time.Duration // how long until a grace verdict turns critical
}

// EvaluateCloudHealth applies the lifecycle's rule to CloudHealth's status of a joined account. payers are the
// payer accounts the account may be placed under (the invite's payer; see CloudHealthPayers). Red is critical at
// once. Not listed, unknown, without a payer ("Payer N/A": the documented fields name none) or under another
// payer is critical once the account has been a member for the grace period, and recovers when CloudHealth
// corrects it. Green or yellow under one of payers is healthy, yellow with a warning.
func EvaluateCloudHealth(st CloudHealthStatus, payers []string, sinceJoined, grace time.Duration) Verdict {
	var reason string
	switch {
	case st.Listed && st.Level == LevelRed:
		return Verdict{Health: HealthCritical, Reason: "CloudHealth reports the account critical (red)"}
	case !st.Listed:
		reason = "CloudHealth does not list the account"
	case st.Level != LevelGreen && st.Level != LevelYellow:
		reason = "CloudHealth reports the account's status as " + cmpOr(st.Level, LevelUnknown)
	case st.PayerAccountID == "":
		reason = "CloudHealth shows the account's payer as N/A"
		if st.PayerReason != "" {
			reason += " (" + st.PayerReason + ")"
		}
	case len(payers) > 0 && !slices.Contains(payers, st.PayerAccountID):
		reason = fmt.Sprintf("CloudHealth places the account under payer %s, not under this billing profile's payer %s",
			st.payerText(), strings.Join(payers, " or "))
	default:
		return Verdict{Health: HealthHealthy, Warning: st.Warning()}
	}
	sinceJoined = max(sinceJoined, 0) // a join time in the future is clock skew: no grace used up
	if sinceJoined >= grace {
		return Verdict{Health: HealthCritical, Reason: fmt.Sprintf("%s %s after it joined", reason, roundHours(sinceJoined))}
	}
	return Verdict{Health: HealthGrace, Reason: reason, Left: grace - sinceJoined}
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// payerText names the payer CloudHealth shows: its id, and its name when known.
func (st CloudHealthStatus) payerText() string {
	if st.PayerName != "" && st.PayerName != st.PayerAccountID {
		return fmt.Sprintf("%s (%q)", st.PayerAccountID, st.PayerName)
	}
	return st.PayerAccountID
}

// Warning is what an invite's view shows for a yellow status: the account is healthy for the lifecycle, but
// CloudHealth warns about it; empty for any other level.
func (st CloudHealthStatus) Warning() string {
	if !st.Listed || st.Level != LevelYellow {
		return ""
	}
	return "CloudHealth shows a warning (yellow) for this account: some of its data may be missing. Check that the " +
		"CloudHealth IAM role has the whole published read-only policy; CloudHealth says missing permissions show as a warning."
}

// CloudHealthPayers are the payer accounts CloudHealth may place an invite's account under for it to be healthy:
// the billing profile's payer. For a billing transfer the customer's management account keeps its organization and
// stays the payer its own accounts' line items name (as the sandbox's reports have it), so CloudHealth, which
// learns payers from the bills, may show it instead: inferred, nothing public says how CloudHealth shows a
// transferred bill.
func CloudHealthPayers(inv Invite) []string {
	out := []string{}
	if inv.Payer != "" {
		out = append(out, inv.Payer)
	}
	if inv.Kind.OrJoin() == InviteTransfer && inv.AccountID != inv.Payer {
		out = append(out, inv.AccountID)
	}
	return out
}

func roundHours(d time.Duration) string {
	return fmt.Sprintf("%dh", int(d.Round(time.Hour)/time.Hour))
}

// cloudHealthCriticalSteps are the next steps of an invite in cloudhealth_critical: what CloudHealth shows and
// who can fix it. An account placed under another payer names that payer, since the IAM role cannot fix it.
func cloudHealthCriticalSteps(inv Invite) []Step {
	fix := Step{
		Code:   StepFixCloudHealthIAM,
		Title:  "Fix the CloudHealth IAM setup",
		Detail: "CloudHealth cannot read this account: check the CloudHealth IAM role (its name, the trusted CloudHealth account and the external id), or open a support ticket.",
	}
	if st := inv.CloudHealth; st != nil && st.Listed && st.PayerAccountID != "" && !slices.Contains(CloudHealthPayers(inv), st.PayerAccountID) {
		fix.Title = "CloudHealth shows the account under another payer"
		fix.Detail = fmt.Sprintf("CloudHealth places this account under payer %s, not under this billing profile's payer %s. "+
			"Check that the account left its previous organization and that its bills now come from payer %s; if they do, "+
			"open a support ticket so that the reseller corrects the account in CloudHealth.", st.payerText(), inv.Payer, inv.Payer)
	} else if st != nil && st.Listed && st.PayerAccountID == "" && (st.Level == LevelGreen || st.Level == LevelYellow) {
		fix.Title = "CloudHealth shows no payer for the account (Payer N/A)"
		fix.Detail = "CloudHealth does not place this account under a payer yet"
		if st.PayerReason != "" {
			fix.Detail += " (" + st.PayerReason + ")"
		}
		fix.Detail += ". It learns the payer from the payer's bills: once the account's usage appears in the payer's Cost and Usage Report this resolves; if it does not within a day or two, open a support ticket."
	}
	return []Step{fix, {
		Code:   StepCloudHealthImpact,
		Title:  "What does not work until then",
		Detail: "Reservation data is not shown, the FlexRI and Spot0 services cannot be used, and reports cannot run on this account.",
	}}
}

// CloudHealthFollower follows CloudHealth's status of every joined account: red, or not healthy beyond the grace
// period, is cloudhealth_critical; healthy again is back to active or awaiting_cur.
type CloudHealthFollower struct {
	*core
	store    CloudHealthStore
	statuses CloudHealthStatuses
	grace    time.Duration
}

// NewCloudHealthFollower returns the follower over CloudHealth's account list; grace <= 0 means
// DefaultCloudHealthGrace.
func NewCloudHealthFollower(st CloudHealthStore, d Deps, statuses CloudHealthStatuses, grace time.Duration) *CloudHealthFollower {
	if grace <= 0 {
		grace = DefaultCloudHealthGrace
	}
	return &CloudHealthFollower{core: newCore(d, st), store: st, statuses: statuses, grace: grace}
}

// Sync reads each CloudHealth tenant's account list once and applies it to every invite of that tenant that
// CloudHealth can move: one listing per tenant serves every invite of every payer. A tenant whose listing fails
// leaves its invites as they are (a refused key is the reseller's to fix, not the customers' state); the others
// are still applied.
func (s *CloudHealthFollower) Sync(ctx context.Context) error {
	invites, err := s.store.InvitesInStates(ctx, StatesWhere(State.FollowsCloudHealth))
	if err != nil {
		return err
	}
	var errs []error
	byTenant := map[string][]Invite{}
	tenantOf := map[string]string{}
	for _, inv := range invites {
		t, ok := tenantOf[inv.BillingProfileID]
		if !ok {
			if t, err = s.statuses.Tenant(ctx, inv.BillingProfileID); err != nil {
				errs = append(errs, fmt.Errorf("billing profile %s: cloudhealth tenant: %w", inv.BillingProfileID, err))
				continue
			}
			tenantOf[inv.BillingProfileID] = t
		}
		byTenant[t] = append(byTenant[t], inv)
	}
	tenants := make([]string, 0, len(byTenant))
	for t := range byTenant {
		tenants = append(tenants, t)
	}
	slices.Sort(tenants)
	for _, t := range tenants {
		statuses, err := s.statuses.Statuses(ctx, t)
		if err != nil {
			if errors.Is(err, ErrCloudHealthKeyRefused) {
				s.log.ErrorContext(ctx, "cloudhealth refused the api key: invites are left as they are until the reseller fixes it",
					"code", "cloudhealth_key_refused", "tenant", t, "invites", len(byTenant[t]), "error", err)
			}
			errs = append(errs, fmt.Errorf("tenant %q: %w", t, err))
			continue
		}
		for _, inv := range byTenant[t] {
			if _, err := s.apply(ctx, inv, statuses[inv.AccountID]); err != nil && !IsCode(err, CodeConcurrentUpdate) {
				errs = append(errs, fmt.Errorf("invite %s: %w", inv.ID, err))
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("cloudhealth: %w", errors.Join(errs...))
	}
	return nil
}

// refreshOne reads CloudHealth's view of one invite's account and applies it at once.
func (s *CloudHealthFollower) refreshOne(ctx context.Context, inv Invite) (Invite, error) {
	if !inv.State.FollowsCloudHealth() {
		return inv, nil // CloudHealth keeps the status; the invite follows it once the account joins
	}
	tenant, err := s.statuses.Tenant(ctx, inv.BillingProfileID)
	if err != nil {
		return Invite{}, err
	}
	st, err := s.statuses.StatusOf(ctx, tenant, inv.AccountID)
	if err != nil {
		return Invite{}, err
	}
	return s.apply(ctx, inv, st)
}

// apply moves a joined invite to or from cloudhealth_critical according to CloudHealth's status, and
// records the status when it changed.
func (s *CloudHealthFollower) apply(ctx context.Context, inv Invite, st CloudHealthStatus) (Invite, error) {
	now := s.now(inv.Payer)
	st.CheckedAt = now
	prev := inv.CloudHealth
	// A status is written when what it says changed; CloudHealth's own last_update only when it moved by more than
	// lastUpdateStep, so that an account CloudHealth refreshes often is not written on every pass.
	changed := prev == nil || prev.Level != st.Level || prev.PayerAccountID != st.PayerAccountID || prev.Listed != st.Listed ||
		prev.PayerName != st.PayerName || prev.PayerReason != st.PayerReason || moved(prev.LastUpdate, st.LastUpdate, lastUpdateStep)
	if changed {
		inv.CloudHealth = &st
	}
	v := EvaluateCloudHealth(st, CloudHealthPayers(inv), inv.sinceJoined(now), s.grace)
	actor := Actor{Kind: ActorCloudHealth}
	switch {
	case v.Health == HealthCritical && inv.State != StateCloudHealthCritical && !inv.AccountClosing():
		// A closed account is not expected to reach CloudHealth (it has no new usage): not critical for that.
		return s.transition(ctx, inv, StateCloudHealthCritical, nil, actor, v.Reason)
	case v.Health == HealthHealthy && inv.State == StateCloudHealthCritical:
		to := StateAwaitingCUR
		if inv.CURSeenAt != nil {
			to = StateActive
		}
		return s.transition(ctx, inv, to, nil, actor,
			fmt.Sprintf("CloudHealth reports the account healthy (%s, payer %s)", st.Level, st.payerText()))
	case changed:
		return s.save(ctx, inv, Event{})
	}
	return inv, nil
}

// lastUpdateStep is how far CloudHealth's status.last_update must move before the invite keeps the new one.
const lastUpdateStep = 6 * time.Hour

func moved(a, b time.Time, step time.Duration) bool {
	d := a.Sub(b)
	return a.IsZero() != b.IsZero() || d >= step || d <= -step
}

// CloudHealthSetup is what the customer creates in the invited account so CloudHealth can read it.
type CloudHealthSetup struct {
	JSON     any    // role name, trusted account, external id, policies, one-click deployments
	Template []byte // the same as a CloudFormation template (YAML)
}

// CloudHealthStatuses is what the domain needs from CloudHealth: which tenant holds a billing profile's accounts,
// and a tenant's view of every AWS account it knows, keyed by the 12-digit account id (one listing serves every
// invite of the tenant). An error wrapping ErrCloudHealthKeyRefused is the reseller's configuration problem.
type CloudHealthStatuses interface {
	// Tenant names the CloudHealth tenant of a billing profile: "" for the API key's own, else the client_api_id
	// of a partner's customer.
	Tenant(ctx context.Context, billingProfileID string) (string, error)
	Statuses(ctx context.Context, tenant string) (map[string]CloudHealthStatus, error)
	// StatusOf is one account's status now, for a refresh: it may cost far less than a listing of the tenant.
	StatusOf(ctx context.Context, tenant, accountID string) (CloudHealthStatus, error)
}

// CloudHealthTenant is what a replica knows of its reading of one CloudHealth tenant, for platform administrators.
type CloudHealthTenant struct {
	Tenant   string    // "" for the API key's own, else a partner customer's client_api_id
	ListedAt time.Time // when the last complete listing ended; zero before the first
	Accounts int       // AWS accounts in that listing
	Requests int       // the requests it took
	// InProgress tells a listing under way: the next page and the accounts read so far.
	InProgress              bool
	NextPage, AccountsSoFar int
	// Problem is the last failure since the last success, at ProblemAt; nil when none.
	Problem   *Error
	ProblemAt time.Time
}

// CloudHealthReporter tells how each CloudHealth tenant is read.
type CloudHealthReporter interface {
	Tenants() []CloudHealthTenant
}

// CloudHealthSetupSource builds the IAM setup a customer creates in an invite's AWS account so CloudHealth can
// read it.
type CloudHealthSetupSource interface {
	Setup(ctx context.Context, inv Invite, opts CloudHealthPolicyParts) (CloudHealthSetup, error)
}

// CloudHealthPolicyParts are the optional parts of CloudHealth's policy a customer may choose; the zero value is
// the read-only policy alone.
type CloudHealthPolicyParts struct {
	ReadBuckets             []string // S3 buckets of the account CloudHealth may read
	ModifyReservedInstances bool     // ec2:ModifyReservedInstances, for automated reservation changes
}

// NoCloudHealthSetup is the setup source of a service without CloudHealth configured: it says so.
type NoCloudHealthSetup struct{}

// Setup answers CodeCloudHealthNotConfigured.
func (NoCloudHealthSetup) Setup(context.Context, Invite, CloudHealthPolicyParts) (CloudHealthSetup, error) {
	return CloudHealthSetup{}, Errorf(CodeCloudHealthNotConfigured, "CloudHealth is not configured for this service")
}

// The outcomes of a validation check.
const (
	CheckPass    = "pass"
	CheckFail    = "fail"
	CheckUnknown = "unknown" // the service cannot tell now; Detail says what would let it
)

// The validation checks, in the order they are run and shown.
const (
	CheckListed         = "listed"           // CloudHealth lists the account
	CheckAuthentication = "authentication"   // assume_role with the role in the invited account and the expected external id
	CheckStatus         = "status"           // the status level
	CheckFreshness      = "status_freshness" // status.last_update is recent
	CheckPayer          = "payer_placement"  // under the billing profile's payer
	CheckPayerCUR       = "payer_cur"        // the payer's Cost and Usage Report is configured
	CheckPermissions    = "permissions"      // the role allows the whole published policy (needs the checker role)
)

// CloudHealthCheck is the result of one validation check of an invite's CloudHealth setup.
type CloudHealthCheck struct {
	Name   string // one of the Check* names
	Result string // CheckPass, CheckFail or CheckUnknown
	Detail string // what was found, and what to do about it, in words a customer can act on
	// Missing lists the actions the role lacks, and Denied those an organization's SCP denies (permissions check).
	Missing []string
	Denied  []string
}

// CloudHealthValidation is one run of the checks.
type CloudHealthValidation struct {
	InviteID string
	At       time.Time
	Checks   []CloudHealthCheck
}

// Passed reports whether every check passed.
func (v CloudHealthValidation) Passed() bool {
	for _, c := range v.Checks {
		if c.Result != CheckPass {
			return false
		}
	}
	return len(v.Checks) > 0
}

// CloudHealthValidator runs the checks of an invite's CloudHealth setup that the service can make now, from the
// last listing (never a new one) and, when configured, a probe of the role. payerCURConfigured says whether the
// billing profile names its payer's Cost and Usage Report.
type CloudHealthValidator interface {
	ValidateCloudHealth(ctx context.Context, inv Invite, payerCURConfigured bool) (CloudHealthValidation, error)
}
