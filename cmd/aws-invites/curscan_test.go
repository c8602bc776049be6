package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

// curSamples returns the team's real CUR samples, shared/testdata/cur beside
// the repository. When they are missing the test skips, or fails if
// AWS_INVITES_SAMPLES=required (as in CI); internal/cur's sampleDir decides
// the same way.
func curSamples(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "..", "shared", "testdata", "cur"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "README.md")); err != nil {
		msg := "no CUR samples at " + dir + ": the real samples live in the team's shared/testdata/cur, cloned beside this repository"
		if os.Getenv("AWS_INVITES_SAMPLES") == "required" {
			t.Fatal(msg + " (AWS_INVITES_SAMPLES=required)")
		}
		t.Skip(msg + " (set AWS_INVITES_SAMPLES=required to fail instead)")
	}
	return dir
}

// curScan runs `aws-invites cur scan path` and returns its output lines.
func curScan(t *testing.T, path string) ([]string, error) {
	t.Helper()
	var out bytes.Buffer
	err := run(context.Background(), []string{"cur", "scan", path}, func(string) string { return "" }, &out, io.Discard)
	return strings.Split(strings.TrimSpace(out.String()), "\n"), err
}

// checkTruncated cuts a gzip report in half: the scan must fail with an error
// naming the file, not panic.
func checkTruncated(t *testing.T, report []byte) {
	t.Helper()
	broken := filepath.Join(t.TempDir(), "half-1.csv.gz")
	if err := os.WriteFile(broken, report[:len(report)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := curScan(t, broken)
	if err == nil || !strings.Contains(err.Error(), broken) || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("truncated file: got %v, want an error naming %s and saying truncated", err, broken)
	}
}

// The real samples of shared/testdata (known totals in its README), through
// the command line. TestCurScanGenerated covers the same on a generated file.
func TestCurScanCommand(t *testing.T) {
	samples := curSamples(t)
	lines, err := curScan(t, filepath.Join(samples, "legacy-csv", "billing-report-2018-02.csv.gz"))
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 1 {
		t.Fatalf("want one account, got %d lines:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &got); err != nil {
		t.Fatal(err)
	}
	if got["accountId"] != "486140753397" || got["payerAccountId"] != "486140753397" || got["lineItems"] != float64(19412) ||
		!strings.HasPrefix(got["unblendedCost"].(string), "218.1678") || got["firstUsageStart"] == nil || got["lastUsageStart"] == nil {
		t.Errorf("summary: %s", lines[0])
	}

	raw, err := os.ReadFile(filepath.Join(samples, "legacy-csv", "billing-report-2.csv.gz"))
	if err != nil {
		t.Fatal(err)
	}
	checkTruncated(t, raw)
}

// TestCurScanGenerated scans a generated legacy .csv.gz report (one account
// with a leading zero, many columns, quoted fields with commas, quotes and
// newlines, Tax and Credit lines) through the command line: one JSON line with
// the account, its payer, the line items, the exact cost and the usage range.
func TestCurScanGenerated(t *testing.T) {
	const rows, account, payer = 1000, "012345678901", "000999888777"
	first := time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC)
	last := time.Date(2024, 2, 29, 23, 0, 0, 0, time.UTC) // a leap day
	header := []string{"identity/LineItemId", "identity/TimeInterval", "bill/BillType", "bill/PayerAccountId",
		"bill/BillingPeriodStartDate", "lineItem/UsageAccountId", "lineItem/LineItemType", "lineItem/UsageStartDate",
		"lineItem/UsageEndDate", "lineItem/ProductCode", "lineItem/ResourceId", "lineItem/UsageAmount",
		"lineItem/UnblendedRate", "lineItem/UnblendedCost", "lineItem/BlendedCost", "lineItem/LineItemDescription",
		"product/ProductName", "pricing/term", "resourceTags/user:Name"}
	r := rand.New(rand.NewPCG(2024, 2))
	var text bytes.Buffer
	cw := csv.NewWriter(&text)
	if err := cw.Write(header); err != nil {
		t.Fatal(err)
	}
	var want decimal.Decimal
	for i := range rows {
		start := first.Add(time.Duration(1+r.IntN(27*24+22)) * time.Hour) // strictly inside first..last
		switch i {
		case 400:
			start = last
		case 600:
			start = first
		}
		typ, cost := "Usage", decimal.New(r.Int64N(40_000_000_000), -10)
		switch i % 25 {
		case 0:
			typ, cost = "Credit", cost.Neg()
		case 1:
			typ = "Tax"
		case 2, 3, 4:
			cost = decimal.Zero
		}
		want = want.Add(cost)
		stop := start.Add(time.Hour)
		rec := []string{fmt.Sprintf("li%06d", i), start.Format(time.RFC3339) + "/" + stop.Format(time.RFC3339), "Anniversary", payer,
			"2024-02-01T00:00:00Z", account, typ, start.Format(time.RFC3339), stop.Format(time.RFC3339), "AmazonEC2",
			fmt.Sprintf("i-%08x,\"eni\"", r.Uint32()), "1.0000000000", "0.0116000000", cost.StringFixed(10),
			decimal.New(r.Int64N(40_000_000_000), -10).StringFixed(10), "$0.0116 per On Demand Linux t3.micro, \"burstable\"\nhourly",
			"Amazon Elastic Compute Cloud", "OnDemand", "build, test"}
		if err := cw.Write(rec); err != nil {
			t.Fatal(err)
		}
	}
	cw.Flush()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if _, err := zw.Write(text.Bytes()); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "sandbox-1.csv.gz")
	if err := os.WriteFile(path, gz.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}

	lines, err := curScan(t, path)
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 1 {
		t.Fatalf("want one account, got %d lines:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	var got struct {
		AccountID       string `json:"accountId"`
		PayerAccountID  string `json:"payerAccountId"`
		LineItems       int64  `json:"lineItems"`
		UnblendedCost   string `json:"unblendedCost"`
		FirstUsageStart string `json:"firstUsageStart"`
		LastUsageStart  string `json:"lastUsageStart"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &got); err != nil {
		t.Fatal(err)
	}
	cost, err := decimal.NewFromString(got.UnblendedCost)
	if err != nil {
		t.Fatalf("cost %q: %v", got.UnblendedCost, err)
	}
	if got.AccountID != account || got.PayerAccountID != payer || got.LineItems != rows || !cost.Equal(want) ||
		got.FirstUsageStart != "2024-02-01T00:00:00Z" || got.LastUsageStart != "2024-02-29T23:00:00Z" {
		t.Errorf("summary %s; want account %s, payer %s, %d line items, cost %s, 2024-02-01T00:00:00Z..2024-02-29T23:00:00Z",
			lines[0], account, payer, rows, want)
	}

	checkTruncated(t, gz.Bytes())
	if err := run(context.Background(), []string{"cur"}, func(string) string { return "" }, io.Discard, io.Discard); err == nil {
		t.Error("cur without scan ran")
	}
}
