package cur

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"time"
)

// Location says where a payer's report is delivered.
type Location struct {
	// Bucket is the S3 bucket (for a DirStore, a subdirectory of its root, or
	// empty for the root itself).
	Bucket string
	// Prefix is the report path prefix; may be empty.
	Prefix string
	// Report is the report (CUR 1.0) or export (CUR 2.0) name.
	Report string
	// Format is the report generation.
	Format Format
}

// Part is one data file of a report version.
type Part struct {
	// Bucket and Key locate the file in the store.
	Bucket, Key string
	// Compression is the manifest's hint (GZIP, ZIP, Parquet) for keys whose
	// suffix does not say.
	Compression string
}

// Report is one version of a billing period's report, ready to scan.
type Report struct {
	// Format is the report generation.
	Format Format
	// Name is the report or export name.
	Name string
	// Period is the first instant of the billing month (UTC).
	Period time.Time
	// VersionID is the assemblyId (CUR 1.0) or executionId (CUR 2.0); for the
	// manifest-less Athena layout, a digest of the part listing. A version
	// already scanned need not be read again.
	VersionID string
	// ManifestKey is the manifest read ("" for the Athena layout).
	ManifestKey string
	// PayerAccountID is the manifest's account, when it says.
	PayerAccountID string
	// Parts are the files holding the line items.
	Parts []Part
	// DeliveredAt is when this version was delivered: when its manifest was written (the date-range manifest is
	// rewritten at each delivery), or for the manifest-less Athena layout the newest part's write time.
	DeliveredAt time.Time
}

// ErrNoReport is returned (wrapped) when no report exists for the period.
var ErrNoReport = errors.New("no report for this billing period")

// MonthStart returns the first instant of t's UTC month.
func MonthStart(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// Discover finds the newest version of the report of the month holding
// period.
func Discover(ctx context.Context, st ObjectStore, loc Location, period time.Time) (Report, error) {
	period = MonthStart(period)
	if loc.Report == "" {
		return Report{}, errors.New("discover: no report name")
	}
	switch loc.Format {
	case FormatLegacy:
		return discoverLegacy(ctx, st, loc, period)
	case FormatCUR2:
		return discoverCUR2(ctx, st, loc, period)
	}
	return Report{}, fmt.Errorf("discover: unknown format %d", loc.Format)
}

// reportBase is <prefix>/<report>/ with the slashes normalised.
func reportBase(prefix, report string) string {
	p := strings.Trim(prefix, "/")
	if p == "" {
		return report + "/"
	}
	return p + "/" + report + "/"
}

// newest returns the most recently written object, the last key breaking ties.
func newest(objs []Object) Object {
	sort.Slice(objs, func(i, j int) bool {
		if !objs[i].LastModified.Equal(objs[j].LastModified) {
			return objs[i].LastModified.Before(objs[j].LastModified)
		}
		return objs[i].Key < objs[j].Key
	})
	return objs[len(objs)-1]
}

func discoverLegacy(ctx context.Context, st ObjectStore, loc Location, period time.Time) (Report, error) {
	base := reportBase(loc.Prefix, loc.Report)
	objs, err := st.List(ctx, loc.Bucket, base)
	if err != nil {
		return Report{}, err
	}
	dateDir := base + period.Format("20060102") + "-"
	manifestName := loc.Report + "-Manifest.json"
	var top, versioned []Object
	for _, o := range objs {
		if !strings.HasPrefix(o.Key, dateDir) || path.Base(o.Key) != manifestName {
			continue
		}
		switch strings.Count(strings.TrimPrefix(o.Key, base), "/") {
		case 1:
			top = append(top, o)
		case 2:
			versioned = append(versioned, o)
		}
	}
	// The date-range manifest is rewritten at every delivery, so it names the
	// newest version; without it, the newest assemblyId manifest does.
	var pick Object
	switch {
	case len(top) > 0:
		pick = newest(top)
	case len(versioned) > 0:
		pick = newest(versioned)
	default:
		return discoverAthena(loc, period, objs, base)
	}
	body, err := readAll(ctx, st, loc.Bucket, pick.Key)
	if err != nil {
		return Report{}, err
	}
	rep, err := legacyReport(body, loc.Bucket, pick.Key, loc.Report, period, st)
	rep.DeliveredAt = pick.LastModified.UTC()
	return rep, err
}

// legacyReport turns a CUR 1.0 manifest into a Report.
func legacyReport(body []byte, bucket, key, report string, period time.Time, st ObjectStore) (Report, error) {
	m, err := parseLegacyManifest(body, report, period)
	if err != nil {
		return Report{}, fmt.Errorf("%s: %w", st.Name(bucket, key), err)
	}
	name := m.ReportName
	if name == "" {
		name = report
	}
	rep := Report{
		Format:         FormatLegacy,
		Name:           name,
		Period:         period,
		VersionID:      m.AssemblyID,
		ManifestKey:    key,
		PayerAccountID: m.Account,
	}
	if start, err := parseManifestTime(m.BillingPeriod.Start); err == nil {
		rep.Period = MonthStart(start)
	}
	for _, k := range m.ReportKeys {
		// The manifest's bucket field can be empty (or name the bucket as AWS
		// saw it); the parts always sit beside the manifest's bucket.
		rep.Parts = append(rep.Parts, Part{Bucket: bucket, Key: strings.TrimLeft(k, "/"), Compression: m.Compression})
	}
	return rep, nil
}

// discoverAthena handles the Parquet layout <report>/year=YYYY/month=M/,
// which has no manifest: the version is a digest of the part listing.
func discoverAthena(loc Location, period time.Time, objs []Object, base string) (Report, error) {
	marks := []string{
		fmt.Sprintf("/year=%d/month=%d/", period.Year(), int(period.Month())),
		fmt.Sprintf("/year=%d/month=%02d/", period.Year(), int(period.Month())),
	}
	rep := Report{Format: FormatLegacy, Name: loc.Report, Period: period}
	h := sha256.New()
	for _, o := range objs {
		k := "/" + o.Key
		if !strings.HasSuffix(strings.ToLower(o.Key), ".parquet") || (!strings.Contains(k, marks[0]) && !strings.Contains(k, marks[1])) {
			continue
		}
		rep.Parts = append(rep.Parts, Part{Bucket: loc.Bucket, Key: o.Key, Compression: "Parquet"})
		if o.LastModified.After(rep.DeliveredAt) {
			rep.DeliveredAt = o.LastModified.UTC()
		}
		fmt.Fprintf(h, "%s\x00%d\x00%d\n", o.Key, o.Size, o.LastModified.UnixNano())
	}
	if len(rep.Parts) == 0 {
		return Report{}, fmt.Errorf("report %q, %s, under %q: %w", loc.Report, period.Format("2006-01"), base, ErrNoReport)
	}
	rep.VersionID = "parquet-" + hex.EncodeToString(h.Sum(nil))[:32]
	return rep, nil
}

func discoverCUR2(ctx context.Context, st ObjectStore, loc Location, period time.Time) (Report, error) {
	base := reportBase(loc.Prefix, loc.Report) + "metadata/"
	objs, err := st.List(ctx, loc.Bucket, base)
	if err != nil {
		return Report{}, err
	}
	// AWS writes BILLING_PERIOD; other tools lower-case it.
	mark := "billing_period=" + period.Format("2006-01") + "/"
	var found []Object
	for _, o := range objs {
		lk := strings.ToLower(o.Key)
		if strings.Contains(lk, "/"+mark) && strings.HasSuffix(lk, "-manifest.json") {
			found = append(found, o)
		}
	}
	if len(found) == 0 {
		return Report{}, fmt.Errorf("export %q, %s, under %q: %w", loc.Report, period.Format("2006-01"), base, ErrNoReport)
	}
	pick := newest(found)
	body, err := readAll(ctx, st, loc.Bucket, pick.Key)
	if err != nil {
		return Report{}, err
	}
	rep, err := cur2Report(body, loc.Bucket, pick.Key, loc.Report, period, st)
	rep.DeliveredAt = pick.LastModified.UTC()
	return rep, err
}

// cur2Report turns a CUR 2.0 manifest into a Report.
func cur2Report(body []byte, bucket, key, export string, period time.Time, st ObjectStore) (Report, error) {
	m, err := parseCUR2Manifest(body, period)
	if err != nil {
		return Report{}, fmt.Errorf("%s: %w", st.Name(bucket, key), err)
	}
	rep := Report{Format: FormatCUR2, Name: export, Period: period, VersionID: m.ExecutionID, ManifestKey: key}
	if start, err := parseManifestTime(m.BillingPeriod.Start); err == nil {
		rep.Period = MonthStart(start)
	}
	for _, u := range m.DataFiles {
		b, k, _ := parseS3URI(u)
		// A local copy of a bucket (or a bucket under another name) keeps the
		// keys; the data files live where the manifest was found.
		if bucket == "" || b == bucket {
			b = bucket
		}
		rep.Parts = append(rep.Parts, Part{Bucket: b, Key: k})
	}
	return rep, nil
}

// readAll reads one (small) object fully.
func readAll(ctx context.Context, st ObjectStore, bucket, key string) ([]byte, error) {
	rc, err := st.Open(ctx, bucket, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	body, err := io.ReadAll(io.LimitReader(rc, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", st.Name(bucket, key), err)
	}
	return body, nil
}
