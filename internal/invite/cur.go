package invite

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// CURAccount is one usage account's line items in one billing period of a payer's report.
type CURAccount struct {
	AccountID     string
	BillPayers    []string // the payer accounts its line items name, sorted
	LineItems     int64
	UnblendedCost string // exact decimal
	FirstUsage    time.Time
	LastUsage     time.Time
}

// CURScan is what one read of a payer's report found.
type CURScan struct {
	VersionID   string // assemblyId or executionId: a version already scanned is not read again
	Unchanged   bool   // the newest version is the one already scanned; Accounts is empty
	Accounts    []CURAccount
	DeliveredAt time.Time // when the version was delivered (its manifest's write time)
	DataThrough time.Time // how far its line items reach; zero when it has none (or Unchanged)
}

// BillingPeriod names the month of t as CUR does (YYYY-MM).
func BillingPeriod(t time.Time) string { return t.UTC().Format("2006-01") }

// periodStart is the first instant of t's billing period.
func periodStart(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// CURFollower reads each payer's Cost and Usage Report and moves joined invites whose account has line items to
// active. One scan serves every invite of the payer.
type CURFollower struct {
	*core
	store  CURFollowerStore
	reader CURReader
	scans  CURStore
}

// NewCURFollower returns the follower over a report reader and the store of what scans found.
func NewCURFollower(st CURFollowerStore, d Deps, reader CURReader, scans CURStore) *CURFollower {
	return &CURFollower{core: newCore(d, st), store: st, reader: reader, scans: scans}
}

// CURReport is what ScanCUR did for one payer.
type CURReport struct {
	Payer     string
	Period    string
	VersionID string
	Scanned   bool // false when the newest version had been scanned already (or there is no report yet)
	Accounts  int
	Activated int // invites moved to active
	// Feed is the state of the payer's report as a whole: not_configured, unreadable, report_late, or present
	// when a report is read and not late (awaiting_first_report when none was ever read). For the reseller's
	// metric: the states that are its to fix.
	Feed BillingDataState
	// Problem says why the report could not be read, for the reseller's log; empty when it was.
	Problem string
	// BillingChanged counts the invites whose billing data state changed.
	BillingChanged int
}

// Scan reads the payer's report for the current billing period, unless its newest version was scanned
// already, records the usage per account and what the payer's report is as a whole (when delivered, how far it
// reaches, why it cannot be read), moves joined invites whose account has line items to active, and brings every
// joined invite's billing data up to date. One read of the report serves every invite of the payer: no call per
// invite.
func (s *CURFollower) Scan(ctx context.Context, managementAccountID string) (CURReport, error) {
	now := s.now(managementAccountID)
	rep := CURReport{Payer: managementAccountID, Period: BillingPeriod(now)}
	loc, configured, err := s.location(ctx, managementAccountID)
	if err != nil {
		return rep, err
	}
	feed, err := s.scans.CURFeed(ctx, managementAccountID)
	if err != nil {
		return rep, err
	}
	var unreadable error
	if configured {
		if feed, unreadable, err = s.read(ctx, managementAccountID, loc, feed, now, &rep); err != nil {
			return rep, err
		}
	}
	rep.Feed = feedState(configured, feed, now)
	rep.Activated, rep.BillingChanged, err = s.apply(ctx, managementAccountID, rep.Period, configured, feed, now)
	// An unreadable report is the scan's failure too (the job's outcome, the reseller's alert), once its invites
	// say so.
	return rep, errors.Join(unreadable, err)
}

// read looks at the payer's report, records a new version's usage, and returns (and keeps) what the look found
// of the report as a whole. While the current billing period has no report yet (the first day or so of a month),
// it looks at the previous period's, which AWS keeps refreshing for some days into the new month. A read that
// failed for a reason that may pass by itself changes nothing (err); one that cannot pass by itself is kept as the
// feed's problem and returned as unreadable.
func (s *CURFollower) read(ctx context.Context, payer string, loc CURLocation, feed CURFeed, now time.Time, rep *CURReport) (_ CURFeed, unreadable, err error) {
	feed.Payer, feed.CheckedAt = payer, now
	current := periodStart(now)
	for _, start := range []time.Time{current, current.AddDate(0, -1, 0)} {
		period := BillingPeriod(start)
		last, err := s.scans.CURVersion(ctx, payer, period)
		if err != nil {
			return feed, nil, err
		}
		skip := last
		if feed.Period != period || feed.VersionID != last {
			// The feed does not describe the version last scanned (a pass stopped between the two writes, or the
			// feed is new): read it again so that its delivery and reach are known.
			skip = ""
		}
		scan, err := s.reader.Read(ctx, loc, start, skip)
		switch {
		case errors.Is(err, ErrNoCURReport):
			// No data for this billing period yet: the newest version read stays what the feed says.
			feed.Problem = ""
			continue
		case errors.Is(err, ErrCURUnreadable):
			feed.Problem = err.Error()
			rep.Problem, unreadable = feed.Problem, err
		case err != nil:
			return feed, nil, err
		case !scan.Unchanged:
			if err := s.scans.SaveCURScan(ctx, payer, period, scan, now); err != nil {
				return feed, nil, err
			}
			rep.Scanned, rep.VersionID, rep.Accounts = true, scan.VersionID, len(scan.Accounts)
			feed.Period, feed.VersionID, feed.DeliveredAt, feed.DataThrough, feed.Problem = period, scan.VersionID, scan.DeliveredAt, scan.DataThrough, ""
		default:
			rep.VersionID = last
			feed.Problem = ""
			if !scan.DeliveredAt.IsZero() {
				feed.DeliveredAt = scan.DeliveredAt
			}
		}
		break
	}
	return feed, unreadable, s.scans.SaveCURFeed(ctx, feed)
}

// feedState is the state of the payer's report as a whole, as a joined invite without usage would see it.
func feedState(configured bool, feed CURFeed, now time.Time) BillingDataState {
	switch {
	case !configured:
		return BillingNotConfigured
	case feed.Problem != "":
		return BillingUnreadable
	case feed.DeliveredAt.IsZero():
		return BillingAwaitingFirstReport
	case now.After(feed.DeliveredAt.Add(ReportRefresh + ReportLateSlack)):
		return BillingReportLate
	}
	return BillingPresent
}

// location is the report location of the payer's first billing profile that names one.
func (s *CURFollower) location(ctx context.Context, managementAccountID string) (CURLocation, bool, error) {
	profiles, err := s.store.ProfilesOfPayer(ctx, managementAccountID)
	if err != nil {
		return CURLocation{}, false, err
	}
	for _, bp := range profiles {
		if bp.CUR.Configured() {
			return bp.CUR, true, nil
		}
	}
	return CURLocation{}, false, nil
}

// apply brings the payer's joined invites up to date with the stored usage of the period (also those that
// joined after the version was scanned), and their billing data with what the payer's report is.
func (s *CURFollower) apply(ctx context.Context, payer, period string, configured bool, feed CURFeed, now time.Time) (activated, billingChanged int, err error) {
	invites, err := s.store.InvitesOfPayer(ctx, payer, StatesWhere(State.FollowsCUR))
	if err != nil || len(invites) == 0 {
		return 0, 0, err
	}
	// The newest version read is of the previous period while this one has no report yet: its usage counts.
	if feed.Period != "" && feed.Period < period {
		period = feed.Period
	}
	usage, err := s.scans.CURUsage(ctx, payer, period)
	if err != nil {
		return 0, 0, err
	}
	var errs []error
	for _, inv := range invites {
		u, ok := inv.Kind.rules().usageOf(inv, usage)
		activates := ok && inv.State == StateAwaitingCUR
		inv, changed, err := s.applyBillingData(ctx, inv, configured, feed, usage, now, activates)
		if changed {
			billingChanged++
		}
		if err == nil {
			err = s.applyUsage(ctx, inv, u, ok, period, &activated)
		}
		if err != nil && !IsCode(err, CodeConcurrentUpdate) {
			errs = append(errs, fmt.Errorf("invite %s: %w", inv.ID, err))
		}
	}
	return activated, billingChanged, errors.Join(errs...)
}

// applyBillingData writes the invite's billing data when it changed: with an event (invite.billing_data_changed)
// when its state changed, without one when only its times did (unless the invite is about to be written anyway,
// activates). The first billing data of an invite is written without an event when it is the expected start,
// awaiting_first_report.
func (s *CURFollower) applyBillingData(ctx context.Context, inv Invite, configured bool, feed CURFeed, usage map[string]CURUsage, now time.Time, activates bool) (Invite, bool, error) {
	bd := billingDataOf(inv, configured, feed, usage, now)
	if sameBillingData(inv.BillingData, bd) {
		return inv, false, nil
	}
	before := inv.BillingData
	inv.BillingData = &bd
	switch {
	case before != nil && before.State != bd.State, before == nil && bd.State != BillingAwaitingFirstReport:
		from := BillingDataState("none")
		if before != nil {
			from = before.State
		}
		after, err := s.note(ctx, inv, EventBillingData, Actor{Kind: ActorCUR}, fmt.Sprintf("billing data %s -> %s: %s", from, bd.State, billingDataReason(inv, bd)))
		if err != nil {
			return inv, false, err
		}
		return after, true, nil
	case activates:
		return inv, false, nil
	}
	after, err := s.save(ctx, inv, Event{})
	if err != nil {
		return inv, false, err
	}
	return after, false, nil
}

// billingDataReason says why an invite's billing data is in its state, for its history.
func billingDataReason(inv Invite, bd BillingData) string {
	at := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	switch bd.State {
	case BillingNotConfigured:
		return "no billing profile of the payer says where its Cost and Usage Report is delivered"
	case BillingUnreadable:
		return "the payer's Cost and Usage Report cannot be read (the reseller's set-up: bucket, access or report)"
	case BillingReportLate:
		if bd.LastReportAt.IsZero() {
			return "no Cost and Usage Report was ever delivered for the payer, and one was due by " + at(bd.NextReportExpectedBy)
		}
		return "the payer's newest Cost and Usage Report was delivered at " + at(bd.LastReportAt) + "; AWS's daily refresh was due by " + at(bd.NextReportExpectedBy)
	case BillingNoUsageSinceJoin:
		return "the report delivered at " + at(bd.LastReportAt) + " reaches " + at(bd.DataThrough) + " and has no line items for account " + inv.AccountID
	case BillingPresent:
		return "the payer's Cost and Usage Report has line items for account " + inv.AccountID
	}
	return "no report delivered since the join reaches a day past it yet"
}

// applyUsage records the account's usage of the period on the invite, and moves it to active when it awaits it.
func (s *CURFollower) applyUsage(ctx context.Context, inv Invite, u CURUsage, ok bool, period string, activated *int) error {
	if !ok || (inv.CUR != nil && sameFigures(*inv.CUR, u) && inv.State != StateAwaitingCUR) {
		return nil
	}
	inv.CUR = &u
	if inv.CURSeenAt == nil {
		seen := u.FirstSeenAt
		inv.CURSeenAt = &seen
	}
	if inv.State != StateAwaitingCUR {
		_, err := s.save(ctx, inv, Event{})
		return err
	}
	whose := "the account"
	if u.AccountID != inv.AccountID {
		whose = "account " + u.AccountID + " of the transferred organization"
	}
	_, err := s.transition(ctx, inv, StateActive, nil, Actor{Kind: ActorCUR}, fmt.Sprintf(
		"the payer's Cost and Usage Report has %d line items for %s in %s (unblended cost %s)", u.LineItems, whose, period, u.UnblendedCost))
	if err == nil {
		*activated++
	}
	return err
}

// sameFigures reports whether two readings of an account's usage say the same (what an invite keeps of them).
func sameFigures(a, b CURUsage) bool {
	return a.BillingPeriod == b.BillingPeriod && a.LineItems == b.LineItems && a.UnblendedCost == b.UnblendedCost &&
		a.FirstUsageAt.Equal(b.FirstUsageAt) && a.LastUsageAt.Equal(b.LastUsageAt) && a.FirstSeenAt.Equal(b.FirstSeenAt)
}

// CURReader reads the newest version of a payer's report for a billing period.
type CURReader interface {
	// Read returns ErrNoCURReport when the period has no report yet; when the newest version is skipVersion it
	// returns Unchanged without reading the data.
	Read(ctx context.Context, loc CURLocation, period time.Time, skipVersion string) (CURScan, error)
}

// ErrNoCURReport says that a payer's report has no data for the billing period yet.
var ErrNoCURReport = errors.New("no cost and usage report for the billing period yet")

// CURStore keeps what the scans found, per payer, billing period and usage account.
type CURStore interface {
	// CURVersion returns the version last scanned for the payer and period, or "".
	CURVersion(ctx context.Context, payer, period string) (string, error)
	// SaveCURScan records a scan: every account's usage (keeping when each was first seen) and the version.
	SaveCURScan(ctx context.Context, payer, period string, scan CURScan, at time.Time) error
	// CURUsage returns the stored usage of the payer's accounts in the period, by account id.
	CURUsage(ctx context.Context, payer, period string) (map[string]CURUsage, error)
	// CURFeed returns what the last look at the payer's report found of it as a whole; zero when none was kept.
	CURFeed(ctx context.Context, payer string) (CURFeed, error)
	// SaveCURFeed keeps what a look at a payer's report found of it as a whole.
	SaveCURFeed(ctx context.Context, feed CURFeed) error
}
