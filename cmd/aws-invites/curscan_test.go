package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The real samples of shared/testdata (known totals in its README), through the command line.
func TestCurScanCommand(t *testing.T) {
	samples := filepath.Join("..", "..", "..", "shared", "testdata", "cur")
	if _, err := os.Stat(samples); err != nil {
		t.Fatalf("the shared CUR samples are missing (the repository is cloned beside shared/): %v", err)
	}
	var out bytes.Buffer
	err := run(context.Background(), []string{"cur", "scan", filepath.Join(samples, "legacy-csv", "billing-report-2018-02.csv.gz")},
		func(string) string { return "" }, &out, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("want one account, got %d lines:\n%s", len(lines), out.String())
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &got); err != nil {
		t.Fatal(err)
	}
	if got["accountId"] != "486140753397" || got["payerAccountId"] != "486140753397" || got["lineItems"] != float64(19412) ||
		!strings.HasPrefix(got["unblendedCost"].(string), "218.1678") || got["firstUsageStart"] == nil || got["lastUsageStart"] == nil {
		t.Errorf("summary: %s", lines[0])
	}

	// A broken file: a clear error naming the file, not a panic.
	broken := filepath.Join(t.TempDir(), "truncated.csv.gz")
	raw, err := os.ReadFile(filepath.Join(samples, "legacy-csv", "billing-report-2.csv.gz"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(broken, raw[:len(raw)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	err = run(context.Background(), []string{"cur", "scan", broken}, func(string) string { return "" }, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "truncated.csv.gz") {
		t.Errorf("truncated file: %v", err)
	}
	if err := run(context.Background(), []string{"cur"}, func(string) string { return "" }, io.Discard, io.Discard); err == nil {
		t.Error("cur without scan ran")
	}
}
