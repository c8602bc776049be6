package cloudhealth

import "time"

// Health is the verdict of the lifecycle's CloudHealth rule on one joined account.
type Health string

// The verdicts.
const (
	// HealthHealthy: green or yellow with a payer; the account is (or returns to) normal.
	HealthHealthy Health = "healthy"
	// HealthGrace: not healthy yet, but only unknown or without a payer, and still within the grace period that
	// CloudHealth needs to pick up a new account.
	HealthGrace Health = "grace"
	// HealthCritical: red, or not healthy after the grace period; the invite moves to cloudhealth_critical.
	HealthCritical Health = "critical"
)

// Reason says why an account is not healthy, as a stable code for history and logs.
type Reason string

// The reasons, most serious first; an account has the first that applies.
const (
	ReasonNone      Reason = ""
	ReasonRed       Reason = "status_red"     // CloudHealth reports the account broken
	ReasonNotListed Reason = "not_listed"     // CloudHealth does not know the account
	ReasonUnknown   Reason = "status_unknown" // CloudHealth cannot read the account yet (or sent a level we do not know)
	ReasonNoPayer   Reason = "no_payer"       // CloudHealth reports "Payer Account: N/A"
)

// Observation is what CloudHealth said about one AWS account.
type Observation struct {
	Listed         bool   // CloudHealth lists the account at all
	Level          Level  // its status level; ignored when not listed
	PayerAccountID string // the payer it reports; "" for none (N/A)
}

// Observe turns a listed account into an observation.
func (a Account) Observe() Observation {
	return Observation{Listed: true, Level: a.Status.Level, PayerAccountID: a.PayerAccountID}
}

// Verdict is the outcome of Evaluate.
type Verdict struct {
	Health Health
	Reason Reason // ReasonNone when healthy
	// GraceLeft is how long until a HealthGrace verdict turns critical if nothing changes; 0 otherwise.
	GraceLeft time.Duration
}

// Evaluate applies the rule of the lifecycle: red is critical at once; unknown, not listed or without a payer is
// critical once sinceJoined reaches grace (before that it is HealthGrace); green or yellow with a payer is
// healthy. sinceJoined is the time since the AWS account joined the payer's organization.
func Evaluate(o Observation, sinceJoined, grace time.Duration) Verdict {
	var reason Reason
	switch {
	case o.Listed && o.Level == LevelRed:
		return Verdict{Health: HealthCritical, Reason: ReasonRed}
	case !o.Listed:
		reason = ReasonNotListed
	case o.Level != LevelGreen && o.Level != LevelYellow:
		reason = ReasonUnknown
	case o.PayerAccountID == "":
		reason = ReasonNoPayer
	default:
		return Verdict{Health: HealthHealthy}
	}
	if sinceJoined < 0 {
		// A join time in the future is clock skew; it cannot have used up any grace.
		sinceJoined = 0
	}
	if sinceJoined >= grace {
		return Verdict{Health: HealthCritical, Reason: reason}
	}
	return Verdict{Health: HealthGrace, Reason: reason, GraceLeft: grace - sinceJoined}
}
