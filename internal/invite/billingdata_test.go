package invite_test

import (
	"errors"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/cloudreseller/aws-invites/internal/cur"
	"github.com/cloudreseller/aws-invites/internal/invite"
	"github.com/cloudreseller/aws-invites/internal/store/storetest"
	"github.com/cloudreseller/aws-invites/internal/testclock"
)

// fakeS3Time makes the S3 simulator stamp objects (LastModified: when a report was delivered) with the test's clock.
type fakeS3Time struct{ c *testclock.Clock }

func (f fakeS3Time) Now() time.Time                  { return f.c.Now() }
func (f fakeS3Time) Since(t time.Time) time.Duration { return f.c.Now().Sub(t) }

// TestBillingDataFollowsThePayersReport walks each billing data state from real CUR files in an S3 bucket read
// through the real S3 client, on the payer's clock, for two customers sharing one payer: no CUR location, a
// missing bucket, a report delivered before the join, one after it that does not reach a day past it, one that does
// without the account (no usage, nothing is wrong) and with it (present), then a report that stops coming (late).
func TestBillingDataFollowsThePayersReport(t *testing.T) {
	for _, dialect := range append(storetest.Dialects(), inMemory) {
		t.Run(dialect, func(t *testing.T) {
			w := newWorld(t, dialect)
			ctx := w.ctx
			// The world starts at a fixed instant; this test runs "now" (or at AWS_INVITES_TEST_NOW).
			w.clock.Advance(testclock.MustStart().Sub(w.clock.Now()))
			// The bucket stamps what it stores with the test's clock (the server checks requests' signing times against
			// the real one).
			srv := httptest.NewServer(gofakes3.New(s3mem.New(s3mem.WithTimeSource(fakeS3Time{w.clock}))).Server())
			t.Cleanup(srv.Close)
			s3c := s3.New(s3.Options{BaseEndpoint: aws.String(srv.URL), UsePathStyle: true, Region: "us-east-1",
				Credentials:                credentials.NewStaticCredentialsProvider("k", "s", ""),
				RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
				ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired})
			if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("payer-cur")}); err != nil {
				t.Fatal(err)
			}
			reader := cur.Reader{Store: cur.S3Store{Client: s3c}}
			follower := invite.NewCURFollower(w.store, invite.Deps{Clock: w.clock}, reader, w.store)
			setCUR := func(loc invite.CURLocation) {
				t.Helper()
				if _, _, err := w.store.PutBillingProfile(ctx, invite.BillingProfile{ID: "bp-1", CustomerID: "acme", Name: "one",
					ManagementAccountID: payerID, CUR: loc}); err != nil {
					t.Fatal(err)
				}
			}
			// A second customer on the same payer.
			if _, _, err := w.store.PutBillingProfile(ctx, invite.BillingProfile{ID: "bp-g", CustomerID: "globex", Name: "globex",
				ManagementAccountID: payerID}); err != nil {
				t.Fatal(err)
			}
			globex := invite.Principal{Subject: "gina", CustomerID: "globex", BillingProfiles: []string{"bp-g"},
				Permissions: []string{invite.PermissionLicensesManager}}
			scan := func(wantFeed invite.BillingDataState) invite.CURReport {
				t.Helper()
				rep, err := follower.Scan(ctx, payerID)
				if wantFeed == invite.BillingUnreadable && errors.Is(err, invite.ErrCURUnreadable) {
					err = nil // an unreadable report fails the scan too (the job's outcome, the reseller's alert)
				}
				if err != nil || rep.Feed != wantFeed {
					t.Fatalf("scan: %+v %v, want the report %s", rep, err, wantFeed)
				}
				return rep
			}
			check := func(inv invite.Invite, want invite.BillingDataState, wantSteps, noSteps []invite.StepCode) invite.Invite {
				t.Helper()
				got := w.get(inv)
				if got.BillingData == nil || got.BillingData.State != want {
					t.Fatalf("%s: billing data %+v, want %s", got.AccountID, got.BillingData, want)
				}
				steps := stepCodes(got, w.clock.Now())
				for _, c := range wantSteps {
					if !slices.Contains(steps, c) {
						t.Errorf("%s (%s): steps %v lack %s", got.AccountID, want, steps, c)
					}
				}
				for _, c := range noSteps {
					if slices.Contains(steps, c) {
						t.Errorf("%s (%s): steps %v hold %s", got.AccountID, want, steps, c)
					}
				}
				return got
			}
			changes := func(inv invite.Invite) []string {
				t.Helper()
				evs, err := w.store.Events(ctx, inv.BillingProfileID, inv.ID)
				if err != nil {
					t.Fatal(err)
				}
				var out []string
				for _, ev := range evs {
					if ev.Type == invite.EventBillingData {
						out = append(out, ev.Reason)
					}
				}
				return out
			}
			loc := invite.CURLocation{Bucket: "payer-cur", Prefix: "reports", Report: "hourly", Format: invite.CURLegacy}
			deliver := func(accounts ...string) time.Time {
				t.Helper()
				var lines []invite.CURLine
				for _, a := range accounts {
					lines = append(lines, invite.CURLine{AccountID: a, BillPayer: payerID, UnblendedCost: "1.25"})
				}
				now := w.clock.Now()
				if err := reader.Deliver(ctx, loc, cur.MonthStart(now), lines, now); err != nil {
					t.Fatal(err)
				}
				return now
			}
			const other = "800000000099" // an account of the payer's with usage, not invited here

			// No billing profile of the payer says where its report is: the reseller's to set, not the customer's.
			a := w.joinAll(w.user, "bp-1", "800000000001")[0]
			scan(invite.BillingNotConfigured)
			check(a, invite.BillingNotConfigured, []invite.StepCode{invite.StepBillingDataSetup},
				[]invite.StepCode{invite.StepOpenSupportTicket, invite.StepWaitForCUR})
			if got := invite.StepBillingDataSetup.Actor(); got != invite.StepByReseller {
				t.Errorf("the missing report is the %s's to fix", got)
			}
			if ev := changes(a); len(ev) != 1 || !strings.Contains(ev[0], "none -> not_configured") {
				t.Errorf("billing data events: %q", ev)
			}

			// A bucket that does not exist: unreadable, the reseller's to fix; the problem is told to the reseller.
			w.clock.Advance(time.Hour)
			setCUR(invite.CURLocation{Bucket: "no-such-bucket", Report: "hourly", Format: invite.CURLegacy})
			if rep := scan(invite.BillingUnreadable); !strings.Contains(rep.Problem, "no-such-bucket") {
				t.Errorf("the problem does not say what cannot be read: %q", rep.Problem)
			}
			check(a, invite.BillingUnreadable, []invite.StepCode{invite.StepBillingDataUnreadable},
				[]invite.StepCode{invite.StepOpenSupportTicket})

			// The report of the bucket is delivered; it reaches only hours past a's join.
			setCUR(loc)
			w.clock.Advance(time.Hour)
			first := deliver(other)
			// b (acme) and c (globex) join after that delivery.
			w.clock.Advance(time.Hour)
			b := w.joinAll(w.user, "bp-1", "800000000002")[0]
			c := w.joinAll(globex, "bp-g", "800000000003")[0]
			scan(invite.BillingPresent)
			for _, inv := range []invite.Invite{a, b, c} {
				got := check(inv, invite.BillingAwaitingFirstReport, []invite.StepCode{invite.StepWaitForCUR, invite.StepNoSpendNoData},
					[]invite.StepCode{invite.StepOpenSupportTicket})
				if bd := got.BillingData; !bd.LastReportAt.Equal(first) || !bd.NextReportExpectedBy.Equal(first.Add(24*time.Hour)) ||
					!bd.DataThrough.Equal(first.Truncate(time.Hour).Add(time.Hour)) {
					t.Errorf("%s: %+v, delivered at %s", inv.AccountID, bd, first)
				}
			}

			// A day later a report reaches more than a day past every join: c (globex) has usage, a and b have none.
			w.clock.Advance(26 * time.Hour)
			second := deliver(other, c.AccountID)
			scan(invite.BillingPresent)
			for _, inv := range []invite.Invite{a, b} {
				got := check(inv, invite.BillingNoUsageSinceJoin, []invite.StepCode{invite.StepNoSpendNoData},
					[]invite.StepCode{invite.StepOpenSupportTicket, invite.StepWaitForCUR})
				if got.State != invite.StateAwaitingCUR || !got.BillingData.LastReportAt.Equal(second) {
					t.Errorf("%s: %s %+v", inv.AccountID, got.State, got.BillingData)
				}
			}
			if got := check(c, invite.BillingPresent, nil, nil); got.State != invite.StateActive {
				t.Errorf("c with usage: %s", got.State)
			}
			if ev := changes(b); len(ev) != 1 || !strings.Contains(ev[0], "awaiting_first_report -> no_usage_since_join") {
				t.Errorf("b's billing data events: %q", ev)
			}

			// Each customer sees its own invites' billing data only.
			gpage, err := w.invites.List(ctx, globex, invite.ListQuery{BillingProfileID: "bp-g"})
			if err != nil || len(gpage.Views) != 1 || gpage.Views[0].ID != c.ID || gpage.Views[0].BillingData.State != invite.BillingPresent {
				t.Fatalf("globex's list: %+v %v", gpage.Views, err)
			}
			if _, err := w.invites.Get(ctx, globex, "bp-1", b.ID); err == nil {
				t.Errorf("globex reads acme's invite")
			}
			apage, err := w.invites.List(ctx, w.user, invite.ListQuery{BillingProfileID: "bp-1"})
			if err != nil || len(apage.Views) != 2 {
				t.Fatalf("acme's list: %+v %v", apage.Views, err)
			}
			for _, v := range apage.Views {
				if v.BillingData.State != invite.BillingNoUsageSinceJoin {
					t.Errorf("acme sees %s as %s", v.AccountID, v.BillingData.State)
				}
			}

			// No delivery for more than a day and a half: the report is late, for every joined account; the ticket step
			// is offered where no data came.
			w.clock.Advance(invite.ReportRefresh + invite.ReportLateSlack + time.Minute)
			scan(invite.BillingReportLate)
			check(b, invite.BillingReportLate, []invite.StepCode{invite.StepOpenSupportTicket}, []invite.StepCode{invite.StepNoSpendNoData})
			check(c, invite.BillingReportLate, nil, nil)

			// A new delivery ends it.
			w.clock.Advance(time.Hour)
			deliver(other, c.AccountID)
			scan(invite.BillingPresent)
			check(b, invite.BillingNoUsageSinceJoin, nil, []invite.StepCode{invite.StepOpenSupportTicket})
			check(c, invite.BillingPresent, nil, nil)
		})
	}
}
