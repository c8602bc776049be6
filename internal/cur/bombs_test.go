package cur

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
	"github.com/shopspring/decimal"
)

// repeatReader yields n bytes of a repeated pattern without holding them.
type repeatReader struct {
	pattern []byte
	off     int
	n       int64
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > r.n {
		p = p[:r.n]
	}
	k := 0
	for k < len(p) {
		c := copy(p[k:], r.pattern[r.off:])
		k += c
		r.off = (r.off + c) % len(r.pattern)
	}
	r.n -= int64(k)
	return k, nil
}

// expanding returns prefix followed by n bytes of pattern, as a reader.
func expanding(prefix, pattern string, n int64) io.Reader {
	return io.MultiReader(strings.NewReader(prefix), &repeatReader{pattern: []byte(pattern), n: n})
}

// gzipBomb compresses what r yields as tightly as deflate allows.
func gzipBomb(tb testing.TB, r io.Reader) []byte {
	tb.Helper()
	var b bytes.Buffer
	zw, err := gzip.NewWriterLevel(&b, gzip.BestCompression)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := io.Copy(zw, r); err != nil {
		tb.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// zipBomb stores what r yields as the one entry of a ZIP archive.
func zipBomb(tb testing.TB, r io.Reader) []byte {
	tb.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) { return flate.NewWriter(w, flate.BestCompression) })
	f, err := zw.Create("bomb.csv")
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := io.Copy(f, r); err != nil {
		tb.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// overlappingZip builds the non-recursive zip bomb: one deflated kernel and
// a central directory of n entries that all point at it, so the archive
// lists n files for the price of one.
func overlappingZip(tb testing.TB, kernel []byte, n int) []byte {
	tb.Helper()
	var comp bytes.Buffer
	fw, err := flate.NewWriter(&comp, flate.BestCompression)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := fw.Write(kernel); err != nil {
		tb.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		tb.Fatal(err)
	}
	crc := crc32.ChecksumIEEE(kernel)
	le := binary.LittleEndian
	var b bytes.Buffer
	w := func(vs ...any) {
		for _, v := range vs {
			if err := binary.Write(&b, le, v); err != nil {
				tb.Fatal(err)
			}
		}
	}
	name := "k.csv"
	// Local file header, then the kernel's data.
	w(uint32(0x04034b50), uint16(20), uint16(0), uint16(8), uint16(0), uint16(0), crc,
		uint32(comp.Len()), uint32(len(kernel)), uint16(len(name)), uint16(0))
	b.WriteString(name)
	b.Write(comp.Bytes())
	cdStart := b.Len()
	for i := range n {
		entry := fmt.Sprintf("e%05d.csv", i)
		w(uint32(0x02014b50), uint16(20), uint16(20), uint16(0), uint16(8), uint16(0), uint16(0), crc,
			uint32(comp.Len()), uint32(len(kernel)), uint16(len(entry)), uint16(0), uint16(0), uint16(0), uint16(0), uint32(0), uint32(0))
		b.WriteString(entry)
	}
	cdLen := b.Len() - cdStart
	w(uint32(0x06054b50), uint16(0), uint16(0), uint16(n), uint16(n), uint32(cdLen), uint32(cdStart), uint16(0))
	return b.Bytes()
}

// TestDecompressionBombs feeds small files that expand to a lot of text
// through the production path (a store, the part's suffix, the readers)
// and checks that the readers stream: what they allocate stays bounded
// whatever the data expands to, and each file ends with its sums or with an
// error saying what is wrong.
func TestDecompressionBombs(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and reads a few hundred MiB of text")
	}
	const header = "bill/PayerAccountId,lineItem/UsageAccountId,lineItem/UsageStartDate,lineItem/UnblendedCost\n"
	const row = "000000000001,012345678901,2024-03-01T00:00:00Z,0.25\n"
	kernel := []byte(header + row + strings.Repeat("\n", 4<<20))
	cases := []struct {
		name string
		key  string
		body func(testing.TB) []byte
		want string // error text, or "" for success
		rows int64
	}{
		// A header that is one long run of empty columns is split again at
		// every chunk until it ends.
		{"gzip: header of 15 MiB of commas", "h.csv.gz", func(tb testing.TB) []byte { return gzipBomb(tb, expanding("", ",", 15<<20)) }, "columns", 0},
		{"zip: header of 15 MiB of commas", "h.csv.zip", func(tb testing.TB) []byte { return zipBomb(tb, expanding("", ",", 15<<20)) }, "columns", 0},
		{"gzip: one field of 64 MiB", "f.csv.gz", func(tb testing.TB) []byte { return gzipBomb(tb, expanding(header+"1,2,", "0", 64<<20)) }, "longer than", 0},
		{"gzip: quoted field never closed", "q.csv.gz", func(tb testing.TB) []byte { return gzipBomb(tb, expanding(header+"1,2,\"", "x,\n", 64<<20)) }, "longer than", 0},
		{"gzip: 64 MiB of blank lines", "b.csv.gz", func(tb testing.TB) []byte { return gzipBomb(tb, expanding(header+row, "\n", 64<<20)) }, "", 1},
		{"gzip: a million rows of one account", "r.csv.gz", func(tb testing.TB) []byte {
			return gzipBomb(tb, expanding(header, row, int64(len(row))*1_000_000))
		}, "", 1_000_000},
		{"zip: 5000 one-row entries", "m.csv.zip", func(tb testing.TB) []byte {
			var b bytes.Buffer
			zw := zip.NewWriter(&b)
			for i := range 5000 {
				f, err := zw.Create(fmt.Sprintf("e%d.csv", i))
				if err != nil {
					tb.Fatal(err)
				}
				if _, err := io.WriteString(f, header+row); err != nil {
					tb.Fatal(err)
				}
			}
			if err := zw.Close(); err != nil {
				tb.Fatal(err)
			}
			return b.Bytes()
		}, "", 5000},
		{"zip: 2000 entries over one 4 MiB kernel", "o.csv.zip", func(tb testing.TB) []byte { return overlappingZip(tb, kernel, 2000) }, "overlap", 0},
	}
	// A record may take up to maxRecord (16 MiB) before it is refused;
	// with append's growth steps and the read buffers, that is under 96 MiB.
	const limit = 96 << 20
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := tc.body(t)
			st := newMemStore()
			put(t, st, "bkt", tc.key, body)
			tl := newTally()
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			start := time.Now()
			err := scanPart(context.Background(), st, Part{Bucket: "bkt", Key: tc.key}, tl)
			took := time.Since(start)
			runtime.ReadMemStats(&after)
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("%d KiB file: %v in %v, %d MiB allocated", len(body)>>10, err, took.Round(time.Millisecond), alloc>>20)
			if alloc > limit {
				t.Errorf("allocated %d MiB reading a %d KiB file (limit %d MiB)", alloc>>20, len(body)>>10, limit>>20)
			}
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("got %v, want an error about %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tl.rows != tc.rows {
				t.Errorf("%d rows, want %d", tl.rows, tc.rows)
			}
			got := tl.result()
			checkUsage(t, got, tl.rows)
			if want := decimal.New(25, -2).Mul(decimal.NewFromInt(tc.rows)); len(got) != 1 || !got[0].UnblendedCost.Equal(want) {
				t.Errorf("got %+v, want one account costing %s", got, want)
			}
		})
	}
}

// lyingSnappy is a codec that writes every page as a snappy block claiming
// to decode to 4 GiB, holding one literal byte.
type lyingSnappy struct{}

func (lyingSnappy) String() string                            { return "SNAPPY" }
func (lyingSnappy) CompressionCodec() format.CompressionCodec { return format.Snappy }
func (lyingSnappy) Encode(dst, src []byte) ([]byte, error) {
	return []byte{0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 'x'}, nil
}
func (lyingSnappy) Decode(dst, src []byte) ([]byte, error) { return nil, errors.New("not used") }

// sameRow is one line item repeated: every column run-length encodes to a
// few bytes however many rows there are.
type sameRow struct {
	Payer   string  `parquet:"bill_payer_account_id,dict"`
	Account string  `parquet:"line_item_usage_account_id,dict"`
	Start   int64   `parquet:"line_item_usage_start_date,dict"`
	Cost    float64 `parquet:"line_item_unblended_cost,dict"`
}

// TestParquetInflationClaims reads small Parquet files whose pages or
// footer claim far more than their bytes hold, which parquet-go would
// allocate before finding out (the footer one killed the process): each
// must be refused with a reason, allocating little.
func TestParquetInflationClaims(t *testing.T) {
	var lying bytes.Buffer
	w := parquet.NewGenericWriter[athenaRow](&lying, parquet.Compression(lyingSnappy{}))
	if _, err := w.Write([]athenaRow{{Payer: "1", Account: "2", Start: time.Now(), Cost: 1}}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	// 2^20 rows make the value count a 4-byte varint, so 2^27-1 fits in
	// its place.
	rows := make([]sameRow, 1<<20)
	for i := range rows {
		rows[i] = sameRow{"000000000001", "000000000002", 1709251200000, 0.5}
	}
	var manyBuf bytes.Buffer
	mw := parquet.NewGenericWriter[sameRow](&manyBuf, parquet.PageBufferSize(64<<20)) // one page per column
	if _, err := mw.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	many := manyBuf.Bytes()
	pf, err := parquet.OpenFile(bytes.NewReader(many), int64(len(many)))
	if err != nil {
		t.Fatal(err)
	}
	m := pf.Metadata().RowGroups[0].Columns[1].MetaData // the payer
	var proto thrift.CompactProtocol
	var h format.PageHeader
	pos := m.DataPageOffset
	pr := proto.NewReaderFromBytes(many[pos:])
	if err := thrift.NewDecoder(pr).Decode(&h); err != nil || h.DataPageHeaderV2.V.NumValues != 1<<20 {
		t.Fatalf("want a version 2 data page of all %d rows at the data page offset: %+v, %v", 1<<20, h, err)
	}
	h.DataPageHeaderV2.V.NumValues, h.DataPageHeaderV2.V.NumRows = 1<<27-1, 1<<27-1
	patched, err := thrift.Marshal(&proto, &h)
	if err != nil || len(patched) != pr.BytesRead() {
		t.Fatalf("patched header is %d bytes, the original %d (%v)", len(patched), pr.BytesRead(), err)
	}
	manyValues := bytes.Clone(many)
	copy(manyValues[pos:], patched)

	// A footer that is only a schema list declaring 2^31-1 elements.
	var hugeList bytes.Buffer
	footer := []byte{0x29, 0xfc, 0xff, 0xff, 0xff, 0xff, 0x07}
	hugeList.WriteString("PAR1")
	hugeList.Write(footer)
	hugeList.Write(binary.LittleEndian.AppendUint32(nil, uint32(len(footer))))
	hugeList.WriteString("PAR1")

	for _, tc := range []struct {
		name string
		file []byte
		want string
	}{
		{"snappy block claiming 4 GiB", lying.Bytes(), "claims to decode to 4294967295"},
		{"5-byte page claiming 2^27 values", manyValues, "134217727 values in one page"},
		{"footer list claiming 2^31-1 elements", hugeList.Bytes(), "2147483647 elements declared"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			err := scanParquet(context.Background(), bytes.NewReader(tc.file), int64(len(tc.file)), newTally())
			runtime.ReadMemStats(&after)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error saying %q", err, tc.want)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
				t.Errorf("allocated %d MiB for a %d-byte file", alloc>>20, len(tc.file))
			}
		})
	}
	// The unpatched file is fine: a million rows in pages of a few bytes.
	tl := newTally()
	if err := scanParquet(context.Background(), bytes.NewReader(many), int64(len(many)), tl); err != nil || tl.rows != 1<<20 {
		t.Errorf("unpatched: %d rows, %v; want %d rows", tl.rows, err, 1<<20)
	}
}

// TestParquetLongPageHeaders reads pages whose headers carry long min/max
// statistics, longer than the first window the page walk reads a header in.
func TestParquetLongPageHeaders(t *testing.T) {
	long := strings.Repeat("9", 3000)
	rows := []athenaRow{{Payer: long, Account: long, Start: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC), Cost: 0.5}}
	file := parquetOf(t, rows)
	tl := newTally()
	if err := scanParquet(context.Background(), bytes.NewReader(file), int64(len(file)), tl); err != nil {
		t.Fatal(err)
	}
	if got := tl.result(); len(got) != 1 || got[0].AccountID != long || got[0].LineItems != 1 {
		t.Errorf("got %d accounts, want the one with the long id", len(got))
	}
}
