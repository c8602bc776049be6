package cur

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/klauspost/compress/gzip"
	"github.com/shopspring/decimal"
)

// Row is one line item for WriteLegacyReport.
type Row struct {
	// PayerAccountID is the payer (management) account.
	PayerAccountID string
	// UsageAccountID is the account that used the service.
	UsageAccountID string
	// LineItemType is Usage, Tax, Credit...; empty means Usage.
	LineItemType string
	// ProductCode is the service, e.g. AmazonEC2; empty means AmazonEC2.
	ProductCode string
	// UsageStart is the start of the hour the usage belongs to.
	UsageStart time.Time
	// UnblendedCost is the line item's cost.
	UnblendedCost decimal.Decimal
}

// legacyColumns are the columns WriteLegacyReport writes, in the order AWS
// uses (a subset of a real report's).
func legacyColumns() [][2]string {
	return [][2]string{
		{"identity", "LineItemId"}, {"identity", "TimeInterval"},
		{"bill", "InvoiceId"}, {"bill", "BillingEntity"}, {"bill", "BillType"}, {"bill", "PayerAccountId"},
		{"bill", "BillingPeriodStartDate"}, {"bill", "BillingPeriodEndDate"},
		{"lineItem", "UsageAccountId"}, {"lineItem", "LineItemType"}, {"lineItem", "UsageStartDate"},
		{"lineItem", "UsageEndDate"}, {"lineItem", "ProductCode"}, {"lineItem", "UsageType"},
		{"lineItem", "CurrencyCode"}, {"lineItem", "UnblendedCost"}, {"lineItem", "LineItemDescription"},
	}
}

// WriteLegacyReport writes a small but complete CUR 1.0 report version in the
// "create new report versions" layout: a gzip CSV part and its manifest in
// <prefix>/<report>/<yyyymmdd>-<yyyymmdd>/<assemblyId>/, and the manifest again
// in the date-range folder, as AWS does at each delivery. Like AWS, every
// version holds the whole month so far, so pass all rows of the period. An
// empty assemblyID gets a random one. The rows are written as given.
func WriteLegacyReport(ctx context.Context, st ObjectStore, loc Location, period time.Time, assemblyID string, rows []Row) (Report, error) {
	if loc.Report == "" || strings.Contains(loc.Report, "/") {
		return Report{}, fmt.Errorf("write report: bad report name %q", loc.Report)
	}
	period = MonthStart(period)
	end := period.AddDate(0, 1, 0)
	if assemblyID == "" {
		assemblyID = uuid.NewString()
	}
	base := reportBase(loc.Prefix, loc.Report)
	dateDir := base + period.Format("20060102") + "-" + end.Format("20060102") + "/"
	partKey := dateDir + assemblyID + "/" + loc.Report + "-1.csv.gz"

	var csvBuf bytes.Buffer
	cw := csv.NewWriter(&csvBuf)
	cols := legacyColumns()
	header := make([]string, len(cols))
	for i, c := range cols {
		header[i] = c[0] + "/" + c[1]
	}
	if err := cw.Write(header); err != nil {
		return Report{}, err
	}
	const stamp = "2006-01-02T15:04:05Z"
	for i, r := range rows {
		typ := r.LineItemType
		if typ == "" {
			typ = "Usage"
		}
		product := r.ProductCode
		if product == "" {
			product = "AmazonEC2"
		}
		start := r.UsageStart.UTC()
		stop := start.Add(time.Hour)
		id := sha256.Sum256([]byte(fmt.Sprintf("%s/%d", assemblyID, i)))
		rec := []string{
			hex.EncodeToString(id[:20]), start.Format(stamp) + "/" + stop.Format(stamp),
			"", "AWS", "Anniversary", r.PayerAccountID,
			period.Format(stamp), end.Format(stamp),
			r.UsageAccountID, typ, start.Format(stamp),
			stop.Format(stamp), product, "BoxUsage:t3.micro",
			"USD", r.UnblendedCost.String(), "Sandbox usage, delivered by aws-invites",
		}
		if err := cw.Write(rec); err != nil {
			return Report{}, err
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return Report{}, err
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if _, err := zw.Write(csvBuf.Bytes()); err != nil {
		return Report{}, err
	}
	if err := zw.Close(); err != nil {
		return Report{}, err
	}

	type column struct {
		Category string `json:"category"`
		Name     string `json:"name"`
	}
	manifest := struct {
		AssemblyID    string   `json:"assemblyId"`
		Account       string   `json:"account"`
		Columns       []column `json:"columns"`
		Charset       string   `json:"charset"`
		Compression   string   `json:"compression"`
		ContentType   string   `json:"contentType"`
		ReportID      string   `json:"reportId"`
		ReportName    string   `json:"reportName"`
		BillingPeriod struct {
			Start string `json:"start"`
			End   string `json:"end"`
		} `json:"billingPeriod"`
		Bucket                 string   `json:"bucket"`
		ReportKeys             []string `json:"reportKeys"`
		AdditionalArtifactKeys []string `json:"additionalArtifactKeys"`
	}{
		AssemblyID: assemblyID, Charset: "UTF-8", Compression: "GZIP", ContentType: "text/csv",
		ReportName: loc.Report, Bucket: loc.Bucket, ReportKeys: []string{partKey}, AdditionalArtifactKeys: []string{},
	}
	if len(rows) > 0 {
		manifest.Account = rows[0].PayerAccountID
	}
	rid := sha256.Sum256([]byte(loc.Bucket + "/" + base))
	manifest.ReportID = hex.EncodeToString(rid[:])
	for _, c := range cols {
		manifest.Columns = append(manifest.Columns, column{Category: c[0], Name: c[1]})
	}
	manifest.BillingPeriod.Start = period.Format("20060102T150405.000Z")
	manifest.BillingPeriod.End = end.Format("20060102T150405.000Z")
	mbody, err := json.MarshalIndent(manifest, "", "  ")
	if err != nil {
		return Report{}, err
	}

	// Parts first, then the manifests: a reader that sees a manifest can
	// always open what it lists.
	if err := st.Put(ctx, loc.Bucket, partKey, gz.Bytes()); err != nil {
		return Report{}, fmt.Errorf("write report: %w", err)
	}
	manifestName := loc.Report + "-Manifest.json"
	if err := st.Put(ctx, loc.Bucket, dateDir+assemblyID+"/"+manifestName, mbody); err != nil {
		return Report{}, fmt.Errorf("write report: %w", err)
	}
	if err := st.Put(ctx, loc.Bucket, dateDir+manifestName, mbody); err != nil {
		return Report{}, fmt.Errorf("write report: %w", err)
	}
	return Report{
		Format: FormatLegacy, Name: loc.Report, Period: period, VersionID: assemblyID,
		ManifestKey: dateDir + manifestName, PayerAccountID: manifest.Account,
		Parts: []Part{{Bucket: loc.Bucket, Key: partKey, Compression: "GZIP"}},
	}, nil
}
