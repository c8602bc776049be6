package cur

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestLayoutSamples discovers and scans the two real delivery layouts (no
// prefix, and under my-prefix) from disk and from S3 through the real SDK
// client against gofakes3, and checks both against the standard-library sum.
// TestDeliveryLayout covers the same on a generated layout.
func TestLayoutSamples(t *testing.T) {
	checkDeliveryLayout(t, filepath.Join(sampleDir(t), "layout"), realLayoutReports(t))
}

// TestScanPathsLayouts runs the CLI entry point over the real layouts given
// as a folder, a report folder, a date-range folder, a manifest and s3://
// URLs. TestScanPathsDeliveryLayout covers the same on a generated layout.
func TestScanPathsLayouts(t *testing.T) {
	checkScanPathsLayout(t, filepath.Join(sampleDir(t), "layout"), realLayoutReports(t))
}

// realLayoutReports describes the reports of the shared layout samples; their
// sums come from the standard-library reading of the part files.
func realLayoutReports(t *testing.T) []deliveredReport {
	layout := filepath.Join(sampleDir(t), "layout")
	reports := []deliveredReport{
		{name: "no prefix", loc: Location{Report: "koku-local", Format: FormatLegacy},
			assembly: "16e57707-f9e3-49be-8be6-b84e684b5194",
			part:     "koku-local/20180801-20180901/16e57707-f9e3-49be-8be6-b84e684b5194/koku-local-1.csv.gz"},
		{name: "with prefix", loc: Location{Prefix: "my-prefix", Report: "my-report", Format: FormatLegacy},
			assembly: "861af42f-713c-4a42-9562-9158a7625630",
			part:     "my-prefix/my-report/20180801-20180901/861af42f-713c-4a42-9562-9158a7625630/my-report-1.csv.gz"},
	}
	for i := range reports {
		reports[i].at = time.Date(2018, 8, 17, 12, 0, 0, 0, time.UTC)
		reports[i].want = oracleGzipCSV(t, filepath.Join(layout, filepath.FromSlash(reports[i].part)))
	}
	return reports
}

// TestDeliveryLayout discovers and scans a generated delivery layout (a
// report without a prefix, with an older month and an older delivery in the
// newest month, and one under a prefix) from disk and from S3 through the real
// SDK client against gofakes3, to the sums the generator computed.
func TestDeliveryLayout(t *testing.T) {
	layout := t.TempDir()
	reports, july := writeDeliveryLayout(t, layout)
	checkDeliveryLayout(t, layout, reports)

	// The older month is still there to read, as its own version.
	rep, err := Discover(context.Background(), DirStore{Root: layout}, july.loc, july.at)
	if err != nil {
		t.Fatal(err)
	}
	if rep.VersionID != july.assembly || len(rep.Parts) != 1 || rep.Parts[0].Key != july.part {
		t.Fatalf("July: version %q, parts %+v; want %s with %s", rep.VersionID, rep.Parts, july.assembly, july.part)
	}
	sum, err := Scan(context.Background(), DirStore{Root: layout}, rep)
	if err != nil {
		t.Fatal(err)
	}
	checkAgainstOracle(t, sum.Accounts, july.want)
}

// TestScanPathsDeliveryLayout runs the CLI entry point over a generated
// delivery layout in every form a user may name it: the newest month of each
// report comes out, the same however it is named.
func TestScanPathsDeliveryLayout(t *testing.T) {
	layout := t.TempDir()
	reports, _ := writeDeliveryLayout(t, layout)
	checkScanPathsLayout(t, layout, reports)
}

// checkDeliveryLayout uploads a delivery layout to gofakes3 and discovers and
// scans each report from the folder and from S3: the newest version of its
// month with its one part, the expected sums, the same on disk and on S3, and
// no report for the month after.
func checkDeliveryLayout(t *testing.T, layout string, reports []deliveredReport) {
	t.Helper()
	s3c := newS3(t)
	mustBucket(t, s3c, "billing")
	uploadDir(t, s3c, "billing", layout)
	stores := []struct {
		name   string
		st     ObjectStore
		bucket string
	}{
		{"disk", DirStore{Root: layout}, ""},
		{"s3", S3Store{Client: s3c}, "billing"},
	}
	for _, tc := range reports {
		var results [][]AccountUsage
		for _, s := range stores {
			t.Run(tc.name+"/"+s.name, func(t *testing.T) {
				loc := tc.loc
				loc.Bucket = s.bucket
				rep, err := Discover(context.Background(), s.st, loc, tc.at)
				if err != nil {
					t.Fatal(err)
				}
				if rep.VersionID != tc.assembly {
					t.Errorf("version %q, want assemblyId %q", rep.VersionID, tc.assembly)
				}
				if len(rep.Parts) != 1 || rep.Parts[0].Key != tc.part {
					t.Errorf("parts %+v, want the one key %s", rep.Parts, tc.part)
				}
				if !rep.Period.Equal(MonthStart(tc.at)) {
					t.Errorf("period %s, want %s", rep.Period, MonthStart(tc.at))
				}
				sum, err := Scan(context.Background(), s.st, rep)
				if err != nil {
					t.Fatal(err)
				}
				checkAgainstOracle(t, sum.Accounts, tc.want)
				var rows int64
				for _, w := range tc.want {
					rows += w.rows
				}
				if sum.LineItems != rows {
					t.Errorf("line items %d, want %d", sum.LineItems, rows)
				}
				results = append(results, sum.Accounts)

				next := MonthStart(tc.at).AddDate(0, 1, 0)
				if _, err := Discover(context.Background(), s.st, loc, next); !errors.Is(err, ErrNoReport) {
					t.Errorf("%s: got %v, want ErrNoReport", next.Format("2006-01"), err)
				}
			})
		}
		if len(results) == 2 && !reflect.DeepEqual(results[0], results[1]) {
			t.Errorf("%s: disk and S3 scans differ", tc.name)
		}
	}
}

// checkScanPathsLayout runs ScanPaths over a delivery layout given as the
// folder, and each report as its folder, its date-range folder, its manifest
// and s3:// URLs: each form gives the report's expected lines, and the folder
// (the union of the reports, whose accounts are disjoint) the same as the
// bucket.
func checkScanPathsLayout(t *testing.T, layout string, reports []deliveredReport) {
	t.Helper()
	s3c := newS3(t)
	mustBucket(t, s3c, "billing")
	uploadDir(t, s3c, "billing", layout)
	run := func(paths ...string) string {
		t.Helper()
		var out bytes.Buffer
		if err := ScanPaths(context.Background(), paths, s3c, &out); err != nil {
			t.Fatalf("%v: %v", paths, err)
		}
		return out.String()
	}
	all := run(layout)
	if got := run("s3://billing/"); got != all {
		t.Errorf("s3://billing/ differs from the folder:\n%s\nvs\n%s", got, all)
	}
	union := map[string]*oracleAccount{}
	for _, r := range reports {
		base := reportBase(r.loc.Prefix, r.loc.Report)
		folder := filepath.Join(layout, filepath.FromSlash(base))
		period := MonthStart(r.at)
		dateDir := filepath.Join(folder, period.Format("20060102")+"-"+period.AddDate(0, 1, 0).Format("20060102"))
		top, _, _ := strings.Cut(base, "/")
		got := run(folder)
		checkScanLines(t, got, r.want)
		for _, p := range []string{"s3://billing/" + base, "s3://billing/" + top, dateDir, filepath.Join(dateDir, r.loc.Report+"-Manifest.json")} {
			if other := run(p); other != got {
				t.Errorf("%s differs from the report folder %s:\n%s\nvs\n%s", p, folder, other, got)
			}
		}
		for id, w := range r.want {
			if union[id] != nil {
				t.Fatalf("account %s is in two reports", id)
			}
			union[id] = w
		}
	}
	checkScanLines(t, all, union)
}

// TestDiscoverAllPassesOverOddFolders: a key whose folders do not read back as written ("x//r", "a/../r") is not a
// layout AWS writes; it does not keep the bucket's real report from being found.
func TestDiscoverAllPassesOverOddFolders(t *testing.T) {
	st := newMemStore()
	manifest := legacyManifestJSON(t, "r", "a", "GZIP", []string{"r/20240301-20240401/a/r-1.csv.gz"})
	for _, k := range []string{"x//r/20240301-20240401/r-Manifest.json", "a/../r/20240301-20240401/r-Manifest.json",
		"r/./20240301-20240401/r-Manifest.json", "r/20240301-20240401/r-Manifest.json"} {
		put(t, st, "bkt", k, manifest)
	}
	put(t, st, "bkt", "r/20240301-20240401/a/r-1.csv.gz", gzipBytes(t, []byte("bill/PayerAccountId,lineItem/UnblendedCost\n1,2\n")))
	reps, err := DiscoverAll(context.Background(), st, "bkt", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(reps) != 1 || reps[0].Name != "r" || reps[0].ManifestKey != "r/20240301-20240401/r-Manifest.json" {
		t.Fatalf("found %+v", reps)
	}
}
