package invite

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// CloudHealth levels as the API reports them (the UI says Healthy, Warning, Critical, Unknown).
const (
	LevelGreen   = "green"
	LevelYellow  = "yellow"
	LevelRed     = "red"
	LevelUnknown = "unknown"
)

// Health is the verdict of the CloudHealth rule on one joined account.
type Health string

// The verdicts.
const (
	HealthHealthy  Health = "healthy"  // green or yellow with a payer
	HealthGrace    Health = "grace"    // not healthy yet, but only unknown or without a payer, within the grace period
	HealthCritical Health = "critical" // red, or not healthy after the grace period
)

// Verdict is the outcome of EvaluateCloudHealth.
type Verdict struct {
	Health Health
	Reason string        // why it is not healthy, for the history; empty when healthy
	Left   time.Duration // how long until a grace verdict turns critical
}

// EvaluateCloudHealth applies the lifecycle's rule: red is critical at once; unknown, not listed or without a
// payer is critical once the account has been a member for the grace period; green or yellow with a payer is
// healthy.
func EvaluateCloudHealth(st CloudHealthStatus, sinceJoined, grace time.Duration) Verdict {
	var reason string
	switch {
	case st.Listed && st.Level == LevelRed:
		return Verdict{Health: HealthCritical, Reason: "CloudHealth reports the account critical (red)"}
	case !st.Listed:
		reason = "CloudHealth does not list the account"
	case st.Level != LevelGreen && st.Level != LevelYellow:
		reason = "CloudHealth reports the account's status as unknown"
	case st.PayerAccountID == "":
		reason = "CloudHealth shows the account's payer as N/A"
	default:
		return Verdict{Health: HealthHealthy}
	}
	sinceJoined = max(sinceJoined, 0) // a join time in the future is clock skew: no grace used up
	if sinceJoined >= grace {
		return Verdict{Health: HealthCritical, Reason: fmt.Sprintf("%s %s after it joined", reason, roundHours(sinceJoined))}
	}
	return Verdict{Health: HealthGrace, Reason: reason, Left: grace - sinceJoined}
}

func roundHours(d time.Duration) string {
	return fmt.Sprintf("%dh", int(d.Round(time.Hour)/time.Hour))
}

// CloudHealthFollower follows CloudHealth's status of every joined account: red, or unknown beyond the grace
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

// Sync reads CloudHealth's account list once and applies it to every invite CloudHealth can move.
func (s *CloudHealthFollower) Sync(ctx context.Context) error {
	statuses, err := s.statuses.Statuses(ctx)
	if err != nil {
		return err
	}
	invites, err := s.store.InvitesInStates(ctx, StatesWhere(State.FollowsCloudHealth))
	if err != nil {
		return err
	}
	var errs []string
	for _, inv := range invites {
		if _, err := s.apply(ctx, inv, statuses[inv.AccountID]); err != nil && !IsCode(err, CodeConcurrentUpdate) {
			errs = append(errs, fmt.Sprintf("invite %s: %v", inv.ID, err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("cloudhealth: %s", strings.Join(errs, "; "))
	}
	return nil
}

// refreshOne reads CloudHealth's view of one invite's account and applies it at once.
func (s *CloudHealthFollower) refreshOne(ctx context.Context, inv Invite) (Invite, error) {
	if !inv.State.FollowsCloudHealth() {
		return inv, nil // CloudHealth keeps the status; the invite follows it once the account joins
	}
	statuses, err := s.statuses.Statuses(ctx)
	if err != nil {
		return Invite{}, err
	}
	return s.apply(ctx, inv, statuses[inv.AccountID])
}

// apply moves a joined invite to or from cloudhealth_critical according to CloudHealth's status, and
// records the status when it changed.
func (s *CloudHealthFollower) apply(ctx context.Context, inv Invite, st CloudHealthStatus) (Invite, error) {
	now := s.clock.Now()
	st.CheckedAt = now
	prev := inv.CloudHealth
	changed := prev == nil || prev.Level != st.Level || prev.PayerAccountID != st.PayerAccountID || prev.Listed != st.Listed
	if changed {
		inv.CloudHealth = &st
	}
	v := EvaluateCloudHealth(st, inv.sinceJoined(now), s.grace)
	actor := Actor{Kind: ActorCloudHealth}
	switch {
	case v.Health == HealthCritical && inv.State != StateCloudHealthCritical:
		return s.transition(ctx, inv, StateCloudHealthCritical, nil, actor, v.Reason)
	case v.Health == HealthHealthy && inv.State == StateCloudHealthCritical:
		to := StateAwaitingCUR
		if inv.CURSeenAt != nil {
			to = StateActive
		}
		return s.transition(ctx, inv, to, nil, actor,
			fmt.Sprintf("CloudHealth reports the account healthy (%s, payer %s)", st.Level, st.PayerAccountID))
	case changed:
		return s.save(ctx, inv, Event{})
	}
	return inv, nil
}

// CloudHealthSetup is what the customer creates in the invited account so CloudHealth can read it.
type CloudHealthSetup struct {
	JSON     any    // role name, trusted account, external id, policies
	Template []byte // the same as a CloudFormation template (YAML)
}

// CloudHealthStatuses is what the domain needs from CloudHealth: its view of every AWS account it knows, keyed by
// the 12-digit account id (one listing serves every invite).
type CloudHealthStatuses interface {
	Statuses(ctx context.Context) (map[string]CloudHealthStatus, error)
}

// CloudHealthSetupSource builds the IAM setup a customer creates in an AWS account so CloudHealth can read it.
type CloudHealthSetupSource interface {
	Setup(ctx context.Context, accountID string) (CloudHealthSetup, error)
}

// NoCloudHealthSetup is the setup source of a service without CloudHealth configured: it says so.
type NoCloudHealthSetup struct{}

// Setup answers CodeCloudHealthNotConfigured.
func (NoCloudHealthSetup) Setup(context.Context, string) (CloudHealthSetup, error) {
	return CloudHealthSetup{}, Errorf(CodeCloudHealthNotConfigured, "CloudHealth is not configured for this service")
}
