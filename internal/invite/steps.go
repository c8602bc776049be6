package invite

import (
	"fmt"
	"time"
)

// StepCode is a stable, machine-readable name of a next step, so clients can render or act on it.
type StepCode string

// The next steps a customer may be shown.
const (
	StepSending                StepCode = "sending"
	StepCheckEmail             StepCode = "check_email"
	StepAcceptInConsole        StepCode = "accept_in_console"
	StepWaitForEmail           StepCode = "wait_for_email"
	StepExpiringSoon           StepCode = "expiring_soon"
	StepResend                 StepCode = "resend"
	StepMoveFromOtherOrg       StepCode = "accept_from_another_organization"
	StepManagementAccount      StepCode = "management_account_cannot_join"
	StepMembershipConfirmation StepCode = "membership_confirmation"
	StepGrantCloudHealthAccess StepCode = "grant_cloudhealth_access"
	StepWaitForCUR             StepCode = "wait_for_cur"
	StepOpenSupportTicket      StepCode = "open_support_ticket"
	StepNoSpendNoData          StepCode = "no_spend_no_data"
	StepFixCloudHealthIAM      StepCode = "fix_cloudhealth_iam"
	StepCloudHealthImpact      StepCode = "cloudhealth_consequences"
	StepInviteAgain            StepCode = "invite_again"
	StepAcceptTransfer         StepCode = "accept_billing_transfer"
	StepTransferChanges        StepCode = "billing_transfer_changes"
	StepTransferStarts         StepCode = "billing_transfer_starts"
	StepAccountDeparted        StepCode = "account_departed"
	StepAccountClosed          StepCode = "account_closed"
	StepQueued                 StepCode = "queued_for_quota"

	// StepBillingDataSetup and StepBillingDataUnreadable say that the payer's report is not set up, or cannot be
	// read: the reseller's to fix, not the customer's.
	StepBillingDataSetup      StepCode = "billing_data_not_configured"
	StepBillingDataUnreadable StepCode = "billing_data_unreadable"
)

// StepCodes lists every step code, for contract tests.
func StepCodes() []StepCode {
	return []StepCode{StepSending, StepCheckEmail, StepAcceptInConsole, StepWaitForEmail, StepExpiringSoon, StepResend,
		StepMoveFromOtherOrg, StepManagementAccount, StepMembershipConfirmation, StepGrantCloudHealthAccess, StepWaitForCUR,
		StepOpenSupportTicket, StepNoSpendNoData, StepFixCloudHealthIAM, StepCloudHealthImpact, StepInviteAgain,
		StepAcceptTransfer, StepTransferChanges, StepTransferStarts, StepAccountDeparted, StepAccountClosed,
		StepBillingDataSetup, StepBillingDataUnreadable,
		StepQueued}
}

// Step is one thing the customer can do (or wait for) next.
type Step struct {
	Code   StepCode
	Title  string
	Detail string
	// At is the instant the step is about, when it has one: when a re-send becomes possible, when the invitation
	// expires, by when billing data is expected, when a billing transfer must be accepted or starts.
	At time.Time
}

// StepActor is who acts on a next step.
type StepActor string

// Who acts.
const (
	StepByCustomer StepActor = "customer" // the customer (the invited account's owner, or the web app's user)
	StepByReseller StepActor = "reseller" // the reseller's support or platform administrators
	StepByAWS      StepActor = "aws"      // nobody: AWS (or CloudHealth) is doing it; wait
)

// StepAction is what a client can offer for a next step: an operation of this API (its operationId in
// openapi.yaml, on the invite's own path) or a page to open.
type StepAction struct {
	Operation string
	URL       string
}

// The pages steps link to, as the help page names them.
const (
	organizationsConsoleURL = "https://console.aws.amazon.com/organizations/"
	billingConsoleURL       = "https://console.aws.amazon.com/billing/"
)

// stepKinds says, once for every step, who acts and what a client can offer: a web app renders a step from its
// code without reading its text.
var stepKinds = map[StepCode]struct {
	actor  StepActor
	action StepAction
}{
	StepSending:                {StepByAWS, StepAction{}},
	StepCheckEmail:             {StepByCustomer, StepAction{}},
	StepAcceptInConsole:        {StepByCustomer, StepAction{URL: organizationsConsoleURL}},
	StepWaitForEmail:           {StepByAWS, StepAction{}},
	StepExpiringSoon:           {StepByCustomer, StepAction{URL: organizationsConsoleURL}},
	StepResend:                 {StepByCustomer, StepAction{Operation: "resendInvite"}},
	StepMoveFromOtherOrg:       {StepByCustomer, StepAction{URL: organizationsConsoleURL}},
	StepManagementAccount:      {StepByCustomer, StepAction{Operation: "createInvite"}},
	StepMembershipConfirmation: {StepByAWS, StepAction{}},
	StepGrantCloudHealthAccess: {StepByCustomer, StepAction{Operation: "getCloudHealthSetup"}},
	StepWaitForCUR:             {StepByAWS, StepAction{}},
	StepOpenSupportTicket:      {StepByReseller, StepAction{}},
	StepNoSpendNoData:          {StepByCustomer, StepAction{}},
	StepFixCloudHealthIAM:      {StepByCustomer, StepAction{Operation: "validateCloudHealth"}},
	StepCloudHealthImpact:      {StepByCustomer, StepAction{}},
	StepInviteAgain:            {StepByCustomer, StepAction{Operation: "createInvite"}},
	StepAcceptTransfer:         {StepByCustomer, StepAction{URL: billingConsoleURL}},
	StepTransferChanges:        {StepByCustomer, StepAction{}},
	StepTransferStarts:         {StepByAWS, StepAction{}},
	StepAccountDeparted:        {StepByCustomer, StepAction{}},
	StepAccountClosed:          {StepByCustomer, StepAction{}},
	StepBillingDataSetup:       {StepByReseller, StepAction{}},
	StepBillingDataUnreadable:  {StepByReseller, StepAction{}},
	StepQueued:                 {StepByAWS, StepAction{}},
}

// Actor is who acts on a step of this code.
func (c StepCode) Actor() StepActor { return stepKinds[c].actor }

// Action is what a client can offer for a step of this code; zero when there is nothing to offer.
func (c StepCode) Action() StepAction { return stepKinds[c].action }

// View is an invite as a client sees it at one moment: the invite and what to do next, computed with the domain's
// clock where the invite is read.
type View struct {
	Invite
	NextSteps []Step
}

// ViewOf renders an invite as of now.
func ViewOf(inv Invite, now time.Time) View { return View{Invite: inv, NextSteps: NextSteps(inv, now)} }

// NextSteps returns what the customer should do next for an invite in its current state, as of now.
func NextSteps(inv Invite, now time.Time) []Step {
	if inv.State.Joined() && inv.AccountClosing() {
		// A closed (or closing) account bills no new usage: no report data, CloudHealth setup or ticket is due.
		return accountClosedSteps(inv)
	}
	switch inv.State {
	case StateDeparted:
		return departedSteps(inv)
	case StateQueued:
		return queuedSteps(inv)
	case StateInvited:
		return inv.Kind.rules().invitedNextSteps(inv, now)
	case StateAccepted:
		return inv.Kind.rules().acceptedNextSteps(inv)
	case StateAwaitingCUR:
		return awaitingCURSteps(inv, now)
	case StateCloudHealthCritical:
		return cloudHealthCriticalSteps(inv)
	case StateDeclined, StateExpired:
		return []Step{{
			Code:   StepInviteAgain,
			Title:  "Send a new invite if the account should still join",
			Detail: "This invitation is over. Invite the account again to send a new one.",
		}}
	}
	return nil
}

func departedSteps(inv Invite) []Step {
	how := "left the payer organization (it may have accepted another organization's invitation, which moves it at once, or been removed)"
	if d := inv.Departure; d != nil && d.Method == DepartureCleaned {
		how = "was closed, and AWS removed it from the payer organization"
	}
	return []Step{
		{
			Code:   StepAccountDeparted,
			Title:  "The account is no longer in the payer organization",
			Detail: "Account " + inv.AccountID + " " + how + ". Its usage is no longer billed through this payer.",
		},
		{
			Code:   StepInviteAgain,
			Title:  "Send a new invite if the account should come back",
			Detail: "This invite is over. Invite account " + inv.AccountID + " again to send a new invitation; its owner accepts it as before.",
		},
	}
}

func accountClosedSteps(inv Invite) []Step {
	return []Step{{
		Code:  StepAccountClosed,
		Title: "The account is closed: no billing data is expected",
		Detail: fmt.Sprintf("AWS reports account %s as %s. A closed account has no new usage, so no new Cost and Usage Report data "+
			"will appear for it. Its owner can ask AWS Support to reopen it within 90 days of the closure; after that AWS "+
			"removes it from the payer organization.", inv.AccountID, inv.AccountState),
	}}
}

func invitedSteps(inv Invite, now time.Time) []Step {
	if inv.Handshake == nil {
		return []Step{{
			Code:   StepSending,
			Title:  "Sending the invitation",
			Detail: "The invitation is being sent to AWS Organizations.",
		}}
	}
	steps := expiringSoon(inv, now)
	steps = append(steps, []Step{
		{
			Code:   StepCheckEmail,
			Title:  "Check the account owner's inbox and spam folder",
			Detail: "AWS emails the owner of account " + inv.AccountID + " on our behalf. Look in the spam folder too.",
		},
		{
			Code:   StepAcceptInConsole,
			Title:  "Accept in the AWS Organizations console",
			Detail: "Sign in to account " + inv.AccountID + ", open AWS Organizations > Invitations, and choose Accept. If the invitation is not listed there, check the account id.",
		},
	}...)
	if at := inv.ResendAvailableAt(); now.Before(at) {
		steps = append(steps, Step{
			Code:   StepWaitForEmail,
			At:     at,
			Title:  "Wait a few minutes for the email",
			Detail: fmt.Sprintf("If no email arrived by %s, re-send the invitation.", at.UTC().Format(time.RFC3339)),
		})
	} else {
		steps = append(steps, Step{
			Code:   StepResend,
			Title:  "No email after five minutes? Re-send",
			Detail: "Re-send the invitation, and check that " + inv.AccountID + " is the right account id.",
		})
	}
	return append(steps,
		Step{
			Code:  StepMoveFromOtherOrg,
			Title: "A member of another organization can accept directly",
			Detail: "If account " + inv.AccountID + " is a member of another AWS organization, its owner can accept without leaving first: AWS moves the account. " +
				"What the old organization applied stops applying to it: its service control policies, AWS RAM resource shares, delegated administrator roles and StackSets instances. " +
				"Review AWS's migration-readiness guidance for moving accounts between organizations (AWS Organizations User Guide) before accepting.",
		},
		Step{
			Code:  StepManagementAccount,
			Title: "A management account with member accounts cannot join",
			Detail: "If account " + inv.AccountID + " manages an AWS organization that still has member accounts, AWS refuses its acceptance. " +
				"It can keep that organization and transfer its consolidated bill instead: cancel this invite and send a billing transfer, " +
				`POST /billing-profiles/` + inv.BillingProfileID + `/aws-invites {"accountId": "` + inv.AccountID + `", "kind": "billing_transfer"}. ` +
				"Otherwise remove each member account and delete the organization, then accept here and invite each former member.",
		})
}

func membershipSteps() []Step {
	return []Step{{
		Code:   StepMembershipConfirmation,
		Title:  "Nothing to do: confirming membership",
		Detail: "AWS reports the invitation accepted. The service confirms that the account is a member of the payer organization; this usually takes a few minutes.",
	}}
}

func awaitingCURSteps(inv Invite, now time.Time) []Step {
	steps := []Step{{
		Code:   StepGrantCloudHealthAccess,
		Title:  "Grant IAM access to CloudHealth",
		Detail: "Create the CloudHealth IAM role in account " + inv.AccountID + ": its name, the CloudHealth account it trusts and the external id are in the invite's cloudhealth-setup (also as a CloudFormation template).",
	}}
	if bd := inv.BillingData; bd != nil {
		return append(steps, billingDataSteps(inv, *bd, now)...)
	}
	// Not yet looked at by the CUR follower: the help page's rule of thumb.
	joined := inv.sinceJoined(now)
	if joined < SpendRule {
		steps = append(steps, Step{
			Code:  StepWaitForCUR,
			At:    now.Add(SpendRule - joined), // when, with spend and still no data, a support ticket is the step
			Title: "Billing data takes 24 to 72 hours",
			Detail: fmt.Sprintf("The account joined %s ago. AWS writes its usage into the payer's Cost and Usage Report within 24 to 72 hours; then the account becomes active here.",
				humanDuration(joined)),
		})
	} else {
		steps = append(steps, Step{
			Code:  StepOpenSupportTicket,
			Title: "Spend but still no data after 48 hours? Open a support ticket",
			Detail: fmt.Sprintf("The account joined %s ago and no Cost and Usage Report data has appeared for it. If it has spend, open a support ticket.",
				humanDuration(joined)),
		})
	}
	return append(steps, Step{
		Code:   StepNoSpendNoData,
		Title:  "An account without spend stays here",
		Detail: "AWS reports only usage: an account without spend never appears in the report, and stays here until it has some.",
	})
}

// expiringSoon warns, from ExpiringSoon before AWS's expiry, that the invitation is about to end.
func expiringSoon(inv Invite, now time.Time) []Step {
	h := inv.Handshake
	if h == nil || !h.State.Pending() || h.ExpiresAt.IsZero() {
		return nil
	}
	left := h.ExpiresAt.Sub(now)
	if left <= 0 || left > ExpiringSoon {
		return nil
	}
	return []Step{{
		Code:  StepExpiringSoon,
		At:    h.ExpiresAt,
		Title: "The invitation expires soon",
		Detail: fmt.Sprintf("AWS ends this invitation at %s, in %s. The owner of account %s should accept it before then; otherwise re-send it to start another 15 days.",
			h.ExpiresAt.UTC().Format(time.RFC3339), humanDuration(left), inv.AccountID),
	}}
}

func transferInvitedSteps(inv Invite, now time.Time) []Step {
	if inv.Handshake == nil {
		return []Step{{Code: StepSending, Title: "Sending the invitation", Detail: "The billing transfer invitation is being sent to AWS Organizations."}}
	}
	start := inv.Transfer.StartAt.UTC()
	deadline := start.Add(-TransferLeadTime)
	if h := inv.Handshake; !h.ExpiresAt.IsZero() && h.ExpiresAt.Before(deadline) {
		deadline = h.ExpiresAt
	}
	steps := expiringSoon(inv, now)
	return append(steps,
		Step{
			Code:  StepAcceptTransfer,
			At:    deadline,
			Title: "Accept the billing transfer in the Billing and Cost Management console",
			Detail: fmt.Sprintf("Sign in to the management account %s, open the Billing and Cost Management console, Billing transfers, and accept the invitation before %s (at least 24 hours before the transfer starts at %s).",
				inv.AccountID, deadline.Format(time.RFC3339), start.Format(time.RFC3339)),
		},
		Step{
			Code:  StepTransferChanges,
			Title: "What changes for the organization",
			Detail: fmt.Sprintf("The organization of %s stays as it is: its member accounts, service control policies and other policies, shared resources and governance do not change. From %s we pay its consolidated bill.",
				inv.AccountID, start.Format(time.DateOnly)),
		})
}

func transferAcceptedSteps(inv Invite) []Step {
	start := inv.Transfer.StartAt.UTC()
	return []Step{{
		Code:   StepTransferStarts,
		At:     start,
		Title:  "Nothing to do: the billing transfer starts on " + start.Format(time.DateOnly),
		Detail: fmt.Sprintf("The organization of %s accepted the billing transfer. From %s we pay its consolidated bill; its usage then appears in our Cost and Usage Report.", inv.AccountID, start.Format(time.RFC3339)),
	}}
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

// queuedSteps tell a queued invite's place and when it is expected to go out: the service sends it itself.
func queuedSteps(inv Invite) []Step {
	q := inv.Queue
	if q == nil {
		q = &QueueSlot{Reason: QueueDailyQuota}
	}
	why := "the payer organization has sent as many invitations as AWS allows in 24 hours"
	if q.Reason == QueueAccountQuota {
		why = "the payer organization has as many accounts (open invitations included) as AWS allows it; the reseller is asking AWS for more"
	}
	return []Step{{
		Code:  StepQueued,
		At:    q.ScheduledFor,
		Title: "Waiting for a free invitation slot",
		Detail: fmt.Sprintf("The invitation to account %s waits (place %d in the queue) because %s. It is expected to go out at %s; nothing is needed from you, and canceling it now calls nothing at AWS.",
			inv.AccountID, q.Position, why, q.ScheduledFor.UTC().Format(time.RFC3339)),
	}}
}
