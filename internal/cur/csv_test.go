package cur

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/shopspring/decimal"
)

// TestCSVQuotingAndBoundaries parses tricky CSV with buffers so small that
// records, quoted fields and escapes straddle every possible boundary.
func TestCSVQuotingAndBoundaries(t *testing.T) {
	text := "\xef\xbb\xbf\"identity/LineItemId\",bill/PayerAccountId,\"lineItem/UsageAccountId\",lineItem/UsageStartDate,lineItem/UnblendedCost,lineItem/LineItemDescription,product/x\r\n" +
		// needed fields quoted, one with an escaped quote in a skipped field
		"a,\"000000000001\",\"012345678901\",2024-03-01T00:00:00Z,\"1.5\",\"say \"\"hi\"\", then\nnewline\",x\r\n" +
		// embedded newline and commas in a skipped quoted field, CRLF endings
		"b,000000000001,012345678901,2024-03-02 05:00:00,-0.25,\"a,b\r\nc\",\"\"\r\n" +
		"\r\n" + // blank line
		// a literal quote inside an unquoted skipped field
		"c,000000000001,099999999999,2024-03-01T01:00:00.000Z,0.0000000001,5\" disk,y\n" +
		// last record without a final newline, empty trailing fields
		"d,000000000001,099999999999,2024-03-31T23:00:00Z,2E-3,,"
	want := []struct {
		account  string
		rows     int64
		cost     string
		first    string
		lastHour string
	}{
		{"012345678901", 2, "1.25", "2024-03-01T00:00:00Z", "2024-03-02T05:00:00Z"},
		{"099999999999", 2, "0.0020000001", "2024-03-01T01:00:00Z", "2024-03-31T23:00:00Z"},
	}
	for _, sizes := range [][2]int{{1, 1}, {2, 1}, {3, 2}, {7, 3}, {16, 16}, {64, 8}, {1 << 20, 64 << 10}} {
		for _, oneByte := range []bool{false, true} {
			tl := newTally()
			var r = bytes.NewReader([]byte(text))
			var rd interface{ Read([]byte) (int, error) } = r
			if oneByte {
				rd = iotest.OneByteReader(r)
			}
			if err := scanCSVSized(context.Background(), rd, tl, sizes[0], sizes[1]); err != nil {
				t.Fatalf("sizes %v: %v", sizes, err)
			}
			got := tl.result()
			if len(got) != len(want) {
				t.Fatalf("sizes %v: %d accounts, want %d: %+v", sizes, len(got), len(want), got)
			}
			for i, w := range want {
				g := got[i]
				if g.AccountID != w.account || g.LineItems != w.rows || !g.UnblendedCost.Equal(decimal.RequireFromString(w.cost)) ||
					g.FirstUsageStart.Format("2006-01-02T15:04:05Z") != w.first || g.LastUsageStart.Format("2006-01-02T15:04:05Z") != w.lastHour ||
					g.PayerAccountID != "000000000001" {
					t.Errorf("sizes %v: got %+v, want %+v", sizes, g, w)
				}
			}
		}
	}
}

// TestParseFixed checks the fast exact number path and its fallbacks.
func TestParseFixed(t *testing.T) {
	cases := []struct {
		in   string
		want string
		err  bool
	}{
		{"0", "0", false},
		{"", "0", false},
		{"1.2345678901", "1.2345678901", false},
		{"-0.0000000001", "-0.0000000001", false},
		{"+3", "3", false},
		{".5", "0.5", false},
		{"5.", "5", false},
		{"12345678901234567890.5", "12345678901234567890.5", false}, // too many digits: slow path
		{"0.0000000000000000001", "0.0000000000000000001", false},   // 19 places: slow path
		{"0.12345678901234567800", "0.123456789012345678", false},   // trailing zeros beyond 18 places
		{"1e-7", "0.0000001", false},                                // exponent: slow path
		{"-", "", true},
		{"1.2.3", "", true},
		{"abc", "", true},
		{"1,5", "", true},
	}
	for _, tc := range cases {
		var m money
		err := m.addText([]byte(tc.in))
		if tc.err {
			if err == nil {
				t.Errorf("%q: want an error, got %s", tc.in, m.decimal())
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if got := m.decimal(); !got.Equal(decimal.RequireFromString(tc.want)) {
			t.Errorf("%q: got %s, want %s", tc.in, got, tc.want)
		}
	}
}

// TestMoneyOverflowSpills adds values whose sum passes the 128-bit range of
// the fast accumulator and checks the result stays exact.
func TestMoneyOverflowSpills(t *testing.T) {
	big := "9999999999999999999.999999999999999999"
	var m money
	want := decimal.Zero
	for range 40 {
		if err := m.addText([]byte(big)); err != nil {
			t.Fatal(err)
		}
		want = want.Add(decimal.RequireFromString(big))
	}
	if err := m.addText([]byte("-0.000000000000000001")); err != nil {
		t.Fatal(err)
	}
	want = want.Sub(decimal.RequireFromString("0.000000000000000001"))
	if got := m.decimal(); !got.Equal(want) {
		t.Errorf("got %s, want %s", got, want)
	}
	if !strings.HasPrefix(want.String(), "399999999999999999999.99999999999999995") {
		t.Errorf("unexpected expectation %s", want)
	}
}
