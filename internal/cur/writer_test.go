package cur

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

// TestWriteLegacyReportRoundTrip writes sandbox reports to disk and to S3
// and reads them back through discovery, the scan and the CLI entry point.
func TestWriteLegacyReportRoundTrip(t *testing.T) {
	s3c := newS3(t)
	mustBucket(t, s3c, "sandbox-cur")
	dir := t.TempDir()
	period := time.Date(2024, 5, 20, 9, 30, 0, 0, time.UTC)
	first := []Row{
		{PayerAccountID: "000111222333", UsageAccountID: "012345678901", UsageStart: time.Date(2024, 5, 2, 3, 0, 0, 0, time.UTC), UnblendedCost: decimal.RequireFromString("1.0000000001")},
		{PayerAccountID: "000111222333", UsageAccountID: "012345678901", LineItemType: "Tax", UsageStart: time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC), UnblendedCost: decimal.RequireFromString("0.19")},
	}
	grown := append(append([]Row(nil), first...),
		Row{PayerAccountID: "000111222333", UsageAccountID: "999000111222", ProductCode: "AmazonS3, \"quoted\"", UsageStart: time.Date(2024, 5, 19, 23, 0, 0, 0, time.UTC), UnblendedCost: decimal.RequireFromString("-2.5")})

	stores := []struct {
		name string
		st   ObjectStore
		loc  Location
		path string // for ScanPaths
	}{
		{"disk", DirStore{Root: dir}, Location{Bucket: "sandbox-cur", Prefix: "cur", Report: "sandbox", Format: FormatLegacy}, filepath.Join(dir, "sandbox-cur")},
		{"s3", S3Store{Client: s3c}, Location{Bucket: "sandbox-cur", Prefix: "cur", Report: "sandbox", Format: FormatLegacy}, "s3://sandbox-cur/cur/"},
	}
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) {
			ctx := context.Background()
			v1, err := WriteLegacyReport(ctx, s.st, s.loc, period, "", first)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Discover(ctx, s.st, s.loc, period)
			if err != nil {
				t.Fatal(err)
			}
			if got.VersionID != v1.VersionID || got.VersionID == "" {
				t.Errorf("discovered version %q, wrote %q", got.VersionID, v1.VersionID)
			}
			v2, err := WriteLegacyReport(ctx, s.st, s.loc, period, "fixed-assembly", grown)
			if err != nil {
				t.Fatal(err)
			}
			got, err = Discover(ctx, s.st, s.loc, period)
			if err != nil {
				t.Fatal(err)
			}
			if got.VersionID != "fixed-assembly" || got.VersionID != v2.VersionID {
				t.Fatalf("after the second delivery the version is %q, want fixed-assembly", got.VersionID)
			}
			sum, err := Scan(ctx, s.st, got)
			if err != nil {
				t.Fatal(err)
			}
			checkAgainstOracle(t, sum.Accounts, expectRows(grown))

			var out bytes.Buffer
			if err := ScanPaths(ctx, []string{s.path}, s3c, &out); err != nil {
				t.Fatal(err)
			}
			var lines []map[string]any
			sc := bufio.NewScanner(&out)
			for sc.Scan() {
				var m map[string]any
				if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
					t.Fatalf("line %q: %v", sc.Text(), err)
				}
				lines = append(lines, m)
			}
			want := []map[string]any{
				{"accountId": "012345678901", "payerAccountId": "000111222333", "lineItems": 2.0, "unblendedCost": "1.1900000001",
					"firstUsageStart": "2024-05-01T00:00:00Z", "lastUsageStart": "2024-05-02T03:00:00Z"},
				{"accountId": "999000111222", "payerAccountId": "000111222333", "lineItems": 1.0, "unblendedCost": "-2.5",
					"firstUsageStart": "2024-05-19T23:00:00Z", "lastUsageStart": "2024-05-19T23:00:00Z"},
			}
			if len(lines) != len(want) {
				t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(want), out.String())
			}
			for i := range want {
				for k, v := range want[i] {
					if lines[i][k] != v {
						t.Errorf("line %d %s = %v, want %v", i, k, lines[i][k], v)
					}
				}
			}
		})
	}
}
