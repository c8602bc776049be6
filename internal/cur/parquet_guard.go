package cur

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// checkPageSizes walks the page headers of a column chunk as parquet-go
// will read them and refuses a page that claims more bytes than its chunk
// has left: parquet-go allocates a page's compressed size, as its header
// says, before reading it, so a 1 KiB file could make it allocate 2 GiB.
// It also refuses pages that claim to inflate beyond what their bytes can
// hold (see checkInflation).
// Headers are decoded from bytes already read, which allocates nothing that
// the header claims.
//
// Only the codecs AWS writes (SNAPPY, or none) are read: parquet-go's LZ4
// decoder doubles its buffer for as long as a corrupt block fails to
// decode, until the process dies out of memory, and the others would
// inflate untrusted pages without a bound.
func checkPageSizes(r io.ReaderAt, size int64, m *format.ColumnMetaData) error {
	if m.Codec != format.Uncompressed && m.Codec != format.Snappy {
		return fmt.Errorf("compression %s is not supported (AWS writes SNAPPY)", m.Codec)
	}
	start := m.DataPageOffset
	if m.DictionaryPageOffset != 0 {
		start = m.DictionaryPageOffset // where parquet-go starts reading
	}
	if start < 0 || start > size || m.TotalCompressedSize < 0 || m.TotalCompressedSize > size-start {
		return fmt.Errorf("column chunk of %d bytes at offset %d lies outside the file", m.TotalCompressedSize, start)
	}
	end := start + m.TotalCompressedSize
	var proto thrift.CompactProtocol
	win := make([]byte, 256)
	for pos := start; pos < end; {
		n := min(int64(len(win)), end-pos)
		if _, err := r.ReadAt(win[:n], pos); err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		var h format.PageHeader
		pr := proto.NewReaderFromBytes(win[:n])
		err := checkThrift(win[:n])
		if err == nil {
			err = thrift.NewDecoder(pr).Decode(&h)
		} else if errors.Is(err, errThriftShort) {
			err = io.ErrUnexpectedEOF
		}
		if errors.Is(err, io.ErrUnexpectedEOF) && n < end-pos {
			win = make([]byte, 4*len(win)) // a header with long statistics
			continue
		}
		if err != nil {
			return fmt.Errorf("page header at offset %d: %w", pos, err)
		}
		left := end - pos - int64(pr.BytesRead())
		if h.CompressedPageSize < 0 || int64(h.CompressedPageSize) > left {
			return fmt.Errorf("page at offset %d claims %d bytes, its column chunk has %d left", pos, h.CompressedPageSize, left)
		}
		if err := checkInflation(r, m.Codec, &h, pos+int64(pr.BytesRead())); err != nil {
			return fmt.Errorf("page at offset %d: %w", pos, err)
		}
		pos += int64(pr.BytesRead()) + int64(h.CompressedPageSize)
	}
	return nil
}

// maxPageValues bounds the values of one page. parquet-go decodes a page
// whole, allocating for every value its header claims, and run-length
// encoding lets a few bytes hold millions of them: a 5-byte page claiming
// 2^27 values cost 600 MiB. Current writers (parquet-mr, Arrow) cut pages
// at 20,000 rows; this is 200 times that.
const maxPageValues = 1 << 22

// snappyMaxRatio bounds what a snappy block can expand to: its longest
// copy, 64 bytes, takes 3 bytes to write.
const snappyMaxRatio = 22

// checkInflation refuses a page whose header, or whose snappy block,
// claims more than its stored bytes can hold, before parquet-go allocates
// that claim: a snappy block saying it decodes to 4 GiB made it allocate 4
// GiB for a 1.3 KiB file. body is the offset of the page's data.
func checkInflation(r io.ReaderAt, codec format.CompressionCodec, h *format.PageHeader, body int64) error {
	var values int32
	switch {
	case h.DataPageHeader.Valid:
		values = h.DataPageHeader.V.NumValues
	case h.DataPageHeaderV2.Valid:
		values = h.DataPageHeaderV2.V.NumValues
	case h.DictionaryPageHeader.Valid:
		values = h.DictionaryPageHeader.V.NumValues
	}
	if values > maxPageValues {
		return fmt.Errorf("%d values in one page (at most %d are read)", values, maxPageValues)
	}
	stored, full := int64(h.CompressedPageSize), int64(h.UncompressedPageSize)
	v2 := &h.DataPageHeaderV2
	if codec == format.Uncompressed || (v2.Valid && v2.V.IsCompressed.Valid && !v2.V.IsCompressed.V) {
		if full > stored {
			return fmt.Errorf("%d bytes stored uncompressed claim to be %d", stored, full)
		}
		return nil
	}
	if full > snappyMaxRatio*stored+64 {
		return fmt.Errorf("%d snappy bytes claim to decode to %d", stored, full)
	}
	// Version 2 pages keep their levels uncompressed, before the block.
	var levels int64
	if v2.Valid {
		levels = int64(v2.V.RepetitionLevelsByteLength) + int64(v2.V.DefinitionLevelsByteLength)
		if levels > stored {
			return fmt.Errorf("%d bytes of levels in a page of %d", levels, stored)
		}
	}
	var head [binary.MaxVarintLen32]byte
	n, _ := r.ReadAt(head[:min(int64(len(head)), stored-levels)], body+levels)
	if block, k := binary.Uvarint(head[:n]); k > 0 && block > uint64(snappyMaxRatio*(stored-levels)+64) {
		return fmt.Errorf("a snappy block of %d bytes claims to decode to %d", stored-levels, block)
	}
	return nil
}

// maxThriftDepth bounds how deeply the structs of Parquet metadata nest
// (a dozen levels in practice): decoders recurse once per level.
const maxThriftDepth = 64

// checkThrift walks the compact-protocol struct at the start of b and
// checks that every length and element count it declares fits in the bytes
// that follow. parquet-go allocates what a list declares before decoding
// its elements: a 14-byte footer declaring a list of 2^31-1 structs killed
// the process (fatal out of memory, not a panic).
func checkThrift(b []byte) error {
	w := thriftWalker{b: b}
	return w.structure(0)
}

type thriftWalker struct {
	b   []byte
	off int
}

// errThriftShort is wrapped by every error that says more bytes are needed
// than are left: a window on a longer stream can then be grown.
var errThriftShort = errors.New("thrift metadata ends early")

func (w *thriftWalker) left() uint64 { return uint64(len(w.b) - w.off) }

func (w *thriftWalker) byte() (byte, error) {
	if w.off >= len(w.b) {
		return 0, errThriftShort
	}
	w.off++
	return w.b[w.off-1], nil
}

func (w *thriftWalker) uvarint() (uint64, error) {
	v, n := binary.Uvarint(w.b[w.off:])
	if n <= 0 {
		return 0, errThriftShort
	}
	w.off += n
	return v, nil
}

func (w *thriftWalker) skip(n uint64) error {
	if n > w.left() {
		return fmt.Errorf("%w: %d bytes declared, %d left", errThriftShort, n, w.left())
	}
	w.off += int(n)
	return nil
}

// structure walks fields up to the stop byte.
func (w *thriftWalker) structure(depth int) error {
	if depth > maxThriftDepth {
		return fmt.Errorf("thrift metadata nests deeper than %d", maxThriftDepth)
	}
	for {
		h, err := w.byte()
		if err != nil || h == 0 {
			return err
		}
		if h>>4 == 0 { // no id delta: the field id follows
			if _, err := w.uvarint(); err != nil {
				return err
			}
		}
		if err := w.value(h&0x0f, depth, false); err != nil {
			return err
		}
	}
}

// value walks one value of a compact-protocol type. A boolean is a byte of
// its own in a list or map, and part of the field header elsewhere.
func (w *thriftWalker) value(typ byte, depth int, inContainer bool) error {
	switch typ {
	case 1, 2: // true, false
		if inContainer {
			_, err := w.byte()
			return err
		}
		return nil
	case 3: // byte
		return w.skip(1)
	case 4, 5, 6: // i16, i32, i64 as varints
		_, err := w.uvarint()
		return err
	case 7: // double
		return w.skip(8)
	case 8: // binary
		n, err := w.uvarint()
		if err != nil {
			return err
		}
		return w.skip(n)
	case 9, 10: // list, set
		h, err := w.byte()
		if err != nil {
			return err
		}
		size := uint64(h >> 4)
		if size == 15 {
			if size, err = w.uvarint(); err != nil {
				return err
			}
		}
		// Every element takes at least a byte.
		if size > w.left() {
			return fmt.Errorf("%w: %d elements declared, %d bytes left", errThriftShort, size, w.left())
		}
		for range size {
			if err := w.value(h&0x0f, depth+1, true); err != nil {
				return err
			}
		}
		return nil
	case 11: // map
		size, err := w.uvarint()
		if err != nil || size == 0 {
			return err
		}
		kv, err := w.byte()
		if err != nil {
			return err
		}
		if size > w.left()/2 {
			return fmt.Errorf("%w: %d map entries declared, %d bytes left", errThriftShort, size, w.left())
		}
		for range size {
			if err := w.value(kv>>4, depth+1, true); err != nil {
				return err
			}
			if err := w.value(kv&0x0f, depth+1, true); err != nil {
				return err
			}
		}
		return nil
	case 12: // struct
		return w.structure(depth + 1)
	case 13: // uuid
		return w.skip(16)
	}
	return fmt.Errorf("thrift metadata holds unknown type %d", typ)
}
