package cur

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

// wideCore are the leading columns of a legacy CUR 1.0 report, in the order
// AWS writes them; the four the scan needs sit among look-alikes (blended
// cost, usage end date, rates).
var wideCore = []string{
	"identity/LineItemId", "identity/TimeInterval", "bill/InvoiceId", "bill/BillingEntity", "bill/BillType",
	"bill/PayerAccountId", "bill/BillingPeriodStartDate", "bill/BillingPeriodEndDate", "lineItem/UsageAccountId",
	"lineItem/LineItemType", "lineItem/UsageStartDate", "lineItem/UsageEndDate", "lineItem/ProductCode",
	"lineItem/UsageType", "lineItem/Operation", "lineItem/AvailabilityZone", "lineItem/ResourceId",
	"lineItem/UsageAmount", "lineItem/NormalizationFactor", "lineItem/NormalizedUsageAmount", "lineItem/CurrencyCode",
	"lineItem/UnblendedRate", "lineItem/UnblendedCost", "lineItem/BlendedRate", "lineItem/BlendedCost",
	"lineItem/LineItemDescription", "lineItem/TaxType",
}

// wideTail are the product, pricing, reservation and tag columns that follow;
// wideColumns pads them with more product attributes.
var wideTail = []string{
	"product/ProductName", "product/instanceType", "product/location", "product/memory", "product/operatingSystem",
	"product/region", "product/sku", "product/usagetype", "pricing/publicOnDemandCost", "pricing/publicOnDemandRate",
	"pricing/term", "pricing/unit", "reservation/AmortizedUpfrontCostForUsage", "reservation/ReservationARN",
	"resourceTags/user:Name", "resourceTags/user:team",
}

// wideColumns returns n column names (at least the core ones).
func wideColumns(n int) []string {
	cols := append(append([]string(nil), wideCore...), wideTail...)
	for i := 0; len(cols) < n; i++ {
		cols = append(cols, fmt.Sprintf("product/attribute%02d", i))
	}
	return cols[:max(n, len(wideCore))]
}

// wideSpec describes a generated legacy report.
type wideSpec struct {
	seed     uint64
	rows     int
	columns  int
	period   time.Time // the billing month
	payer    string
	accounts []string // usage accounts
	// spaceDates writes usage dates as "2006-01-02 15:04:05", as some
	// exporters do, instead of RFC 3339.
	spaceDates bool
	// strayDates puts about one usage date in fifty in the month before the
	// billing period (real reports carry such late line items).
	strayDates bool
}

// wideReport is a generated report: its CSV text and what a scan must find,
// computed as the rows were made.
type wideReport struct {
	csv  []byte
	rows int64
	cost decimal.Decimal
	want map[string]*oracleAccount // by usage account
}

// wideLegacyCSV writes a legacy CUR report as AWS does: many columns, hourly
// rows, ten-place decimals (mostly zero), Tax and Credit lines, and quoted
// fields holding commas, quotes and newlines before and after the cost.
func wideLegacyCSV(s wideSpec) wideReport {
	r := rand.New(rand.NewPCG(s.seed, 0x5eed))
	cols := wideColumns(s.columns)
	col := map[string]int{}
	for i, c := range cols {
		col[c] = i
	}
	var b bytes.Buffer
	cw := csv.NewWriter(&b)
	_ = cw.Write(cols)

	const stamp = time.RFC3339
	dateFormat := stamp
	if s.spaceDates {
		dateFormat = time.DateTime
	}
	end := s.period.AddDate(0, 1, 0)
	hours := int(end.Sub(s.period) / time.Hour)
	products := []string{"AmazonEC2", "AmazonS3", "AWSLambda", "AmazonRDS", "AWSDataTransfer"}
	const b32 = "abcdefghijklmnopqrstuvwxyz234567"
	ten := func(units int64) string { return decimal.New(units, -10).StringFixed(10) }
	out := wideReport{want: map[string]*oracleAccount{}}
	rec := make([]string, len(cols))
	id := make([]byte, 52)
	for range s.rows {
		clear(rec)
		acct := s.accounts[r.IntN(len(s.accounts))]
		start := s.period.Add(time.Duration(r.IntN(hours)) * time.Hour)
		if s.strayDates && r.IntN(50) == 0 {
			start = s.period.Add(-time.Duration(1+r.IntN(24*20)) * time.Hour)
		}
		stop := start.Add(time.Hour)
		typ, units := "Usage", int64(0)
		switch k := r.IntN(20); {
		case k < 12: // free tier: zero cost
		case k < 18:
			units = r.Int64N(50_000_000_000) // up to 5
		case k == 18:
			typ, units = "Tax", r.Int64N(2_000_000_000)
		default:
			typ, units = "Credit", -r.Int64N(10_000_000_000)
		}
		cost := decimal.New(units, -10)
		product := products[r.IntN(len(products))]
		for k := range id {
			id[k] = b32[r.IntN(32)]
		}
		rate := ten(r.Int64N(2_000_000_000))
		set := func(name, v string) {
			if i, ok := col[name]; ok {
				rec[i] = v
			}
		}
		set("identity/LineItemId", string(id))
		set("identity/TimeInterval", start.Format(stamp)+"/"+stop.Format(stamp))
		set("bill/BillingEntity", "AWS")
		set("bill/BillType", "Anniversary")
		set("bill/PayerAccountId", s.payer)
		set("bill/BillingPeriodStartDate", s.period.Format(stamp))
		set("bill/BillingPeriodEndDate", end.Format(stamp))
		set("lineItem/UsageAccountId", acct)
		set("lineItem/LineItemType", typ)
		set("lineItem/UsageStartDate", start.Format(dateFormat))
		set("lineItem/UsageEndDate", stop.Format(dateFormat))
		set("lineItem/ProductCode", product)
		set("lineItem/UsageType", "USE1-"+product+"-Usage")
		set("lineItem/Operation", "Run")
		if r.IntN(3) == 0 {
			set("lineItem/AvailabilityZone", "us-east-1"+string(rune('a'+r.IntN(6))))
		}
		if r.IntN(4) == 0 { // a quoted field before the cost
			set("lineItem/ResourceId", fmt.Sprintf("arn:aws:lambda:us-east-1:%s:function:job-%d,\"v2\"", acct, r.IntN(9)))
		}
		set("lineItem/UsageAmount", ten(r.Int64N(1_000_000_000_000)))
		set("lineItem/CurrencyCode", "USD")
		set("lineItem/UnblendedRate", rate)
		set("lineItem/UnblendedCost", cost.StringFixed(10))
		set("lineItem/BlendedRate", rate)
		set("lineItem/BlendedCost", ten(r.Int64N(90_000_000_000))) // differs from the unblended cost
		desc := fmt.Sprintf("$%s per GB-month of \"standard\" storage, first 50,000 GB", rate)
		if r.IntN(10) == 0 {
			desc += "\nthen tiered"
		}
		set("lineItem/LineItemDescription", desc)
		for i := len(wideCore); i < len(cols); i++ {
			switch c := cols[i]; {
			case c == "product/ProductName":
				rec[i] = "Amazon " + product
			case c == "pricing/publicOnDemandCost":
				rec[i] = ten(r.Int64N(50_000_000_000))
			case strings.HasPrefix(c, "resourceTags/") && r.IntN(5) == 0:
				rec[i] = fmt.Sprintf("team %d, \"night\" batch", r.IntN(4))
			case r.IntN(4) == 0:
				rec[i] = fmt.Sprintf("v%d", r.IntN(100))
			}
		}
		if err := cw.Write(rec); err != nil {
			panic(err) // a bytes.Buffer does not fail
		}

		a := out.want[acct]
		if a == nil {
			a = &oracleAccount{payer: s.payer}
			out.want[acct] = a
		}
		a.rows++
		a.cost = a.cost.Add(cost)
		if a.first.IsZero() || start.Before(a.first) {
			a.first = start
		}
		if start.After(a.last) {
			a.last = start
		}
		out.rows++
		out.cost = out.cost.Add(cost)
	}
	cw.Flush()
	out.csv = b.Bytes()
	return out
}

// scanLine is one JSON line of ScanPaths.
type scanLine struct {
	AccountID       string `json:"accountId"`
	PayerAccountID  string `json:"payerAccountId"`
	LineItems       int64  `json:"lineItems"`
	UnblendedCost   string `json:"unblendedCost"`
	FirstUsageStart string `json:"firstUsageStart"`
	LastUsageStart  string `json:"lastUsageStart"`
}

// checkScanLines checks ScanPaths output against per-account expectations:
// one line per account, sorted by account id, each with the expected payer,
// line items, exact cost and usage range.
func checkScanLines(tb testing.TB, out string, want map[string]*oracleAccount) {
	tb.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != len(want) {
		tb.Fatalf("got %d lines, want one for each of %d accounts:\n%s", len(lines), len(want), out)
	}
	ids := make([]string, 0, len(want))
	for id := range want {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for i, raw := range lines {
		var l scanLine
		if err := json.Unmarshal([]byte(raw), &l); err != nil {
			tb.Fatalf("line %q: %v", raw, err)
		}
		if l.AccountID != ids[i] {
			tb.Errorf("line %d is account %q, want %q (sorted by account id)", i, l.AccountID, ids[i])
			continue
		}
		w := want[l.AccountID]
		cost, err := decimal.NewFromString(l.UnblendedCost)
		if err != nil {
			tb.Errorf("account %s: cost %q: %v", l.AccountID, l.UnblendedCost, err)
		}
		first, last := w.first.UTC().Format(time.RFC3339Nano), w.last.UTC().Format(time.RFC3339Nano)
		if l.PayerAccountID != w.payer || l.LineItems != w.rows || !cost.Equal(w.cost) || l.FirstUsageStart != first || l.LastUsageStart != last {
			tb.Errorf("account %s: got payer %s, %d line items, cost %s, %s..%s; want payer %s, %d, %s, %s..%s", l.AccountID,
				l.PayerAccountID, l.LineItems, l.UnblendedCost, l.FirstUsageStart, l.LastUsageStart, w.payer, w.rows, w.cost, first, last)
		}
	}
}

// TestScanWideLegacyReport scans whole generated legacy gzip CSV reports shaped
// like real ones (96 and 75 columns, quoted fields, hourly rows, many MB of
// CSV, so that records straddle the scanner's buffers) to the totals the
// generator computed, through the CLI entry point and against the standard
// library's reading of the same file. It covers what TestRealSamples checks
// on the shared samples.
func TestScanWideLegacyReport(t *testing.T) {
	cases := []struct {
		name     string
		spec     wideSpec
		accounts int
	}{
		{"96 columns, one account", wideSpec{seed: 1, rows: 20_000, columns: 96, period: time.Date(2018, 2, 1, 0, 0, 0, 0, time.UTC),
			payer: "048613975320", accounts: []string{"048613975320"}}, 1},
		{"75 columns, three accounts, late and space-separated dates", wideSpec{seed: 2, rows: 2_700, columns: 75,
			period: time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC), payer: "000111222333",
			accounts: []string{"012345678901", "000000000042", "987654321098"}, spaceDates: true, strayDates: true}, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rep := wideLegacyCSV(tc.spec)
			if int(rep.rows) != tc.spec.rows || len(rep.want) != tc.accounts || rep.cost.IsZero() {
				t.Fatalf("generator: %d rows over %d accounts costing %s", rep.rows, len(rep.want), rep.cost)
			}
			if tc.spec.rows > 10_000 && len(rep.csv) < 4*chunkSize {
				t.Fatalf("generator: %d bytes of CSV, want several scan buffers' worth", len(rep.csv))
			}
			path := filepath.Join(t.TempDir(), "report-1.csv.gz")
			if err := os.WriteFile(path, gzipBytes(t, rep.csv), 0o644); err != nil {
				t.Fatal(err)
			}

			var out bytes.Buffer
			if err := ScanPaths(context.Background(), []string{path}, nil, &out); err != nil {
				t.Fatal(err)
			}
			checkScanLines(t, out.String(), rep.want)

			tl := newTally()
			if err := scanPart(context.Background(), DirStore{Root: filepath.Dir(path)}, Part{Key: filepath.Base(path)}, tl); err != nil {
				t.Fatal(err)
			}
			var total decimal.Decimal
			for _, a := range tl.result() {
				total = total.Add(a.UnblendedCost)
			}
			if tl.rows != rep.rows || !total.Equal(rep.cost) {
				t.Errorf("scanned %d rows costing %s, generated %d costing %s", tl.rows, total, rep.rows, rep.cost)
			}
			checkAgainstOracle(t, tl.result(), oracleGzipCSV(t, path))
		})
	}
}

// awsManifest writes a CUR 1.0 manifest as AWS delivers it (columns, report
// id, billing period in AWS's compact form, an empty bucket field).
func awsManifest(tb testing.TB, report, assembly, account string, period time.Time, columns, keys []string) []byte {
	tb.Helper()
	type column struct {
		Category string `json:"category"`
		Name     string `json:"name"`
	}
	var cols []column
	for _, c := range columns {
		cat, name, _ := strings.Cut(c, "/")
		cols = append(cols, column{cat, name})
	}
	const compact = "20060102T150405.000Z"
	b, err := json.MarshalIndent(map[string]any{
		"assemblyId": assembly, "account": account, "columns": cols, "charset": "UTF-8", "compression": "GZIP",
		"contentType": "text/csv", "reportId": fmt.Sprintf("%064x", len(report)*7919+len(assembly)), "reportName": report,
		"billingPeriod": map[string]string{"start": period.Format(compact), "end": period.AddDate(0, 1, 0).Format(compact)},
		"bucket":        "", "reportKeys": keys,
	}, "", "    ")
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// deliveredReport is one report of a delivery layout and what the newest
// version of its billing period must give.
type deliveredReport struct {
	name     string
	loc      Location // without a bucket
	at       time.Time
	assembly string
	part     string // the key of its one part
	want     map[string]*oracleAccount
}

// writeDeliveryLayout writes, under root, the S3 delivery layout of the CUR
// 1.0 "create new report versions" setting for two reports, one without a
// prefix and one under a two-folder prefix: <prefix>/<report>/<date range>/
// holding a manifest and one folder per assemblyId, each with its manifest
// and gzip CSV part. The first report also has an older month and, in the
// newest month, an older delivery whose files must not be read; its manifest
// keys start with "/", as some deliveries write them. It returns the newest
// version of each report and the July one.
func writeDeliveryLayout(tb testing.TB, root string) (newest []deliveredReport, july deliveredReport) {
	tb.Helper()
	aug, jul := time.Date(2018, 8, 1, 0, 0, 0, 0, time.UTC), time.Date(2018, 7, 1, 0, 0, 0, 0, time.UTC)
	write := func(key string, body []byte) {
		tb.Helper()
		put(tb, DirStore{Root: root}, "", key, body)
	}
	version := func(prefix, report string, period time.Time, assembly string, spec wideSpec, slash, top bool) deliveredReport {
		tb.Helper()
		base := reportBase(prefix, report)
		dateDir := base + period.Format("20060102") + "-" + period.AddDate(0, 1, 0).Format("20060102") + "/"
		part := dateDir + assembly + "/" + report + "-1.csv.gz"
		spec.period = period
		rep := wideLegacyCSV(spec)
		listed := part
		if slash {
			listed = "/" + part
		}
		manifest := awsManifest(tb, report, assembly, spec.payer, period, wideColumns(spec.columns), []string{listed})
		write(part, gzipBytes(tb, rep.csv))
		write(dateDir+assembly+"/"+report+"-Manifest.json", manifest)
		if top {
			write(dateDir+report+"-Manifest.json", manifest)
		}
		return deliveredReport{name: report, loc: Location{Prefix: prefix, Report: report, Format: FormatLegacy},
			at: period.Add(16*24*time.Hour + 12*time.Hour), assembly: assembly, part: part, want: rep.want}
	}
	hourly := wideSpec{rows: 3_000, columns: 96, payer: "070809101112", accounts: []string{"070809101112", "001122334455"},
		spaceDates: true, strayDates: true}
	spec := func(seed uint64, s wideSpec) wideSpec { s.seed = seed; return s }
	july = version("", "cur-hourly", jul, "9b1f3c2e-0d4a-4e6b-8c7d-112233445566", spec(10, hourly), true, true)
	// The older delivery of August: its own assembly folder and manifest,
	// with other rows. Only the date-range manifest says which version is
	// the newest: the older one's files look newer, on disk (a local copy
	// keeps no delivery order) and on S3 (uploadDir puts its folder last).
	older := version("", "cur-hourly", aug, "f0e1d2c3-b4a5-4968-8776-655443322110", spec(11, hourly), true, false)
	newestHourly := version("", "cur-hourly", aug, "3c4d5e6f-7a8b-4c9d-8e0f-a1b2c3d4e5f6", spec(12, hourly), true, true)
	for _, f := range []struct {
		rep deliveredReport
		at  time.Time
	}{{newestHourly, time.Date(2018, 8, 18, 6, 0, 0, 0, time.UTC)}, {older, time.Date(2018, 8, 25, 6, 0, 0, 0, time.UTC)}} {
		dir := filepath.Join(root, filepath.FromSlash(path.Dir(f.rep.part)))
		for _, name := range []string{"cur-hourly-1.csv.gz", "cur-hourly-Manifest.json"} {
			if err := os.Chtimes(filepath.Join(dir, name), f.at, f.at); err != nil {
				tb.Fatal(err)
			}
		}
	}
	team := version("billing/exports", "team-report", aug, "0a9b8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d", spec(13, wideSpec{
		rows: 1_500, columns: 75, payer: "123123123123", accounts: []string{"123123123123", "045045045045", "999000999000"}}), false, true)
	return []deliveredReport{newestHourly, team}, july
}
