package invite

import (
	"fmt"
	"time"
)

// Timing rules of the lifecycle.
const (
	// ResendAfter is how long a user waits for AWS's email before a re-send is allowed (the help page's advice).
	ResendAfter = 5 * time.Minute
	// HandshakeLifetime is how long AWS keeps an invitation open.
	HandshakeLifetime = 15 * 24 * time.Hour
	// SpendRule is how long after joining an account with spend should show CUR data before a ticket is due.
	SpendRule = 48 * time.Hour
	// SendTimeout bounds one send to AWS, retries included. An invite reserved longer ago than this without a
	// handshake was left by a process that stopped mid-send; the next request for it resumes the send.
	SendTimeout = time.Minute
)

// transitions is the lifecycle's one source of truth: the states each state may move to.
var transitions = map[State][]State{
	StateInvited:             {StateAccepted, StateDeclined, StateCanceled, StateExpired},
	StateAccepted:            {StateAwaitingCUR},
	StateAwaitingCUR:         {StateActive, StateCloudHealthCritical},
	StateActive:              {StateCloudHealthCritical},
	StateCloudHealthCritical: {StateActive, StateAwaitingCUR},
	StateCanceled:            nil,
	StateDeclined:            nil,
	StateExpired:             nil,
}

// Valid reports whether s is one of the lifecycle's states.
func (s State) Valid() bool {
	_, ok := transitions[s]
	return ok
}

// Terminal reports whether s can never be left.
func (s State) Terminal() bool { return s == StateCanceled || s == StateDeclined || s == StateExpired }

// Joined reports whether the account is a member of the payer organization in state s.
func (s State) Joined() bool {
	return s == StateAwaitingCUR || s == StateActive || s == StateCloudHealthCritical
}

// CanTransition reports whether an invite may move from one state to another.
func CanTransition(from, to State) bool {
	for _, s := range transitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// stateForHandshake is the invite state a pending invite takes when AWS reports a handshake ended.
func stateForHandshake(h HandshakeState) (State, bool) {
	switch h {
	case HandshakeAccepted:
		return StateAccepted, true
	case HandshakeDeclined:
		return StateDeclined, true
	case HandshakeCanceled:
		return StateCanceled, true
	case HandshakeExpired:
		return StateExpired, true
	}
	return "", false
}

// Step is one thing the customer can do (or wait for) next. Codes are stable so clients can render them.
type Step struct {
	Code   string
	Title  string
	Detail string
}

// NextSteps returns what the customer should do next for an invite in its current state, as of now.
func NextSteps(inv Invite, now time.Time) []Step {
	switch inv.State {
	case StateInvited:
		return invitedSteps(inv, now)
	case StateAccepted:
		return []Step{{
			Code:   "membership_confirmation",
			Title:  "Nothing to do: confirming membership",
			Detail: "AWS reports the invitation accepted. The service confirms that the account is a member of the payer organization; this usually takes a few minutes.",
		}}
	case StateAwaitingCUR:
		return awaitingCURSteps(inv, now)
	case StateActive:
		return nil
	case StateCloudHealthCritical:
		return []Step{
			{
				Code:   "fix_cloudhealth_iam",
				Title:  "Fix the CloudHealth IAM setup",
				Detail: "CloudHealth cannot read this account: check the CloudHealth IAM role (its name, the trusted CloudHealth account and the external id), or open a support ticket.",
			},
			{
				Code:   "cloudhealth_consequences",
				Title:  "What does not work until then",
				Detail: "Reservation data is not shown, the FlexRI and Spot0 services cannot be used, and reports cannot run on this account.",
			},
		}
	case StateDeclined, StateExpired:
		return []Step{{
			Code:   "invite_again",
			Title:  "Send a new invite if the account should still join",
			Detail: "This invitation is over. Invite the account again to send a new one.",
		}}
	}
	return nil
}

func invitedSteps(inv Invite, now time.Time) []Step {
	if inv.Handshake == nil {
		return []Step{{
			Code:   "sending",
			Title:  "Sending the invitation",
			Detail: "The invitation is being sent to AWS Organizations.",
		}}
	}
	steps := []Step{
		{
			Code:   "check_email",
			Title:  "Check the account owner's inbox and spam folder",
			Detail: "AWS emails the owner of account " + inv.AccountID + " on our behalf. Look in the spam folder too.",
		},
		{
			Code:   "accept_in_console",
			Title:  "Accept in the AWS Organizations console",
			Detail: "Sign in to account " + inv.AccountID + ", open AWS Organizations > Invitations, and choose Accept. If the invitation is not listed there, the account may still belong to another organization: leave it first.",
		},
	}
	if at := inv.ResendAvailableAt(); now.Before(at) {
		steps = append(steps, Step{
			Code:   "wait_for_email",
			Title:  "Wait a few minutes for the email",
			Detail: fmt.Sprintf("If no email arrived by %s, re-send the invitation.", at.UTC().Format(time.RFC3339)),
		})
	} else {
		steps = append(steps, Step{
			Code:   "resend",
			Title:  "No email after five minutes? Re-send",
			Detail: "Re-send the invitation, and check that " + inv.AccountID + " is the right account id.",
		})
	}
	return append(steps, Step{
		Code:   "leave_other_organization",
		Title:  "If the account belongs to another organization",
		Detail: "A management account with members cannot see or accept the invitation: remove each member account (each must leave the organization), delete the organization, then accept here and in each former member.",
	})
}

func awaitingCURSteps(inv Invite, now time.Time) []Step {
	steps := []Step{{
		Code:   "grant_cloudhealth_access",
		Title:  "Grant IAM access to CloudHealth",
		Detail: "Create the CloudHealth IAM role in account " + inv.AccountID + ": its name, the CloudHealth account it trusts and the external id are in the invite's cloudhealth-setup (also as a CloudFormation template).",
	}}
	joined := time.Duration(0)
	if inv.JoinedAt != nil {
		joined = now.Sub(*inv.JoinedAt)
	}
	switch {
	case joined < SpendRule:
		steps = append(steps, Step{
			Code:  "wait_for_cur",
			Title: "Billing data takes 24 to 72 hours",
			Detail: fmt.Sprintf("The account joined %s ago. AWS writes its usage into the payer's Cost and Usage Report within 24 to 72 hours; then the account becomes active here.",
				humanDuration(joined)),
		})
	default:
		steps = append(steps, Step{
			Code:  "open_support_ticket",
			Title: "Spend but still no data after 48 hours? Open a support ticket",
			Detail: fmt.Sprintf("The account joined %s ago and no Cost and Usage Report data has appeared for it. If it has spend, open a support ticket.",
				humanDuration(joined)),
		})
	}
	return append(steps, Step{
		Code:   "no_spend_no_data",
		Title:  "An account without spend stays here",
		Detail: "AWS reports only usage: an account without spend never appears in the report, and stays here until it has some.",
	})
}

// humanDuration says roughly how long: "3 hours", "2 days".
func humanDuration(d time.Duration) string {
	switch h := int(d.Hours()); {
	case h < 1:
		return "less than an hour"
	case h == 1:
		return "1 hour"
	case h < 48:
		return fmt.Sprintf("%d hours", h)
	default:
		return fmt.Sprintf("%d days", h/24)
	}
}
