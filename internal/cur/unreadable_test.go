package cur

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/shopspring/decimal"

	"github.com/cloudreseller/aws-invites/internal/invite"
)

// TestReadSaysWhenAndHowFar: a read gives the version's delivery (its manifest's write time, as S3 lists it) and
// how far its line items reach (the end of the newest line item's hour), also for a version already scanned.
func TestReadSaysWhenAndHowFar(t *testing.T) {
	delivered := time.Date(2026, 3, 31, 22, 0, 7, 0, time.UTC)
	srv := httptest.NewServer(gofakes3.New(s3mem.New(s3mem.WithTimeSource(gofakes3.FixedTimeSource(delivered)))).Server())
	t.Cleanup(srv.Close)
	c := s3.New(s3.Options{BaseEndpoint: aws.String(srv.URL), UsePathStyle: true, Region: "us-east-1",
		Credentials:                credentials.NewStaticCredentialsProvider("test", "test", ""),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired})
	mustBucket(t, c, "cur")
	ctx := context.Background()
	loc := invite.CURLocation{Bucket: "cur", Prefix: "p", Report: "hourly", Format: invite.CURLegacy}
	period := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	newest := time.Date(2026, 3, 30, 17, 0, 0, 0, time.UTC)
	rows := []Row{
		{PayerAccountID: "111111111111", UsageAccountID: "222222222222", UsageStart: newest, UnblendedCost: decimal.RequireFromString("1")},
		{PayerAccountID: "111111111111", UsageAccountID: "333333333333", UsageStart: newest.Add(-48 * time.Hour), UnblendedCost: decimal.RequireFromString("2")},
	}
	st := S3Store{Client: c}
	if _, err := WriteLegacyReport(ctx, st, location(loc), period, "", rows); err != nil {
		t.Fatal(err)
	}
	scan, err := Reader{Store: st}.Read(ctx, loc, period, "")
	if err != nil || !scan.DeliveredAt.Equal(delivered) || !scan.DataThrough.Equal(newest.Add(time.Hour)) {
		t.Fatalf("read: delivered %s through %s, %v; want %s and %s", scan.DeliveredAt, scan.DataThrough, err, delivered, newest.Add(time.Hour))
	}
	again, err := Reader{Store: st}.Read(ctx, loc, period, scan.VersionID)
	if err != nil || !again.Unchanged || !again.DeliveredAt.Equal(delivered) {
		t.Fatalf("the same version again: %+v %v", again, err)
	}
}

// TestReadTellsUnreadableFromPassing: what stays until the reseller fixes it (no bucket, access denied, a part the
// manifest lists missing) is invite.ErrCURUnreadable; what passes by itself (S3 unavailable) is not.
func TestReadTellsUnreadableFromPassing(t *testing.T) {
	ctx := context.Background()
	period := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	loc := invite.CURLocation{Bucket: "cur", Report: "hourly", Format: invite.CURLegacy}

	c := newS3(t)
	if _, err := (Reader{Store: S3Store{Client: c}}).Read(ctx, loc, period, ""); !errors.Is(err, invite.ErrCURUnreadable) {
		t.Errorf("no bucket: %v", err)
	}
	mustBucket(t, c, "cur")
	st := S3Store{Client: c}
	rep, err := WriteLegacyReport(ctx, st, location(loc), period, "", []Row{{PayerAccountID: "111111111111", UsageAccountID: "222222222222",
		UsageStart: period, UnblendedCost: decimal.RequireFromString("1")}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("cur"), Key: aws.String(rep.Parts[0].Key)}); err != nil {
		t.Fatal(err)
	}
	if _, err := (Reader{Store: st}).Read(ctx, loc, period, ""); !errors.Is(err, invite.ErrCURUnreadable) {
		t.Errorf("a listed part missing: %v", err)
	}

	for _, tc := range []struct {
		status     int
		code       string
		unreadable bool
	}{
		{http.StatusForbidden, "AccessDenied", true},
		{http.StatusServiceUnavailable, "SlowDown", false},
		{http.StatusInternalServerError, "InternalError", false},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(tc.status)
			_, _ = w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>` + tc.code + `</Code><Message>no</Message></Error>`))
		}))
		c := s3.New(s3.Options{BaseEndpoint: aws.String(srv.URL), UsePathStyle: true, Region: "us-east-1", RetryMaxAttempts: 1,
			Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
		_, err := (Reader{Store: S3Store{Client: c}}).Read(ctx, loc, period, "")
		srv.Close()
		if err == nil || errors.Is(err, invite.ErrCURUnreadable) != tc.unreadable || !strings.Contains(err.Error(), tc.code) {
			t.Errorf("S3 answering %d %s: %v, want unreadable %v", tc.status, tc.code, err, tc.unreadable)
		}
	}
}

// TestDeliverStampsTheSandboxTime: a report the sandbox delivers into a folder is delivered at the sandbox's time
// (ahead of the real one once its clock was advanced), as a read of it says.
func TestDeliverStampsTheSandboxTime(t *testing.T) {
	ctx := context.Background()
	r := Reader{Store: DirStore{Root: t.TempDir()}}
	loc := invite.CURLocation{Bucket: "cur", Prefix: "p", Report: "hourly", Format: invite.CURLegacy}
	for _, at := range []time.Time{time.Now().UTC().Add(72 * time.Hour).Truncate(time.Second), time.Now().UTC().Add(96 * time.Hour).Truncate(time.Second)} {
		lines := []invite.CURLine{{AccountID: "222222222222", BillPayer: "111111111111", UnblendedCost: "1"}}
		if err := r.Deliver(ctx, loc, MonthStart(at), lines, at); err != nil {
			t.Fatal(err)
		}
		scan, err := r.Read(ctx, loc, MonthStart(at), "")
		if err != nil || !scan.DeliveredAt.Equal(at) || !scan.DataThrough.Equal(at.Truncate(time.Hour).Add(time.Hour)) {
			t.Errorf("delivered at %s: read %s through %s, %v", at, scan.DeliveredAt, scan.DataThrough, err)
		}
	}
}
