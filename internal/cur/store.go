package cur

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// Object is one stored file as a listing shows it.
type Object struct {
	// Key is the object key (slash-separated, no leading slash).
	Key string
	// Size is the object's size in bytes.
	Size int64
	// LastModified is when the object was last written.
	LastModified time.Time
}

// ObjectStore is where reports live: an S3 bucket or a local directory tree. The
// same discovery and scan code runs over both.
type ObjectStore interface {
	// List returns every object of bucket whose key starts with prefix.
	List(ctx context.Context, bucket, prefix string) ([]Object, error)
	// Open streams one object.
	Open(ctx context.Context, bucket, key string) (io.ReadCloser, error)
	// Put writes one object.
	Put(ctx context.Context, bucket, key string, body []byte) error
	// Name renders an object's location for messages.
	Name(bucket, key string) string
}

// ErrNotFound is returned (wrapped) when an object does not exist.
var ErrNotFound = errors.New("not found")

// DirStore keeps objects as files under Root: bucket b's key k is the file
// Root/b/k, or Root/k when the bucket is empty.
type DirStore struct {
	// Root is the directory holding the buckets (or the bucket itself).
	Root string
}

// dir returns the directory that plays the bucket.
func (d DirStore) dir(bucket string) string {
	if bucket == "" {
		return d.Root
	}
	return filepath.Join(d.Root, bucket)
}

// file maps a key to its path, refusing keys that climb out of the bucket
// and buckets that are not one folder under Root (CUR 2.0 manifests name
// the buckets of their files).
func (d DirStore) file(bucket, key string) (string, error) {
	if bucket != "" && (bucket != path.Base(bucket) || bucket == "." || bucket == "..") {
		return "", fmt.Errorf("bad bucket name %q", bucket)
	}
	clean := path.Clean("/" + key)
	if clean == "/" {
		return "", fmt.Errorf("empty key")
	}
	return filepath.Join(d.dir(bucket), filepath.FromSlash(clean[1:])), nil
}

// List walks the bucket directory.
func (d DirStore) List(ctx context.Context, bucket, prefix string) ([]Object, error) {
	root := d.dir(bucket)
	// Walk only the folder the prefix names, not the whole bucket.
	start := root
	if i := strings.LastIndex(prefix, "/"); i > 0 {
		start = filepath.Join(root, filepath.FromSlash(path.Clean("/" + prefix[:i])[1:]))
	}
	var out []Object
	err := filepath.WalkDir(start, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if e.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if !strings.HasPrefix(key, prefix) {
			return nil
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		out = append(out, Object{Key: key, Size: info.Size(), LastModified: info.ModTime()})
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("listing %s: %w", root, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// Name returns the file path of a key.
func (d DirStore) Name(bucket, key string) string {
	if p, err := d.file(bucket, key); err == nil {
		return p
	}
	return path.Join(bucket, key)
}

// Open opens the file of a key.
func (d DirStore) Open(_ context.Context, bucket, key string) (io.ReadCloser, error) {
	p, err := d.file(bucket, key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", p, ErrNotFound)
	}
	return f, err
}

// Put writes the file of a key, creating directories as needed.
func (d DirStore) Put(_ context.Context, bucket, key string, body []byte) error {
	p, err := d.file(bucket, key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, body, 0o644)
}

// Stamp sets the write time of a key's file (what List reports as LastModified).
func (d DirStore) Stamp(bucket, key string, at time.Time) error {
	p, err := d.file(bucket, key)
	if err != nil {
		return err
	}
	return os.Chtimes(p, at, at)
}

// S3Store reads and writes through an aws-sdk-go-v2 S3 client (its endpoint
// and path-style addressing are configured on the client).
type S3Store struct {
	// Client is the S3 client to use.
	Client *s3.Client
}

// List pages through ListObjectsV2.
func (s S3Store) List(ctx context.Context, bucket, prefix string) ([]Object, error) {
	var out []Object
	p := s3.NewListObjectsV2Paginator(s.Client, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing s3://%s/%s: %w", bucket, prefix, err)
		}
		for _, o := range page.Contents {
			out = append(out, Object{Key: aws.ToString(o.Key), Size: aws.ToInt64(o.Size), LastModified: aws.ToTime(o.LastModified)})
		}
	}
	return out, nil
}

// Name returns the s3:// URI of an object.
func (s S3Store) Name(bucket, key string) string {
	return "s3://" + bucket + "/" + key
}

// Open starts a GetObject.
func (s S3Store) Open(ctx context.Context, bucket, key string) (io.ReadCloser, error) {
	o, err := s.Client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		var nsk *types.NoSuchKey
		if errors.As(err, &nsk) {
			return nil, fmt.Errorf("s3://%s/%s: %w (%w)", bucket, key, ErrNotFound, err)
		}
		return nil, fmt.Errorf("s3://%s/%s: %w", bucket, key, err)
	}
	return o.Body, nil
}

// Put uploads with PutObject.
func (s S3Store) Put(ctx context.Context, bucket, key string, body []byte) error {
	_, err := s.Client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)})
	if err != nil {
		return fmt.Errorf("writing s3://%s/%s: %w", bucket, key, err)
	}
	return nil
}
