package invite

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// DefaultCloudHealthGrace is how long a joined account may stay unknown to CloudHealth (or without a payer) before
// it counts as critical: CloudHealth picks accounts up from the payer's CUR, which takes 24-72 hours.
const DefaultCloudHealthGrace = 72 * time.Hour

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

// cloudHealthStates are the states in which CloudHealth's view of the account matters.
var cloudHealthStates = []State{StateAwaitingCUR, StateActive, StateCloudHealthCritical}

// SyncCloudHealth reads CloudHealth's account list once and applies it to every joined invite.
func (s *Service) SyncCloudHealth(ctx context.Context) error {
	if s.cloudHealth == nil {
		return nil
	}
	statuses, err := s.cloudHealth.Statuses(ctx)
	if err != nil {
		return err
	}
	invites, err := s.store.InvitesInStates(ctx, cloudHealthStates)
	if err != nil {
		return err
	}
	var errs []string
	for _, inv := range invites {
		if _, err := s.applyCloudHealth(ctx, inv, statuses[inv.AccountID]); err != nil && !IsCode(err, CodeConcurrentUpdate) {
			errs = append(errs, fmt.Sprintf("invite %s: %v", inv.ID, err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("cloudhealth: %s", strings.Join(errs, "; "))
	}
	return nil
}

// applyCloudHealth moves a joined invite to or from cloudhealth_critical according to CloudHealth's status, and
// records the status when it changed.
func (s *Service) applyCloudHealth(ctx context.Context, inv Invite, st CloudHealthStatus) (Invite, error) {
	now := s.clock.Now()
	st.CheckedAt = now
	prev := inv.CloudHealth
	changed := prev == nil || prev.Level != st.Level || prev.PayerAccountID != st.PayerAccountID || prev.Listed != st.Listed
	if changed {
		inv.CloudHealth = &st
	}
	v := EvaluateCloudHealth(st, sinceJoined(inv, now), s.cloudHealthGrace)
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

// SandboxSetCloudHealth sets the account's status in the sandbox's CloudHealth simulator and applies it to the
// invite at once, so the whole flow can be walked by hand.
func (s *Service) SandboxSetCloudHealth(ctx context.Context, p Principal, billingProfileID, inviteID, level, payer string) (Invite, error) {
	_, inv, err := s.sandboxInvite(ctx, p, billingProfileID, inviteID, s.sandboxCloudHealth != nil && s.cloudHealth != nil)
	if err != nil {
		return Invite{}, err
	}
	if err := s.sandboxCloudHealth.SetStatus(ctx, inv.AccountID, level, payer); err != nil {
		return Invite{}, err
	}
	if !inv.State.Joined() {
		// CloudHealth keeps the status; the invite follows it once the account joins.
		return inv, nil
	}
	statuses, err := s.cloudHealth.Statuses(ctx)
	if err != nil {
		return Invite{}, err
	}
	return s.applyCloudHealth(ctx, inv, statuses[inv.AccountID])
}

// SandboxCloudHealth sets statuses in the sandbox's CloudHealth simulator.
type SandboxCloudHealth interface {
	SetStatus(ctx context.Context, accountID, level, payerAccountID string) error
}

// CloudHealthSetup is what the customer creates in the invited account so CloudHealth can read it.
type CloudHealthSetup struct {
	JSON     any    // role name, trusted account, external id, policies
	Template []byte // the same as a CloudFormation template (YAML)
}

// CloudHealthSetupSource builds the setup for an AWS account.
type CloudHealthSetupSource interface {
	Setup(ctx context.Context, accountID string) (CloudHealthSetup, error)
}

// CloudHealthSetup returns what the invite's account owner must create for CloudHealth.
func (s *Service) CloudHealthSetup(ctx context.Context, p Principal, billingProfileID, inviteID string) (CloudHealthSetup, error) {
	inv, err := s.GetInvite(ctx, p, billingProfileID, inviteID)
	if err != nil {
		return CloudHealthSetup{}, err
	}
	if s.cloudHealthSetup == nil {
		return CloudHealthSetup{}, Errorf(CodeCloudHealthNotConfigured, "CloudHealth is not configured for this service")
	}
	return s.cloudHealthSetup.Setup(ctx, inv.AccountID)
}
