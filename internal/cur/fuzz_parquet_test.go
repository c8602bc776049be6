package cur

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/snappy"
	"github.com/parquet-go/parquet-go/deprecated"
)

// intAccountRow has numeric account ids, as some exporters write them.
type intAccountRow struct {
	Payer   int64   `parquet:"bill_payer_account_id"`
	Account int32   `parquet:"line_item_usage_account_id"`
	Start   int64   `parquet:"line_item_usage_start_date"`
	Cost    float32 `parquet:"line_item_unblended_cost"`
}

// fixedDecimalRow has a FIXED_LEN_BYTE_ARRAY decimal cost, INT96 times and
// dictionary-encoded ids.
type fixedDecimalRow struct {
	Payer   string           `parquet:"bill_payer_account_id,dict"`
	Account string           `parquet:"line_item_usage_account_id,dict"`
	Start   deprecated.Int96 `parquet:"line_item_usage_start_date"`
	Cost    [16]byte         `parquet:"line_item_unblended_cost,decimal(8:38)"`
}

// parquetSeeds are small files of each shape the reader converts: Athena
// (double costs, millisecond timestamps), CUR 2.0 (int64 decimals, optional
// ids, microseconds), integer ids, fixed-length decimals with INT96 times,
// and a snappy-compressed one.
func parquetSeeds(tb testing.TB) [][]byte {
	tb.Helper()
	accounts := []string{"012345678901", "000000000042"}
	rows := genRows(21, 6, accounts)
	seeds := [][]byte{athenaParquet(tb, rows), cur2Parquet(tb, rows)}
	seeds = append(seeds, parquetOf(tb, []intAccountRow{
		{Payer: 123456789012, Account: 42, Start: 1709251200000, Cost: 1.5},
		{Payer: 123456789012, Account: 42, Start: 1709254800000, Cost: -0.25},
	}))
	fixed := make([]fixedDecimalRow, 3)
	for i := range fixed {
		fixed[i] = fixedDecimalRow{Payer: "000123456789", Account: accounts[i%2], Start: deprecated.Int96{0, 0, 2460371 + uint32(i)}}
		fixed[i].Cost[15] = byte(10 * (i + 1)) // 0.0000001 .. 0.0000003
	}
	fixed[2].Cost = [16]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x9c} // -100
	seeds = append(seeds, parquetOf(tb, fixed))
	var b bytes.Buffer
	w := parquet.NewGenericWriter[athenaRow](&b, parquet.Compression(&snappy.Codec{}))
	out := []athenaRow{{ID: "1", Payer: "000123456789", Account: "012345678901", Type: "Usage", Start: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC), Cost: 0.1}}
	if _, err := w.Write(out); err != nil {
		tb.Fatal(err)
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return append(seeds, b.Bytes())
}

// twelveDigits is what an account id read from an integer column must be.
var twelveDigits = regexp.MustCompile(`^[0-9]{12,}$`)

// FuzzScanParquet reads any bytes as a Parquet part. It must end within the
// memory bound and report damage as an error. What it accepts must be
// internally consistent, give ids read from integer columns as at least 12
// digits, and equal a reading that cuts each column into rows by its
// repetition levels (the scanner takes one value per row from column pages
// side by side, so this checks that the columns stay aligned row for row).
func FuzzScanParquet(f *testing.F) {
	for _, s := range parquetSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tl := newTally()
		var err error
		bounded(t, len(data), func() { err = scanParquet(context.Background(), bytes.NewReader(data), int64(len(data)), tl) })
		if err != nil {
			return
		}
		got := tl.result()
		checkUsage(t, got, tl.rows)

		// Opened as the scanner opens it, without the page index and bloom
		// filters it does not read.
		pf, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)), parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
		if err != nil {
			t.Fatalf("the scanner read a file that parquet.OpenFile refuses the second time: %v", err)
		}
		for _, name := range []string{"bill_payer_account_id", "line_item_usage_account_id"} {
			if !intColumn(pf, name) {
				continue
			}
			for _, a := range got {
				id := a.AccountID
				if name == "bill_payer_account_id" {
					id = a.PayerAccountID
				}
				if !twelveDigits.MatchString(id) {
					t.Fatalf("integer column %s gave account id %q", name, id)
				}
			}
		}

		var want []AccountUsage
		var rows int64
		bounded(t, len(data), func() { want, rows, err = parquetByColumns(pf) })
		if err != nil {
			t.Fatalf("the scanner read a file whose columns do not read back as rows: %v", err)
		}
		if rows != tl.rows {
			t.Fatalf("%d rows, column by column %d", tl.rows, rows)
		}
		sameUsage(t, "column by column", got, want)
	})
}

// intColumn reports whether the file's column of that name holds integers.
func intColumn(f *parquet.File, name string) bool {
	for _, fl := range f.Schema().Fields() {
		if strings.EqualFold(fl.Name(), name) && fl.Leaf() {
			k := fl.Type().Kind()
			return k == parquet.Int32 || k == parquet.Int64
		}
	}
	return false
}

// parquetByColumns sums a file by reading each needed column chunk whole
// and cutting its values into rows by their repetition levels: every row
// group must then have as many rows in each column as it says, each row
// exactly one value per column.
func parquetByColumns(f *parquet.File) (out []AccountUsage, rows int64, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	var cols [slotCount]parquetColumn
	for sl := range slotCount {
		found := false
		for _, want := range columnNames(sl) {
			for _, fl := range f.Schema().Fields() {
				if leaf, ok := f.Schema().Lookup(fl.Name()); ok && strings.EqualFold(fl.Name(), want) && !found {
					cols[sl], found = describeColumn(leaf), true
				}
			}
		}
		if !found {
			return nil, 0, fmt.Errorf("no column %s", columnNames(sl)[1])
		}
	}
	t := newTally()
	for gi, rg := range f.RowGroups() {
		var byCol [slotCount][][]parquet.Value
		for sl := range slotCount {
			byCol[sl], err = columnRows(rg.ColumnChunks()[cols[sl].index])
			if err != nil {
				return nil, 0, fmt.Errorf("row group %d column %s: %w", gi, cols[sl].name, err)
			}
			if int64(len(byCol[sl])) != rg.NumRows() {
				return nil, 0, fmt.Errorf("row group %d column %s: %d rows of %d", gi, cols[sl].name, len(byCol[sl]), rg.NumRows())
			}
		}
		for r := range rg.NumRows() {
			var raw [slotCount][]byte
			for sl := range slotCount {
				vals := byCol[sl][r]
				if len(vals) != 1 {
					return nil, 0, fmt.Errorf("row %d has %d values of %s", rows+1, len(vals), cols[sl].name)
				}
				if raw[sl], err = valueText(nil, vals[0], cols[sl], sl); err != nil {
					return nil, 0, err
				}
			}
			if err := t.addRow(raw[slotPayer], raw[slotAccount], raw[slotCost], raw[slotStart]); err != nil {
				return nil, 0, err
			}
			rows++
		}
	}
	return t.result(), rows, nil
}

// columnRows reads a column chunk's values, a new row starting at each
// value of repetition level 0.
func columnRows(cc parquet.ColumnChunk) ([][]parquet.Value, error) {
	pages := cc.Pages()
	defer pages.Close()
	var rows [][]parquet.Value
	buf := make([]parquet.Value, 256)
	for {
		p, err := pages.ReadPage()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return nil, err
		}
		vr := p.Values()
		for {
			n, err := vr.ReadValues(buf)
			for _, v := range buf[:n] {
				if v.RepetitionLevel() == 0 || len(rows) == 0 {
					rows = append(rows, nil)
				}
				// Clone: byte array values point into the page's buffer.
				rows[len(rows)-1] = append(rows[len(rows)-1], v.Clone())
			}
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, err
			}
		}
	}
}
