package cur

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"sort"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/shopspring/decimal"
)

// csvSeeds are report heads (generated, and real when the shared samples are
// there) plus small generated reports that reach the scanner's corners: BOM,
// CRLF, quoted needed fields with escapes, quoted skipped fields holding
// commas and newlines, blank lines, a last record without a newline,
// snake_case names, and a few broken ones.
func csvSeeds(tb testing.TB) [][]byte {
	tb.Helper()
	seeds := csvHeads(tb, 6)
	accounts := []string{"012345678901", "000000000042"}
	seeds = append(seeds,
		csvText(genRows(11, 5, accounts), legacyNames()),
		csvText(genRows(12, 5, accounts), snakeNames()),
		[]byte("\xef\xbb\xbf\"identity/LineItemId\",bill/PayerAccountId,\"lineItem/UsageAccountId\",lineItem/UsageStartDate,lineItem/UnblendedCost,x\r\n"+
			"a,\"000000000001\",\"0123\"\"45678901\",2024-03-01T00:00:00Z,\"1.5\",\"say \"\"hi\"\"\nthen\"\r\n\r\n"+
			"b,000000000001,012345678901,2024-03-02 05:00:00,-0.25,5\" disk\n"+
			"c,000000000001,012345678901,2024-03-31T23:00:00.123Z,2E-3,"),
		[]byte("lineItem/UnblendedCost,lineItem/UsageStartDate,lineItem/UsageAccountId,bill/PayerAccountId\n"+
			"99999999999999999999.000000000000000001,2024-02-29T23:59:59.999999999Z,1,2\n"+
			",,3,4\n-0.000000000000000001,2024-03-01T00:00:00+01:00,3,4\n"),
		[]byte("bill/PayerAccountId,lineItem/UsageAccountId,lineItem/UsageStartDate,lineItem/UnblendedCost\n1,2\n"),
		[]byte("bill/PayerAccountId,lineItem/UsageAccountId,lineItem/UsageStartDate,lineItem/UnblendedCost\n1,\"2,2024-03-01T00:00:00Z,1\n"),
		[]byte(""),
	)
	return seeds
}

// scanBytes runs the CSV scanner over data with the given buffer sizes.
func scanBytes(r io.Reader, chunk, room int) ([]AccountUsage, int64, error) {
	t := newTally()
	if err := scanCSVSized(context.Background(), r, t, chunk, room); err != nil {
		return nil, 0, err
	}
	return t.result(), t.rows, nil
}

// FuzzScanCSV checks the streaming CSV scanner. Whatever the bytes, it ends,
// stays within memory bounds, and gives the same answer (the same sums or the
// same error) whatever the buffer sizes, so record, field, quote and CRLF
// boundaries falling anywhere in a chunk change nothing. What it accepts is
// internally consistent, and, for input that encoding/csv also reads
// strictly, it equals an independent sum: encoding/csv for the records,
// shopspring/decimal for the costs and time.Parse for the dates.
func FuzzScanCSV(f *testing.F) {
	for _, s := range csvSeeds(f) {
		f.Add(s, uint8(0), uint8(0))
		f.Add(s, uint8(6), uint8(2))
	}
	f.Fuzz(func(t *testing.T, data []byte, chunk, room uint8) {
		// The reference reading takes the whole input in one chunk, as the
		// production buffers do with anything smaller than 1 MiB, without
		// allocating them at every call.
		var want []AccountUsage
		var rows int64
		var err error
		bounded(t, len(data), func() { want, rows, err = scanBytes(bytes.NewReader(data), len(data)+1, headroom) })

		// Tiny buffers put a boundary everywhere; big inputs get bigger
		// chunks so that re-scanning a long record stays linear enough.
		c := max(1+int(chunk)%64, len(data)/256)
		h := 1 + int(room)%32
		for _, r := range []struct {
			name string
			rd   io.Reader
		}{
			{"tiny buffers", bytes.NewReader(data)},
			{"tiny buffers, EOF with the last bytes", iotest.DataErrReader(bytes.NewReader(data))},
		} {
			got, gotRows, gotErr := scanBytes(r.rd, c, h)
			if fmt.Sprint(gotErr) != fmt.Sprint(err) {
				t.Fatalf("%s (%d/%d): error %v; in one chunk: %v", r.name, c, h, gotErr, err)
			}
			if gotRows != rows {
				t.Fatalf("%s (%d/%d): %d rows; in one chunk: %d", r.name, c, h, gotRows, rows)
			}
			sameUsage(t, r.name, got, want)
		}
		if err != nil {
			return
		}
		checkUsage(t, want, rows)

		// encoding/csv folds CR LF to LF, also inside quoted fields; the
		// comparison is made only where that cannot matter.
		if bytes.IndexByte(data, '\r') >= 0 {
			return
		}
		ref, refRows, strictOK, refErr := oracleCSVBytes(data)
		if !strictOK {
			return
		}
		if refErr != nil {
			t.Fatalf("the scanner accepted input the independent reading refuses: %v", refErr)
		}
		if refRows != rows {
			t.Fatalf("%d rows, the independent reading has %d", rows, refRows)
		}
		sameUsage(t, "independent reading", want, ref)
	})
}

// oracleCSVBytes sums a report with encoding/csv (strict quoting), decimal
// and time.Parse. strictOK is false when encoding/csv itself refuses the
// text; err then says nothing about the report.
func oracleCSVBytes(data []byte) (out []AccountUsage, rows int64, strictOK bool, err error) {
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1
	recs, err := cr.ReadAll()
	if err != nil {
		return nil, 0, false, nil
	}
	// The scanner reads the first line as the header; encoding/csv skips
	// leading blank lines, so only compare when there are none.
	if len(recs) == 0 || bytes.HasPrefix(data, []byte("\n")) {
		return nil, 0, false, nil
	}
	col := [slotCount]int{-1, -1, -1, -1}
	maxIdx := 0
	for sl := range slotCount {
		for i, h := range recs[0] {
			name := strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
			if strings.EqualFold(name, columnNames(sl)[0]) || strings.EqualFold(name, columnNames(sl)[1]) {
				col[sl] = i
				break
			}
		}
		if col[sl] < 0 {
			return nil, 0, true, fmt.Errorf("no column %s", columnNames(sl)[0])
		}
		maxIdx = max(maxIdx, col[sl])
	}
	type key struct{ account, payer string }
	sums := map[key]*AccountUsage{}
	for n, rec := range recs[1:] {
		if len(rec) <= maxIdx {
			return nil, 0, true, fmt.Errorf("record %d has %d fields", n+2, len(rec))
		}
		k := key{rec[col[slotAccount]], rec[col[slotPayer]]}
		if k.account == "" {
			return nil, 0, true, fmt.Errorf("record %d: no account", n+2)
		}
		var cost decimal.Decimal
		if c := rec[col[slotCost]]; c != "" {
			if cost, err = decimal.NewFromString(c); err != nil {
				return nil, 0, true, fmt.Errorf("record %d: cost: %v", n+2, err)
			}
		}
		a := sums[k]
		if a == nil {
			a = &AccountUsage{AccountID: k.account, PayerAccountID: k.payer}
			sums[k] = a
		}
		if s := rec[col[slotStart]]; s != "" {
			ts, err := referenceTime(s)
			if err != nil {
				return nil, 0, true, fmt.Errorf("record %d: %v", n+2, err)
			}
			if a.FirstUsageStart.IsZero() || ts.Before(a.FirstUsageStart) {
				a.FirstUsageStart = ts
			}
			if ts.After(a.LastUsageStart) {
				a.LastUsageStart = ts
			}
		}
		a.UnblendedCost = a.UnblendedCost.Add(cost)
		a.LineItems++
		rows++
	}
	for _, a := range sums {
		out = append(out, *a)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].AccountID != out[j].AccountID {
			return out[i].AccountID < out[j].AccountID
		}
		return out[i].PayerAccountID < out[j].PayerAccountID
	})
	return out, rows, true, nil
}

// referenceTime reads the date forms CUR writes (see parseTimestamp) with
// the standard library: RFC 3339 with a zone, and the zoneless forms with T
// or a space (UTC).
func referenceTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02 15:04:05Z"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("bad timestamp %q", s)
}

// FuzzParseTimestamp checks the scanner's hand-written date parser against
// the standard library: every date it accepts is one time.Parse reads too,
// as the same instant. (It may refuse forms CUR never writes.)
func FuzzParseTimestamp(f *testing.F) {
	for _, s := range []string{
		"2018-02-01T00:00:00Z", "2018-08-01T00:00:00.000Z", "2018-06-20 01:00:00", "2024-03-01T00:00:00+01:00",
		"2024-02-29T23:59:59.999999999Z",
		"2024-03-01T00:00:00.1234567891Z", "2024-03-01T00:00:00", "2024-03-01 00:00:00Z", "yesterday", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseTimestamp([]byte(s))
		if err != nil {
			return
		}
		want, refErr := referenceTime(s)
		if refErr != nil {
			t.Fatalf("parseTimestamp(%q) = %s, but time.Parse refuses it", s, time.Unix(0, got).UTC().Format(time.RFC3339Nano))
		}
		// Compared as times, not nanoseconds, so that an instant outside what
		// int64 nanoseconds hold cannot wrap around on both sides alike.
		if g := time.Unix(0, got).UTC(); !g.Equal(want) {
			t.Fatalf("parseTimestamp(%q) = %s, time.Parse reads %s", s, g.Format(time.RFC3339Nano), want.Format(time.RFC3339Nano))
		}
	})
}

// FuzzAddCost checks the exact cost accumulator against decimal arithmetic:
// a number is accepted only when decimal reads it too (an empty field being
// zero), and the running sum, and the sum of two halves merged as the parts
// of a report are, equal the decimal sum to the last digit. The accumulator
// is held to the fuzzing memory and time bounds: a short number must not
// make it build a huge one.
func FuzzAddCost(f *testing.F) {
	for _, s := range []string{
		"0.0000000001\n-0.0000000001\n1.5", "170141183460469231731.687303715884105727\n1", "-99999999999999999999\n-99999999999999999999",
		"1e-7\n2E3\n.5\n5.\n+3", "0.1234567890123456789\n0.12345678901234567800", "12abc", "\n\n", "1.0000000000000000000000001",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		nums := strings.Split(s, "\n")
		errs := make([]error, len(nums))
		var sum, merged decimal.Decimal
		bounded(t, len(s), func() {
			var all, first, second money
			for i, n := range nums {
				if errs[i] = all.addText([]byte(n)); errs[i] != nil {
					return
				}
				half := &first
				if i >= len(nums)/2 {
					half = &second
				}
				if err := half.addText([]byte(n)); err != nil {
					errs[i] = fmt.Errorf("failed the second time: %w", err)
					return
				}
			}
			sum = all.decimal()
			first.addMoney(&second)
			merged = first.decimal()
		})
		var want decimal.Decimal
		for i, n := range nums {
			d, decErr := decimal.NewFromString(n)
			if errs[i] != nil {
				if n == "" || decErr == nil {
					t.Fatalf("addText(%q): %v; decimal reads it as %s", n, errs[i], d)
				}
				return
			}
			if n != "" && decErr != nil {
				t.Fatalf("addText(%q) accepted what decimal refuses: %v", n, decErr)
			}
			want = want.Add(d)
		}
		if !sum.Equal(want) {
			t.Fatalf("sum %s, decimal sum %s", sum, want)
		}
		if !merged.Equal(want) {
			t.Fatalf("merged halves %s, decimal sum %s", merged, want)
		}
	})
}
