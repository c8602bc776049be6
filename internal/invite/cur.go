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
	VersionID string // assemblyId or executionId: a version already scanned is not read again
	Unchanged bool   // the newest version is the one already scanned; Accounts is empty
	Accounts  []CURAccount
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
}

// Scan reads the payer's report for the current billing period, unless its newest version was scanned
// already, records the usage per account, and moves joined invites whose account has line items to active. One
// scan serves every invite of the payer.
func (s *CURFollower) Scan(ctx context.Context, managementAccountID string) (CURReport, error) {
	now := s.now(managementAccountID)
	rep := CURReport{Payer: managementAccountID, Period: BillingPeriod(now)}
	loc, ok, err := s.location(ctx, managementAccountID)
	if err != nil || !ok {
		return rep, err
	}
	last, err := s.scans.CURVersion(ctx, managementAccountID, rep.Period)
	if err != nil {
		return rep, err
	}
	scan, err := s.reader.Read(ctx, loc, periodStart(now), last)
	switch {
	case errors.Is(err, ErrNoCURReport):
	case err != nil:
		return rep, err
	case !scan.Unchanged:
		if err := s.scans.SaveCURScan(ctx, managementAccountID, rep.Period, scan, now); err != nil {
			return rep, err
		}
		rep.Scanned, rep.VersionID, rep.Accounts = true, scan.VersionID, len(scan.Accounts)
	default:
		rep.VersionID = last
	}
	rep.Activated, err = s.apply(ctx, managementAccountID, rep.Period)
	return rep, err
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
// joined after the version was scanned).
func (s *CURFollower) apply(ctx context.Context, payer, period string) (int, error) {
	usage, err := s.scans.CURUsage(ctx, payer, period)
	if err != nil || len(usage) == 0 {
		return 0, err
	}
	invites, err := s.store.InvitesOfPayer(ctx, payer, StatesWhere(State.FollowsCUR))
	if err != nil {
		return 0, err
	}
	activated := 0
	var errs []error
	for _, inv := range invites {
		u, ok := inv.Kind.rules().usageOf(inv, usage)
		if !ok || (inv.CUR != nil && sameFigures(*inv.CUR, u) && inv.State != StateAwaitingCUR) {
			continue
		}
		inv.CUR = &u
		if inv.CURSeenAt == nil {
			seen := u.FirstSeenAt
			inv.CURSeenAt = &seen
		}
		if inv.State == StateAwaitingCUR {
			whose := "the account"
			if u.AccountID != inv.AccountID {
				whose = "account " + u.AccountID + " of the transferred organization"
			}
			_, err = s.transition(ctx, inv, StateActive, nil, Actor{Kind: ActorCUR}, fmt.Sprintf(
				"the payer's Cost and Usage Report has %d line items for %s in %s (unblended cost %s)", u.LineItems, whose, period, u.UnblendedCost))
			if err == nil {
				activated++
			}
		} else {
			_, err = s.save(ctx, inv, Event{})
		}
		if err != nil && !IsCode(err, CodeConcurrentUpdate) {
			errs = append(errs, fmt.Errorf("invite %s: %w", inv.ID, err))
		}
	}
	return activated, errors.Join(errs...)
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
}
