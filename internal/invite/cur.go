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

// curStates are the states whose invites the payer's CUR speaks about.
var curStates = []State{StateAwaitingCUR, StateActive, StateCloudHealthCritical}

// BillingPeriod names the month of t as CUR does (YYYY-MM).
func BillingPeriod(t time.Time) string { return t.UTC().Format("2006-01") }

// CURReport is what ScanCUR did for one payer.
type CURReport struct {
	Payer     string
	Period    string
	VersionID string
	Scanned   bool // false when the newest version had been scanned already (or there is no report yet)
	Accounts  int
	Activated int // invites moved to active
}

// ScanCUR reads the payer's report for the current billing period, unless its newest version was scanned
// already, records the usage per account, and moves joined invites whose account has line items to active. One
// scan serves every invite of the payer.
func (s *Service) ScanCUR(ctx context.Context, managementAccountID string) (CURReport, error) {
	now := s.clock.Now()
	rep := CURReport{Payer: managementAccountID, Period: BillingPeriod(now)}
	if s.cur == nil || s.curStore == nil {
		return rep, nil
	}
	loc, ok, err := s.curLocation(ctx, managementAccountID)
	if err != nil || !ok {
		return rep, err
	}
	last, err := s.curStore.CURVersion(ctx, managementAccountID, rep.Period)
	if err != nil {
		return rep, err
	}
	scan, err := s.cur.Read(ctx, loc, time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC), last)
	switch {
	case errors.Is(err, ErrNoCURReport):
	case err != nil:
		return rep, err
	case !scan.Unchanged:
		if err := s.curStore.SaveCURScan(ctx, managementAccountID, rep.Period, scan, now); err != nil {
			return rep, err
		}
		rep.Scanned, rep.VersionID, rep.Accounts = true, scan.VersionID, len(scan.Accounts)
	default:
		rep.VersionID = last
	}
	rep.Activated, err = s.applyCUR(ctx, managementAccountID, rep.Period)
	return rep, err
}

// curLocation is the report location of the payer's first billing profile that names one.
func (s *Service) curLocation(ctx context.Context, managementAccountID string) (CURLocation, bool, error) {
	profiles, err := s.store.BillingProfiles(ctx)
	if err != nil {
		return CURLocation{}, false, err
	}
	for _, bp := range profiles {
		if bp.ManagementAccountID == managementAccountID && bp.CUR.Configured() {
			return bp.CUR, true, nil
		}
	}
	return CURLocation{}, false, nil
}

// applyCUR brings the payer's joined invites up to date with the stored usage of the period (also those that
// joined after the version was scanned).
func (s *Service) applyCUR(ctx context.Context, payer, period string) (int, error) {
	usage, err := s.curStore.CURUsage(ctx, payer, period)
	if err != nil || len(usage) == 0 {
		return 0, err
	}
	invites, err := s.store.InvitesOfPayer(ctx, payer, curStates)
	if err != nil {
		return 0, err
	}
	activated := 0
	var errs []error
	for _, inv := range invites {
		u, ok := usage[inv.AccountID]
		if !ok || (inv.CUR != nil && *inv.CUR == u && inv.State != StateAwaitingCUR) {
			continue
		}
		inv.CUR = &u
		if inv.CURSeenAt == nil {
			seen := u.FirstSeenAt
			inv.CURSeenAt = &seen
		}
		if inv.State == StateAwaitingCUR {
			_, err = s.transition(ctx, inv, StateActive, nil, Actor{Kind: ActorCUR}, fmt.Sprintf(
				"the payer's Cost and Usage Report has %d line items for the account in %s (unblended cost %s)", u.LineItems, period, u.UnblendedCost))
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

// SandboxDeliverCUR writes a small real report with line items for the invite's account where the sandbox reads
// the payer's CUR, then scans it, so the walk from invite to active can be done by hand.
func (s *Service) SandboxDeliverCUR(ctx context.Context, p Principal, billingProfileID, inviteID, unblendedCost string) (Invite, error) {
	bp, inv, err := s.sandboxInvite(ctx, p, billingProfileID, inviteID, s.sandboxCUR != nil && s.curStore != nil)
	if err != nil {
		return Invite{}, err
	}
	loc, ok, err := s.curLocation(ctx, bp.ManagementAccountID)
	if err != nil {
		return Invite{}, err
	}
	if !ok {
		return Invite{}, Errorf(CodeInvalidState, "billing profile %s names no Cost and Usage Report location", bp.ID)
	}
	now := s.clock.Now()
	period := BillingPeriod(now)
	usage, err := s.curStore.CURUsage(ctx, bp.ManagementAccountID, period)
	if err != nil {
		return Invite{}, err
	}
	// AWS rewrites the whole month at each delivery: the accounts delivered before, and this one.
	costs := map[string]string{}
	for acct, u := range usage {
		costs[acct] = u.UnblendedCost
	}
	costs[inv.AccountID] = unblendedCost
	if err := s.sandboxCUR.Deliver(ctx, loc, bp.ManagementAccountID, time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC), costs, now); err != nil {
		return Invite{}, err
	}
	if _, err := s.ScanCUR(ctx, bp.ManagementAccountID); err != nil {
		return Invite{}, err
	}
	return s.invite(ctx, billingProfileID, inviteID)
}

// SandboxCUR writes reports where the sandbox reads them.
type SandboxCUR interface {
	// Deliver writes a new version of the payer's report for the period with one line item per account.
	Deliver(ctx context.Context, loc CURLocation, payer string, period time.Time, costs map[string]string, at time.Time) error
}
