package cloudhealth_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cloudreseller/aws-invites/internal/cloudhealth"
	"github.com/cloudreseller/aws-invites/internal/cloudhealth/chsim"
	"github.com/cloudreseller/aws-invites/internal/invite"
)

// 250 accounts and their payer's own record over pages of 100: three pages, each account placed under the payer by
// its cluster_name and the payer's Consolidated record (which sits on the first page, the members on all three).
func TestListingPagesAndPayer(t *testing.T) {
	sim, url := newSim(t, chsim.Options{})
	seed(t, sim, 250, testPayer)
	src := cloudhealth.NewSource(newClient(t, url, cloudhealth.Options{}), cloudhealth.SourceOptions{})
	statuses, err := src.Statuses(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(statuses) != 251 {
		t.Fatalf("%d statuses, want 250 accounts and the payer", len(statuses))
	}
	for i := range 250 {
		st := statuses[accountID(i)]
		if !st.Listed || st.Level != invite.LevelGreen || st.PayerAccountID != testPayer || st.PayerName != chsim.PayerName(testPayer) ||
			!st.LastUpdate.Equal(base) {
			t.Fatalf("account %s: %+v", accountID(i), st)
		}
	}
	if got := pages(sim, "/v1/aws_accounts"); !slices.Equal(got, []int{1, 2, 3}) {
		t.Errorf("pages requested %v, want [1 2 3]: X-Total ends the listing without an empty page", got)
	}
	if snap := src.Snapshot(""); snap == nil || snap.Len() != 251 || !slices.Equal(snap.Pages, []string{"accounts 1", "accounts 2", "accounts 3"}) {
		t.Errorf("snapshot: %+v", snap)
	}
}

// A refresh of one account of a tenant of several pages costs one request (the account read alone, placed
// against the last listing's payers), never a listing; an account the listing lacks costs none.
func TestStatusOfOneAccount(t *testing.T) {
	sim, url := newSim(t, chsim.Options{})
	seed(t, sim, 350, testPayer) // 4 pages: more than a small tenant
	c := newClient(t, url, cloudhealth.Options{})
	src := cloudhealth.NewSource(c, cloudhealth.SourceOptions{})
	if _, err := src.Statuses(t.Context(), ""); err != nil {
		t.Fatal(err)
	}
	if err := sim.SetStatus(t.Context(), accountID(7), "red", testPayer); err != nil {
		t.Fatal(err)
	}
	before := c.Requests()
	st, err := src.StatusOf(t.Context(), "", accountID(7))
	if err != nil {
		t.Fatal(err)
	}
	if !st.Listed || st.Level != invite.LevelRed || st.PayerAccountID != testPayer || c.Requests() != before+1 {
		t.Errorf("one account: %+v in %d requests, want red under %s in 1", st, c.Requests()-before, testPayer)
	}
	if st, err := src.StatusOf(t.Context(), "", "999999999999"); err != nil || st.Listed || c.Requests() != before+1 {
		t.Errorf("an account the listing lacks: %+v, %v, %d requests", st, err, c.Requests()-before-1)
	}
	// A small tenant is listed whole, which finds accounts new to it.
	small, smallURL := newSim(t, chsim.Options{})
	seed(t, small, 5, testPayer)
	src = cloudhealth.NewSource(newClient(t, smallURL, cloudhealth.Options{}), cloudhealth.SourceOptions{})
	if _, err := src.Statuses(t.Context(), ""); err != nil {
		t.Fatal(err)
	}
	if err := small.SetStatus(t.Context(), "333333333333", "green", testPayer); err != nil {
		t.Fatal(err)
	}
	if st, err := src.StatusOf(t.Context(), "", "333333333333"); err != nil || !st.Listed || st.PayerAccountID != testPayer {
		t.Errorf("a new account of a small tenant: %+v, %v", st, err)
	}
}

// The payer as the documented fields give it, each way the simulator shows it.
func TestPlacementFromDocumentedFields(t *testing.T) {
	sim, url := newSim(t, chsim.Options{})
	const other = "333333333333"
	ctx := t.Context()
	for _, u := range []chsim.Update{
		{OwnerID: "200000000001", Level: "green", PayerAccountID: testPayer},
		{OwnerID: "200000000002", Level: "yellow", PayerAccountID: other},
		{OwnerID: "200000000003", Level: "green", PayerAccountID: "200000000003"}, // standalone
		{OwnerID: "200000000004", Level: "unknown"},                               // not placed yet
	} {
		if err := sim.Apply(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	src := cloudhealth.NewSource(newClient(t, url, cloudhealth.Options{}), cloudhealth.SourceOptions{})
	st, err := src.Statuses(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	for owner, want := range map[string]string{"200000000001": testPayer, "200000000002": other, "200000000003": "200000000003",
		"200000000004": "", testPayer: testPayer, other: other} {
		if got := st[owner].PayerAccountID; got != want {
			t.Errorf("%s: payer %q (%s), want %q", owner, got, st[owner].PayerReason, want)
		}
	}
	if r := st["200000000004"].PayerReason; !strings.Contains(r, "Unknown") {
		t.Errorf("reason for an account not placed: %q", r)
	}
}

// A listing whose cluster_name names no Consolidated record, or two: payer N/A with the reason. Served as the
// guide documents the JSON (there is no such state to set in the simulator, which always lists its payers).
func TestPlacementWithoutPayerRecord(t *testing.T) {
	const body = `{"aws_accounts": [
	  {"id": 1, "name": "a", "owner_id": "200000000001", "account_type": "Linked", "cluster_name": "Gone payer",
	   "status": {"level": "green", "last_update": "2027-03-15T08:00:00Z"}, "billing": {"is_consolidated": false}},
	  {"id": 2, "name": "b", "owner_id": "200000000002", "account_type": "Linked", "cluster_name": "Twin",
	   "status": {"level": "green"}},
	  {"id": 3, "name": "Twin", "owner_id": "300000000001", "account_type": "Consolidated", "cluster_name": "Twin",
	   "billing": {"is_consolidated": true}, "status": {"level": "green"}},
	  {"id": 4, "name": "Twin", "owner_id": 300000000002, "account_type": "Consolidated", "billing": {"is_consolidated": true},
	   "status": {"level": "green"}},
	  {"id": 5, "name": "c", "owner_id": "200000000003", "account_type": "Linked", "cluster_name": "Amazon name only",
	   "status": {"level": "red"}},
	  {"id": 6, "name": "Payer six", "amazon_name": "Amazon name only", "owner_id": "300000000003", "billing": {"is_consolidated": true},
	   "status": {"level": "green"}}
	]}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Total", "6")
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	src := cloudhealth.NewSource(newClient(t, srv.URL, cloudhealth.Options{}), cloudhealth.SourceOptions{})
	st, err := src.Statuses(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	if a := st["200000000001"]; a.PayerAccountID != "" || a.PayerName != "Gone payer" || !strings.Contains(a.PayerReason, `no Consolidated record named "Gone payer"`) {
		t.Errorf("missing payer record: %+v", a)
	}
	if a := st["200000000002"]; a.PayerAccountID != "" || !strings.Contains(a.PayerReason, "ambiguous") {
		t.Errorf("two payer records of one name: %+v", a)
	}
	if a := st["200000000003"]; a.PayerAccountID != "300000000003" {
		t.Errorf("cluster_name matching amazon_name: %+v", a)
	}
	if a := st["200000000001"]; !a.LastUpdate.Equal(time.Date(2027, 3, 15, 8, 0, 0, 0, time.UTC)) {
		t.Errorf("last_update: %v", a.LastUpdate)
	}
}

// 429s in the middle of a pass: waited out within the budget when they are few; when they outlast the waits the
// pass fails, and the next one resumes at the page that failed instead of starting again at page 1.
func TestListingResumesAfterRateLimits(t *testing.T) {
	t.Run("waited out", func(t *testing.T) {
		sim, url := newSim(t, chsim.Options{})
		seed(t, sim, 250, testPayer)
		sim.InjectFault(chsim.Fault{Status: http.StatusTooManyRequests, Path: "/v1/aws_accounts", Page: 2, Times: 2})
		src := cloudhealth.NewSource(newClient(t, url, cloudhealth.Options{}), cloudhealth.SourceOptions{})
		if _, err := src.Statuses(t.Context(), ""); err != nil {
			t.Fatal(err)
		}
		if got := pages(sim, "/v1/aws_accounts"); !slices.Equal(got, []int{1, 2, 2, 2, 3}) {
			t.Errorf("pages requested %v, want [1 2 2 2 3]", got)
		}
	})
	t.Run("resumed", func(t *testing.T) {
		sim, url := newSim(t, chsim.Options{})
		seed(t, sim, 250, testPayer)
		sim.InjectFault(chsim.Fault{Status: http.StatusTooManyRequests, Path: "/v1/aws_accounts", Page: 2, Times: 2})
		sim.InjectFault(chsim.Fault{Status: http.StatusServiceUnavailable, Path: "/v1/aws_accounts", Page: 3, Times: 2})
		src := cloudhealth.NewSource(newClient(t, url, cloudhealth.Options{Retries: 1}), cloudhealth.SourceOptions{})
		_, err := src.Statuses(t.Context(), "")
		if !invite.IsCode(err, invite.CodeCloudHealthUnavailable) || !errors.Is(err, cloudhealth.ErrRateLimited) {
			t.Fatalf("first pass: %v, want cloudhealth_unavailable after the 429s", err)
		}
		if next, _, read := src.Listing("").Progress(); next != 2 || read != 100 {
			t.Fatalf("progress after the failure: page %d, %d accounts read", next, read)
		}
		_, err = src.Statuses(t.Context(), "")
		if !errors.Is(err, cloudhealth.ErrUnavailable) {
			t.Fatalf("second pass: %v, want the 503s", err)
		}
		st, err := src.Statuses(t.Context(), "")
		if err != nil {
			t.Fatalf("third pass: %v", err)
		}
		if len(st) != 251 || st[accountID(249)].PayerAccountID != testPayer {
			t.Errorf("statuses after resuming: %d", len(st))
		}
		if got := pages(sim, "/v1/aws_accounts"); !slices.Equal(got, []int{1, 2, 2, 2, 3, 3, 3}) {
			t.Errorf("pages requested %v, want [1 2 2 | 2 3 3 | 3]: page 1 is never read again", got)
		}
	})
}

// A refused key is a configuration problem: its own error, never taken for an account's state.
func TestKeyRefused(t *testing.T) {
	_, url := newSim(t, chsim.Options{APIKey: "another-key"})
	src := cloudhealth.NewSource(newClient(t, url, cloudhealth.Options{}), cloudhealth.SourceOptions{})
	_, err := src.Statuses(t.Context(), "")
	if !errors.Is(err, invite.ErrCloudHealthKeyRefused) || !errors.Is(err, cloudhealth.ErrKeyRefused) ||
		!strings.Contains(err.Error(), "Bad API Key") || strings.Contains(err.Error(), testKey) {
		t.Fatalf("403: %v", err)
	}
	sim, url := newSim(t, chsim.Options{})
	sim.InjectFault(chsim.Fault{Status: http.StatusUnauthorized, Times: 1})
	src = cloudhealth.NewSource(newClient(t, url, cloudhealth.Options{}), cloudhealth.SourceOptions{})
	if _, err := src.Statuses(t.Context(), ""); !errors.Is(err, invite.ErrCloudHealthKeyRefused) {
		t.Fatalf("401: %v", err)
	}
	if n := len(sim.Requests()); n != 1 {
		t.Errorf("a refused key was retried: %d requests", n)
	}
}

// A partner's customer: its accounts are listed with its client_api_id, its payer (the reseller's, not in the
// customer's tenant) comes from the partner's v2 assignments, and its external id is its own, asked once.
func TestPartnerTenant(t *testing.T) {
	sim, url := newSim(t, chsim.Options{})
	seed(t, sim, 3, testPayer)
	sim.AssignCustomer("cust-7", accountID(0), accountID(1))
	tenants := map[string]string{"bp-7": "cust-7"}
	src := cloudhealth.NewSource(newClient(t, url, cloudhealth.Options{}), cloudhealth.SourceOptions{
		TenantOf: func(_ context.Context, bp string) (string, error) { return tenants[bp], nil }})
	tenant, err := src.Tenant(t.Context(), "bp-7")
	if err != nil || tenant != "cust-7" {
		t.Fatalf("tenant %q, %v", tenant, err)
	}
	st, err := src.Statuses(t.Context(), tenant)
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != 2 || st[accountID(0)].PayerAccountID != testPayer || st[accountID(1)].PayerAccountID != testPayer {
		t.Fatalf("customer's statuses: %+v", st)
	}
	if !strings.Contains(st[accountID(0)].PayerReason, "billing_family_owner_id") {
		t.Errorf("payer source: %q", st[accountID(0)].PayerReason)
	}
	own, err := src.Statuses(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := own[accountID(0)]; ok || own[accountID(2)].PayerAccountID != testPayer {
		t.Errorf("the partner's own tenant: %+v", own)
	}
	for _, r := range sim.Requests() {
		switch {
		case r.Path == "/v1/aws_accounts" && r.Tenant != "cust-7" && r.Tenant != "":
			t.Errorf("accounts of %q", r.Tenant)
		case r.Path == "/v2/aws_account_assignments" && r.Tenant != "cust-7":
			t.Errorf("assignments asked for %q", r.Tenant)
		}
	}
	if _, err := src.Statuses(t.Context(), "not-a-customer"); !errors.Is(err, invite.ErrCloudHealthKeyRefused) {
		t.Errorf("an unknown client_api_id: %v", err)
	}

	setup := cloudhealth.NewSetupSource(src, "", cloudhealth.DeployOptions{}, cloudhealth.PolicyOptions{})
	sim.ResetCounts()
	var ids []string
	for range 3 {
		s, err := setup.Setup(t.Context(), invite.Invite{BillingProfileID: "bp-7", AccountID: "200000000099", Payer: testPayer}, invite.CloudHealthPolicyParts{})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, s.JSON.(cloudhealth.Setup).ExternalID)
	}
	if ids[0] != sim.ExternalID("cust-7") || ids[1] != ids[0] || ids[0] == sim.ExternalID("") {
		t.Errorf("external ids %v, want the customer's own, every time", ids)
	}
	if c := sim.Counts(); c.ExternalIDs != 1 || c.ListPages != 0 {
		t.Errorf("setup asked CloudHealth %d times for the external id and listed %d pages; want once and none", c.ExternalIDs, c.ListPages)
	}
	if r := sim.Requests(); len(r) != 1 || r[0].Path != "/v1/aws_accounts/:id/generate_external_id" {
		t.Errorf("setup's request: %+v", r)
	}
}

// A tenant of 10,000 accounts completes a pass: 100 pages of 100, X-Total ending it without an empty page. At a
// fast rate it is measured; at the real rate (30 a minute) it runs on a virtual clock, whose waits cost nothing,
// against a simulator holding the same budget on the same clock.
func TestTenThousandAccounts(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 10,000 accounts")
	}
	t.Run("fast rate, measured", func(t *testing.T) {
		rate := cloudhealth.Rate{Requests: 30, Per: 200 * time.Millisecond}
		sim, url := newSim(t, chsim.Options{Rate: rate})
		seed(t, sim, 9999, testPayer)
		c := newClient(t, url, cloudhealth.Options{Rate: rate})
		src := cloudhealth.NewSource(c, cloudhealth.SourceOptions{})
		start := time.Now()
		st, err := src.Statuses(t.Context(), "")
		if err != nil {
			t.Fatal(err)
		}
		elapsed := time.Since(start)
		// At this rate the network's jitter can bunch two sends into one window at the simulator: each refusal
		// is waited out and costs one request more, never a page read twice.
		if refused := sim.Counts().RateLimited; len(st) != 10000 || c.Requests() != 100+refused {
			t.Errorf("%d statuses in %d requests (%d refused), want 10,000 in 100 and one per refusal", len(st), c.Requests(), refused)
		}
		granted, waited := c.Limiter().Stats()
		t.Logf("10,000 accounts at 30 requests per 200ms: %d requests (%d rate-limited by the simulator) in %s, %s of it waiting for the budget",
			granted, sim.Counts().RateLimited, elapsed.Round(time.Millisecond), waited.Round(time.Millisecond))
	})
	t.Run("real rate, virtual clock", func(t *testing.T) {
		clock := &virtualClock{now: base}
		sim, url := newSim(t, chsim.Options{Rate: cloudhealth.DefaultRate, RateNow: clock.Now})
		seed(t, sim, 9999, testPayer)
		c := newClient(t, url, cloudhealth.Options{Limiter: cloudhealth.NewLimiter(cloudhealth.DefaultRate, clock)})
		src := cloudhealth.NewSource(c, cloudhealth.SourceOptions{})
		st, err := src.Statuses(t.Context(), "")
		if err != nil {
			t.Fatal(err)
		}
		took := clock.Now().Sub(base)
		if len(st) != 10000 || c.Requests() != 100 || sim.Counts().RateLimited != 0 {
			t.Errorf("%d statuses in %d requests, %d refused", len(st), c.Requests(), sim.Counts().RateLimited)
		}
		// 30 at once, 30 a minute later, 30 more, then the last 10: three full windows.
		if took != 3*time.Minute {
			t.Errorf("a pass took %s at 30 a minute, want 3m0s", took)
		}
		t.Logf("10,000 accounts at 30 requests a minute: %d requests, %s", c.Requests(), took)
	})
}

func TestLimiterKeepsTheWindow(t *testing.T) {
	clock := &virtualClock{now: base}
	l := cloudhealth.NewLimiter(cloudhealth.Rate{Requests: 3, Per: time.Minute}, clock)
	var at []time.Duration
	for range 7 {
		if err := l.Wait(t.Context()); err != nil {
			t.Fatal(err)
		}
		at = append(at, clock.Now().Sub(base))
	}
	if want := []time.Duration{0, 0, 0, time.Minute, time.Minute, time.Minute, 2 * time.Minute}; !slices.Equal(at, want) {
		t.Errorf("sends at %v, want %v", at, want)
	}
	l.Backoff(0)
	if err := l.Wait(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := clock.Now().Sub(base); got != 3*time.Minute {
		t.Errorf("after a 429 the next send is at %s, want a window later (3m)", got)
	}
}

func TestNewValidates(t *testing.T) {
	for _, tc := range []struct{ url, key string }{{"ftp://x", "k"}, {"http://", "k"}, {"http://x", " "}} {
		if _, err := cloudhealth.New(tc.url, tc.key, cloudhealth.Options{}); err == nil {
			t.Errorf("New(%q, %q) accepted", tc.url, tc.key)
		}
	}
	if _, err := cloudhealth.New("http://x", "k", cloudhealth.Options{PerPage: 101}); err == nil {
		t.Error("per_page 101 accepted")
	}
}

func TestParseLevel(t *testing.T) {
	for in, want := range map[string]cloudhealth.Level{"green": "green", "Healthy": "green", "warning": "yellow",
		"RED": "red", "critical": "red", "": "unknown", "Unknown": "unknown"} {
		if got, err := cloudhealth.ParseLevel(in); err != nil || got != want {
			t.Errorf("ParseLevel(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := cloudhealth.ParseLevel("purple"); err == nil {
		t.Error("purple accepted")
	}
}
