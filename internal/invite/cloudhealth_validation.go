package invite

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// CloudHealthValidationEvery is how often an invite's CloudHealth setup may be validated: once a minute.
const CloudHealthValidationEvery = time.Minute

// CloudHealthValidationStore keeps the last validation of each invite.
type CloudHealthValidationStore interface {
	// SaveCloudHealthValidation keeps v as its invite's last validation, with ev, in one transaction, unless the
	// one kept ran after lastBefore (a concurrent run got there first): then it writes nothing and reports false.
	SaveCloudHealthValidation(ctx context.Context, v CloudHealthValidation, ev Event, lastBefore time.Time) (bool, error)
	// CloudHealthValidation returns an invite's last validation, or CodeNotFound.
	CloudHealthValidation(ctx context.Context, inviteID string) (CloudHealthValidation, error)
}

// NoCloudHealthValidator is the validator of a service without CloudHealth configured: it says so.
type NoCloudHealthValidator struct{}

// ValidateCloudHealth answers CodeCloudHealthNotConfigured.
func (NoCloudHealthValidator) ValidateCloudHealth(context.Context, Invite, bool) (CloudHealthValidation, error) {
	return CloudHealthValidation{}, Errorf(CodeCloudHealthNotConfigured, "CloudHealth is not configured for this service")
}

// ValidateCloudHealth runs the checks of an invite's CloudHealth setup that the service can make now, keeps the
// result and tells it with an event (invite.cloudhealth_validated); the invite itself is unchanged. Any caller who
// may read the invite may run it, at most once a minute per invite (CodeCloudHealthCheckTooSoon, with when).
func (s *Invites) ValidateCloudHealth(ctx context.Context, p Principal, billingProfileID, inviteID string) (CloudHealthValidation, error) {
	bp, inv, err := s.inviteFor(ctx, p, billingProfileID, inviteID, read)
	if err != nil {
		return CloudHealthValidation{}, err
	}
	now := s.now(inv.Payer)
	lastBefore := now.Add(-CloudHealthValidationEvery)
	if last, err := s.store.CloudHealthValidation(ctx, inv.ID); err == nil && last.At.After(lastBefore) {
		return CloudHealthValidation{}, tooSoon(last.At.Add(CloudHealthValidationEvery).Sub(now))
	} else if err != nil && !IsCode(err, CodeNotFound) {
		return CloudHealthValidation{}, err
	}
	v, err := s.validator.ValidateCloudHealth(ctx, inv, bp.CUR.Configured())
	if err != nil {
		return CloudHealthValidation{}, err
	}
	v.InviteID, v.At = inv.ID, now
	ev := s.stamp(Event{Type: EventCloudHealthChecked, Actor: p.Actor(), From: inv.State, To: inv.State,
		Reason: v.Summary()}, inv)
	view := s.view(inv)
	ev.View = &view
	saved, err := s.store.SaveCloudHealthValidation(ctx, v, ev, lastBefore)
	if err != nil {
		return CloudHealthValidation{}, err
	}
	if !saved {
		return CloudHealthValidation{}, tooSoon(CloudHealthValidationEvery)
	}
	return v, nil
}

func tooSoon(wait time.Duration) error {
	wait = max(wait, time.Second)
	return &Error{Code: CodeCloudHealthCheckTooSoon, RetryAfter: wait,
		Detail: fmt.Sprintf("this invite's CloudHealth setup was checked less than a minute ago: its result is at .../cloudhealth-validation; run it again in %s",
			wait.Round(time.Second))}
}

// LastCloudHealthValidation returns the last validation of an invite's CloudHealth setup, or CodeNotFound.
func (s *Invites) LastCloudHealthValidation(ctx context.Context, p Principal, billingProfileID, inviteID string) (CloudHealthValidation, error) {
	_, inv, err := s.inviteFor(ctx, p, billingProfileID, inviteID, read)
	if err != nil {
		return CloudHealthValidation{}, err
	}
	v, err := s.store.CloudHealthValidation(ctx, inv.ID)
	if IsCode(err, CodeNotFound) {
		return CloudHealthValidation{}, Errorf(CodeNotFound,
			"the CloudHealth setup of invite %q was never checked: POST .../cloudhealth-validation runs the checks", inv.ID)
	}
	return v, err
}

// Summary says in one line how many checks passed, and which did not.
func (v CloudHealthValidation) Summary() string {
	var failed, unknown []string
	for _, c := range v.Checks {
		switch c.Result {
		case CheckFail:
			failed = append(failed, c.Name)
		case CheckUnknown:
			unknown = append(unknown, c.Name)
		}
	}
	out := fmt.Sprintf("CloudHealth setup checked: %d of %d checks passed", len(v.Checks)-len(failed)-len(unknown), len(v.Checks))
	if len(failed) > 0 {
		out += "; failed: " + strings.Join(failed, ", ")
	}
	if len(unknown) > 0 {
		out += "; unknown: " + strings.Join(unknown, ", ")
	}
	return out
}
