package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/cloudreseller/aws-invites/internal/invite"
)

var _ invite.CURStore = (*Store)(nil)

type curScanRow struct {
	Payer         string    `gorm:"column:payer;primaryKey"`
	BillingPeriod string    `gorm:"column:billing_period;primaryKey"`
	VersionID     string    `gorm:"column:version_id"`
	Accounts      int       `gorm:"column:accounts"`
	LineItems     int64     `gorm:"column:line_items"`
	ScannedAt     time.Time `gorm:"column:scanned_at"`
}

func (curScanRow) TableName() string { return "cur_scans" }

type curUsageRow struct {
	Payer           string     `gorm:"column:payer;primaryKey"`
	BillingPeriod   string     `gorm:"column:billing_period;primaryKey"`
	AccountID       string     `gorm:"column:account_id;primaryKey"`
	LineItems       int64      `gorm:"column:line_items"`
	UnblendedCost   string     `gorm:"column:unblended_cost"`
	BillPayers      string     `gorm:"column:bill_payers"` // comma-separated
	FirstUsageStart *time.Time `gorm:"column:first_usage_start"`
	LastUsageStart  *time.Time `gorm:"column:last_usage_start"`
	FirstSeenAt     time.Time  `gorm:"column:first_seen_at"`
	UpdatedAt       time.Time  `gorm:"column:updated_at"`
}

func (curUsageRow) TableName() string { return "cur_account_usage" }

// CURVersion returns the report version last scanned for a payer and billing period, or "".
func (s *Store) CURVersion(ctx context.Context, payer, period string) (string, error) {
	var rows []curScanRow
	if err := s.db.WithContext(ctx).Where("payer = ? AND billing_period = ?", payer, period).Limit(1).Find(&rows).Error; err != nil {
		return "", fmt.Errorf("store: cur version of %s %s: %w", payer, period, err)
	}
	if len(rows) == 0 {
		return "", nil
	}
	return rows[0].VersionID, nil
}

// SaveCURScan records a scan in one transaction: each account's usage replaces the previous one, keeping when the
// account was first seen in the period, and the scanned version is remembered.
func (s *Store) SaveCURScan(ctx context.Context, payer, period string, scan invite.CURScan, at time.Time) error {
	at = dbTime(at)
	rows, scanned := scanRowsOf(payer, period, scan, at)
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if len(rows) > 0 {
			err := tx.Clauses(clause.OnConflict{
				Columns:   []clause.Column{{Name: "payer"}, {Name: "billing_period"}, {Name: "account_id"}},
				DoUpdates: clause.AssignmentColumns([]string{"line_items", "unblended_cost", "bill_payers", "first_usage_start", "last_usage_start", "updated_at"}),
			}).CreateInBatches(rows, 500).Error
			if err != nil {
				return err
			}
		}
		return tx.Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "payer"}, {Name: "billing_period"}},
			DoUpdates: clause.AssignmentColumns([]string{"version_id", "accounts", "line_items", "scanned_at"}),
		}).Create(&scanned).Error
	})
	if err != nil {
		return fmt.Errorf("store: save cur scan of %s %s: %w", payer, period, err)
	}
	return nil
}

// CURUsage returns the stored usage of a payer's accounts in a billing period, by account id.
func (s *Store) CURUsage(ctx context.Context, payer, period string) (map[string]invite.CURUsage, error) {
	var rows []curUsageRow
	if err := s.db.WithContext(ctx).Where("payer = ? AND billing_period = ?", payer, period).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: cur usage of %s %s: %w", payer, period, err)
	}
	out := make(map[string]invite.CURUsage, len(rows))
	for _, r := range rows {
		out[r.AccountID] = r.domain()
	}
	return out, nil
}

// scanRowsOf is what a scan writes: each account's usage, first seen at (unless it was seen before), and the scan.
func scanRowsOf(payer, period string, scan invite.CURScan, at time.Time) ([]curUsageRow, curScanRow) {
	var items int64
	rows := make([]curUsageRow, len(scan.Accounts))
	for i, a := range scan.Accounts {
		items += a.LineItems
		rows[i] = curUsageRow{Payer: payer, BillingPeriod: period, AccountID: a.AccountID, LineItems: a.LineItems,
			UnblendedCost: a.UnblendedCost, BillPayers: strings.Join(a.BillPayers, ","), FirstUsageStart: optionalTime(a.FirstUsage), LastUsageStart: optionalTime(a.LastUsage),
			FirstSeenAt: at, UpdatedAt: at}
	}
	return rows, curScanRow{Payer: payer, BillingPeriod: period, VersionID: scan.VersionID, Accounts: len(rows), LineItems: items, ScannedAt: at}
}

func (r curUsageRow) domain() invite.CURUsage {
	var payers []string
	if r.BillPayers != "" {
		payers = strings.Split(r.BillPayers, ",")
	}
	return invite.CURUsage{AccountID: r.AccountID, BillPayers: payers, BillingPeriod: r.BillingPeriod, LineItems: r.LineItems, UnblendedCost: r.UnblendedCost,
		FirstUsageAt: valueTime(r.FirstUsageStart), LastUsageAt: valueTime(r.LastUsageStart), FirstSeenAt: r.FirstSeenAt.UTC()}
}

// curFeedRow is what the last look at a payer's report found of it as a whole.
type curFeedRow struct {
	Payer         string     `gorm:"column:payer;primaryKey"`
	CheckedAt     time.Time  `gorm:"column:checked_at"`
	BillingPeriod string     `gorm:"column:billing_period"`
	VersionID     string     `gorm:"column:version_id"`
	DeliveredAt   *time.Time `gorm:"column:delivered_at"`
	DataThrough   *time.Time `gorm:"column:data_through"`
	Problem       string     `gorm:"column:problem"`
}

func (curFeedRow) TableName() string { return "cur_feeds" }

func curFeedRowOf(f invite.CURFeed) curFeedRow {
	return curFeedRow{Payer: f.Payer, CheckedAt: dbTime(f.CheckedAt), BillingPeriod: f.Period, VersionID: f.VersionID,
		DeliveredAt: optionalTime(f.DeliveredAt), DataThrough: optionalTime(f.DataThrough), Problem: f.Problem}
}

func (r curFeedRow) domain() invite.CURFeed {
	return invite.CURFeed{Payer: r.Payer, CheckedAt: r.CheckedAt.UTC(), Period: r.BillingPeriod, VersionID: r.VersionID,
		DeliveredAt: valueTime(r.DeliveredAt), DataThrough: valueTime(r.DataThrough), Problem: r.Problem}
}

// CURFeed returns what the last look at a payer's report found of it as a whole; zero (with the payer) when none
// was kept.
func (s *Store) CURFeed(ctx context.Context, payer string) (invite.CURFeed, error) {
	var rows []curFeedRow
	if err := s.db.WithContext(ctx).Where("payer = ?", payer).Limit(1).Find(&rows).Error; err != nil {
		return invite.CURFeed{}, fmt.Errorf("store: cur feed of %s: %w", payer, err)
	}
	if len(rows) == 0 {
		return invite.CURFeed{Payer: payer}, nil
	}
	return rows[0].domain(), nil
}

// SaveCURFeed keeps what a look at a payer's report found of it as a whole, replacing the previous look.
func (s *Store) SaveCURFeed(ctx context.Context, feed invite.CURFeed) error {
	row := curFeedRowOf(feed)
	err := s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "payer"}},
		DoUpdates: clause.AssignmentColumns([]string{"checked_at", "billing_period", "version_id", "delivered_at", "data_through", "problem"}),
	}).Create(&row).Error
	if err != nil {
		return fmt.Errorf("store: save cur feed of %s: %w", feed.Payer, err)
	}
	return nil
}
