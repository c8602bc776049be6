package invite

import (
	"errors"
	"fmt"
	"time"
)

// BillingDataState says, for a joined invite, where its billing data stands in the payer's Cost and Usage Report,
// and so which of the help page's "stays under invites" cases applies and who must act.
type BillingDataState string

// The billing data states.
const (
	// BillingNotConfigured: no billing profile of the payer names where its report lives (the reseller's to set).
	BillingNotConfigured BillingDataState = "not_configured"
	// BillingUnreadable: the report cannot be read (no bucket, no manifest, access denied, a broken file): the
	// reseller's to fix.
	BillingUnreadable BillingDataState = "unreadable"
	// BillingAwaitingFirstReport: no report delivered since the account joined covers a day after the join yet.
	BillingAwaitingFirstReport BillingDataState = "awaiting_first_report"
	// BillingReportLate: the payer's newest report is older than AWS's daily refresh allows, with ReportLateSlack.
	BillingReportLate BillingDataState = "report_late"
	// BillingNoUsageSinceJoin: a report delivered after the join, reaching at least a day past it, has no line
	// items for the account: nothing is wrong, the account has no spend yet.
	BillingNoUsageSinceJoin BillingDataState = "no_usage_since_join"
	// BillingPresent: the report has line items for the account.
	BillingPresent BillingDataState = "present"
)

// BillingDataStates lists every billing data state, for contract tests.
func BillingDataStates() []BillingDataState {
	return []BillingDataState{BillingNotConfigured, BillingUnreadable, BillingAwaitingFirstReport, BillingReportLate,
		BillingNoUsageSinceJoin, BillingPresent}
}

// ResellersToFix reports whether the state is a fault of the reseller's report set-up, not the customer's.
func (s BillingDataState) ResellersToFix() bool {
	return s == BillingNotConfigured || s == BillingUnreadable || s == BillingReportLate
}

// BillingData is what a joined invite knows of its billing data, as of the CUR follower's last pass.
type BillingData struct {
	State BillingDataState
	// LastReportAt is when the newest report version read for the payer was delivered; zero when none was.
	LastReportAt time.Time
	// DataThrough is how far that version's line items reach (the end of the hour of the newest one).
	DataThrough time.Time
	// NextReportExpectedBy is when AWS's next daily refresh is due (the newest report, or the join when no report
	// was ever read, plus ReportRefresh); zero when the report is not configured.
	NextReportExpectedBy time.Time
}

// The report timing rules (cur-and-cloudhealth.md: AWS updates each report at least daily, up to three times a
// day, and a first delivery can take 24 hours).
const (
	// ReportRefresh is how long after a delivery AWS's next one is due.
	ReportRefresh = 24 * time.Hour
	// ReportLateSlack is how much longer than ReportRefresh the service waits before it calls a report late. AWS
	// gives no hour for its updates and a refresh can run late by some hours; the service also looks at a report
	// only every DefaultCURScanEvery. Twelve hours is our figure, not AWS's: a report that skipped a whole day's
	// refresh (36 hours since the last) is late, a refresh a few hours behind is not.
	ReportLateSlack = 12 * time.Hour
	// UsageCoverage is how far past the join a report must reach before the absence of the account's line items
	// means it had no usage: a day, since AWS bills the account to the payer from the day it joins.
	UsageCoverage = 24 * time.Hour
)

// CURFeed is what the service knows of a payer's report as a whole, from its last look at it: one per payer.
type CURFeed struct {
	Payer     string
	CheckedAt time.Time // when the service last looked at the report
	// Period, VersionID, DeliveredAt and DataThrough describe the newest version read (of the current or an
	// earlier billing period); zero when none was ever read.
	Period      string
	VersionID   string
	DeliveredAt time.Time
	DataThrough time.Time
	// Problem says why the report could not be read at the last look; empty when it was read (or has no data for
	// the period yet).
	Problem string
}

// ErrCURUnreadable says that a payer's report cannot be read for a reason that stays until the reseller fixes it
// (no bucket, access denied, no manifest, a broken file), as opposed to a failure that passes by itself.
var ErrCURUnreadable = errors.New("the cost and usage report cannot be read")

// billingDataOf is the billing data of a joined invite given its payer's report: whether a location is configured,
// what the last look found, the usage per account of the feed's period, and the payer's clock.
func billingDataOf(inv Invite, configured bool, feed CURFeed, usage map[string]CURUsage, now time.Time) BillingData {
	if !configured {
		return BillingData{State: BillingNotConfigured}
	}
	bd := BillingData{LastReportAt: feed.DeliveredAt, DataThrough: feed.DataThrough}
	base := feed.DeliveredAt
	if base.IsZero() && inv.JoinedAt != nil {
		base = *inv.JoinedAt
	}
	if !base.IsZero() {
		bd.NextReportExpectedBy = base.Add(ReportRefresh)
	}
	_, hasUsage := inv.Kind.rules().usageOf(inv, usage)
	joined := time.Time{}
	if inv.JoinedAt != nil {
		joined = *inv.JoinedAt
	}
	switch {
	case feed.Problem != "":
		bd.State = BillingUnreadable
	case !bd.NextReportExpectedBy.IsZero() && now.After(bd.NextReportExpectedBy.Add(ReportLateSlack)):
		// Late wins over what an old report says: the account's data, or its absence, is no longer current.
		bd.State = BillingReportLate
	case hasUsage:
		bd.State = BillingPresent
	case !feed.DeliveredAt.IsZero() && !feed.DeliveredAt.Before(joined) && !feed.DataThrough.Before(joined.Add(UsageCoverage)):
		bd.State = BillingNoUsageSinceJoin
	default:
		// No report since the join, or one that does not reach a day past it yet (a report delivered hours after
		// the join says nothing of a day the account has not had yet): the next refresh will tell.
		bd.State = BillingAwaitingFirstReport
	}
	return bd
}

// sameBillingData reports whether two billing data say the same.
func sameBillingData(a *BillingData, b BillingData) bool {
	return a != nil && a.State == b.State && a.LastReportAt.Equal(b.LastReportAt) && a.DataThrough.Equal(b.DataThrough) &&
		a.NextReportExpectedBy.Equal(b.NextReportExpectedBy)
}

// billingDataSteps are the steps of an account awaiting its billing data, from what the payer's report says: who
// must act depends on why no data is there. A support ticket is offered only when the report is late (the facts
// support it); an account without usage in a report that covers it is told nothing is wrong.
func billingDataSteps(inv Invite, bd BillingData, now time.Time) []Step {
	noSpend := Step{
		Code:   StepNoSpendNoData,
		Title:  "An account without spend stays here",
		Detail: "AWS reports only usage: an account without spend never appears in the report, and stays here until it has some.",
	}
	switch bd.State {
	case BillingNotConfigured:
		return []Step{{
			Code:   StepBillingDataSetup,
			Title:  "Nothing to do for you: the reseller is setting up billing data",
			Detail: "The payer's Cost and Usage Report is not set up in this service yet, so billing data cannot be followed. The reseller has been told; nothing is wrong with account " + inv.AccountID + ".",
		}}
	case BillingUnreadable:
		return []Step{{
			Code:   StepBillingDataUnreadable,
			Title:  "Nothing to do for you: the reseller is fixing its billing report",
			Detail: "The payer's Cost and Usage Report cannot be read at the moment (a set-up problem on the reseller's side). The reseller has been told; nothing is wrong with account " + inv.AccountID + ".",
		}}
	case BillingReportLate:
		return []Step{{
			Code:  StepOpenSupportTicket,
			At:    bd.NextReportExpectedBy,
			Title: "The payer's billing report is late: open a support ticket",
			Detail: fmt.Sprintf("AWS refreshes the payer's Cost and Usage Report at least daily; the next one was due by %s and has not come. "+
				"This is on the reseller's side, not account %s's. Open a support ticket if it is not resolved soon.", bd.NextReportExpectedBy.UTC().Format(time.RFC3339), inv.AccountID),
		}}
	case BillingNoUsageSinceJoin:
		noSpend.Title = "No usage yet: nothing is wrong"
		noSpend.Detail = fmt.Sprintf("The payer's report delivered at %s covers up to %s and has no usage of account %s since it joined. "+
			"An account without spend never appears in the report; it becomes active here once it has some. "+
			"(If you know it had spend since it joined, tell the reseller's support: the service cannot know that.)",
			bd.LastReportAt.UTC().Format(time.RFC3339), bd.DataThrough.UTC().Format(time.RFC3339), inv.AccountID)
		return []Step{noSpend}
	case BillingPresent:
		return nil
	}
	wait := Step{
		Code:   StepWaitForCUR,
		At:     bd.NextReportExpectedBy,
		Title:  "Billing data takes 24 to 72 hours",
		Detail: fmt.Sprintf("The account joined %s ago. AWS writes its usage into the payer's Cost and Usage Report, refreshed at least daily; then the account becomes active here.", humanDuration(inv.sinceJoined(now))),
	}
	if !bd.NextReportExpectedBy.IsZero() {
		wait.Detail += " The next refresh is due by " + bd.NextReportExpectedBy.UTC().Format(time.RFC3339) + "."
	}
	return []Step{wait, noSpend}
}
