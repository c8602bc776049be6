package cur

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fuzzPeriod turns a fuzzed byte into "any period" (0) or a month of 2024.
func fuzzPeriod(month uint8) time.Time {
	if month == 0 {
		return time.Time{}
	}
	return time.Date(2024, time.Month(1+int(month-1)%12), 1, 0, 0, 0, 0, time.UTC)
}

// checkReport asserts what any Report the package hands to Scan must hold.
func checkReport(tb testing.TB, rep Report, want Format) {
	tb.Helper()
	if rep.Format != want || rep.VersionID == "" || len(rep.Parts) == 0 {
		tb.Fatalf("report %+v: want format %v, a version and parts", rep, want)
	}
	if !rep.Period.IsZero() && !rep.Period.Equal(MonthStart(rep.Period)) {
		tb.Fatalf("period %s is not the start of a month", rep.Period)
	}
	root := filepath.Join(os.TempDir(), "cur-root")
	for _, p := range rep.Parts {
		if p.Key == "" {
			tb.Fatalf("part with an empty key in %+v", rep.Parts)
		}
		// Keys come from the manifest, which the payer's bucket holds: on
		// disk they must stay inside the folder playing the bucket.
		path, err := DirStore{Root: root}.file(p.Bucket, p.Key)
		if err == nil && !strings.HasPrefix(path, root+string(filepath.Separator)) {
			tb.Fatalf("part key %q reaches %s, outside %s", p.Key, path, root)
		}
	}
}

// legacyManifestSeeds are the manifests of a generated delivery layout, the
// real ones of the layout samples when the shared samples are there, and
// generated ones in every accepted form.
func legacyManifestSeeds(tb testing.TB) [][]byte {
	tb.Helper()
	aug := time.Date(2018, 8, 1, 0, 0, 0, 0, time.UTC)
	cols := wideColumns(57)
	seeds := [][]byte{
		awsManifest(tb, "koku-local", "5e6f7a8b-1c2d-4e3f-9a0b-c1d2e3f4a5b6", "070809101112", aug, cols,
			[]string{"/koku-local/20180801-20180901/5e6f7a8b-1c2d-4e3f-9a0b-c1d2e3f4a5b6/koku-local-1.csv.gz"}),
		awsManifest(tb, "my-report", "6f7a8b9c-2d3e-4f5a-8b1c-d2e3f4a5b6c7", "123123123123", aug, cols,
			[]string{"my-prefix/my-report/20180801-20180901/6f7a8b9c-2d3e-4f5a-8b1c-d2e3f4a5b6c7/my-report-1.csv.gz"}),
	}
	if dir, ok := findSamples(); ok {
		for _, p := range []string{
			"koku-local/20180801-20180901/koku-local-Manifest.json",
			"my-prefix/my-report/20180801-20180901/861af42f-713c-4a42-9562-9158a7625630/my-report-Manifest.json",
		} {
			b, err := os.ReadFile(filepath.Join(dir, "layout", filepath.FromSlash(p)))
			if err != nil {
				tb.Fatal(err)
			}
			seeds = append(seeds, b)
		}
	}
	return append(seeds,
		legacyManifestJSON(tb, "acme", "asm-1", "GZIP", []string{"/cur/acme/20240301-20240401/asm-1/acme-00001.csv.gz", "cur/acme/x/acme-2.csv.zip"}),
		[]byte(`{"assemblyId":"a","reportName":"r","reportKeys":["k"],"billingPeriod":{"start":"2024-03-01T00:00:00Z"}}`),
		[]byte(`{"assemblyId":"a","reportKeys":["../../etc/passwd","/","//x"]}`),
	)
}

// FuzzLegacyManifest decodes any bytes as a CUR 1.0 manifest for a report
// and period. What it accepts gives a report with a version and parts whose
// keys are non-empty and stay inside the bucket, of the asked report and
// month; and the manifest decoded, written back as JSON and decoded again
// gives the same report.
func FuzzLegacyManifest(f *testing.F) {
	for _, s := range legacyManifestSeeds(f) {
		f.Add(s, "", uint8(0))
		f.Add(s, "koku-local", uint8(8))
	}
	f.Fuzz(func(t *testing.T, body []byte, report string, month uint8) {
		period := fuzzPeriod(month)
		st := newMemStore()
		var rep Report
		var err error
		bounded(t, len(body), func() { rep, err = legacyReport(body, "bkt", "m/r-Manifest.json", report, period, st) })
		if err != nil {
			return
		}
		checkReport(t, rep, FormatLegacy)
		if report != "" && rep.Name != report {
			t.Fatalf("asked for report %q, got %q", report, rep.Name)
		}
		if !period.IsZero() && !rep.Period.Equal(period) {
			t.Fatalf("asked for %s, got a report of %s", period.Format("2006-01"), rep.Period.Format("2006-01"))
		}
		for _, p := range rep.Parts {
			if p.Bucket != "bkt" || strings.HasPrefix(p.Key, "/") {
				t.Fatalf("part %+v: want the manifest's bucket and a key without a leading slash", p)
			}
		}

		m, err := parseLegacyManifest(body, report, period)
		if err != nil {
			t.Fatalf("legacyReport accepted what parseLegacyManifest refuses: %v", err)
		}
		again, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		rep2, err := legacyReport(again, "bkt", "m/r-Manifest.json", report, period, st)
		if err != nil {
			t.Fatalf("the manifest written back is refused: %v\n%s", err, again)
		}
		sameReport(t, rep2, rep)
	})
}

// sameReport fails tb unless two reports are equal.
func sameReport(tb testing.TB, got, want Report) {
	tb.Helper()
	if got.Format != want.Format || got.Name != want.Name || !got.Period.Equal(want.Period) || got.VersionID != want.VersionID ||
		got.ManifestKey != want.ManifestKey || got.PayerAccountID != want.PayerAccountID || len(got.Parts) != len(want.Parts) {
		tb.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range got.Parts {
		if got.Parts[i] != want.Parts[i] {
			tb.Fatalf("part %d: got %+v, want %+v", i, got.Parts[i], want.Parts[i])
		}
	}
}

// FuzzCUR2Manifest decodes any bytes as a CUR 2.0 manifest, for an S3
// bucket and for a local folder. What it accepts gives a report with a
// version and parts whose keys are non-empty, stay inside the bucket and
// are the keys of the manifest's s3:// URIs; locally every part is read
// from the folder the manifest was found in.
func FuzzCUR2Manifest(f *testing.F) {
	seeds := [][]byte{
		cur2ManifestJSON(f, "exec-1", []string{"s3://bills/exports/e2/data/BILLING_PERIOD=2024-03/e2-00001.snappy.parquet"}),
		cur2ManifestJSON(f, "exec-2", []string{"s3://other/e/data/BILLING_PERIOD=2024-03/e-00001.csv.gz", "s3://bills//x.parquet"}),
		[]byte(`{"executionId":"x","dataFiles":["s3://b/k"],"billingPeriod":{"start":"20240301T000000.000Z"}}`),
		[]byte(`{"executionId":"x","dataFiles":["s3://b/../../k"]}`),
	}
	for _, s := range seeds {
		f.Add(s, uint8(0))
		f.Add(s, uint8(3))
	}
	f.Fuzz(func(t *testing.T, body []byte, month uint8) {
		period := fuzzPeriod(month)
		st := newMemStore()
		for _, bucket := range []string{"bills", ""} {
			var rep Report
			var err error
			bounded(t, len(body), func() { rep, err = cur2Report(body, bucket, "e/metadata/e-Manifest.json", "e", period, st) })
			if err != nil {
				return
			}
			checkReport(t, rep, FormatCUR2)
			if !period.IsZero() && !rep.Period.Equal(period) {
				t.Fatalf("asked for %s, got a report of %s", period.Format("2006-01"), rep.Period.Format("2006-01"))
			}
			m, err := parseCUR2Manifest(body, period)
			if err != nil {
				t.Fatalf("cur2Report accepted what parseCUR2Manifest refuses: %v", err)
			}
			for i, p := range rep.Parts {
				b, k, err := parseS3URI(m.DataFiles[i])
				if err != nil || k != p.Key {
					t.Fatalf("part %d is %+v, from %q (%v)", i, p, m.DataFiles[i], err)
				}
				if (bucket == "" && p.Bucket != "") || (bucket != "" && p.Bucket != b) {
					t.Fatalf("part %d of a manifest found in bucket %q is in %q (URI %q)", i, bucket, p.Bucket, m.DataFiles[i])
				}
			}
		}
	})
}

// FuzzDiscoverAll lists any keys (one per line) in a bucket, with one
// manifest body for every .json key and a CSV part for the others, and
// discovers every report. It must end within bounds, give the same answer
// twice, and every report it gives holds a version and parts, each part a
// listed key (the manifest may name missing ones; then Scan says so) and
// every manifest a listed key.
func FuzzDiscoverAll(f *testing.F) {
	// The delivery layout with a generated manifest, and with the real one
	// when the shared samples are there.
	layout := []string{
		"koku-local/20180801-20180901/koku-local-Manifest.json",
		"koku-local/20180801-20180901/16e57707-f9e3-49be-8be6-b84e684b5194/koku-local-Manifest.json",
		"koku-local/20180801-20180901/16e57707-f9e3-49be-8be6-b84e684b5194/koku-local-1.csv.gz",
	}
	f.Add(strings.Join(layout, "\n"), awsManifest(f, "koku-local", "16e57707-f9e3-49be-8be6-b84e684b5194", "070809101112",
		time.Date(2018, 8, 1, 0, 0, 0, 0, time.UTC), wideColumns(57), []string{"/" + layout[2]}))
	if dir, ok := findSamples(); ok {
		koku, err := os.ReadFile(filepath.Join(dir, "layout", filepath.FromSlash(layout[0])))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(strings.Join(layout, "\n"), koku)
	}
	f.Add("p/e2/metadata/BILLING_PERIOD=2024-03/e2-Manifest.json\np/e2/data/BILLING_PERIOD=2024-03/e2-00001.csv.gz",
		cur2ManifestJSON(f, "exec-1", []string{"s3://bkt/p/e2/data/BILLING_PERIOD=2024-03/e2-00001.csv.gz"}))
	f.Add("ath/ath/year=2024/month=3/a.parquet\nath/year=2024/month=03/b.parquet\n/year=2024/month=3/c.parquet", []byte(nil))
	f.Add("x//r/20240301-20240401/r-Manifest.json\na/../r/20240301-20240401/r-Manifest.json\nr/20240301-20240401/r-Manifest.json",
		legacyManifestJSON(f, "r", "a", "GZIP", []string{"r/20240301-20240401/a/r-1.csv.gz"}))
	f.Fuzz(func(t *testing.T, listing string, manifest []byte) {
		st := newMemStore()
		keys := map[string]bool{}
		for i, k := range strings.Split(listing, "\n") {
			if i == 64 {
				break
			}
			if k == "" || keys[k] {
				continue
			}
			keys[k] = true
			body := []byte("bill/PayerAccountId,lineItem/UsageAccountId,lineItem/UsageStartDate,lineItem/UnblendedCost\n1,2,,1\n")
			if strings.HasSuffix(strings.ToLower(k), ".json") {
				body = manifest
			}
			put(t, st, "bkt", k, body)
		}
		var reps, again []Report
		var err, err2 error
		bounded(t, len(listing)+len(manifest), func() {
			reps, err = DiscoverAll(context.Background(), st, "bkt", "")
			again, err2 = DiscoverAll(context.Background(), st, "bkt", "")
		})
		if (err == nil) != (err2 == nil) || len(reps) != len(again) {
			t.Fatalf("two discoveries differ: %d reports, %v; then %d, %v", len(reps), err, len(again), err2)
		}
		if err != nil {
			return
		}
		byKey := map[string]Report{}
		for _, r := range again {
			byKey[reportID(r)] = r
		}
		for _, r := range reps {
			checkReport(t, r, r.Format)
			if r.Name == "" {
				t.Fatalf("report without a name: %+v", r)
			}
			if r.ManifestKey != "" && !keys[r.ManifestKey] {
				t.Fatalf("manifest %q is not a listed key", r.ManifestKey)
			}
			if r.ManifestKey == "" {
				for _, p := range r.Parts {
					if !keys[p.Key] || !strings.HasSuffix(strings.ToLower(p.Key), ".parquet") {
						t.Fatalf("athena part %q is not a listed parquet key", p.Key)
					}
				}
			}
			o, ok := byKey[reportID(r)]
			if !ok {
				t.Fatalf("report %+v not found the second time", r)
			}
			sameReport(t, r, o)
		}
	})
}

// reportID tells reports of one discovery apart.
func reportID(r Report) string {
	return strings.Join([]string{r.Format.String(), r.ManifestKey, r.Name, r.VersionID}, "\x00")
}
