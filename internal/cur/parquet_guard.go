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
		err := thrift.NewDecoder(pr).Decode(&h)
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
