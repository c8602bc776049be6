package cur

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

// The four columns the scan needs, as slots in csvScanner.fields.
const (
	slotPayer = iota
	slotAccount
	slotCost
	slotStart
	slotCount
)

// columnNames lists, per slot, the legacy CUR 1.0 name and the snake_case
// name of Parquet and CUR 2.0 (compared case-insensitively).
func columnNames(slot int) []string {
	switch slot {
	case slotPayer:
		return []string{"bill/PayerAccountId", "bill_payer_account_id"}
	case slotAccount:
		return []string{"lineItem/UsageAccountId", "line_item_usage_account_id"}
	case slotCost:
		return []string{"lineItem/UnblendedCost", "line_item_unblended_cost"}
	default:
		return []string{"lineItem/UsageStartDate", "line_item_usage_start_date"}
	}
}

// maxRecord bounds one CSV record so that a file with an unterminated quote
// fails instead of growing memory with the file.
const maxRecord = 16 << 20

// csvScanner parses CUR CSV text incrementally. It materialises only the
// needed fields of a record and skips the rest with bytes.IndexByte, which is
// what keeps parsing faster than decompression.
type csvScanner struct {
	t          *tally
	haveHeader bool
	slot       []int8 // column index -> slot, or -1; len is maxIdx+1
	maxIdx     int
	rec        int64 // complete records so far, header included
	fields     [slotCount][]byte
	unq        [slotCount][]byte // scratch for quoted fields with "" escapes
}

// recordError describes a problem with the record being parsed.
func (s *csvScanner) recordError(format string, args ...any) error {
	return fmt.Errorf("record %d: %s", s.rec+1, fmt.Sprintf(format, args...))
}

// scan consumes complete records from data and returns how many bytes it
// used; the rest is an incomplete record to be retried with more data.
func (s *csvScanner) scan(data []byte, atEOF bool) (int, error) {
	p := 0
	n := len(data)
	for p < n {
		if !s.haveHeader {
			fields, next, ok, err := splitRecord(data[p:], atEOF)
			if err != nil {
				return p, s.recordError("header: %v", err)
			}
			if !ok {
				return p, nil
			}
			if err := s.setHeader(fields); err != nil {
				return p, err
			}
			s.rec++
			p += next
			continue
		}
		switch data[p] {
		case '\n':
			p++ // blank line
			continue
		case '\r':
			if p+1 < n && data[p+1] == '\n' {
				p += 2
				continue
			}
			if p+1 >= n && !atEOF {
				return p, nil
			}
		}
		next, ok, err := s.row(data, p, atEOF)
		if err != nil {
			return p, err
		}
		if !ok {
			return p, nil
		}
		p = next
	}
	return p, nil
}

// setHeader finds the needed columns by name.
func (s *csvScanner) setHeader(fields [][]byte) error {
	idx := [slotCount]int{-1, -1, -1, -1}
	for i, f := range fields {
		name := string(bytes.TrimSpace(bytes.TrimPrefix(f, []byte("\xef\xbb\xbf"))))
		for sl := range slotCount {
			if idx[sl] >= 0 {
				continue
			}
			for _, want := range columnNames(sl) {
				if strings.EqualFold(name, want) {
					idx[sl] = i
				}
			}
		}
	}
	s.maxIdx = 0
	for sl, i := range idx {
		if i < 0 {
			names := columnNames(sl)
			return fmt.Errorf("header: missing column %s (or %s)", names[0], names[1])
		}
		s.maxIdx = max(s.maxIdx, i)
	}
	s.slot = make([]int8, s.maxIdx+1)
	for i := range s.slot {
		s.slot[i] = -1
	}
	for sl, i := range idx {
		s.slot[i] = int8(sl)
	}
	s.haveHeader = true
	return nil
}

// row parses one data record starting at data[p]. ok is false when the
// record is incomplete and more data is needed.
func (s *csvScanner) row(data []byte, p int, atEOF bool) (next int, ok bool, err error) {
	n := len(data)
	i := p
	for field := 0; ; field++ {
		var val []byte
		ended := false // the record ends after this field
		if i < n && data[i] == '"' {
			j, esc, complete, err := closingQuote(data, i+1, atEOF)
			if err != nil {
				return 0, false, s.recordError("%v", err)
			}
			if !complete {
				return 0, false, nil
			}
			val = data[i+1 : j]
			if esc && field <= s.maxIdx && s.slot[field] >= 0 {
				sl := s.slot[field]
				s.unq[sl] = append(s.unq[sl][:0], val...)
				s.unq[sl] = bytes.ReplaceAll(s.unq[sl], []byte(`""`), []byte(`"`))
				val = s.unq[sl]
			}
			i = j + 1
			switch {
			case i >= n:
				if !atEOF {
					return 0, false, nil
				}
				ended = true
			case data[i] == ',':
				i++
			case data[i] == '\n':
				i++
				ended = true
			case data[i] == '\r' && i+1 < n && data[i+1] == '\n':
				i += 2
				ended = true
			case data[i] == '\r' && i+1 >= n && !atEOF:
				return 0, false, nil
			default:
				return 0, false, s.recordError("field %d: unexpected %q after closing quote", field+1, data[i])
			}
		} else {
			j := i
			for j < n {
				if c := data[j]; c == ',' || c == '\n' {
					break
				}
				j++
			}
			if j >= n {
				if !atEOF {
					return 0, false, nil
				}
				val = data[i:n]
				i = n
				ended = true
			} else {
				val = data[i:j]
				ended = data[j] == '\n'
				if ended && len(val) > 0 && val[len(val)-1] == '\r' {
					val = val[:len(val)-1]
				}
				i = j + 1
			}
		}
		if field <= s.maxIdx {
			if sl := s.slot[field]; sl >= 0 {
				s.fields[sl] = val
			}
		}
		if ended {
			if field < s.maxIdx {
				return 0, false, s.recordError("has %d fields, the header needs at least %d", field+1, s.maxIdx+1)
			}
			next = i
			break
		}
		if field == s.maxIdx {
			next, ok, err = s.skipRest(data, i, atEOF)
			if err != nil || !ok {
				return 0, ok, err
			}
			break
		}
	}
	if err := s.t.addRow(s.fields[slotPayer], s.fields[slotAccount], s.fields[slotCost], s.fields[slotStart]); err != nil {
		return 0, false, s.recordError("%v", err)
	}
	s.rec++
	return next, true, nil
}

// skipRest finds the end of the record whose unneeded fields start at i,
// honouring quoted fields (which may hold commas, quotes and newlines).
func (s *csvScanner) skipRest(data []byte, i int, atEOF bool) (int, bool, error) {
	for {
		rest := data[i:]
		nl := bytes.IndexByte(rest, '\n')
		seg := rest
		if nl >= 0 {
			seg = rest[:nl]
		}
		q := bytes.IndexByte(seg, '"')
		if q < 0 {
			if nl >= 0 {
				return i + nl + 1, true, nil
			}
			if atEOF {
				return len(data), true, nil
			}
			return 0, false, nil
		}
		qp := i + q
		if data[qp-1] != ',' {
			// A quote inside an unquoted field is taken literally.
			i = qp + 1
			continue
		}
		j, _, complete, err := closingQuote(data, qp+1, atEOF)
		if err != nil {
			return 0, false, s.recordError("%v", err)
		}
		if !complete {
			return 0, false, nil
		}
		i = j + 1
	}
}

// closingQuote finds the quote closing a field whose content starts at i.
// esc reports "" escapes inside; complete is false when more data is needed.
func closingQuote(data []byte, i int, atEOF bool) (j int, esc, complete bool, err error) {
	n := len(data)
	j = i
	for {
		k := bytes.IndexByte(data[j:], '"')
		if k < 0 {
			if atEOF {
				return 0, false, false, errors.New("unterminated quoted field")
			}
			return 0, false, false, nil
		}
		j += k
		if j+1 < n && data[j+1] == '"' {
			esc = true
			j += 2
			continue
		}
		if j+1 >= n && !atEOF {
			return 0, false, false, nil // the next byte may be an escaped quote
		}
		return j, esc, true, nil
	}
}

// maxColumns bounds a header. Real reports have a few hundred columns; an
// incomplete header is split again at every chunk, so a header of millions
// of empty fields (a few KiB of gzip) would otherwise cost gigabytes.
const maxColumns = 1 << 16

// splitRecord splits the first record of data into unescaped fields (used
// for headers, where every field is needed). next is the offset after it.
// Fields alias data (only unescaped ones are copies): the caller uses them
// before data changes.
func splitRecord(data []byte, atEOF bool) (fields [][]byte, next int, ok bool, err error) {
	n := len(data)
	i := 0
	for {
		if len(fields) == maxColumns {
			return nil, 0, false, fmt.Errorf("more than %d columns", maxColumns)
		}
		if i < n && data[i] == '"' {
			j, esc, complete, err := closingQuote(data, i+1, atEOF)
			if err != nil {
				return nil, 0, false, err
			}
			if !complete {
				return nil, 0, false, nil
			}
			v := data[i+1 : j]
			if esc {
				v = bytes.ReplaceAll(v, []byte(`""`), []byte(`"`))
			}
			fields = append(fields, v)
			i = j + 1
		} else {
			j := i
			for j < n && data[j] != ',' && data[j] != '\n' {
				j++
			}
			if j >= n && !atEOF {
				return nil, 0, false, nil
			}
			fields = append(fields, bytes.TrimSuffix(data[i:j], []byte("\r")))
			i = j
		}
		switch {
		case i >= n:
			if !atEOF {
				return nil, 0, false, nil
			}
			return fields, n, true, nil
		case data[i] == ',':
			i++
		case data[i] == '\n':
			return fields, i + 1, true, nil
		case data[i] == '\r' && i+1 < n && data[i+1] == '\n':
			return fields, i + 2, true, nil
		case data[i] == '\r' && i+1 >= n && !atEOF:
			return nil, 0, false, nil
		default:
			return nil, 0, false, fmt.Errorf("unexpected %q after closing quote", data[i])
		}
	}
}

// Sizes of the buffers handed from the decompressing goroutine to the parser.
const (
	chunkSize = 1 << 20
	headroom  = 64 << 10
	chunkPool = 4
)

// chunk is one buffer of decompressed bytes (at buf[headroom:headroom+n]).
type chunk struct {
	buf []byte
	n   int
	err error // io.EOF after the last bytes, or a read error
}

// scanCSV parses a CSV stream into t. Reading (and so decompression) runs in
// its own goroutine, overlapping with parsing.
func scanCSV(ctx context.Context, r io.Reader, t *tally) error {
	return scanCSVSized(ctx, r, t, chunkSize, headroom)
}

// scanCSVSized is scanCSV with given buffer sizes; tests use tiny ones to put
// record boundaries everywhere.
func scanCSVSized(ctx context.Context, r io.Reader, t *tally, chunkSize, headroom int) error {
	pool := make(chan []byte, chunkPool)
	for range chunkPool {
		pool <- make([]byte, headroom+chunkSize)
	}
	out := make(chan chunk, chunkPool)
	done := make(chan struct{})
	exited := make(chan struct{})
	// On return, stop the reader and wait for it: the caller closes r next,
	// which must not race with a Read in flight.
	defer func() {
		close(done)
		<-exited
	}()
	go func() {
		defer close(exited)
		defer close(out)
		for {
			var buf []byte
			select {
			case buf = <-pool:
			case <-done:
				return
			}
			n, err := fill(r, buf[headroom:])
			select {
			case out <- chunk{buf: buf, n: n, err: err}:
			case <-done:
				return
			}
			if err != nil {
				return
			}
		}
	}()

	s := &csvScanner{t: t}
	var tail []byte
	for c := range out {
		if err := ctx.Err(); err != nil {
			return err
		}
		if c.err != nil && c.err != io.EOF {
			return readError(c.err)
		}
		var data []byte
		if len(tail) <= headroom {
			start := headroom - len(tail)
			copy(c.buf[start:headroom], tail)
			data = c.buf[start : headroom+c.n]
		} else {
			data = append(tail, c.buf[headroom:headroom+c.n]...)
		}
		atEOF := c.err == io.EOF
		used, err := s.scan(data, atEOF)
		if err != nil {
			return err
		}
		if len(data)-used > maxRecord {
			return s.recordError("longer than %d bytes (unterminated quoted field?)", maxRecord)
		}
		rest := data[used:]
		switch {
		case len(tail) > headroom:
			// data grew from tail, not in the pooled buffer: keep it, so that
			// a long record is copied as append doubles it, not at every chunk.
			tail = rest
		case len(rest) > headroom:
			tail = append([]byte(nil), rest...)
		default:
			tail = append(tail[:0:0], rest...)
		}
		pool <- c.buf
		if atEOF {
			break
		}
	}
	if !s.haveHeader {
		return errors.New("empty file: no CSV header")
	}
	return nil
}

// fill reads until buf is full, the stream ends (io.EOF) or fails.
func fill(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// readError explains a failure of the underlying (decompressing) reader.
func readError(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("truncated: compressed data ends unexpectedly: %w", err)
	}
	return fmt.Errorf("corrupt or unreadable data: %w", err)
}
