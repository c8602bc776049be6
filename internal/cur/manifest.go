package cur

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Format tells the two report generations apart.
type Format int

const (
	// FormatLegacy is CUR 1.0: date-range folders and <report>-Manifest.json.
	FormatLegacy Format = iota + 1
	// FormatCUR2 is CUR 2.0 (Data Exports): metadata/BILLING_PERIOD=YYYY-MM.
	FormatCUR2
)

// String names the format as the API and logs do.
func (f Format) String() string {
	switch f {
	case FormatLegacy:
		return "cur1"
	case FormatCUR2:
		return "cur2"
	}
	return fmt.Sprintf("format(%d)", int(f))
}

// legacyManifest is the part of a CUR 1.0 <report>-Manifest.json we use.
type legacyManifest struct {
	AssemblyID string `json:"assemblyId"`
	Account    string `json:"account"`
	Columns    []struct {
		Category string `json:"category"`
		Name     string `json:"name"`
	} `json:"columns"`
	Compression   string `json:"compression"`
	ContentType   string `json:"contentType"`
	ReportName    string `json:"reportName"`
	BillingPeriod struct {
		Start string `json:"start"`
		End   string `json:"end"`
	} `json:"billingPeriod"`
	Bucket     string   `json:"bucket"`
	ReportKeys []string `json:"reportKeys"`
}

// cur2Manifest is the part of a CUR 2.0 metadata manifest we use.
type cur2Manifest struct {
	ExecutionID string `json:"executionId"`
	ExportARN   string `json:"exportArn"`
	Columns     []struct {
		Name string `json:"name"`
		Type string `json:"type"`
	} `json:"columns"`
	DataFiles     []string `json:"dataFiles"`
	BillingPeriod struct {
		Start string `json:"start"`
		End   string `json:"end"`
	} `json:"billingPeriod"`
}

// manifestKind reports which generation a manifest belongs to by its fields.
func manifestKind(body []byte) (Format, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(body, &probe); err != nil {
		return 0, fmt.Errorf("manifest is not valid JSON: %w", err)
	}
	if _, ok := probe["dataFiles"]; ok {
		return FormatCUR2, nil
	}
	if _, ok := probe["reportKeys"]; ok {
		return FormatLegacy, nil
	}
	return 0, errors.New("not a CUR manifest: it has neither reportKeys (CUR 1.0) nor dataFiles (CUR 2.0)")
}

// parseLegacyManifest decodes and checks a CUR 1.0 manifest. report and
// period, when set, must match what the manifest says it is.
func parseLegacyManifest(body []byte, report string, period time.Time) (legacyManifest, error) {
	var m legacyManifest
	if err := json.Unmarshal(body, &m); err != nil {
		return m, fmt.Errorf("manifest is not valid JSON: %w", err)
	}
	if m.AssemblyID == "" {
		return m, errors.New("manifest has no assemblyId")
	}
	if report != "" && m.ReportName != "" && m.ReportName != report {
		return m, fmt.Errorf("manifest is for report %q, not %q", m.ReportName, report)
	}
	if !period.IsZero() && m.BillingPeriod.Start != "" {
		start, err := parseManifestTime(m.BillingPeriod.Start)
		if err != nil {
			return m, fmt.Errorf("manifest billingPeriod.start: %w", err)
		}
		if !sameMonth(start, period) {
			return m, fmt.Errorf("manifest is for billing period %s, not %s", start.Format("2006-01"), period.Format("2006-01"))
		}
	}
	if len(m.ReportKeys) == 0 {
		return m, errors.New("manifest lists no report files (reportKeys is empty)")
	}
	for _, k := range m.ReportKeys {
		if strings.TrimLeft(k, "/") == "" {
			return m, errors.New("manifest lists an empty report key")
		}
	}
	return m, nil
}

// parseCUR2Manifest decodes and checks a CUR 2.0 manifest.
func parseCUR2Manifest(body []byte, period time.Time) (cur2Manifest, error) {
	var m cur2Manifest
	if err := json.Unmarshal(body, &m); err != nil {
		return m, fmt.Errorf("manifest is not valid JSON: %w", err)
	}
	if m.ExecutionID == "" {
		return m, errors.New("manifest has no executionId")
	}
	if !period.IsZero() && m.BillingPeriod.Start != "" {
		start, err := parseManifestTime(m.BillingPeriod.Start)
		if err != nil {
			return m, fmt.Errorf("manifest billingPeriod.start: %w", err)
		}
		if !sameMonth(start, period) {
			return m, fmt.Errorf("manifest is for billing period %s, not %s", start.Format("2006-01"), period.Format("2006-01"))
		}
	}
	if len(m.DataFiles) == 0 {
		return m, errors.New("manifest lists no data files (dataFiles is empty)")
	}
	for _, u := range m.DataFiles {
		_, key, err := parseS3URI(u)
		if err != nil {
			return m, fmt.Errorf("manifest dataFiles: %w", err)
		}
		// As for CUR 1.0 report keys: a file needs a name.
		if key == "" {
			return m, fmt.Errorf("manifest dataFiles: %q names a bucket, not a file", u)
		}
	}
	return m, nil
}

// parseManifestTime reads 20180801T000000.000Z and RFC 3339 forms.
func parseManifestTime(s string) (time.Time, error) {
	for _, layout := range []string{"20060102T150405.000Z", "20060102T150405Z", time.RFC3339Nano, "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("bad time %q", s)
}

// sameMonth reports whether a and b fall in the same UTC month.
func sameMonth(a, b time.Time) bool {
	a, b = a.UTC(), b.UTC()
	return a.Year() == b.Year() && a.Month() == b.Month()
}

// parseS3URI splits s3://bucket/key.
func parseS3URI(u string) (bucket, key string, err error) {
	rest, ok := strings.CutPrefix(u, "s3://")
	if !ok {
		return "", "", fmt.Errorf("%q is not an s3:// URI", u)
	}
	bucket, key, _ = strings.Cut(rest, "/")
	if bucket == "" {
		return "", "", fmt.Errorf("%q has no bucket", u)
	}
	return bucket, key, nil
}
