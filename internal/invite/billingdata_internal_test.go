package invite

import (
	"testing"
	"time"

	"github.com/cloudreseller/aws-invites/internal/testclock"
)

// TestBillingDataOf: the state of a joined account's billing data from its payer's report, at the edges of each
// rule, for a join and for a billing transfer (whose transferred organization's accounts count).
func TestBillingDataOf(t *testing.T) {
	joined := testclock.MustStart()
	join := Invite{Kind: InviteJoin, AccountID: "123456789012", JoinedAt: &joined}
	transfer := Invite{Kind: InviteTransfer, AccountID: "210987654321", JoinedAt: &joined}
	own := map[string]CURUsage{"123456789012": {AccountID: "123456789012"}}
	member := map[string]CURUsage{"333333333333": {AccountID: "333333333333", BillPayers: []string{"210987654321"}}}
	feed := func(delivered, through time.Time) CURFeed {
		return CURFeed{Period: BillingPeriod(delivered), VersionID: "v", DeliveredAt: delivered, DataThrough: through}
	}
	afterADay := feed(joined.Add(26*time.Hour), joined.Add(25*time.Hour))
	late := ReportRefresh + ReportLateSlack
	cases := []struct {
		name       string
		inv        Invite
		configured bool
		feed       CURFeed
		usage      map[string]CURUsage
		now        time.Time
		want       BillingDataState
		expectedBy time.Time
	}{
		{"no location", join, false, afterADay, own, joined.Add(time.Hour), BillingNotConfigured, time.Time{}},
		{"cannot be read", join, true, CURFeed{Problem: "NoSuchBucket"}, nil, joined.Add(time.Hour), BillingUnreadable, joined.Add(ReportRefresh)},
		{"never a report", join, true, CURFeed{}, nil, joined.Add(time.Hour), BillingAwaitingFirstReport, joined.Add(ReportRefresh)},
		{"never a report, just within the slack", join, true, CURFeed{}, nil, joined.Add(late), BillingAwaitingFirstReport, joined.Add(ReportRefresh)},
		{"never a report, past the slack", join, true, CURFeed{}, nil, joined.Add(late + time.Second), BillingReportLate, joined.Add(ReportRefresh)},
		{"a report before the join", join, true, feed(joined.Add(-time.Hour), joined), nil, joined.Add(time.Hour), BillingAwaitingFirstReport, joined.Add(23 * time.Hour)},
		{"after the join, not a day past it", join, true, feed(joined.Add(23*time.Hour), joined.Add(UsageCoverage-time.Second)), nil,
			joined.Add(23 * time.Hour), BillingAwaitingFirstReport, joined.Add(47 * time.Hour)},
		{"after the join, a day past it", join, true, feed(joined.Add(25*time.Hour), joined.Add(UsageCoverage)), nil,
			joined.Add(25 * time.Hour), BillingNoUsageSinceJoin, joined.Add(49 * time.Hour)},
		{"with usage", join, true, afterADay, own, joined.Add(26 * time.Hour), BillingPresent, joined.Add(50 * time.Hour)},
		{"with usage, report late", join, true, afterADay, own, joined.Add(26*time.Hour + late + time.Second), BillingReportLate, joined.Add(50 * time.Hour)},
		{"transfer, a member account's usage", transfer, true, afterADay, member, joined.Add(26 * time.Hour), BillingPresent, joined.Add(50 * time.Hour)},
		{"transfer, another organization's usage", transfer, true, afterADay, own, joined.Add(26 * time.Hour), BillingNoUsageSinceJoin, joined.Add(50 * time.Hour)},
	}
	for _, tc := range cases {
		got := billingDataOf(tc.inv, tc.configured, tc.feed, tc.usage, tc.now)
		if got.State != tc.want || !got.NextReportExpectedBy.Equal(tc.expectedBy) {
			t.Errorf("%s: %s, expected by %s; want %s, %s", tc.name, got.State, got.NextReportExpectedBy, tc.want, tc.expectedBy)
		}
		if tc.configured && (!got.LastReportAt.Equal(tc.feed.DeliveredAt) || !got.DataThrough.Equal(tc.feed.DataThrough)) {
			t.Errorf("%s: %+v does not say the feed's times %+v", tc.name, got, tc.feed)
		}
	}
}

// TestBillingDataStepsSayWhoActs: only a late report offers the support ticket; what the reseller must fix is the
// reseller's step; no usage says nothing is wrong.
func TestBillingDataStepsSayWhoActs(t *testing.T) {
	joined := testclock.MustStart()
	now := joined.Add(72 * time.Hour)
	for state, want := range map[BillingDataState]StepCode{
		BillingNotConfigured:       StepBillingDataSetup,
		BillingUnreadable:          StepBillingDataUnreadable,
		BillingReportLate:          StepOpenSupportTicket,
		BillingNoUsageSinceJoin:    StepNoSpendNoData,
		BillingAwaitingFirstReport: StepWaitForCUR,
	} {
		inv := Invite{State: StateAwaitingCUR, AccountID: "123456789012", JoinedAt: &joined, BillingData: &BillingData{State: state}}
		steps := NextSteps(inv, now)
		found := false
		for _, s := range steps {
			found = found || s.Code == want
			if s.Code == StepOpenSupportTicket && state != BillingReportLate {
				t.Errorf("%s 72 hours after the join offers a support ticket", state)
			}
		}
		if !found {
			t.Errorf("%s: steps %+v lack %s", state, steps, want)
		}
		if state.ResellersToFix() != (want.Actor() == StepByReseller) {
			t.Errorf("%s: step %s is the %s's", state, want, want.Actor())
		}
	}
}
