package cur

import (
	"archive/zip"
	"bytes"
	stdgzip "compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/cloudreseller/aws-invites/internal/invite"
)

// maxReference caps what the fuzz oracles decompress: beyond it the input is
// a bomb, whose handling TestDecompressionBombs checks.
const maxReference = 64 << 20

// FuzzScanGzip reads any bytes as a gzip CSV part, through a store and a
// manifest as production does. It must end within the memory bound, and
// what it accepts must be a stream the standard library's gzip (another
// implementation than the scanner's) also decompresses, to text whose sums
// are the same. The domain view (invite.CURReader) must merge the payers of
// each account into exactly the sums of its per-payer entries.
func FuzzScanGzip(f *testing.F) {
	for _, s := range csvSeeds(f) {
		f.Add(gzipBytes(f, s))
	}
	// A whole report: generated, and the real one when the shared samples
	// are there.
	f.Add(gzipBytes(f, wideLegacyCSV(wideSpec{seed: 34, rows: 300, columns: 75, period: time.Date(2018, 3, 1, 0, 0, 0, 0, time.UTC),
		payer: "486000000001", accounts: []string{"486000000001", "012000000002"}}).csv))
	if dir, ok := findSamples(); ok {
		real, err := os.ReadFile(filepath.Join(dir, "legacy-csv", "billing-report-2.csv.gz"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(real)
	}
	// Two members (header, then rows), and a member with a name, comment
	// and extra field in its header.
	heads := csvHeads(f, 4)
	cut := bytes.IndexByte(heads[0], '\n') + 1
	f.Add(append(gzipBytes(f, heads[0][:cut]), gzipBytes(f, heads[0][cut:])...))
	var named bytes.Buffer
	zw := stdgzip.NewWriter(&named)
	zw.Name, zw.Comment, zw.Extra = "r-1.csv", "cur", []byte("ab\x02\x00xy")
	if _, err := zw.Write(heads[1]); err != nil {
		f.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		f.Fatal(err)
	}
	f.Add(named.Bytes())

	period := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	const key = "r/20240301-20240401/a/r-1.csv.gz"
	f.Fuzz(func(t *testing.T, data []byte) {
		st := newMemStore()
		put(t, st, "bkt", key, data)
		put(t, st, "bkt", "r/20240301-20240401/r-Manifest.json", legacyManifestJSON(t, "r", "a", "GZIP", []string{key}))
		tl := newTally()
		var err error
		bounded(t, len(data), func() { err = scanPart(context.Background(), st, Part{Bucket: "bkt", Key: key}, tl) })
		if err != nil {
			return
		}
		got := tl.result()
		checkUsage(t, got, tl.rows)

		zr, err := stdgzip.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("the scanner read a stream compress/gzip refuses: %v", err)
		}
		plain, err := io.ReadAll(io.LimitReader(zr, maxReference+1))
		if err != nil {
			t.Fatalf("the scanner read a stream compress/gzip fails on: %v", err)
		}
		if len(plain) <= maxReference {
			want, rows, err := scanBytes(bytes.NewReader(plain), len(plain)+1, headroom)
			if err != nil {
				t.Fatalf("the decompressed text fails on its own: %v", err)
			}
			if rows != tl.rows {
				t.Fatalf("%d rows, the decompressed text has %d", tl.rows, rows)
			}
			sameUsage(t, "decompressed by compress/gzip", got, want)
		}

		var scan invite.CURScan
		bounded(t, len(data), func() {
			scan, err = Reader{Store: st}.Read(context.Background(), invite.CURLocation{Bucket: "bkt", Report: "r"}, period, "")
		})
		if err != nil {
			t.Fatalf("the part scans, the report does not: %v", err)
		}
		checkMerged(t, scan, got)
	})
}

// checkMerged asserts that the domain's per-account figures are the sums of
// the scan's per-(account, payer) ones, and that nothing is lost or added.
func checkMerged(tb testing.TB, scan invite.CURScan, usage []AccountUsage) {
	tb.Helper()
	type sum struct {
		items       int64
		cost        decimal.Decimal
		first, last time.Time
	}
	want := map[string]*sum{}
	var order []string
	for _, u := range usage {
		s := want[u.AccountID]
		if s == nil {
			s = &sum{first: u.FirstUsageStart}
			want[u.AccountID] = s
			order = append(order, u.AccountID)
		}
		s.items += u.LineItems
		s.cost = s.cost.Add(u.UnblendedCost)
		if !u.FirstUsageStart.IsZero() && (s.first.IsZero() || u.FirstUsageStart.Before(s.first)) {
			s.first = u.FirstUsageStart
		}
		if u.LastUsageStart.After(s.last) {
			s.last = u.LastUsageStart
		}
	}
	if len(scan.Accounts) != len(order) {
		tb.Fatalf("the domain view has %d accounts, the scan %d", len(scan.Accounts), len(order))
	}
	for i, a := range scan.Accounts {
		if a.AccountID != order[i] {
			tb.Fatalf("domain account %d is %q, want %q", i, a.AccountID, order[i])
		}
		w := want[a.AccountID]
		cost, err := decimal.NewFromString(a.UnblendedCost)
		if err != nil {
			tb.Fatalf("account %s: cost %q is not a decimal: %v", a.AccountID, a.UnblendedCost, err)
		}
		if a.LineItems != w.items || !cost.Equal(w.cost) || !a.FirstUsage.Equal(w.first) || !a.LastUsage.Equal(w.last) {
			tb.Fatalf("account %s: domain %d items, %s, %s..%s; sum of its payers %d, %s, %s..%s", a.AccountID,
				a.LineItems, cost, a.FirstUsage, a.LastUsage, w.items, w.cost, w.first, w.last)
		}
	}
}

// FuzzScanZip reads any bytes as a ZIP CSV part. It must end within the
// memory bound, and what it accepts must be an archive the standard
// library's archive/zip also reads, whose entries, scanned one by one,
// give the same sums.
func FuzzScanZip(f *testing.F) {
	seeds := csvSeeds(f)
	for _, s := range seeds {
		f.Add(zipBytes(f, "r-1.csv", s))
	}
	// Two entries and a folder, as a tool other than AWS might write.
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for i, name := range []string{"a/", "a/r-1.csv", "r-2.csv"} {
		w, err := zw.Create(name)
		if err != nil {
			f.Fatal(err)
		}
		if i > 0 {
			if _, err := w.Write(seeds[i]); err != nil {
				f.Fatal(err)
			}
		}
	}
	if err := zw.Close(); err != nil {
		f.Fatal(err)
	}
	f.Add(b.Bytes())
	// A stored (uncompressed) entry, whose bytes the mutator reaches directly.
	b.Reset()
	zw = zip.NewWriter(&b)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "r-1.csv", Method: zip.Store})
	if err != nil {
		f.Fatal(err)
	}
	if _, err := w.Write(seeds[3]); err != nil {
		f.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		f.Fatal(err)
	}
	f.Add(b.Bytes())

	f.Fuzz(func(t *testing.T, data []byte) {
		tl := newTally()
		var err error
		bounded(t, len(data), func() { err = scanZip(context.Background(), bytes.NewReader(data), int64(len(data)), tl) })
		if err != nil {
			return
		}
		checkUsage(t, tl.result(), tl.rows)

		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
			t.Fatalf("the scanner read an archive archive/zip refuses: %v", err)
		}
		want := newTally()
		total := 0
		for _, e := range zr.File {
			if e.FileInfo().IsDir() {
				continue
			}
			rc, err := e.Open()
			if err != nil {
				t.Fatalf("entry %s: archive/zip cannot open it: %v", e.Name, err)
			}
			plain, err := io.ReadAll(io.LimitReader(rc, maxReference+1))
			rc.Close()
			if err != nil {
				t.Fatalf("entry %s: archive/zip fails on it: %v", e.Name, err)
			}
			if total += len(plain); total > maxReference {
				return
			}
			if err := scanCSVSized(context.Background(), bytes.NewReader(plain), want, len(plain)+1, headroom); err != nil {
				t.Fatalf("entry %s fails on its own: %v", e.Name, err)
			}
		}
		if want.rows != tl.rows {
			t.Fatalf("%d rows, the entries read by archive/zip have %d", tl.rows, want.rows)
		}
		sameUsage(t, "entries read by archive/zip", tl.result(), want.result())
	})
}
