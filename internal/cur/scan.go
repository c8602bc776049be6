package cur

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zip"
)

// Summary is the result of scanning a report.
type Summary struct {
	// Accounts holds one entry per (usage account, payer), sorted by account.
	Accounts []AccountUsage
	// LineItems counts every line item read.
	LineItems int64
	// Parts counts the files read.
	Parts int
}

// Scan reads every part of a report (several at once) and sums it per
// account. Memory depends on the number of accounts, not on the files' size.
func Scan(ctx context.Context, st ObjectStore, rep Report) (Summary, error) {
	t, err := scanReport(ctx, st, rep)
	if err != nil {
		return Summary{}, err
	}
	return Summary{Accounts: t.result(), LineItems: t.rows, Parts: len(rep.Parts)}, nil
}

// scanReport reads the parts of rep in parallel into one tally.
func scanReport(ctx context.Context, st ObjectStore, rep Report) (*tally, error) {
	if len(rep.Parts) == 0 {
		return nil, fmt.Errorf("report %q version %q lists no files", rep.Name, rep.VersionID)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	workers := min(len(rep.Parts), runtime.GOMAXPROCS(0))
	jobs := make(chan Part)
	var (
		mu       sync.Mutex
		total    = newTally()
		firstErr error
		wg       sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			for p := range jobs {
				t := newTally()
				err := scanPart(ctx, st, p, t)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
					cancel()
				}
				if err == nil {
					total.merge(t)
				}
				mu.Unlock()
			}
		})
	}
feed:
	for _, p := range rep.Parts {
		select {
		case jobs <- p:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return total, nil
}

// partKind is how a part's bytes are stored.
type partKind int

const (
	kindCSV partKind = iota
	kindGzip
	kindZip
	kindParquet
)

// kindOf decides by the key's suffix, then by the manifest's hint.
func kindOf(key, hint string) partKind {
	k := strings.ToLower(key)
	switch {
	case strings.HasSuffix(k, ".parquet"):
		return kindParquet
	case strings.HasSuffix(k, ".gz"):
		return kindGzip
	case strings.HasSuffix(k, ".zip"):
		return kindZip
	case strings.HasSuffix(k, ".csv"):
		return kindCSV
	}
	switch strings.ToUpper(hint) {
	case "GZIP":
		return kindGzip
	case "ZIP":
		return kindZip
	case "PARQUET":
		return kindParquet
	}
	return kindCSV
}

// scanPart reads one file into t; errors name the file.
func scanPart(ctx context.Context, st ObjectStore, p Part, t *tally) error {
	name := st.Name(p.Bucket, p.Key)
	if err := scanPartInner(ctx, st, p, t); err != nil {
		if errors.Is(err, ErrNotFound) {
			return fmt.Errorf("%s: listed by the manifest but missing: %w", name, ErrNotFound)
		}
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

func scanPartInner(ctx context.Context, st ObjectStore, p Part, t *tally) error {
	kind := kindOf(p.Key, p.Compression)
	if kind == kindZip || kind == kindParquet {
		// Both formats need random access: use the file itself when local,
		// else a temporary copy (disk, not memory, holds the bytes).
		f, cleanup, err := randomAccess(ctx, st, p)
		if err != nil {
			return err
		}
		defer cleanup()
		info, err := f.Stat()
		if err != nil {
			return err
		}
		if info.Size() == 0 {
			return errors.New("empty file")
		}
		if kind == kindZip {
			return scanZip(ctx, f, info.Size(), t)
		}
		return scanParquet(ctx, f, info.Size(), t)
	}
	rc, err := st.Open(ctx, p.Bucket, p.Key)
	if err != nil {
		return err
	}
	defer rc.Close()
	if kind == kindCSV {
		return scanCSV(ctx, rc, t)
	}
	zr, err := gzip.NewReader(rc)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("empty file: no gzip data")
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("truncated gzip header: %w", err)
		}
		return fmt.Errorf("not gzip data: %w", err)
	}
	defer zr.Close()
	return scanCSV(ctx, zr, t)
}

// randomAccess returns the part as an *os.File.
func randomAccess(ctx context.Context, st ObjectStore, p Part) (*os.File, func(), error) {
	if d, ok := st.(DirStore); ok {
		path, err := d.file(p.Bucket, p.Key)
		if err != nil {
			return nil, nil, err
		}
		f, err := os.Open(path)
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil, ErrNotFound
		}
		if err != nil {
			return nil, nil, err
		}
		return f, func() { f.Close() }, nil
	}
	rc, err := st.Open(ctx, p.Bucket, p.Key)
	if err != nil {
		return nil, nil, err
	}
	defer rc.Close()
	f, err := os.CreateTemp("", "cur-part-*")
	if err != nil {
		return nil, nil, err
	}
	cleanup := func() { f.Close(); os.Remove(f.Name()) }
	if _, err := io.Copy(f, rc); err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("downloading: %w", err)
	}
	return f, cleanup, nil
}

// scanZip reads every file of a ZIP archive (AWS puts one CSV in each).
func scanZip(ctx context.Context, f io.ReaderAt, size int64, t *tally) error {
	zr, err := zip.NewReader(f, size)
	if err != nil {
		return fmt.Errorf("not a readable zip archive: %w", err)
	}
	if err := checkNoOverlap(zr.File); err != nil {
		return err
	}
	n := 0
	for _, e := range zr.File {
		if e.FileInfo().IsDir() {
			continue
		}
		n++
		rc, err := e.Open()
		if err != nil {
			return fmt.Errorf("zip entry %s: %w", e.Name, err)
		}
		// The zip reader fails an entry that yields more than it declares,
		// so a small entry gets small buffers: four 1 MiB buffers each would
		// make an archive of many tiny entries allocate gigabytes.
		chunk := chunkSize
		if e.UncompressedSize64 < uint64(chunk) {
			chunk = int(e.UncompressedSize64) + 1
		}
		err = scanCSVSized(ctx, rc, t, chunk, min(headroom, chunk))
		rc.Close()
		if err != nil {
			return fmt.Errorf("zip entry %s: %w", e.Name, err)
		}
	}
	if n == 0 {
		return errors.New("zip archive holds no files")
	}
	return nil
}

// checkNoOverlap refuses archives whose entries share compressed bytes: the
// non-recursive zip bomb lists thousands of entries over one deflated
// kernel, so a small file would be read (and summed) thousands of times.
func checkNoOverlap(files []*zip.File) error {
	type span struct {
		start, end int64
		name       string
	}
	spans := make([]span, 0, len(files))
	for _, e := range files {
		off, err := e.DataOffset()
		if err != nil {
			return fmt.Errorf("zip entry %s: %w", e.Name, err)
		}
		spans = append(spans, span{off, off + int64(e.CompressedSize64), e.Name})
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].start < spans[j].start })
	for i := 1; i < len(spans); i++ {
		if spans[i].start < spans[i-1].end {
			return fmt.Errorf("zip entries %s and %s overlap (a zip bomb?)", spans[i-1].name, spans[i].name)
		}
	}
	return nil
}
