package cur

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/shopspring/decimal"

	"github.com/cloudreseller/aws-invites/internal/invite"
)

// Reader reads payers' reports for the domain (invite.CURReader) from one Store: S3 in production, a folder in
// the sandbox.
type Reader struct{ Store ObjectStore }

var _ invite.CURReader = Reader{}

func location(loc invite.CURLocation) Location {
	f := FormatLegacy
	if loc.Format == invite.CUR2 {
		f = FormatCUR2
	}
	return Location{Bucket: loc.Bucket, Prefix: loc.Prefix, Report: loc.Report, Format: f}
}

// Read finds the newest report version of the billing period and, unless it is skipVersion, scans it. A usage
// account billed under several payers in the report is summed into one.
func (r Reader) Read(ctx context.Context, loc invite.CURLocation, period time.Time, skipVersion string) (invite.CURScan, error) {
	rep, err := Discover(ctx, r.Store, location(loc), period)
	if errors.Is(err, ErrNoReport) {
		return invite.CURScan{}, fmt.Errorf("%w: %v", invite.ErrNoCURReport, err)
	}
	if err != nil {
		return invite.CURScan{}, err
	}
	if rep.VersionID != "" && rep.VersionID == skipVersion {
		return invite.CURScan{VersionID: rep.VersionID, Unchanged: true}, nil
	}
	sum, err := Scan(ctx, r.Store, rep)
	if err != nil {
		return invite.CURScan{}, err
	}
	type acc struct {
		invite.CURAccount
		cost decimal.Decimal
	}
	byAccount := map[string]*acc{}
	for _, u := range sum.Accounts {
		a, ok := byAccount[u.AccountID]
		if !ok {
			a = &acc{CURAccount: invite.CURAccount{AccountID: u.AccountID, FirstUsage: u.FirstUsageStart, LastUsage: u.LastUsageStart}}
			byAccount[u.AccountID] = a
		}
		a.LineItems += u.LineItems
		a.cost = a.cost.Add(u.UnblendedCost)
		if u.PayerAccountID != "" && !slices.Contains(a.BillPayers, u.PayerAccountID) {
			a.BillPayers = append(a.BillPayers, u.PayerAccountID)
			slices.Sort(a.BillPayers)
		}
		if !u.FirstUsageStart.IsZero() && (a.FirstUsage.IsZero() || u.FirstUsageStart.Before(a.FirstUsage)) {
			a.FirstUsage = u.FirstUsageStart
		}
		if u.LastUsageStart.After(a.LastUsage) {
			a.LastUsage = u.LastUsageStart
		}
	}
	out := invite.CURScan{VersionID: rep.VersionID, Accounts: make([]invite.CURAccount, 0, len(byAccount))}
	for _, a := range byAccount {
		a.UnblendedCost = a.cost.String()
		out.Accounts = append(out.Accounts, a.CURAccount)
	}
	sort.Slice(out.Accounts, func(i, j int) bool { return out.Accounts[i].AccountID < out.Accounts[j].AccountID })
	return out, nil
}

// Deliver writes a new version of a payer's report with one usage line item per account (invite.SandboxCUR), as
// AWS would deliver it; the sandbox uses it so that the walk to active can be done by hand.
func (r Reader) Deliver(ctx context.Context, loc invite.CURLocation, period time.Time, lines []invite.CURLine, at time.Time) error {
	rows := make([]Row, 0, len(lines))
	for _, l := range lines {
		cost, err := decimal.NewFromString(l.UnblendedCost)
		if err != nil {
			return invite.Errorf(invite.CodeValidationFailed, "unblendedCost %q is not a decimal number", l.UnblendedCost)
		}
		start := at.UTC().Truncate(time.Hour)
		if start.Before(period) {
			start = period
		}
		rows = append(rows, Row{PayerAccountID: l.BillPayer, UsageAccountID: l.AccountID, UsageStart: start, UnblendedCost: cost})
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].UsageAccountID < rows[j].UsageAccountID })
	_, err := WriteLegacyReport(ctx, r.Store, location(loc), period, "", rows)
	return err
}
