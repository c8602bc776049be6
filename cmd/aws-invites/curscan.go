package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cloudreseller/aws-invites/internal/cur"
)

// curCommand runs `aws-invites cur scan PATH...`: the per-account summary of CUR files, manifests, report folders
// or s3:// prefixes, as JSON lines.
func curCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) < 2 || args[0] != "scan" {
		fmt.Fprintln(stderr, "usage: aws-invites cur scan PATH...   (a .csv, .csv.gz, .csv.zip or .parquet file, a manifest, a folder, or s3://bucket/prefix)")
		return errUsage
	}
	paths := args[1:]
	var s3c *s3.Client
	for _, p := range paths {
		if strings.HasPrefix(p, "s3://") {
			var err error
			if s3c, err = s3Client(ctx); err != nil {
				return err
			}
			break
		}
	}
	return cur.ScanPaths(ctx, paths, s3c, stdout)
}
