package cur

import (
	"bytes"
	"context"
	"encoding/json"
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
func TestLayoutSamples(t *testing.T) {
	layout := filepath.Join(sampleDir(t), "layout")
	s3c := newS3(t)
	mustBucket(t, s3c, "billing")
	uploadDir(t, s3c, "billing", layout)

	august := time.Date(2018, 8, 17, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name     string
		loc      Location
		assembly string
		part     string
	}{
		{"no prefix", Location{Report: "koku-local", Format: FormatLegacy},
			"16e57707-f9e3-49be-8be6-b84e684b5194",
			"koku-local/20180801-20180901/16e57707-f9e3-49be-8be6-b84e684b5194/koku-local-1.csv.gz"},
		{"with prefix", Location{Prefix: "my-prefix", Report: "my-report", Format: FormatLegacy},
			"861af42f-713c-4a42-9562-9158a7625630",
			"my-prefix/my-report/20180801-20180901/861af42f-713c-4a42-9562-9158a7625630/my-report-1.csv.gz"},
	}
	stores := []struct {
		name   string
		st     Store
		bucket string
	}{
		{"disk", DirStore{Root: layout}, ""},
		{"s3", S3Store{Client: s3c}, "billing"},
	}
	for _, tc := range cases {
		want := oracleGzipCSV(t, filepath.Join(layout, filepath.FromSlash(tc.part)))
		var results [][]AccountUsage
		for _, s := range stores {
			t.Run(tc.name+"/"+s.name, func(t *testing.T) {
				loc := tc.loc
				loc.Bucket = s.bucket
				rep, err := Discover(context.Background(), s.st, loc, august)
				if err != nil {
					t.Fatal(err)
				}
				if rep.VersionID != tc.assembly {
					t.Errorf("version %q, want assemblyId %q", rep.VersionID, tc.assembly)
				}
				if len(rep.Parts) != 1 || rep.Parts[0].Key != tc.part {
					t.Errorf("parts %+v, want the one key %s", rep.Parts, tc.part)
				}
				if !rep.Period.Equal(time.Date(2018, 8, 1, 0, 0, 0, 0, time.UTC)) {
					t.Errorf("period %s, want 2018-08-01", rep.Period)
				}
				sum, err := Scan(context.Background(), s.st, rep)
				if err != nil {
					t.Fatal(err)
				}
				checkAgainstOracle(t, sum.Accounts, want)
				var rows int64
				for _, w := range want {
					rows += w.rows
				}
				if sum.LineItems != rows {
					t.Errorf("line items %d, want %d", sum.LineItems, rows)
				}
				results = append(results, sum.Accounts)
			})
		}
		if len(results) == 2 && !reflect.DeepEqual(results[0], results[1]) {
			t.Errorf("%s: disk and S3 scans differ", tc.name)
		}
	}

	t.Run("other month has no report", func(t *testing.T) {
		_, err := Discover(context.Background(), DirStore{Root: layout}, Location{Report: "koku-local", Format: FormatLegacy},
			time.Date(2018, 9, 1, 0, 0, 0, 0, time.UTC))
		if !errors.Is(err, ErrNoReport) {
			t.Fatalf("September: got %v, want ErrNoReport", err)
		}
	})
}

// TestScanPathsLayouts runs the CLI entry point over the real layouts given
// as a folder, a report folder, a manifest and an s3:// URL: the same
// accounts must come out, sorted, however the report is named.
func TestScanPathsLayouts(t *testing.T) {
	layout := filepath.Join(sampleDir(t), "layout")
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
	koku := run(filepath.Join(layout, "koku-local"))
	if got := run("s3://billing/koku-local/"); got != koku {
		t.Errorf("s3://billing/koku-local/ differs from the report folder")
	}
	if got := run(filepath.Join(layout, "koku-local", "20180801-20180901")); got != koku {
		t.Errorf("the date-range folder differs from the report folder")
	}
	mine := run(filepath.Join(layout, "my-prefix", "my-report", "20180801-20180901", "my-report-Manifest.json"))
	if got := run("s3://billing/my-prefix"); got != mine {
		t.Errorf("s3://billing/my-prefix differs from the manifest")
	}
	// The two reports have disjoint accounts, so the folder holds both.
	if len(strings.Split(strings.TrimSpace(all), "\n")) != len(strings.Split(strings.TrimSpace(koku), "\n"))+len(strings.Split(strings.TrimSpace(mine), "\n")) {
		t.Errorf("folder output is not the union of the two reports:\n%s", all)
	}
	var prev string
	for _, line := range strings.Split(strings.TrimSpace(all), "\n") {
		var l struct {
			AccountID string `json:"accountId"`
		}
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatal(err)
		}
		if l.AccountID <= prev {
			t.Errorf("not sorted by accountId: %s after %s", l.AccountID, prev)
		}
		prev = l.AccountID
	}
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
