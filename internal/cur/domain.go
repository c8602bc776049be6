package cur

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path"
	"slices"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"

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
		return invite.CURScan{}, unreadable(err)
	}
	if rep.VersionID != "" && rep.VersionID == skipVersion {
		return invite.CURScan{VersionID: rep.VersionID, Unchanged: true, DeliveredAt: rep.DeliveredAt}, nil
	}
	sum, err := Scan(ctx, r.Store, rep)
	if err != nil {
		return invite.CURScan{}, unreadable(err)
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
	out := invite.CURScan{VersionID: rep.VersionID, DeliveredAt: rep.DeliveredAt, Accounts: make([]invite.CURAccount, 0, len(byAccount))}
	for _, a := range byAccount {
		a.UnblendedCost = a.cost.String()
		out.Accounts = append(out.Accounts, a.CURAccount)
		// The reader keeps each line item's start, not its end: the data reaches the end of the hour the newest
		// line item starts in. Hourly reports are what the service is set up for; a daily-granularity report's
		// line items end a day after their start, so this under-states how far it reaches (never over-states it).
		if through := a.LastUsage.Add(time.Hour); !a.LastUsage.IsZero() && through.After(out.DataThrough) {
			out.DataThrough = through
		}
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
	rep, err := WriteLegacyReport(ctx, r.Store, location(loc), period, "", rows)
	if err != nil {
		return err
	}
	// The report is delivered at the sandbox's time, which may run ahead of the real one: a folder's files are
	// stamped with it, so that the delivery's time (and its order among deliveries) is the sandbox's.
	if st, ok := r.Store.(stamper); ok {
		manifest := loc.Report + "-Manifest.json"
		for _, key := range []string{rep.Parts[0].Key, path.Dir(rep.Parts[0].Key) + "/" + manifest, rep.ManifestKey} {
			if err := st.Stamp(loc.Bucket, key, at); err != nil {
				return err
			}
		}
	}
	return nil
}

// stamper is a store whose objects' write times can be set (a folder's files).
type stamper interface {
	Stamp(bucket, key string, at time.Time) error
}

// unreadable marks a failed read of a report as the reseller's to fix (invite.ErrCURUnreadable) unless it may pass
// by itself: a canceled or timed-out read, a network failure, or an answer of S3 that its own retries treat as
// passing (throttling, 5xx). A missing bucket, denied access, a missing manifest or part, and a manifest or file
// that cannot be parsed stay until someone changes the bucket, the role or the report's settings.
func unreadable(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		if code := re.HTTPStatusCode(); code >= 500 || code == 429 || code == 408 {
			return err
		}
		if (retry.ThrottleErrorCode{Codes: retry.DefaultThrottleErrorCodes}).IsErrorThrottle(err).Bool() {
			return err
		}
		return fmt.Errorf("%w: %w", invite.ErrCURUnreadable, err)
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return err
	}
	return fmt.Errorf("%w: %w", invite.ErrCURUnreadable, err)
}
