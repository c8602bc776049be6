package invite_test

import (
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/cloudreseller/aws-invites/internal/cur"
	"github.com/cloudreseller/aws-invites/internal/invite"
)

// countingStore counts the data files read, to show that a version already scanned is not read again.
type countingStore struct {
	cur.ObjectStore
	dataReads atomic.Int64
}

func (c *countingStore) Open(ctx context.Context, bucket, key string) (io.ReadCloser, error) {
	if !strings.HasSuffix(key, ".json") {
		c.dataReads.Add(1)
	}
	return c.ObjectStore.Open(ctx, bucket, key)
}

func TestCURMovesJoinedInvitesToActive(t *testing.T) {
	w := newWorld(t, inMemory)
	ctx := w.ctx
	// The payer's report lives in S3 (gofakes3 in process, through the real S3 client).
	srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(srv.Close)
	s3c := s3.New(s3.Options{BaseEndpoint: aws.String(srv.URL), UsePathStyle: true, Region: "us-east-1",
		Credentials:                credentials.NewStaticCredentialsProvider("k", "s", ""),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired})
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("payer-cur")}); err != nil {
		t.Fatal(err)
	}
	counting := &countingStore{ObjectStore: cur.S3Store{Client: s3c}}
	reader := cur.Reader{Store: counting}
	loc := invite.CURLocation{Bucket: "payer-cur", Prefix: "reports", Report: "hourly", Format: invite.CURLegacy}
	if _, _, err := w.store.PutBillingProfile(ctx, invite.BillingProfile{ID: "bp-1", CustomerID: "acme", Name: "one",
		ManagementAccountID: payerID, CUR: loc}); err != nil {
		t.Fatal(err)
	}
	svc := invite.NewCURFollower(w.store, invite.Deps{Clock: w.clock}, reader, w.store)

	spender := w.invite("bp-1", "800000000001")
	lateJoiner := w.invite("bp-2", "800000000002")
	idle := w.invite("bp-1", "800000000003")
	for _, inv := range []invite.Invite{spender, idle} {
		w.asAccount(inv, true)
	}
	if _, _, err := w.reconcile(); err != nil {
		t.Fatal(err)
	}

	// No report yet this month: nothing happens.
	rep, err := svc.Scan(ctx, payerID)
	if err != nil || rep.Scanned || rep.Activated != 0 {
		t.Fatalf("no report: %+v %v", rep, err)
	}

	// AWS delivers the month so far: line items for the spender and for the account that has not joined yet.
	period := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	if err := reader.Deliver(ctx, loc, period, []invite.CURLine{{AccountID: spender.AccountID, BillPayer: payerID, UnblendedCost: "12.3400000001"},
		{AccountID: lateJoiner.AccountID, BillPayer: payerID, UnblendedCost: "0.5"}}, w.clock.Now()); err != nil {
		t.Fatal(err)
	}
	rep, err = svc.Scan(ctx, payerID)
	if err != nil || !rep.Scanned || rep.Accounts != 2 || rep.Activated != 1 || rep.Period != "2026-11" {
		t.Fatalf("first delivery: %+v %v", rep, err)
	}
	got := w.get(spender)
	if got.State != invite.StateActive || got.CUR == nil || got.CUR.UnblendedCost != "12.3400000001" || got.CUR.LineItems != 1 || got.CURSeenAt == nil {
		t.Fatalf("spender: %s %+v", got.State, got.CUR)
	}
	if ev := w.lastEvent(spender); ev.Actor.Kind != invite.ActorCUR || !strings.Contains(ev.Reason, "line items") {
		t.Errorf("history: %+v", ev)
	}
	if got := w.get(idle); got.State != invite.StateAwaitingCUR {
		t.Errorf("an account without spend left awaiting_cur: %s", got.State)
	}

	// The same version again is not read again; an account that joins later is activated from what was stored.
	reads := counting.dataReads.Load()
	w.asAccount(lateJoiner, true)
	if _, _, err := w.reconcile(); err != nil {
		t.Fatal(err)
	}
	rep, err = svc.Scan(ctx, payerID)
	if err != nil || rep.Scanned || rep.Activated != 1 {
		t.Fatalf("same version: %+v %v", rep, err)
	}
	if n := counting.dataReads.Load(); n != reads {
		t.Errorf("a scanned version was read again: %d data reads", n-reads)
	}
	if got := w.get(lateJoiner); got.State != invite.StateActive || got.CUR.UnblendedCost != "0.5" {
		t.Errorf("late joiner: %s %+v", got.State, got.CUR)
	}

	// A new delivery updates the month-to-date cost and keeps when the account was first seen.
	firstSeen := w.get(spender).CUR.FirstSeenAt
	w.clock.Advance(6 * time.Hour)
	if err := reader.Deliver(ctx, loc, period, []invite.CURLine{{AccountID: spender.AccountID, BillPayer: payerID, UnblendedCost: "20"},
		{AccountID: lateJoiner.AccountID, BillPayer: payerID, UnblendedCost: "0.5"}}, w.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if rep, err := svc.Scan(ctx, payerID); err != nil || !rep.Scanned {
		t.Fatalf("second delivery: %+v %v", rep, err)
	}
	if got := w.get(spender); got.CUR.UnblendedCost != "20" || !got.CUR.FirstSeenAt.Equal(firstSeen) {
		t.Errorf("after the second delivery: %+v (first seen %v)", got.CUR, firstSeen)
	}
}
