package cur

import (
	"context"
	"os"
	"testing"
)

func TestZZProbe(t *testing.T) {
	if err := ScanPaths(context.Background(), []string{os.Getenv("P")}, nil, os.Stdout); err != nil {
		t.Fatal(err)
	}
}
