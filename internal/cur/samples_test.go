package cur

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

// TestRealSamples checks the two real legacy reports against the totals
// their README gives and against an independent standard-library sum.
// TestScanWideLegacyReport covers the same on generated reports.
func TestRealSamples(t *testing.T) {
	dir := sampleDir(t)
	cases := []struct {
		file      string
		rows      int64
		cost4dp   string
		firstDay  string
		monthWant time.Month
	}{
		{"legacy-csv/billing-report-2018-02.csv.gz", 19412, "218.1679", "2018-02-01T00:00:00Z", time.February},
		{"legacy-csv/billing-report-2.csv.gz", 2660, "1.237", "", 0},
	}
	for _, tc := range cases {
		t.Run(filepath.Base(tc.file), func(t *testing.T) {
			path := filepath.Join(dir, tc.file)
			var out bytes.Buffer
			if err := ScanPaths(context.Background(), []string{path}, nil, &out); err != nil {
				t.Fatal(err)
			}
			var line scanLine
			lines := bytes.Split(bytes.TrimSpace(out.Bytes()), []byte("\n"))
			if len(lines) != 1 {
				t.Fatalf("want one account line, got %d:\n%s", len(lines), out.String())
			}
			if err := json.Unmarshal(lines[0], &line); err != nil {
				t.Fatal(err)
			}
			if line.AccountID != "486140753397" || line.PayerAccountID != "486140753397" {
				t.Errorf("account %s payer %s, want 486140753397 for both", line.AccountID, line.PayerAccountID)
			}
			if line.LineItems != tc.rows {
				t.Errorf("line items %d, want %d", line.LineItems, tc.rows)
			}
			cost := decimal.RequireFromString(line.UnblendedCost)
			if got := cost.Round(4); !got.Equal(decimal.RequireFromString(tc.cost4dp)) {
				t.Errorf("cost %s rounds to %s, want %s", line.UnblendedCost, got, tc.cost4dp)
			}
			if tc.firstDay != "" && line.FirstUsageStart != tc.firstDay {
				t.Errorf("first usage start %s, want %s", line.FirstUsageStart, tc.firstDay)
			}
			last, err := time.Parse(time.RFC3339, line.LastUsageStart)
			if err != nil {
				t.Fatalf("last usage start %q: %v", line.LastUsageStart, err)
			}
			if tc.monthWant != 0 && last.Month() != tc.monthWant {
				t.Errorf("last usage start %s outside %s", last, tc.monthWant)
			}

			// The exact sum must equal the standard library's, digit for digit.
			var t2 = newTally()
			if err := scanPart(context.Background(), DirStore{Root: filepath.Dir(path)}, Part{Key: filepath.Base(path)}, t2); err != nil {
				t.Fatal(err)
			}
			checkAgainstOracle(t, t2.result(), oracleGzipCSV(t, path))
		})
	}
}
