package cur

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/shopspring/decimal"
)

// genRows makes n line items over the given accounts in March 2024 with
// costs of up to 10 decimal places, credits included.
func genRows(seed uint64, n int, accounts []string) []Row {
	r := rand.New(rand.NewPCG(seed, 7))
	start := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	rows := make([]Row, n)
	for i := range rows {
		cost := decimal.New(r.Int64N(2_000_000_000_000), -10) // up to 200 with 10 places
		typ := "Usage"
		if r.IntN(10) == 0 {
			cost, typ = cost.Neg(), "Credit"
		}
		rows[i] = Row{
			PayerAccountID: "000123456789",
			UsageAccountID: accounts[r.IntN(len(accounts))],
			LineItemType:   typ,
			UsageStart:     start.Add(time.Duration(r.IntN(30*24)) * time.Hour),
			UnblendedCost:  cost,
		}
	}
	return rows
}

// expectRows sums rows with decimal arithmetic, apart from the scanner.
func expectRows(rows []Row) map[string]*oracleAccount {
	out := map[string]*oracleAccount{}
	for _, r := range rows {
		a := out[r.UsageAccountID]
		if a == nil {
			a = &oracleAccount{payer: r.PayerAccountID}
			out[r.UsageAccountID] = a
		}
		a.rows++
		a.cost = a.cost.Add(r.UnblendedCost)
		if a.first.IsZero() || r.UsageStart.Before(a.first) {
			a.first = r.UsageStart
		}
		if r.UsageStart.After(a.last) {
			a.last = r.UsageStart
		}
	}
	return out
}

// csvText renders rows as CSV with the given names for payer, account, type,
// start and cost, plus filler columns with quotes, commas and newlines.
func csvText(rows []Row, names [5]string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "identity_line_item_id,%s,%s,%s,product_description,%s,%s,pricing_unit\n", names[0], names[1], names[2], names[3], names[4])
	for i, r := range rows {
		fmt.Fprintf(&b, "id%d,%s,%s,%s,\"t3, \"\"micro\"\"\nLinux\",%s,%s,Hrs\n", i, r.PayerAccountID, r.UsageAccountID, r.LineItemType,
			r.UsageStart.Format("2006-01-02T15:04:05.000Z"), r.UnblendedCost.String())
	}
	return b.Bytes()
}

// snakeNames are the CUR 2.0 / Parquet column names.
func snakeNames() [5]string {
	return [5]string{"bill_payer_account_id", "line_item_usage_account_id", "line_item_line_item_type", "line_item_usage_start_date", "line_item_unblended_cost"}
}

// legacyNames are the CUR 1.0 column names.
func legacyNames() [5]string {
	return [5]string{"bill/PayerAccountId", "lineItem/UsageAccountId", "lineItem/LineItemType", "lineItem/UsageStartDate", "lineItem/UnblendedCost"}
}

// athenaRow is the Athena (CUR 1.0 Parquet) shape: double costs, timestamps.
type athenaRow struct {
	ID      string    `parquet:"identity_line_item_id"`
	Payer   string    `parquet:"bill_payer_account_id"`
	Account string    `parquet:"line_item_usage_account_id"`
	Type    string    `parquet:"line_item_line_item_type"`
	Start   time.Time `parquet:"line_item_usage_start_date,timestamp(millisecond)"`
	Cost    float64   `parquet:"line_item_unblended_cost"`
}

// cur2Row is a CUR 2.0 shape with optional columns, an exact DECIMAL cost
// and microsecond timestamps.
type cur2Row struct {
	Account *string `parquet:"line_item_usage_account_id,optional"`
	Cost    int64   `parquet:"line_item_unblended_cost,decimal(10:18)"`
	Start   int64   `parquet:"line_item_usage_start_date,timestamp(microsecond)"`
	Payer   string  `parquet:"bill_payer_account_id"`
}

func athenaParquet(tb testing.TB, rows []Row) []byte {
	tb.Helper()
	out := make([]athenaRow, len(rows))
	for i, r := range rows {
		out[i] = athenaRow{ID: fmt.Sprint(i), Payer: r.PayerAccountID, Account: r.UsageAccountID, Type: r.LineItemType,
			Start: r.UsageStart, Cost: r.UnblendedCost.InexactFloat64()}
	}
	var b bytes.Buffer
	// Small row groups and pages so the cursors cross their boundaries.
	w := parquet.NewGenericWriter[athenaRow](&b, parquet.PageBufferSize(512), parquet.MaxRowsPerRowGroup(700))
	if _, err := w.Write(out); err != nil {
		tb.Fatal(err)
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

func cur2Parquet(tb testing.TB, rows []Row) []byte {
	tb.Helper()
	out := make([]cur2Row, len(rows))
	for i, r := range rows {
		acct := r.UsageAccountID
		out[i] = cur2Row{Account: &acct, Cost: r.UnblendedCost.Shift(10).IntPart(), Start: r.UsageStart.UnixMicro(), Payer: r.PayerAccountID}
	}
	var b bytes.Buffer
	w := parquet.NewGenericWriter[cur2Row](&b, parquet.PageBufferSize(1024), parquet.MaxRowsPerRowGroup(500))
	if _, err := w.Write(out); err != nil {
		tb.Fatal(err)
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

func zipBytes(tb testing.TB, name string, body []byte) []byte {
	tb.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	f, err := zw.Create(name)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := f.Write(body); err != nil {
		tb.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// legacyManifestJSON writes a CUR 1.0 manifest listing keys.
func legacyManifestJSON(tb testing.TB, report, assembly, compression string, keys []string) []byte {
	tb.Helper()
	m := map[string]any{
		"assemblyId": assembly, "account": "000123456789", "compression": compression, "contentType": "text/csv",
		"reportName": report, "bucket": "", "reportKeys": keys,
		"billingPeriod": map[string]string{"start": "20240301T000000.000Z", "end": "20240401T000000.000Z"},
	}
	b, err := json.Marshal(m)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// cur2ManifestJSON writes a CUR 2.0 manifest listing s3:// data files.
func cur2ManifestJSON(tb testing.TB, execution string, files []string) []byte {
	tb.Helper()
	b, err := json.Marshal(map[string]any{
		"executionId": execution, "exportArn": "arn:aws:bcm-data-exports:us-east-1:000123456789:export/e",
		"columns":       []map[string]string{{"name": "line_item_usage_account_id", "type": "string"}},
		"dataFiles":     files,
		"billingPeriod": map[string]string{"start": "2024-03-01T00:00:00.000Z", "end": "2024-04-01T00:00:00.000Z"},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// put writes an object or fails the test.
func put(tb testing.TB, st ObjectStore, bucket, key string, body []byte) {
	tb.Helper()
	if err := st.Put(context.Background(), bucket, key, body); err != nil {
		tb.Fatal(err)
	}
}

// TestFormats builds reports of every supported shape in a store (disk and
// S3 via gofakes3), discovers them and checks the sums.
func TestFormats(t *testing.T) {
	accounts := []string{"012345678901", "000000000042", "999999999999", "123456789012"}
	march := time.Date(2024, 3, 15, 0, 0, 0, 0, time.UTC)
	s3c := newS3(t)

	type built struct {
		loc     Location
		version string
		rows    []Row
	}
	builders := []struct {
		name  string
		build func(tb testing.TB, st ObjectStore, bucket string) built
	}{
		{"cur1 gzip csv, three parts in parallel", func(tb testing.TB, st ObjectStore, bucket string) built {
			all := genRows(1, 3000, accounts)
			dir := "cur/acme/20240301-20240401/"
			var keys []string
			for i := range 3 {
				k := fmt.Sprintf("%sasm-1/acme-%05d.csv.gz", dir, i+1)
				put(tb, st, bucket, k, gzipBytes(tb, csvText(all[i*1000:(i+1)*1000], legacyNames())))
				keys = append(keys, "/"+k)
			}
			put(tb, st, bucket, dir+"asm-1/acme-Manifest.json", legacyManifestJSON(tb, "acme", "asm-1", "GZIP", keys))
			put(tb, st, bucket, dir+"acme-Manifest.json", legacyManifestJSON(tb, "acme", "asm-1", "GZIP", keys))
			return built{Location{Bucket: bucket, Prefix: "cur", Report: "acme", Format: FormatLegacy}, "asm-1", all}
		}},
		{"cur1 zip csv parts", func(tb testing.TB, st ObjectStore, bucket string) built {
			all := genRows(2, 1200, accounts)
			dir := "z/20240301-20240401/asm-z/"
			k1, k2 := dir+"z-1.csv.zip", dir+"z-2.csv.zip"
			put(tb, st, bucket, k1, zipBytes(tb, "z-1.csv", csvText(all[:600], legacyNames())))
			put(tb, st, bucket, k2, zipBytes(tb, "z-2.csv", csvText(all[600:], legacyNames())))
			put(tb, st, bucket, dir+"z-Manifest.json", legacyManifestJSON(tb, "z", "asm-z", "ZIP", []string{k1, k2}))
			return built{Location{Bucket: bucket, Report: "z", Format: FormatLegacy}, "asm-z", all}
		}},
		{"cur1 overwrite layout", func(tb testing.TB, st ObjectStore, bucket string) built {
			all := genRows(3, 800, accounts)
			dir := "p/q/ow/20240301-20240401/"
			put(tb, st, bucket, dir+"ow-1.csv.gz", gzipBytes(tb, csvText(all, legacyNames())))
			put(tb, st, bucket, dir+"ow-Manifest.json", legacyManifestJSON(tb, "ow", "asm-ow", "GZIP", []string{dir + "ow-1.csv.gz"}))
			return built{Location{Bucket: bucket, Prefix: "/p/q/", Report: "ow", Format: FormatLegacy}, "asm-ow", all}
		}},
		{"cur1 athena parquet", func(tb testing.TB, st ObjectStore, bucket string) built {
			all := genRows(4, 2000, accounts)
			put(tb, st, bucket, "ath/ath/year=2024/month=3/ath-00001.snappy.parquet", athenaParquet(tb, all[:1500]))
			put(tb, st, bucket, "ath/ath/year=2024/month=3/ath-00002.snappy.parquet", athenaParquet(tb, all[1500:]))
			// Another month must not be read.
			put(tb, st, bucket, "ath/ath/year=2024/month=2/ath-00001.snappy.parquet", athenaParquet(tb, genRows(9, 50, accounts)))
			return built{Location{Bucket: bucket, Report: "ath", Format: FormatLegacy}, "", all}
		}},
		{"cur2 parquet", func(tb testing.TB, st ObjectStore, bucket string) built {
			old := genRows(5, 300, accounts)
			all := genRows(6, 1800, accounts)
			base := "exports/e2/"
			oldKey := base + "data/BILLING_PERIOD=2024-03/20240310T000000Z-exec-old/e2-00001.snappy.parquet"
			put(tb, st, bucket, oldKey, cur2Parquet(tb, old))
			put(tb, st, bucket, base+"metadata/BILLING_PERIOD=2024-03/20240310T000000Z-exec-old/e2-Manifest.json",
				cur2ManifestJSON(tb, "exec-old", []string{"s3://" + bucket + "/" + oldKey}))
			setOld(tb, st, bucket, base+"metadata/BILLING_PERIOD=2024-03/20240310T000000Z-exec-old/e2-Manifest.json")
			var files []string
			for i := range 2 {
				k := fmt.Sprintf("%sdata/BILLING_PERIOD=2024-03/20240312T000000Z-exec-new/e2-%05d.snappy.parquet", base, i+1)
				put(tb, st, bucket, k, cur2Parquet(tb, all[i*900:(i+1)*900]))
				files = append(files, "s3://"+bucket+"/"+k)
			}
			put(tb, st, bucket, base+"metadata/BILLING_PERIOD=2024-03/20240312T000000Z-exec-new/e2-Manifest.json", cur2ManifestJSON(tb, "exec-new", files))
			return built{Location{Bucket: bucket, Prefix: "exports", Report: "e2", Format: FormatCUR2}, "exec-new", all}
		}},
		{"cur2 gzip csv, lower-case partition", func(tb testing.TB, st ObjectStore, bucket string) built {
			all := genRows(7, 1000, accounts)
			k := "e3/data/billing_period=2024-03/e3-00001.csv.gz"
			put(tb, st, bucket, k, gzipBytes(tb, csvText(all, snakeNames())))
			put(tb, st, bucket, "e3/metadata/billing_period=2024-03/e3-Manifest.json", cur2ManifestJSON(tb, "exec-3", []string{"s3://" + bucket + "/" + k}))
			return built{Location{Bucket: bucket, Report: "e3", Format: FormatCUR2}, "exec-3", all}
		}},
		{"cur1 newest assembly without a date-range manifest", func(tb testing.TB, st ObjectStore, bucket string) built {
			old := genRows(8, 100, accounts)
			all := genRows(10, 400, accounts)
			dir := "nv/20240301-20240401/"
			put(tb, st, bucket, dir+"a-old/nv-1.csv.gz", gzipBytes(tb, csvText(old, legacyNames())))
			put(tb, st, bucket, dir+"a-old/nv-Manifest.json", legacyManifestJSON(tb, "nv", "a-old", "GZIP", []string{dir + "a-old/nv-1.csv.gz"}))
			setOld(tb, st, bucket, dir+"a-old/nv-Manifest.json")
			put(tb, st, bucket, dir+"a-new/nv-1.csv.gz", gzipBytes(tb, csvText(all, legacyNames())))
			put(tb, st, bucket, dir+"a-new/nv-Manifest.json", legacyManifestJSON(tb, "nv", "a-new", "GZIP", []string{dir + "a-new/nv-1.csv.gz"}))
			return built{Location{Bucket: bucket, Report: "nv", Format: FormatLegacy}, "a-new", all}
		}},
		{"cur1 date-range manifest names the version", func(tb testing.TB, st ObjectStore, bucket string) built {
			// The date-range manifest wins even over a newer assembly folder.
			chosen := genRows(11, 300, accounts)
			dir := "dm/20240301-20240401/"
			put(tb, st, bucket, dir+"a-1/dm-1.csv.gz", gzipBytes(tb, csvText(chosen, legacyNames())))
			put(tb, st, bucket, dir+"a-1/dm-Manifest.json", legacyManifestJSON(tb, "dm", "a-1", "GZIP", []string{dir + "a-1/dm-1.csv.gz"}))
			put(tb, st, bucket, dir+"dm-Manifest.json", legacyManifestJSON(tb, "dm", "a-1", "GZIP", []string{dir + "a-1/dm-1.csv.gz"}))
			put(tb, st, bucket, dir+"a-2/dm-Manifest.json", legacyManifestJSON(tb, "dm", "a-2", "GZIP", []string{dir + "a-2/missing.csv.gz"}))
			return built{Location{Bucket: bucket, Report: "dm", Format: FormatLegacy}, "a-1", chosen}
		}},
	}
	stores := []struct {
		name   string
		st     ObjectStore
		bucket string
	}{
		{"disk", DirStore{Root: t.TempDir()}, "bills"},
		{"s3", S3Store{Client: s3c}, "bills"},
	}
	mustBucket(t, s3c, "bills")
	for _, s := range stores {
		for _, b := range builders {
			t.Run(s.name+"/"+b.name, func(t *testing.T) {
				bt := b.build(t, s.st, s.bucket)
				rep, err := Discover(context.Background(), s.st, bt.loc, march)
				if err != nil {
					t.Fatal(err)
				}
				if bt.version != "" && rep.VersionID != bt.version {
					t.Errorf("version %q, want %q", rep.VersionID, bt.version)
				}
				if bt.version == "" && !strings.HasPrefix(rep.VersionID, "parquet-") {
					t.Errorf("version %q, want a parquet listing digest", rep.VersionID)
				}
				again, err := Discover(context.Background(), s.st, bt.loc, march)
				if err != nil || again.VersionID != rep.VersionID {
					t.Errorf("second discovery gave %q, %v; want the same version %q", again.VersionID, err, rep.VersionID)
				}
				sum, err := Scan(context.Background(), s.st, rep)
				if err != nil {
					t.Fatal(err)
				}
				checkAgainstOracle(t, sum.Accounts, expectRows(bt.rows))
				if sum.LineItems != int64(len(bt.rows)) {
					t.Errorf("line items %d, want %d", sum.LineItems, len(bt.rows))
				}
			})
		}
	}
}

// setOld back-dates an object so that LastModified order is certain. On S3
// (gofakes3 stamps uploads with the wall clock) it waits instead, so the next
// upload is at least a second newer.
func setOld(tb testing.TB, st ObjectStore, bucket, key string) {
	tb.Helper()
	switch s := st.(type) {
	case DirStore:
		p, err := s.file(bucket, key)
		if err != nil {
			tb.Fatal(err)
		}
		old := time.Now().Add(-time.Hour)
		if err := os.Chtimes(p, old, old); err != nil {
			tb.Fatal(err)
		}
	default:
		time.Sleep(1100 * time.Millisecond)
	}
}

// TestAthenaVersionChanges checks that a rewritten Parquet part yields a new
// version id, so the caller rescans it.
func TestAthenaVersionChanges(t *testing.T) {
	st := DirStore{Root: t.TempDir()}
	loc := Location{Report: "ath", Format: FormatLegacy}
	key := "ath/ath/year=2024/month=3/ath-00001.snappy.parquet"
	put(t, st, "", key, athenaParquet(t, genRows(1, 10, []string{"111111111111"})))
	a, err := Discover(context.Background(), st, loc, time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	put(t, st, "", key, athenaParquet(t, genRows(2, 20, []string{"111111111111"})))
	b, err := Discover(context.Background(), st, loc, time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if a.VersionID == b.VersionID {
		t.Errorf("version %q did not change after the part was rewritten", a.VersionID)
	}
}

// parquetOf writes rows of any struct as a Parquet file.
func parquetOf[T any](tb testing.TB, rows []T) []byte {
	tb.Helper()
	var b bytes.Buffer
	w := parquet.NewGenericWriter[T](&b)
	if _, err := w.Write(rows); err != nil {
		tb.Fatal(err)
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}
