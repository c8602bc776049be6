package chsim_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudreseller/aws-invites/internal/cloudhealth"
	"github.com/cloudreseller/aws-invites/internal/cloudhealth/chsim"
	"github.com/cloudreseller/aws-invites/internal/store"
	"github.com/cloudreseller/aws-invites/internal/store/storetest"
)

const (
	key   = "sim-key-77aa"
	payer = "111111111111"
)

var base = time.Date(2027, 3, 15, 9, 0, 0, 0, time.UTC)

// storeKinds are the stores the simulator runs on: memory, and the service's database on both dialects.
var storeKinds = []string{"memory", store.DialectPostgres, store.DialectSQLite}

// world opens n stores on one empty set of accounts, as n processes on one database would.
func world(tb testing.TB, kind string, n int) []chsim.World {
	tb.Helper()
	out := make([]chsim.World, n)
	if kind == "memory" {
		shared := chsim.NewMemoryStore()
		for i := range out {
			out[i] = shared
		}
		return out
	}
	url := storetest.URL(tb, kind)
	for i := range out {
		out[i] = chsim.NewSQLStore(storetest.MustOpen(tb, url, store.Options{}).SQLDB())
	}
	return out
}

func newSim(t *testing.T, opts chsim.Options) (*chsim.Simulator, string) {
	t.Helper()
	if opts.APIKey == "" {
		opts.APIKey = key
	}
	if opts.Now == nil {
		opts.Now = func() time.Time { return base }
	}
	if opts.Rate == (cloudhealth.Rate{}) {
		opts.Rate = cloudhealth.Rate{Requests: -1}
	}
	sim, err := chsim.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return sim, srv.URL
}

// get sends a GET with the key (when not "") and decodes a JSON answer into out.
func get(t *testing.T, url, apiKey string, out any) *http.Response {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+apiKey)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("decode %s: %v", url, err)
		}
	}
	return resp
}

type page struct {
	Accounts []map[string]any `json:"aws_accounts"`
}

// The wire carries the documented fields only: no payer id; the payer as account_type, cluster_name and the
// payer's own Consolidated record.
func TestWireFormat(t *testing.T) {
	sim, url := newSim(t, chsim.Options{})
	ctx := t.Context()
	for _, u := range []chsim.Update{
		{OwnerID: "000000000042", Level: "green", PayerAccountID: payer},
		{OwnerID: "000000000043", Level: "Unknown"},
		{OwnerID: "000000000044", Level: "yellow", PayerAccountID: "000000000044", Name: "Solo"},
	} {
		if err := sim.Apply(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	var p page
	resp := get(t, url+"/v1/aws_accounts", key, &p)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Total") != "4" || resp.Header.Get("X-Per-Page") != "30" {
		t.Fatalf("status %d, headers %v", resp.StatusCode, resp.Header)
	}
	byOwner := map[string]map[string]any{}
	for _, a := range p.Accounts {
		byOwner[a["owner_id"].(string)] = a
		for _, undocumented := range []string{"payer_account_id", "payer_id", "payer"} {
			if _, ok := a[undocumented]; ok {
				t.Errorf("undocumented field %s sent", undocumented)
			}
		}
	}
	member, notPlaced, solo, payerRec := byOwner["000000000042"], byOwner["000000000043"], byOwner["000000000044"], byOwner[payer]
	if member["account_type"] != "Linked" || member["cluster_name"] != chsim.PayerName(payer) ||
		member["billing"].(map[string]any)["is_consolidated"] != false {
		t.Errorf("member: %+v", member)
	}
	if payerRec["account_type"] != "Consolidated" || payerRec["name"] != chsim.PayerName(payer) ||
		payerRec["billing"].(map[string]any)["is_consolidated"] != true {
		t.Errorf("payer record: %+v", payerRec)
	}
	if notPlaced["account_type"] != "Unknown" || notPlaced["cluster_name"] != nil {
		t.Errorf("not placed: %+v", notPlaced)
	}
	if solo["account_type"] != "Standalone" || solo["cluster_name"] != "Solo" {
		t.Errorf("standalone: %+v", solo)
	}
	status := member["status"].(map[string]any)
	auth := member["authentication"].(map[string]any)
	if status["level"] != "green" || status["last_update"] != "2027-03-15T09:00:00Z" || auth["protocol"] != "assume_role" ||
		auth["assume_role_arn"] != "arn:aws:iam::000000000042:role/CloudHealth" || auth["assume_role_external_id"] != sim.ExternalID("") {
		t.Errorf("status %v, authentication %v", status, auth)
	}
}

// Paging as documented: per_page at most 100, X-Total, X-Per-Page, Link with next until the last page, [] past the
// end; errors as {"error": ...}.
func TestPagingAndErrors(t *testing.T) {
	sim, url := newSim(t, chsim.Options{})
	ups := make([]chsim.Update, 249)
	for i := range ups {
		ups[i] = chsim.Update{OwnerID: fmt.Sprintf("2000%08d", i), Level: "green", PayerAccountID: payer}
	}
	if err := sim.Apply(t.Context(), ups...); err != nil {
		t.Fatal(err)
	}
	for pg, want := range map[int]struct {
		n    int
		next bool
	}{1: {100, true}, 2: {100, true}, 3: {50, false}, 4: {0, false}} {
		var p page
		resp := get(t, fmt.Sprintf("%s/v1/aws_accounts?page=%d&per_page=500", url, pg), key, &p)
		link := resp.Header.Get("Link")
		if len(p.Accounts) != want.n || resp.Header.Get("X-Total") != "250" || resp.Header.Get("X-Per-Page") != "100" ||
			strings.Contains(link, `rel="next"`) != want.next || !strings.Contains(link, `rel="last"`) {
			t.Errorf("page %d: %d accounts, headers %v", pg, len(p.Accounts), resp.Header)
		}
	}
	for _, tc := range []struct {
		url, key string
		status   int
		msg      string
	}{
		{"/v1/aws_accounts", "", 401, "Currently logged out"},
		{"/v1/aws_accounts", "wrong", 403, "Bad API Key"},
		{"/v1/aws_accounts?client_api_id=nobody", key, 403, "Bad API Key"},
		{"/v1/aws_accounts/1", key, 404, "Record not found"},
		{"/v1/aws_accounts?page=0", key, 422, "page"},
	} {
		var e map[string]string
		if resp := get(t, url+tc.url, tc.key, &e); resp.StatusCode != tc.status || !strings.Contains(e["error"], tc.msg) {
			t.Errorf("%s with key %q: %d %v, want %d %q", tc.url, tc.key, resp.StatusCode, e, tc.status, tc.msg)
		}
	}
	var p page
	if resp := get(t, url+"/v1/aws_accounts?api_key="+key, "", &p); resp.StatusCode != 200 {
		t.Errorf("api_key in the query: %d", resp.StatusCode)
	}
}

// 30 requests a minute per key, then 429 until the window moves on.
func TestRateLimit(t *testing.T) {
	now := base
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	sim, url := newSim(t, chsim.Options{Rate: cloudhealth.DefaultRate, RateNow: clock})
	for i := range 31 {
		var e map[string]any
		resp := get(t, url+"/v1/aws_accounts", key, &e)
		if want := map[bool]int{true: 200, false: 429}[i < 30]; resp.StatusCode != want {
			t.Fatalf("request %d: %d, want %d", i+1, resp.StatusCode, want)
		}
	}
	mu.Lock()
	now = now.Add(time.Minute + time.Second)
	mu.Unlock()
	if resp := get(t, url+"/v1/aws_accounts", key, &page{}); resp.StatusCode != 200 {
		t.Fatalf("after a minute: %d", resp.StatusCode)
	}
	if c := sim.Counts(); c.RateLimited != 1 || c.ListPages != 31 {
		t.Errorf("counts %+v", c)
	}
}

// A partner's customers: each lists its own accounts with its client_api_id, the assignments name their billing
// family, and the external id is one per customer whatever the id in the path.
func TestPartner(t *testing.T) {
	sim, url := newSim(t, chsim.Options{})
	if err := sim.Apply(t.Context(), chsim.Update{OwnerID: "200000000001", Level: "green", PayerAccountID: payer},
		chsim.Update{OwnerID: "200000000002", Level: "green", PayerAccountID: payer}); err != nil {
		t.Fatal(err)
	}
	sim.AssignCustomer("cust-1", "200000000001")
	var p page
	get(t, url+"/v1/aws_accounts?client_api_id=cust-1", key, &p)
	if len(p.Accounts) != 1 || p.Accounts[0]["owner_id"] != "200000000001" || p.Accounts[0]["cluster_name"] != chsim.PayerName(payer) {
		t.Errorf("customer's accounts: %+v", p.Accounts)
	}
	get(t, url+"/v1/aws_accounts", key, &p)
	if len(p.Accounts) != 2 {
		t.Errorf("the partner's own tenant: %d accounts, want the payer and the unassigned account", len(p.Accounts))
	}
	var as struct {
		Assignments []map[string]any `json:"aws_account_assignments"`
	}
	resp := get(t, url+"/v2/aws_account_assignments?target_client_api_id=cust-1", key, &as)
	if len(as.Assignments) != 1 || as.Assignments[0]["billing_family_owner_id"] != payer || as.Assignments[0]["target_client_api_id"] != "cust-1" ||
		resp.Header.Get("X-Total") != "1" {
		t.Errorf("assignments: %+v", as)
	}
	ext := map[string]string{}
	for _, path := range []string{"/v1/aws_accounts/:id/generate_external_id?client_api_id=cust-1",
		"/v1/aws_accounts/123/generate_external_id?client_api_id=cust-1", "/v1/aws_accounts/:id/generate_external_id"} {
		var e map[string]string
		get(t, url+path, key, &e)
		ext[path] = e["generated_external_id"]
	}
	if len(slices.Compact(slices.Sorted(func(yield func(string) bool) {
		for _, v := range ext {
			if !yield(v) {
				return
			}
		}
	}))) != 2 || ext["/v1/aws_accounts/:id/generate_external_id"] != sim.ExternalID("") {
		t.Errorf("external ids: %v, want one per tenant", ext)
	}
}

// The sandbox's action: a level set for an account keeps it under its payer's record; another payer moves it.
func TestSetStatusKeepsPlacement(t *testing.T) {
	sim, _ := newSim(t, chsim.Options{})
	ctx := t.Context()
	const acct, other = "200000000001", "333333333333"
	if err := sim.SetStatus(ctx, acct, "green", payer); err != nil {
		t.Fatal(err)
	}
	if err := sim.SetStatus(ctx, acct, "red", ""); err != nil {
		t.Fatal(err)
	}
	placement := func() string {
		accts, err := sim.Accounts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range accts {
			if a.OwnerID == acct {
				return a.PayerAccountID + "/" + a.Level
			}
		}
		return ""
	}
	if got := placement(); got != payer+"/red" {
		t.Errorf("after a level only: %s", got)
	}
	if err := sim.SetStatus(ctx, acct, "green", other); err != nil {
		t.Fatal(err)
	}
	if got := placement(); got != other+"/green" {
		t.Errorf("under another payer: %s", got)
	}
	if err := sim.SetStatus(ctx, acct, "green", "N/A"); err != nil {
		t.Fatal(err)
	}
	if got := placement(); got != "/green" {
		t.Errorf("N/A: %s", got)
	}
	for _, bad := range [][2]string{{"12", "green"}, {acct, "purple"}} {
		if err := sim.SetStatus(ctx, bad[0], bad[1], ""); err == nil {
			t.Errorf("SetStatus(%v) accepted", bad)
		}
	}
	if err := sim.SetStatus(ctx, acct, "green", "12"); err == nil {
		t.Error("a bad payer accepted")
	}
}

// Faults can target one page; the request log keeps the order of arrival.
func TestFaults(t *testing.T) {
	sim, url := newSim(t, chsim.Options{})
	sim.InjectFault(chsim.Fault{Status: 503, Path: "/v1/aws_accounts", Page: 2, Times: 1})
	var e map[string]string
	if resp := get(t, url+"/v1/aws_accounts?page=1", key, &page{}); resp.StatusCode != 200 {
		t.Errorf("page 1: %d", resp.StatusCode)
	}
	if resp := get(t, url+"/v1/aws_accounts?page=2", key, &e); resp.StatusCode != 503 || e["error"] != "Back end capped out" ||
		resp.Header.Get("Retry-After") != "" {
		t.Errorf("page 2: %d %v", resp.StatusCode, e)
	}
	if resp := get(t, url+"/v1/aws_accounts?page=2", key, &page{}); resp.StatusCode != 200 {
		t.Errorf("page 2 again: %d", resp.StatusCode)
	}
	var got []string
	for _, r := range sim.Requests() {
		got = append(got, fmt.Sprintf("%d:%d", r.Page, r.Status))
	}
	if !slices.Equal(got, []string{"1:200", "2:503", "2:200"}) {
		t.Errorf("requests %v", got)
	}
}

func TestSharedStore(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			stores := world(t, kind, 3)
			a, urlA := newSim(t, chsim.Options{World: stores[0]})
			b, _ := newSim(t, chsim.Options{World: stores[1]})
			errs := make(chan error, 60)
			var wg sync.WaitGroup
			for i := range 60 {
				sim := a
				if i%2 == 1 {
					sim = b
				}
				wg.Go(func() {
					errs <- sim.SetStatus(context.Background(), fmt.Sprintf("2000%08d", i), "green", payer)
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			c, err := cloudhealth.New(urlA, key, cloudhealth.Options{})
			if err != nil {
				t.Fatal(err)
			}
			st, err := cloudhealth.NewSource(c, cloudhealth.SourceOptions{}).Statuses(t.Context(), "")
			if err != nil {
				t.Fatal(err)
			}
			if len(st) != 61 || st["200000000059"].PayerAccountID != payer {
				t.Fatalf("%d statuses after concurrent writes, want 61 placed under the payer", len(st))
			}
			// A new simulator on the store, as after a restart, starts where the others were.
			r, _ := newSim(t, chsim.Options{World: stores[2]})
			if accts, err := r.Accounts(t.Context()); err != nil || len(accts) != 61 {
				t.Fatalf("after restart: %d accounts, %v", len(accts), err)
			}
		})
	}
}

// TestStoreFailure runs the simulator on a database without its table, as when the database fails.
func TestStoreFailure(t *testing.T) {
	db := storetest.MustOpenUnmigrated(t, storetest.URL(t, store.DialectSQLite), store.Options{})
	sim, url := newSim(t, chsim.Options{World: chsim.NewSQLStore(db.SQLDB())})
	if err := sim.SetStatus(t.Context(), "111122223333", "red", payer); err == nil {
		t.Fatal("SetStatus succeeded on a failing store")
	}
	for _, path := range []string{"/v1/aws_accounts", "/v1/aws_accounts/206158430001"} {
		if resp := get(t, url+path, key, nil); resp.StatusCode != http.StatusInternalServerError {
			t.Fatalf("%s: status %d, want 500", path, resp.StatusCode)
		}
	}
}

func TestNewRequiresKey(t *testing.T) {
	if _, err := chsim.New(chsim.Options{}); err == nil {
		t.Fatal("New without a key succeeded")
	}
}
