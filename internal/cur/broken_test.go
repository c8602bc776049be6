package cur

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"
)

// TestBrokenInput feeds a corpus of damaged files and manifests to the CLI
// entry point: each must fail with an error that names the file and says
// what is wrong, and none may panic. The damaged gzip reports are cut from a
// generated one here, and from the real sample in TestBrokenRealSample.
func TestBrokenInput(t *testing.T) {
	report := gzipBytes(t, wideLegacyCSV(wideSpec{seed: 3, rows: 2_000, columns: 75, period: time.Date(2018, 3, 1, 0, 0, 0, 0, time.UTC),
		payer: "486000000001", accounts: []string{"486000000001"}}).csv)
	checkBrokenReport(t, report)
	header := "bill/PayerAccountId,lineItem/UsageAccountId,lineItem/UsageStartDate,lineItem/UnblendedCost\n"
	good := athenaParquet(t, genRows(1, 50, []string{"111111111111"}))
	type noCost struct {
		Payer   string    `parquet:"bill_payer_account_id"`
		Account string    `parquet:"line_item_usage_account_id"`
		Start   time.Time `parquet:"line_item_usage_start_date"`
	}

	cases := []struct {
		name  string
		file  string
		body  []byte
		want  string // in the message, besides the file name
		named string // the file the message must name; default: file
	}{
		{"not gzip", "r-1.csv.gz", []byte(header + "1,2,2024-03-01T00:00:00Z,1\n"), "not gzip data", ""},
		{"empty gzip file", "r-1.csv.gz", nil, "empty file", ""},
		{"empty csv file", "r-1.csv", nil, "empty file", ""},
		{"missing cost column", "r-1.csv", []byte("bill/PayerAccountId,lineItem/UsageAccountId,lineItem/UsageStartDate\n1,2,2024-03-01T00:00:00Z\n"),
			"missing column lineItem/UnblendedCost", ""},
		{"bad number", "r-1.csv", []byte(header + "1,2,2024-03-01T00:00:00Z,1.0\n1,2,2024-03-01T00:00:00Z,12abc\n"), "record 3: unblended cost: bad number \"12abc\"", ""},
		{"bad date", "r-1.csv", []byte(header + "1,2,yesterday,1\n"), "bad timestamp \"yesterday\"", ""},
		{"short record", "r-1.csv", []byte(header + "1,2\n"), "record 2: has 2 fields", ""},
		{"empty account", "r-1.csv", []byte(header + "1,,2024-03-01T00:00:00Z,1\n"), "empty usage account id", ""},
		{"unterminated quote", "r-1.csv", []byte(header + "1,2,2024-03-01T00:00:00Z,\"1\n"), "unterminated quoted field", ""},
		{"garbage after quote", "r-1.csv", []byte(header + "1,\"2\"x,2024-03-01T00:00:00Z,1\n"), "after closing quote", ""},
		{"truncated parquet", "r.parquet", good[:len(good)/2], "parquet", ""},
		{"parquet missing column", "r.parquet", parquetOf(t, []noCost{{"1", "2", time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)}}), "missing column line_item_unblended_cost", ""},
		{"parquet compressed with zstd", "r.parquet", zstdParquet(t), "compression ZSTD is not supported", ""},
		{"corrupt zip", "r-1.csv.zip", zipBytes(t, "r-1.csv", []byte(header+"1,2,2024-03-01T00:00:00Z,1\n"))[:100], "not a readable zip archive", ""},
		{"manifest not json", "r-Manifest.json", []byte("{"), "not valid JSON", ""},
		{"wrong manifest", "r-Manifest.json", []byte(`{"hello":"world"}`), "not a CUR manifest", ""},
		{"manifest without keys", "r-Manifest.json", []byte(`{"assemblyId":"a","reportKeys":[]}`), "lists no report files", ""},
		{"manifest without assembly", "r-Manifest.json", []byte(`{"reportKeys":["x.csv.gz"]}`), "no assemblyId", ""},
		{"manifest lists a missing part", "r-Manifest.json", []byte(`{"assemblyId":"a","reportKeys":["gone/r-1.csv.gz"]}`),
			"listed by the manifest but missing", "r-1.csv.gz"},
		{"cur2 manifest bad uri", "e-Manifest.json", []byte(`{"executionId":"x","dataFiles":["/local/file.parquet"]}`), "not an s3:// URI", ""},
		{"cur2 manifest no files", "e-Manifest.json", []byte(`{"executionId":"x","dataFiles":[]}`), "lists no data files", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, tc.file)
			if err := os.WriteFile(p, tc.body, 0o644); err != nil {
				t.Fatal(err)
			}
			err := ScanPaths(context.Background(), []string{p}, nil, io.Discard)
			if err == nil {
				t.Fatal("want an error")
			}
			named := tc.file
			if tc.named != "" {
				named = tc.named
			}
			t.Log(err)
			if !strings.Contains(err.Error(), named) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q should name %s and say %q", err, named, tc.want)
			}
		})
	}

	t.Run("empty folder", func(t *testing.T) {
		err := ScanPaths(context.Background(), []string{t.TempDir()}, nil, io.Discard)
		if !errors.Is(err, ErrNoReport) {
			t.Errorf("got %v, want ErrNoReport", err)
		}
	})
	t.Run("s3 without client", func(t *testing.T) {
		err := ScanPaths(context.Background(), []string{"s3://b/p"}, nil, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "s3://b/p") {
			t.Errorf("got %v, want an error naming the URL", err)
		}
	})
	t.Run("manifest of another report or month", func(t *testing.T) {
		st := DirStore{Root: t.TempDir()}
		dir := "r/20240301-20240401/"
		put(t, st, "", dir+"r-Manifest.json", legacyManifestJSON(t, "other", "a", "GZIP", []string{dir + "a/r-1.csv.gz"}))
		_, err := Discover(context.Background(), st, Location{Report: "r", Format: FormatLegacy}, time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC))
		if err == nil || !strings.Contains(err.Error(), "r-Manifest.json") || !strings.Contains(err.Error(), `is for report "other"`) {
			t.Errorf("got %v", err)
		}
		put(t, st, "", "s/20240301-20240401/s-Manifest.json", []byte(`{"assemblyId":"a","reportName":"s","reportKeys":["k"],"billingPeriod":{"start":"20240201T000000.000Z"}}`))
		_, err = Discover(context.Background(), st, Location{Report: "s", Format: FormatLegacy}, time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC))
		if err == nil || !strings.Contains(err.Error(), "billing period 2024-02, not 2024-03") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("missing part on s3", func(t *testing.T) {
		c := newS3(t)
		mustBucket(t, c, "bkt")
		st := S3Store{Client: c}
		dir := "r/20240301-20240401/"
		put(t, st, "bkt", dir+"r-Manifest.json", legacyManifestJSON(t, "r", "a", "GZIP", []string{dir + "a/r-1.csv.gz"}))
		rep, err := Discover(context.Background(), st, Location{Bucket: "bkt", Report: "r", Format: FormatLegacy}, time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC))
		if err != nil {
			t.Fatal(err)
		}
		_, err = Scan(context.Background(), st, rep)
		if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "s3://bkt/"+dir+"a/r-1.csv.gz") {
			t.Errorf("got %v, want ErrNotFound naming the S3 object", err)
		}
	})
}

// TestBrokenRealSample damages the shared real report as TestBrokenInput
// damages a generated one.
func TestBrokenRealSample(t *testing.T) {
	real, err := os.ReadFile(filepath.Join(sampleDir(t), "legacy-csv", "billing-report-2.csv.gz"))
	if err != nil {
		t.Fatal(err)
	}
	checkBrokenReport(t, real)
}

// checkBrokenReport scans a gzip CSV report cut in half, with a damaged
// CRC-32 and cut into a ZIP name: each must fail naming the file and saying
// what is wrong. The whole report must scan.
func checkBrokenReport(t *testing.T, report []byte) {
	t.Helper()
	dir := t.TempDir()
	whole := filepath.Join(dir, "whole-1.csv.gz")
	if err := os.WriteFile(whole, report, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := ScanPaths(context.Background(), []string{whole}, nil, io.Discard); err != nil {
		t.Fatalf("the undamaged report: %v", err)
	}
	corrupt := bytes.Clone(report)
	corrupt[len(corrupt)-6] ^= 0xff // inside the CRC-32 trailer
	cases := []struct {
		name, file string
		body       []byte
		want       string
	}{
		{"truncated gzip", "cut-1.csv.gz", report[:len(report)/2], "truncated"},
		{"gzip checksum", "crc-1.csv.gz", corrupt, "checksum"},
		{"gzip named as zip", "gz-1.csv.zip", report[:100], "not a readable zip archive"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, tc.file)
			if err := os.WriteFile(p, tc.body, 0o644); err != nil {
				t.Fatal(err)
			}
			err := ScanPaths(context.Background(), []string{p}, nil, io.Discard)
			if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error naming %s and saying %q", err, p, tc.want)
			}
		})
	}
}

// zstdParquet writes a valid Parquet file in a codec AWS does not use.
func zstdParquet(tb testing.TB) []byte {
	tb.Helper()
	var b bytes.Buffer
	w := parquet.NewGenericWriter[athenaRow](&b, parquet.Compression(&zstd.Codec{}))
	if _, err := w.Write([]athenaRow{{Payer: "1", Account: "2", Start: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC), Cost: 1}}); err != nil {
		tb.Fatal(err)
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}
