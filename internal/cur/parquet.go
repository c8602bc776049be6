package cur

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strconv"
	"strings"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// parquetColumn is one needed column of a Parquet file.
type parquetColumn struct {
	index   int
	name    string
	decimal int32 // scale of a DECIMAL column, else -1
	unit    int64 // nanoseconds per unit of an INT64 TIMESTAMP, else 0
}

// scanParquet reads the four needed columns of every row group, side by side.
func scanParquet(ctx context.Context, r io.ReaderAt, size int64, t *tally) (err error) {
	defer func() {
		// The Parquet library can panic on corrupt input; report it as an error.
		if p := recover(); p != nil {
			err = fmt.Errorf("corrupt parquet file: %v", p)
		}
	}()
	if err := checkFooter(r, size); err != nil {
		return fmt.Errorf("not a readable parquet file: %w", err)
	}
	// Page indexes and bloom filters are not needed for a full scan, and
	// parquet-go allocates the lengths the metadata gives them unchecked.
	f, err := parquet.OpenFile(r, size, parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return fmt.Errorf("not a readable parquet file: %w", err)
	}
	var cols [slotCount]parquetColumn
	fields := f.Schema().Fields()
	for sl := range slotCount {
		found := false
		for _, want := range columnNames(sl) {
			for _, fl := range fields {
				if !strings.EqualFold(fl.Name(), want) {
					continue
				}
				leaf, ok := f.Schema().Lookup(fl.Name())
				if !ok {
					continue
				}
				cols[sl] = describeColumn(leaf)
				found = true
				break
			}
			if found {
				break
			}
		}
		if !found {
			names := columnNames(sl)
			return fmt.Errorf("missing column %s", names[1])
		}
	}
	groups := f.Metadata().RowGroups
	for gi := range groups {
		for sl := range slotCount {
			cc := groups[gi].Columns
			if i := cols[sl].index; i < len(cc) {
				if err := checkPageSizes(r, size, &cc[i].MetaData); err != nil {
					return fmt.Errorf("row group %d column %s: %w", gi, cols[sl].name, err)
				}
			}
		}
	}
	var rowNum int64
	for gi, rg := range f.RowGroups() {
		if err := ctx.Err(); err != nil {
			return err
		}
		var curs [slotCount]*valueCursor
		for sl := range slotCount {
			curs[sl] = &valueCursor{pages: rg.ColumnChunks()[cols[sl].index].Pages(), buf: make([]parquet.Value, 1024)}
		}
		n := rg.NumRows()
		var raw [slotCount][]byte
		var scratch [slotCount][]byte
		for range n {
			rowNum++
			for sl := range slotCount {
				v, err := curs[sl].next()
				if err != nil {
					closeCursors(curs)
					return fmt.Errorf("row group %d column %s: %w", gi, cols[sl].name, err)
				}
				raw[sl], err = valueText(scratch[sl][:0], v, cols[sl], sl)
				if err != nil {
					closeCursors(curs)
					return fmt.Errorf("row %d column %s: %w", rowNum, cols[sl].name, err)
				}
				scratch[sl] = raw[sl]
			}
			if err := t.addRow(raw[slotPayer], raw[slotAccount], raw[slotCost], raw[slotStart]); err != nil {
				closeCursors(curs)
				return fmt.Errorf("row %d: %w", rowNum, err)
			}
		}
		// Values beyond the row group's row count (or repeated ones) would
		// otherwise be dropped without a word: line items missing from the sums.
		for sl := range slotCount {
			if _, err := curs[sl].next(); !errors.Is(err, errNoMoreValues) {
				closeCursors(curs)
				if err == nil {
					err = fmt.Errorf("more values than the row group's %d rows", n)
				}
				return fmt.Errorf("row group %d column %s: %w", gi, cols[sl].name, err)
			}
		}
		closeCursors(curs)
	}
	return nil
}

// errNoMoreValues is what a valueCursor returns once its column chunk ends.
var errNoMoreValues = errors.New("fewer values than rows")

// checkFooter refuses a footer longer than the file, and one whose lists
// or strings claim more than its bytes hold (see checkThrift), before
// parquet-go decodes it. parquet-go allocates the footer length the last 8
// bytes claim before reading it, so the 8-byte file "PAR1PAR1" would cost
// 800 MiB, and a length of 2^32-1 4 GiB.
func checkFooter(r io.ReaderAt, size int64) error {
	// "PAR1", the footer, its 4-byte length and "PAR1" again.
	if size < 12 {
		return fmt.Errorf("%d bytes is too small for a parquet file", size)
	}
	var tail [8]byte
	// ReadAt may report io.EOF along with the file's last bytes.
	if n, err := r.ReadAt(tail[:], size-8); n < len(tail) {
		return fmt.Errorf("reading the footer length: %w", err)
	}
	if string(tail[4:]) != "PAR1" {
		return fmt.Errorf("no parquet footer (encrypted footers are not read): %q", tail[4:])
	}
	n := int64(binary.LittleEndian.Uint32(tail[:4]))
	if n > size-12 {
		return fmt.Errorf("footer of %d bytes in a file of %d", n, size)
	}
	footer := make([]byte, n)
	if got, err := r.ReadAt(footer, size-8-n); int64(got) < n {
		return fmt.Errorf("reading the footer: %w", err)
	}
	if err := checkThrift(footer); err != nil {
		return fmt.Errorf("footer: %w", err)
	}
	return nil
}

// describeColumn records what conversions a column's type needs.
func describeColumn(leaf parquet.LeafColumn) parquetColumn {
	c := parquetColumn{index: leaf.ColumnIndex, name: strings.Join(leaf.Path, "."), decimal: -1}
	if lt := leaf.Node.Type().LogicalType(); lt != nil {
		switch v := lt.Value.(type) {
		case *format.DecimalType:
			c.decimal = v.Scale
		case *format.TimestampType:
			if v.Unit.Value != nil {
				c.unit = int64(v.Unit.Value.Duration())
			}
		}
	}
	return c
}

// valueText renders a Parquet value as the text the CSV path would have seen,
// so both formats share one exact arithmetic. Timestamps become RFC 3339.
func valueText(dst []byte, v parquet.Value, c parquetColumn, slot int) ([]byte, error) {
	if v.IsNull() {
		return dst, nil
	}
	switch v.Kind() {
	case parquet.ByteArray, parquet.FixedLenByteArray:
		if c.decimal >= 0 {
			n := new(big.Int).SetBytes(v.ByteArray())
			if b := v.ByteArray(); len(b) > 0 && b[0]&0x80 != 0 {
				n.Sub(n, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
			}
			return appendScaled(dst, n.String(), c.decimal), nil
		}
		return append(dst, v.ByteArray()...), nil
	case parquet.Double:
		// The file holds a binary double; its shortest decimal form is the
		// number AWS wrote, and that decimal is what gets summed.
		return strconv.AppendFloat(dst, v.Double(), 'f', -1, 64), nil
	case parquet.Float:
		return strconv.AppendFloat(dst, float64(v.Float()), 'f', -1, 32), nil
	case parquet.Int32, parquet.Int64:
		i := v.Int64()
		switch {
		case slot == slotStart:
			unit := c.unit
			if unit == 0 {
				unit = 1e6 // an unannotated INT64 time: milliseconds
			}
			return appendUnixNanos(dst, i*unit), nil
		case slot == slotPayer || slot == slotAccount:
			// Zero-padding a negative number would give "0-1097262572".
			if i < 0 {
				return dst, fmt.Errorf("account id %d is negative", i)
			}
			return append(dst, formatAccountInt(i)...), nil
		case c.decimal > 0:
			return appendScaled(dst, strconv.FormatInt(i, 10), c.decimal), nil
		}
		return strconv.AppendInt(dst, i, 10), nil
	case parquet.Int96:
		// INT96 timestamps: nanoseconds of the day, then the Julian day.
		w := v.Int96()
		nanos := int64(uint64(w[1])<<32 | uint64(w[0]))
		days := int64(w[2]) - 2440588
		return appendUnixNanos(dst, days*86400e9+nanos), nil
	}
	return dst, fmt.Errorf("unsupported parquet type %s", v.Kind())
}

// appendScaled writes integer digits s with scale decimal places.
func appendScaled(dst []byte, s string, scale int32) []byte {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for int32(len(s)) <= scale {
		s = "0" + s
	}
	if neg {
		dst = append(dst, '-')
	}
	cut := len(s) - int(scale)
	dst = append(dst, s[:cut]...)
	if scale > 0 {
		dst = append(dst, '.')
		dst = append(dst, s[cut:]...)
	}
	return dst
}

// appendUnixNanos writes a UTC RFC 3339 timestamp with nanoseconds.
func appendUnixNanos(dst []byte, ns int64) []byte {
	return unixNanoTime(ns).AppendFormat(dst, "2006-01-02T15:04:05.999999999Z")
}

// valueCursor walks one column chunk value by value across its pages.
type valueCursor struct {
	pages parquet.Pages
	vals  parquet.ValueReader
	buf   []parquet.Value
	n, i  int
}

// next returns the column's next value.
func (c *valueCursor) next() (parquet.Value, error) {
	for c.i >= c.n {
		if c.vals != nil {
			n, err := c.vals.ReadValues(c.buf)
			c.n, c.i = n, 0
			if n > 0 {
				break
			}
			if err != nil && !errors.Is(err, io.EOF) {
				return parquet.Value{}, err
			}
			c.vals = nil
			continue
		}
		page, err := c.pages.ReadPage()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return parquet.Value{}, errNoMoreValues
			}
			return parquet.Value{}, err
		}
		c.vals = page.Values()
	}
	v := c.buf[c.i]
	c.i++
	return v, nil
}

func closeCursors(curs [slotCount]*valueCursor) {
	for _, c := range curs {
		if c != nil {
			c.pages.Close()
		}
	}
}
