package cur

import (
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
		pos += int64(pr.BytesRead()) + int64(h.CompressedPageSize)
	}
	return nil
}
