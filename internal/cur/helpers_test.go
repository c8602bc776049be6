package cur

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"errors"
	"io"
	"io/fs"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/shopspring/decimal"
)

// samplesEnv set to "required" (as CI does) makes missing shared samples a
// failure instead of a skip.
const samplesEnv = "AWS_INVITES_SAMPLES"

// findSamples returns the real CUR samples folder, shared/testdata/cur beside
// the repository, and whether it is there. A lone clone has no such folder.
func findSamples() (string, bool) {
	dir := filepath.Join("..", "..", "..", "shared", "testdata", "cur")
	if _, file, _, ok := runtime.Caller(0); ok {
		dir = filepath.Join(filepath.Dir(file), dir)
	}
	_, err := os.Stat(filepath.Join(dir, "README.md"))
	return filepath.Clean(dir), err == nil
}

// sampleDir returns the real CUR samples folder for a test that needs it. When
// the folder is missing the test skips, or fails if AWS_INVITES_SAMPLES=required.
// Fuzz targets use findSamples instead: they seed from generated data then.
func sampleDir(tb testing.TB) string {
	tb.Helper()
	dir, ok := findSamples()
	if !ok {
		msg := "no CUR samples at " + dir + ": the real samples live in the team's shared/testdata/cur, cloned beside this repository"
		if os.Getenv(samplesEnv) == "required" {
			tb.Fatal(msg + " (" + samplesEnv + "=required)")
		}
		tb.Skip(msg + " (set " + samplesEnv + "=required to fail instead)")
	}
	return dir
}

// newS3 starts gofakes3 in process and returns a real S3 client talking to it
// over HTTP with path-style addressing.
func newS3(tb testing.TB) *s3.Client {
	tb.Helper()
	faker := gofakes3.New(s3mem.New())
	ts := httptest.NewServer(faker.Server())
	tb.Cleanup(ts.Close)
	return s3.New(s3.Options{
		BaseEndpoint:               aws.String(ts.URL),
		UsePathStyle:               true,
		Region:                     "us-east-1",
		Credentials:                credentials.NewStaticCredentialsProvider("test", "test", ""),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
}

// mustBucket creates a bucket.
func mustBucket(tb testing.TB, c *s3.Client, name string) {
	tb.Helper()
	if _, err := c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		tb.Fatalf("create bucket %s: %v", name, err)
	}
}

// uploadDir copies every file under dir into bucket, keys relative to dir.
// Files are uploaded in lexical order with a pause between manifests so that
// LastModified order is meaningful where a test depends on it.
func uploadDir(tb testing.TB, c *s3.Client, bucket, dir string) {
	tb.Helper()
	st := S3Store{Client: c}
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		body, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return st.Put(context.Background(), bucket, filepath.ToSlash(rel), body)
	})
	if err != nil {
		tb.Fatalf("upload %s: %v", dir, err)
	}
}

// oracle sums a gzip CSV report with the standard library's csv reader and
// decimal arithmetic: an implementation independent of the scanner's.
type oracleAccount struct {
	rows  int64
	cost  decimal.Decimal
	first time.Time
	last  time.Time
	payer string
}

func oracleGzipCSV(tb testing.TB, path string) map[string]*oracleAccount {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		tb.Fatal(err)
	}
	return oracleCSV(tb, zr)
}

func oracleCSV(tb testing.TB, r io.Reader) map[string]*oracleAccount {
	tb.Helper()
	cr := csv.NewReader(bufio.NewReader(r))
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		tb.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[h] = i
	}
	out := map[string]*oracleAccount{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			tb.Fatal(err)
		}
		acct := rec[col["lineItem/UsageAccountId"]]
		a := out[acct]
		if a == nil {
			a = &oracleAccount{payer: rec[col["bill/PayerAccountId"]]}
			out[acct] = a
		}
		a.rows++
		if c := rec[col["lineItem/UnblendedCost"]]; c != "" {
			a.cost = a.cost.Add(decimal.RequireFromString(c))
		}
		raw := rec[col["lineItem/UsageStartDate"]]
		ts, err := time.Parse(time.RFC3339, raw)
		if err != nil {
			ts, err = time.Parse("2006-01-02 15:04:05", raw)
		}
		if err != nil {
			tb.Fatalf("oracle: date %q: %v", raw, err)
		}
		if a.first.IsZero() || ts.Before(a.first) {
			a.first = ts
		}
		if ts.After(a.last) {
			a.last = ts
		}
	}
	return out
}

// checkAgainstOracle compares a scan with the oracle's per-account figures.
func checkAgainstOracle(tb testing.TB, got []AccountUsage, want map[string]*oracleAccount) {
	tb.Helper()
	if len(got) != len(want) {
		tb.Fatalf("got %d accounts, oracle has %d", len(got), len(want))
	}
	for _, g := range got {
		w := want[g.AccountID]
		if w == nil {
			tb.Fatalf("account %s not in the oracle", g.AccountID)
		}
		if g.LineItems != w.rows || !g.UnblendedCost.Equal(w.cost) || g.PayerAccountID != w.payer ||
			!g.FirstUsageStart.Equal(w.first) || !g.LastUsageStart.Equal(w.last) {
			tb.Errorf("account %s: got %d rows, cost %s, payer %s, %s..%s; oracle %d rows, cost %s, payer %s, %s..%s",
				g.AccountID, g.LineItems, g.UnblendedCost, g.PayerAccountID, g.FirstUsageStart, g.LastUsageStart,
				w.rows, w.cost, w.payer, w.first, w.last)
		}
	}
}

// gzipBytes compresses b.
func gzipBytes(tb testing.TB, b []byte) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		tb.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}
