package cur

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"
)

// memStore is a Store held in memory, so that fuzz inputs reach discovery
// and scanning without touching the disk. Objects listed later are newer.
type memStore struct {
	objs map[[2]string]memObject
}

type memObject struct {
	body []byte
	mod  time.Time
}

func newMemStore() *memStore { return &memStore{objs: map[[2]string]memObject{}} }

func (m *memStore) List(_ context.Context, bucket, prefix string) ([]Object, error) {
	var out []Object
	for k, o := range m.objs {
		if k[0] == bucket && strings.HasPrefix(k[1], prefix) {
			out = append(out, Object{Key: k[1], Size: int64(len(o.body)), LastModified: o.mod})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

func (m *memStore) Open(_ context.Context, bucket, key string) (io.ReadCloser, error) {
	o, ok := m.objs[[2]string{bucket, key}]
	if !ok {
		return nil, ErrNotFound
	}
	return io.NopCloser(bytes.NewReader(o.body)), nil
}

func (m *memStore) Put(_ context.Context, bucket, key string, body []byte) error {
	m.objs[[2]string{bucket, key}] = memObject{body: body, mod: time.Unix(int64(len(m.objs)), 0)}
	return nil
}

func (m *memStore) Name(bucket, key string) string { return "mem://" + bucket + "/" + key }

// Limits every fuzz call is held to. A parse must end: the fuzzing engine
// has no per-input timeout, so a loop would only show as a stalled run. And
// what a reader allocates must not grow with what the input claims or
// expands to, only (a little) with its size: the fixed part covers the
// scanner's four 1 MiB read buffers and the decompressors' state.
const (
	fuzzDeadline   = 20 * time.Second
	fuzzAllocFixed = 64 << 20
	fuzzAllocPerIn = 64
)

// bounded runs fn, failing tb when it does not return within fuzzDeadline or
// allocates more than the limit for an input of inputLen bytes.
func bounded(tb testing.TB, inputLen int, fn func()) {
	tb.Helper()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	select {
	case <-done:
	case <-time.After(fuzzDeadline):
		tb.Fatalf("still running after %v on a %d-byte input", fuzzDeadline, inputLen)
	}
	runtime.ReadMemStats(&after)
	limit := uint64(fuzzAllocFixed + fuzzAllocPerIn*inputLen)
	if got := after.TotalAlloc - before.TotalAlloc; got > limit {
		tb.Fatalf("allocated %d MiB for a %d-byte input (limit %d MiB)", got>>20, inputLen, limit>>20)
	}
}

// checkUsage asserts what holds for any successful scan, whatever the input:
// accounts sorted and unique per payer, non-empty ids, every account with at
// least one line item, the line items adding up to the total, and each
// account's usage range ordered.
func checkUsage(tb testing.TB, got []AccountUsage, rows int64) {
	tb.Helper()
	var sum int64
	for i, a := range got {
		if a.AccountID == "" {
			tb.Fatalf("account %d has an empty id", i)
		}
		if i > 0 {
			p := got[i-1]
			if p.AccountID > a.AccountID || (p.AccountID == a.AccountID && p.PayerAccountID >= a.PayerAccountID) {
				tb.Fatalf("accounts out of order or repeated: %q/%q then %q/%q", p.AccountID, p.PayerAccountID, a.AccountID, a.PayerAccountID)
			}
		}
		if a.LineItems <= 0 {
			tb.Fatalf("account %s has %d line items", a.AccountID, a.LineItems)
		}
		if a.LastUsageStart.Before(a.FirstUsageStart) {
			tb.Fatalf("account %s: last usage %s before first %s", a.AccountID, a.LastUsageStart, a.FirstUsageStart)
		}
		sum += a.LineItems
	}
	if sum != rows {
		tb.Fatalf("per-account line items add up to %d, the total is %d", sum, rows)
	}
}

// sameUsage fails tb unless two scans found exactly the same accounts.
func sameUsage(tb testing.TB, what string, got, want []AccountUsage) {
	tb.Helper()
	if len(got) != len(want) {
		tb.Fatalf("%s: %d accounts, want %d:\n got %+v\nwant %+v", what, len(got), len(want), got, want)
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.AccountID != w.AccountID || g.PayerAccountID != w.PayerAccountID || g.LineItems != w.LineItems ||
			!g.UnblendedCost.Equal(w.UnblendedCost) || !g.FirstUsageStart.Equal(w.FirstUsageStart) || !g.LastUsageStart.Equal(w.LastUsageStart) {
			tb.Fatalf("%s: account %d is %+v, want %+v", what, i, g, w)
		}
	}
}

// csvHeads returns the header and first records of generated reports shaped
// like real ones (96 and 75 columns, quoted fields, RFC 3339 and
// space-separated dates), then of each real sample report when the shared
// samples are there: real column sets, quoting and number forms, small
// enough for a fuzzing seed. Either way it returns at least three.
func csvHeads(tb testing.TB, records int) [][]byte {
	tb.Helper()
	var out [][]byte
	for _, s := range []wideSpec{
		{seed: 31, rows: records, columns: 96, period: time.Date(2018, 2, 1, 0, 0, 0, 0, time.UTC), payer: "048613975320", accounts: []string{"048613975320"}},
		{seed: 32, rows: records, columns: 75, period: time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC), payer: "000111222333",
			accounts: []string{"012345678901", "000000000042"}, spaceDates: true, strayDates: true},
		{seed: 33, rows: records, columns: 57, period: time.Date(2018, 8, 1, 0, 0, 0, 0, time.UTC), payer: "070809101112",
			accounts: []string{"070809101112"}, spaceDates: true},
	} {
		out = append(out, wideLegacyCSV(s).csv)
	}
	dir, ok := findSamples()
	if !ok {
		return out
	}
	files := []string{
		"legacy-csv/billing-report-2018-02.csv.gz",
		"legacy-csv/billing-report-2.csv.gz",
		"layout/koku-local/20180801-20180901/16e57707-f9e3-49be-8be6-b84e684b5194/koku-local-1.csv.gz",
	}
	for _, name := range files {
		f, err := os.Open(filepath.Join(dir, filepath.FromSlash(name)))
		if err != nil {
			tb.Fatal(err)
		}
		zr, err := gzip.NewReader(f)
		if err != nil {
			tb.Fatal(err)
		}
		// Read a bounded prefix, then let encoding/csv find where the
		// records end inside it.
		prefix, err := io.ReadAll(io.LimitReader(zr, 256<<10))
		f.Close()
		if err != nil {
			tb.Fatal(err)
		}
		cr := csv.NewReader(bytes.NewReader(prefix))
		cr.FieldsPerRecord = -1
		for range records + 1 {
			if _, err := cr.Read(); err != nil && !errors.Is(err, io.EOF) {
				tb.Fatalf("%s: %v", name, err)
			}
		}
		out = append(out, prefix[:cr.InputOffset()])
	}
	return out
}
