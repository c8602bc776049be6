package chsim_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cloudreseller/aws-invites/internal/cloudhealth"
	"github.com/cloudreseller/aws-invites/internal/cloudhealth/chsim"
	"github.com/cloudreseller/aws-invites/internal/store"
	"github.com/cloudreseller/aws-invites/internal/store/storetest"
)

const key = "sim-key-77aa"

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
	sim, err := chsim.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return sim, srv.URL
}

type wirePage struct {
	Accounts []map[string]any `json:"aws_accounts"`
}

// get sends a GET with the test key and decodes a JSON answer into out when out is not nil.
func get(t *testing.T, url string, out any) *http.Response {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	if out != nil && resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("decode %s: %v", url, err)
		}
	}
	return resp
}

func TestWireFormat(t *testing.T) {
	sim, url := newSim(t, chsim.Options{Now: func() time.Time { return time.Date(2026, 11, 26, 7, 0, 0, 0, time.UTC) }})
	if err := sim.SetStatus(t.Context(), "000000000042", "Unknown", ""); err != nil {
		t.Fatal(err)
	}
	var page wirePage
	if resp := get(t, url+"/v1/aws_accounts", &page); resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if len(page.Accounts) != 1 {
		t.Fatalf("got %+v", page)
	}
	a := page.Accounts[0]
	if a["owner_id"] != "000000000042" || a["payer_account_id"] != "N/A" || a["name"] != "000000000042" {
		t.Errorf("account: %+v", a)
	}
	status, _ := a["status"].(map[string]any)
	if status["level"] != "unknown" || status["last_update"] != "2026-11-26T07:00:00Z" {
		t.Errorf("status: %+v", status)
	}
	for _, k := range []string{"id", "authentication", "billing", "cost_and_usage_report", "tags", "created_at", "updated_at"} {
		if _, ok := a[k]; !ok {
			t.Errorf("field %s missing", k)
		}
	}
}

func TestRequestChecks(t *testing.T) {
	sim, url := newSim(t, chsim.Options{})
	ups := make([]chsim.Update, 120)
	for i := range ups {
		ups[i] = chsim.Update{OwnerID: fmt.Sprintf("%012d", i+1), Level: "green", PayerAccountID: "999988887777"}
	}
	if err := sim.Apply(t.Context(), ups...); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		path       string
		header     string
		wantStatus int
		wantCount  int // accounts on the page
	}{
		{name: "default page size", path: "/v1/aws_accounts", wantStatus: 200, wantCount: 30},
		{name: "per_page capped at 100", path: "/v1/aws_accounts?per_page=500", wantStatus: 200, wantCount: 100},
		{name: "second page", path: "/v1/aws_accounts?page=2&per_page=100", wantStatus: 200, wantCount: 20},
		{name: "past the end", path: "/v1/aws_accounts?page=9&per_page=100", wantStatus: 200, wantCount: 0},
		{name: "page 0", path: "/v1/aws_accounts?page=0", wantStatus: 400},
		{name: "per_page not a number", path: "/v1/aws_accounts?per_page=x", wantStatus: 400},
		{name: "no key", path: "/v1/aws_accounts", header: "-", wantStatus: 401},
		{name: "wrong key", path: "/v1/aws_accounts", header: "Bearer nope", wantStatus: 401},
		{name: "key without Bearer", path: "/v1/aws_accounts", header: key, wantStatus: 401},
		{name: "client_api_id on a direct key", path: "/v1/aws_accounts?client_api_id=7", wantStatus: 403},
		{name: "unknown id", path: "/v1/aws_accounts/1", wantStatus: 404},
		{name: "unknown path", path: "/v2/whatever", wantStatus: 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, url+tc.path, nil)
			switch tc.header {
			case "":
				req.Header.Set("Authorization", "Bearer "+key)
			case "-":
			default:
				req.Header.Set("Authorization", tc.header)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = resp.Body.Close() }()
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.wantStatus)
			}
			if tc.wantStatus == 200 {
				var page wirePage
				if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
					t.Fatal(err)
				}
				if len(page.Accounts) != tc.wantCount {
					t.Fatalf("%d accounts, want %d", len(page.Accounts), tc.wantCount)
				}
			}
		})
	}
	c := sim.Counts()
	if c.Unauthorized != 3 || c.Forbidden != 1 || c.ListPages != 4 || c.Requests != len(tests) {
		t.Errorf("counts %+v", c)
	}
	sim.ResetCounts()
	if c := sim.Counts(); c != (chsim.Counts{}) {
		t.Errorf("after reset: %+v", c)
	}
}

func TestSetStatusValidates(t *testing.T) {
	sim, _ := newSim(t, chsim.Options{})
	tests := []struct{ owner, level, payer string }{
		{"12345", "green", ""},
		{"123456789012", "blue", ""},
		{"123456789012", "green", "99998888777x"},
	}
	for _, tc := range tests {
		if err := sim.SetStatus(t.Context(), tc.owner, tc.level, tc.payer); !errors.Is(err, chsim.ErrInvalid) {
			t.Errorf("SetStatus(%q, %q, %q) = %v, want ErrInvalid", tc.owner, tc.level, tc.payer, err)
		}
	}
	if accts, err := sim.Accounts(t.Context()); err != nil || len(accts) != 0 {
		t.Fatalf("after invalid input: %v, %v", accts, err)
	}
}

func TestSetStatusUpdatesInPlace(t *testing.T) {
	sim, _ := newSim(t, chsim.Options{})
	ctx := t.Context()
	steps := []struct{ level, payer, wantLevel, wantPayer string }{
		{"unknown", "N/A", "unknown", ""},
		{"red", "", "red", ""},
		{"healthy", "999988887777", "green", "999988887777"},
		{"yellow", "n/a", "yellow", ""},
	}
	var id int64
	for i, st := range steps {
		if err := sim.SetStatus(ctx, "123456789012", st.level, st.payer); err != nil {
			t.Fatal(err)
		}
		accts, err := sim.Accounts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(accts) != 1 {
			t.Fatalf("step %d: %d accounts, want 1", i, len(accts))
		}
		a := accts[0]
		if i == 0 {
			id = a.ID
		}
		if a.ID != id || a.Level != st.wantLevel || a.PayerAccountID != st.wantPayer {
			t.Errorf("step %d: %+v, want id %d level %s payer %q", i, a, id, st.wantLevel, st.wantPayer)
		}
	}
}

// TestSharedStore shows what the sandbox relies on: two simulators (a restart, or two replicas) on one store see
// the same accounts and external ids, and concurrent writers lose nothing.
func TestSharedStore(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) { testSharedStore(t, kind) })
	}
}

func testSharedStore(t *testing.T, kind string) {
	stores := world(t, kind, 3)
	a, urlA := newSim(t, chsim.Options{World: stores[0]})
	b, urlB := newSim(t, chsim.Options{World: stores[1]})
	if err := a.SetStatus(t.Context(), "111122223333", "red", ""); err != nil {
		t.Fatal(err)
	}
	ca, err := cloudhealth.New(urlA, key, cloudhealth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cb, err := cloudhealth.New(urlB, key, cloudhealth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := cb.AccountByOwner(t.Context(), "111122223333")
	if err != nil || got.Status.Level != cloudhealth.LevelRed {
		t.Fatalf("the second simulator sees %+v, %v", got, err)
	}
	// Both ask for the external id at once: one is issued and kept.
	exts := make([]string, 6)
	var wg sync.WaitGroup
	for i := range exts {
		c := ca
		if i%2 == 1 {
			c = cb
		}
		wg.Go(func() {
			ext, err := c.GenerateExternalID(context.Background(), got.ID)
			if err != nil {
				t.Error(err)
			}
			exts[i] = ext
		})
	}
	wg.Wait()
	if exts[0] == "" || slices.ContainsFunc(exts, func(e string) bool { return e != exts[0] }) {
		t.Fatalf("external ids %q: want one", exts)
	}
	// Writers on both simulators at once.
	errs := make(chan error, 100)
	for i := range 100 {
		sim := a
		if i%2 == 1 {
			sim = b
		}
		wg.Go(func() {
			errs <- sim.SetStatus(context.Background(), fmt.Sprintf("2000%08d", i), "green", "999988887777")
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	if err := ca.ListAccounts(t.Context(), func(cloudhealth.Account) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != 101 {
		t.Fatalf("%d accounts after concurrent writes, want 101", n)
	}

	// A new simulator on the store, as after a restart, starts where the others were.
	c, _ := newSim(t, chsim.Options{World: stores[2]})
	accts, err := c.Accounts(t.Context())
	if err != nil || len(accts) != 101 {
		t.Fatalf("after restart: %d accounts, %v", len(accts), err)
	}
}

// TestStoreFailure runs the simulator on a database without its table, as when the database fails.
func TestStoreFailure(t *testing.T) {
	db := storetest.MustOpenUnmigrated(t, storetest.URL(t, store.DialectSQLite), store.Options{})
	sim, url := newSim(t, chsim.Options{World: chsim.NewSQLStore(db.SQLDB())})
	if err := sim.SetStatus(t.Context(), "111122223333", "red", ""); err == nil {
		t.Fatal("SetStatus succeeded on a failing store")
	}
	for _, path := range []string{"/v1/aws_accounts", "/v1/aws_accounts/206158430001", "/v1/aws_accounts/206158430001/generate_external_id"} {
		if resp := get(t, url+path, nil); resp.StatusCode != http.StatusInternalServerError {
			t.Fatalf("%s: status %d, want 500", path, resp.StatusCode)
		}
	}
}

func TestFaultQueue(t *testing.T) {
	sim, url := newSim(t, chsim.Options{})
	sim.InjectFault(chsim.Fault{Status: 429, RetryAfter: 1500 * time.Millisecond, Times: 2})
	sim.InjectFault(chsim.Fault{Status: 502, Times: 1})
	want := []int{429, 429, 502, 200, 200}
	for i, w := range want {
		resp := get(t, url+"/v1/aws_accounts", nil)
		if resp.StatusCode != w {
			t.Fatalf("request %d: status %d, want %d", i, resp.StatusCode, w)
		}
		if w == 429 && resp.Header.Get("Retry-After") != "2" {
			t.Errorf("request %d: Retry-After %q, want 2 (rounded up)", i, resp.Header.Get("Retry-After"))
		}
	}
	sim.InjectFault(chsim.Fault{Status: 500})
	for range 3 {
		if resp := get(t, url+"/v1/aws_accounts", nil); resp.StatusCode != 500 {
			t.Fatalf("a persistent fault stopped: %d", resp.StatusCode)
		}
	}
	sim.ClearFaults()
	if resp := get(t, url+"/v1/aws_accounts", nil); resp.StatusCode != 200 {
		t.Fatalf("after ClearFaults: %d", resp.StatusCode)
	}
	if c := sim.Counts(); c.Faulted != 6 || c.Requests != 9 || c.ListPages != 3 {
		t.Errorf("counts %+v", c)
	}
}

func TestNewRequiresKey(t *testing.T) {
	if _, err := chsim.New(chsim.Options{}); err == nil {
		t.Fatal("New accepted no key")
	}
}
