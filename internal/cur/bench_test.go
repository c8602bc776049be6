package cur

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	kgzip "github.com/klauspost/compress/gzip"
)

// Size of the generated benchmark report: benchParts gzip CSV parts of
// benchRowsPerPart rows each, about 105 MB of CSV per part.
const (
	benchParts       = 4
	benchRowsPerPart = 145_000
	benchAccounts    = 300
	benchVersion     = "v1" // bump to regenerate the cached files
)

// benchReport is the generated report and what it holds.
type benchReport struct {
	dir          string
	parts        []string
	rows         int64
	compressed   int64
	uncompressed int64
}

// makeBenchReport builds (once, cached in os.TempDir) a CUR 1.0 report from
// the real 2018-02 sample: its 96 columns and rows, replicated with unique
// line item ids, 300 usage accounts under 3 payers and varied costs.
func makeBenchReport(b *testing.B) benchReport {
	b.Helper()
	dir := filepath.Join(os.TempDir(), "aws-invites-cur-bench-"+benchVersion)
	rep := benchReport{dir: dir}
	meta := filepath.Join(dir, "meta.txt")
	for i := range benchParts {
		rep.parts = append(rep.parts, filepath.Join(dir, fmt.Sprintf("bench-%05d.csv.gz", i+1)))
	}
	if body, err := os.ReadFile(meta); err == nil {
		if _, err := fmt.Sscan(string(body), &rep.rows, &rep.compressed, &rep.uncompressed); err == nil {
			return rep
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	f, err := os.Open(filepath.Join(sampleDir(b), "legacy-csv", "billing-report-2018-02.csv.gz"))
	if err != nil {
		b.Fatal(err)
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		b.Fatal(err)
	}
	sample, err := csv.NewReader(zr).ReadAll()
	f.Close()
	if err != nil {
		b.Fatal(err)
	}
	header, body := sample[0], sample[1:]
	col := map[string]int{}
	for i, h := range header {
		col[h] = i
	}
	idCol, payerCol, acctCol, costCol := col["identity/LineItemId"], col["bill/PayerAccountId"], col["lineItem/UsageAccountId"], col["lineItem/UnblendedCost"]
	payers := []string{"486140753397", "012000000001", "000999888777"}
	accounts := make([]string, benchAccounts)
	for i := range accounts {
		accounts[i] = fmt.Sprintf("%012d", 10_000_000_000+i*7_919_113) // some with leading zeros
	}

	var wg sync.WaitGroup
	errs := make([]error, benchParts)
	sizes := make([][2]int64, benchParts)
	for p := range benchParts {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(p), 42))
			out, err := os.Create(rep.parts[p] + ".tmp")
			if err != nil {
				errs[p] = err
				return
			}
			defer out.Close()
			counter := &countWriter{w: out}
			zw, _ := kgzip.NewWriterLevel(counter, kgzip.DefaultCompression)
			raw := &countWriter{w: zw}
			bw := bufio.NewWriterSize(raw, 1<<20)
			cw := csv.NewWriter(bw)
			if err := cw.Write(header); err != nil {
				errs[p] = err
				return
			}
			rec := make([]string, len(header))
			const b32 = "abcdefghijklmnopqrstuvwxyz234567"
			id := make([]byte, 52)
			for i := range benchRowsPerPart {
				copy(rec, body[i%len(body)])
				for k := range id {
					id[k] = b32[r.IntN(32)]
				}
				a := r.IntN(benchAccounts)
				rec[idCol] = string(id)
				rec[acctCol] = accounts[a]
				rec[payerCol] = payers[a%len(payers)]
				rec[costCol] = strconv.FormatFloat(float64(r.IntN(100_000_000))/1e10, 'f', 10, 64)
				if err := cw.Write(rec); err != nil {
					errs[p] = err
					return
				}
			}
			cw.Flush()
			if err := errors.Join(cw.Error(), bw.Flush(), zw.Close()); err != nil {
				errs[p] = err
				return
			}
			sizes[p] = [2]int64{counter.n, raw.n}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		b.Fatal(err)
	}
	for p := range benchParts {
		if err := os.Rename(rep.parts[p]+".tmp", rep.parts[p]); err != nil {
			b.Fatal(err)
		}
		rep.compressed += sizes[p][0]
		rep.uncompressed += sizes[p][1]
	}
	rep.rows = benchParts * benchRowsPerPart
	if err := os.WriteFile(meta, fmt.Appendf(nil, "%d %d %d\n", rep.rows, rep.compressed, rep.uncompressed), 0o644); err != nil {
		b.Fatal(err)
	}
	return rep
}

// countWriter counts bytes on their way through.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// gzipSeconds times single-threaded `gzip -dc FILE > /dev/null` over files.
func gzipSeconds(b *testing.B, files []string) float64 {
	b.Helper()
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer devnull.Close()
	start := time.Now()
	for _, f := range files {
		cmd := exec.Command("gzip", "-dc", f)
		var stderr strings.Builder
		cmd.Stdout, cmd.Stderr = devnull, &stderr
		if err := cmd.Run(); err != nil {
			b.Fatalf("gzip -dc %s: %v %s", f, err, stderr.String())
		}
	}
	return time.Since(start).Seconds()
}

// resetPeakRSS asks Linux to restart VmHWM from the current RSS, so the peak
// measured is the scan's and not the generator's.
func resetPeakRSS() {
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// peakRSSMB reads VmHWM (peak resident memory) of this process.
func peakRSSMB() float64 {
	body, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(body), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return -1
}

// BenchmarkScan scans the generated report (all parts in parallel, and one
// part alone) and, in the same run, times gzip -dc on the same bytes.
func BenchmarkScan(b *testing.B) {
	rep := makeBenchReport(b)
	b.Logf("report: %d parts, %d rows, %.1f MB gzip, %.1f MB CSV, GOMAXPROCS %d",
		len(rep.parts), rep.rows, float64(rep.compressed)/1e6, float64(rep.uncompressed)/1e6, runtime.GOMAXPROCS(0))
	st := DirStore{Root: rep.dir}
	cases := []struct {
		name  string
		parts []string
		rows  int64
	}{
		{"report", rep.parts, rep.rows},
		{"one-part", rep.parts[:1], benchRowsPerPart},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			var compressed, uncompressed int64
			for _, p := range tc.parts {
				info, err := os.Stat(p)
				if err != nil {
					b.Fatal(err)
				}
				compressed += info.Size()
			}
			uncompressed = rep.uncompressed * int64(len(tc.parts)) / int64(len(rep.parts))
			r := Report{Format: FormatLegacy, Name: "bench", VersionID: "bench"}
			for _, p := range tc.parts {
				r.Parts = append(r.Parts, Part{Key: filepath.Base(p)})
			}
			gz := gzipSeconds(b, tc.parts)
			debug.FreeOSMemory() // return the generator's heap before measuring
			resetPeakRSS()
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for b.Loop() {
				sum, err := Scan(context.Background(), st, r)
				if err != nil {
					b.Fatal(err)
				}
				if sum.LineItems != tc.rows || len(sum.Accounts) != benchAccounts {
					b.Fatalf("scanned %d rows over %d accounts, want %d over %d", sum.LineItems, len(sum.Accounts), tc.rows, benchAccounts)
				}
			}
			per := time.Since(start).Seconds() / float64(b.N)
			b.StopTimer()
			b.ReportMetric(float64(uncompressed)/1e6/per, "csv-MB/s")
			b.ReportMetric(float64(compressed)/1e6/per, "gz-MB/s")
			b.ReportMetric(float64(uncompressed)/1e6/gz, "gzip-dc-csv-MB/s")
			b.ReportMetric(float64(compressed)/1e6/gz, "gzip-dc-gz-MB/s")
			b.ReportMetric(gz/per, "x-gzip-dc")
			b.ReportMetric(peakRSSMB(), "peak-RSS-MB")
		})
	}
}
