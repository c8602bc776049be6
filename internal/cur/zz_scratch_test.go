package cur

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
)

func TestScratchPQ(t *testing.T) {
	raw, _ := os.ReadFile("testdata/fuzz/FuzzScanParquet/27084bd5fe3213a7")
	lines := strings.SplitN(string(raw), "\n", 3)
	s := strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")")
	u, err := strconv.Unquote(s)
	if err != nil {
		t.Fatal(err)
	}
	data := []byte(u)
	os.WriteFile("/tmp/fz/pq1.parquet", data, 0o644)
	tl := newTally()
	err = scanParquet(context.Background(), bytes.NewReader(data), int64(len(data)), tl)
	t.Log(err, tl.result())
	pf, _ := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	_, _, err = parquetByColumns(pf)
	t.Log(err)
	pf2, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)), parquet.SkipPageIndex(true))
	t.Log(err)
	_, _, err = parquetByColumns(pf2)
	t.Log("skip page index:", err)
	good := parquetSeeds(t)
	for i, g := range good {
		if len(g) == len(data) {
			for j := range g {
				if g[j] != data[j] {
					t.Logf("seed %d differs at %d of %d: %x -> %x", i, j, len(g), g[j], data[j])
				}
			}
		}
	}
}
