package cur

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// accountLine is one JSON line of `aws-invites cur scan`.
type accountLine struct {
	AccountID       string `json:"accountId"`
	PayerAccountID  string `json:"payerAccountId"`
	LineItems       int64  `json:"lineItems"`
	UnblendedCost   string `json:"unblendedCost"`
	FirstUsageStart string `json:"firstUsageStart,omitempty"`
	LastUsageStart  string `json:"lastUsageStart,omitempty"`
}

// ScanPaths scans every path and writes one JSON line per account, sorted by
// account id, summed over all paths. A path is a CUR file (.csv, .csv.gz,
// .csv.zip, .parquet), a manifest, a local folder holding reports (the newest
// billing period of each is read) or an s3://bucket/prefix URL, which needs
// s3c.
func ScanPaths(ctx context.Context, paths []string, s3c *s3.Client, w io.Writer) error {
	if len(paths) == 0 {
		return errors.New("cur scan: no path given")
	}
	total := newTally()
	for _, p := range paths {
		t, err := scanPath(ctx, p, s3c)
		if err != nil {
			return err
		}
		total.merge(t)
	}
	enc := json.NewEncoder(w)
	for _, a := range total.result() {
		line := accountLine{
			AccountID:      a.AccountID,
			PayerAccountID: a.PayerAccountID,
			LineItems:      a.LineItems,
			UnblendedCost:  a.UnblendedCost.String(),
		}
		if !a.FirstUsageStart.IsZero() {
			line.FirstUsageStart = a.FirstUsageStart.UTC().Format(time.RFC3339Nano)
			line.LastUsageStart = a.LastUsageStart.UTC().Format(time.RFC3339Nano)
		}
		if err := enc.Encode(line); err != nil {
			return fmt.Errorf("cur scan: writing: %w", err)
		}
	}
	return nil
}

// scanPath scans one command-line path.
func scanPath(ctx context.Context, p string, s3c *s3.Client) (*tally, error) {
	if rest, ok := strings.CutPrefix(p, "s3://"); ok {
		if s3c == nil {
			return nil, fmt.Errorf("%s: no S3 client configured", p)
		}
		bucket, prefix, _ := strings.Cut(rest, "/")
		if bucket == "" {
			return nil, fmt.Errorf("%s: no bucket", p)
		}
		st := S3Store{Client: s3c}
		reps, err := DiscoverAll(ctx, st, bucket, prefix)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		return scanAll(ctx, st, reps)
	}
	info, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	if info.IsDir() {
		st, reps, err := discoverLocal(ctx, p)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		t := newTally()
		for _, rep := range reps {
			rst, err := locateRoot(st, rep)
			if err != nil {
				return nil, err
			}
			rt, err := scanReport(ctx, rst, rep)
			if err != nil {
				return nil, err
			}
			t.merge(rt)
		}
		return t, nil
	}
	dir, base := filepath.Split(p)
	st := DirStore{Root: filepath.Clean(dir)}
	if strings.HasSuffix(strings.ToLower(base), ".json") {
		body, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		rep, err := reportFromManifest(body, st, base)
		if err != nil {
			return nil, err
		}
		rst, err := locateRoot(st, rep)
		if err != nil {
			return nil, err
		}
		return scanReport(ctx, rst, rep)
	}
	t := newTally()
	if err := scanPart(ctx, st, Part{Key: base}, t); err != nil {
		return nil, err
	}
	return t, nil
}

// discoverLocal finds the reports in a local folder. The folder may be a
// bucket, a prefix, a report folder or a date-range folder: report names come
// from the folders above a manifest, so up to two parents are tried.
func discoverLocal(ctx context.Context, dir string) (DirStore, []Report, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return DirStore{}, nil, err
	}
	root, prefix := abs, ""
	for range 3 {
		st := DirStore{Root: root}
		reps, err := DiscoverAll(ctx, st, "", prefix)
		if err == nil {
			return st, reps, nil
		}
		parent := filepath.Dir(root)
		if !errors.Is(err, ErrNoReport) || parent == root {
			return DirStore{}, nil, err
		}
		prefix = filepath.Base(root) + "/" + prefix
		root = parent
	}
	return DirStore{}, nil, fmt.Errorf("no CUR manifest or Athena parquet partition found: %w", ErrNoReport)
}

// reportFromManifest builds a Report from a manifest of either generation.
func reportFromManifest(body []byte, st ObjectStore, key string) (Report, error) {
	kind, err := manifestKind(body)
	if err != nil {
		return Report{}, fmt.Errorf("%s: %w", st.Name("", key), err)
	}
	if kind == FormatCUR2 {
		return cur2Report(body, "", key, "", time.Time{}, st)
	}
	return legacyReport(body, "", key, "", time.Time{}, st)
}

// locateRoot finds the directory that plays the bucket for a local report:
// manifests name parts by their key from the bucket root, and the folder
// given may be that root, the report folder or any folder in between.
func locateRoot(st DirStore, rep Report) (DirStore, error) {
	if len(rep.Parts) == 0 || rep.ManifestKey == "" {
		return st, nil
	}
	key := filepath.FromSlash(rep.Parts[0].Key)
	dir := filepath.Dir(filepath.Join(st.Root, filepath.FromSlash(rep.ManifestKey)))
	abs, err := filepath.Abs(dir)
	if err == nil {
		dir = abs
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, key)); err == nil {
			return DirStore{Root: dir}, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	// Not found anywhere: scanning will name the missing file.
	return st, nil
}

// scanAll scans several reports into one tally.
func scanAll(ctx context.Context, st ObjectStore, reps []Report) (*tally, error) {
	t := newTally()
	for _, rep := range reps {
		rt, err := scanReport(ctx, st, rep)
		if err != nil {
			return nil, err
		}
		t.merge(rt)
	}
	return t, nil
}

// DiscoverAll finds every report under prefix and returns the newest version
// of the newest billing period of each.
func DiscoverAll(ctx context.Context, st ObjectStore, bucket, prefix string) ([]Report, error) {
	objs, err := st.List(ctx, bucket, prefix)
	if err != nil {
		return nil, err
	}
	// Patterns of report folders: a CUR 1.0 date range, a CUR 2.0 billing
	// period partition and an Athena year and month partition.
	dateRangeDir := regexp.MustCompile(`^\d{8}-\d{8}$`)
	billingDir := regexp.MustCompile(`(?i)^billing_period=(\d{4}-\d{2})$`)
	athenaDir := regexp.MustCompile(`^year=(\d{4})$`)
	athenaMonth := regexp.MustCompile(`^month=(\d{1,2})$`)
	type found struct {
		loc    Location
		period time.Time
	}
	latest := map[Location]time.Time{}
	note := func(f found) {
		if cur, ok := latest[f.loc]; !ok || f.period.After(cur) {
			latest[f.loc] = f.period
		}
	}
	for _, o := range objs {
		segs := strings.Split(o.Key, "/")
		name := segs[len(segs)-1]
		if !plainFolders(segs[:len(segs)-1]) {
			continue // not a layout AWS writes: its folder would not name the key again once joined
		}
		for i := len(segs) - 2; i >= 1; i-- {
			// CUR 1.0: <prefix>/<report>/<yyyymmdd-yyyymmdd>/[<assembly>/]<report>-Manifest.json
			if dateRangeDir.MatchString(segs[i]) && i >= len(segs)-3 {
				report := segs[i-1]
				if name != report+"-Manifest.json" {
					break
				}
				start, err := time.Parse("20060102", segs[i][:8])
				if err != nil {
					break
				}
				note(found{Location{Bucket: bucket, Prefix: path.Join(segs[:i-1]...), Report: report, Format: FormatLegacy}, start})
				break
			}
			// CUR 2.0: <prefix>/<export>/metadata/BILLING_PERIOD=YYYY-MM/.../*-Manifest.json
			if m := billingDir.FindStringSubmatch(segs[i]); m != nil && i >= 2 && segs[i-1] == "metadata" &&
				strings.HasSuffix(strings.ToLower(name), "-manifest.json") {
				start, err := time.Parse("2006-01", m[1])
				if err != nil {
					break
				}
				note(found{Location{Bucket: bucket, Prefix: path.Join(segs[:i-2]...), Report: segs[i-2], Format: FormatCUR2}, start})
				break
			}
			// Athena: <prefix>/<report>/[<report>/]year=YYYY/month=M/*.parquet
			if m := athenaDir.FindStringSubmatch(segs[i]); m != nil && i+1 < len(segs)-1 &&
				strings.HasSuffix(strings.ToLower(name), ".parquet") {
				mm := athenaMonth.FindStringSubmatch(segs[i+1])
				if mm == nil {
					break
				}
				start, err := time.Parse("2006-1", m[1]+"-"+strings.TrimPrefix(mm[1], "0"))
				if err != nil {
					break
				}
				rep := i - 1
				if rep >= 1 && segs[rep] == segs[rep-1] {
					rep-- // the Athena layout repeats the report name
				}
				note(found{Location{Bucket: bucket, Prefix: path.Join(segs[:rep]...), Report: segs[rep], Format: FormatLegacy}, start})
				break
			}
		}
	}
	if len(latest) == 0 {
		return nil, fmt.Errorf("no CUR manifest or Athena parquet partition found: %w", ErrNoReport)
	}
	locs := make([]Location, 0, len(latest))
	for l := range latest {
		locs = append(locs, l)
	}
	sort.Slice(locs, func(i, j int) bool {
		return locs[i].Prefix+"/"+locs[i].Report < locs[j].Prefix+"/"+locs[j].Report
	})
	reps := make([]Report, 0, len(locs))
	for _, l := range locs {
		rep, err := Discover(ctx, st, l, latest[l])
		if err != nil {
			return nil, err
		}
		reps = append(reps, rep)
	}
	return reps, nil
}

// plainFolders tells whether a key's folders read back as written: no "." or "..", no empty folder after the first
// (a leading "/" is kept as written).
func plainFolders(folders []string) bool {
	for i, f := range folders {
		if f == "." || f == ".." || (f == "" && i > 0) {
			return false
		}
	}
	return true
}
