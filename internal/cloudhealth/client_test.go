package cloudhealth_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cloudreseller/aws-invites/internal/cloudhealth"
	"github.com/cloudreseller/aws-invites/internal/cloudhealth/chsim"
)

const testKey = "ch-test-key-5f1c9a"

// fixedNow is the simulator's clock in these tests.
func fixedNow() time.Time { return time.Date(2026, 11, 26, 7, 0, 0, 0, time.UTC) }

// newSim starts a simulator behind a real HTTP server.
func newSim(t *testing.T, opts chsim.Options) (*chsim.Simulator, *httptest.Server) {
	t.Helper()
	if opts.APIKey == "" {
		opts.APIKey = testKey
	}
	if opts.Now == nil {
		opts.Now = fixedNow
	}
	sim, err := chsim.New(opts)
	if err != nil {
		t.Fatalf("chsim.New: %v", err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return sim, srv
}

// newClient returns a client with fast retries.
func newClient(t *testing.T, baseURL, key string, opts cloudhealth.Options) *cloudhealth.Client {
	t.Helper()
	if opts.MinBackoff == 0 {
		opts.MinBackoff = time.Millisecond
	}
	if opts.MaxBackoff == 0 {
		opts.MaxBackoff = 20 * time.Millisecond
	}
	c, err := cloudhealth.New(baseURL, key, opts)
	if err != nil {
		t.Fatalf("cloudhealth.New: %v", err)
	}
	return c
}

func accountID(i int) string { return fmt.Sprintf("%012d", 100000000000+i) }

// seed creates n accounts: every third red, every fifth without payer, the rest green with payer 999988887777.
func seed(t *testing.T, sim *chsim.Simulator, n int) {
	t.Helper()
	ups := make([]chsim.Update, n)
	for i := range ups {
		u := chsim.Update{OwnerID: accountID(i), Level: "green", PayerAccountID: "999988887777"}
		if i%3 == 0 {
			u.Level = "red"
		}
		if i%5 == 0 {
			u.PayerAccountID = ""
		}
		ups[i] = u
	}
	if err := sim.Apply(context.Background(), ups...); err != nil {
		t.Fatalf("seed: %v", err)
	}
}

func listAll(ctx context.Context, c *cloudhealth.Client) ([]cloudhealth.Account, error) {
	var out []cloudhealth.Account
	err := c.ListAccounts(ctx, func(a cloudhealth.Account) error {
		out = append(out, a)
		return nil
	})
	return out, err
}

func TestListAccountsPages(t *testing.T) {
	tests := []struct {
		accounts, perPage, wantRequests int
	}{
		{accounts: 250, perPage: 100, wantRequests: 3},
		{accounts: 200, perPage: 100, wantRequests: 3}, // a full last page needs one more, empty, page
		{accounts: 0, perPage: 100, wantRequests: 1},
		{accounts: 7, perPage: 3, wantRequests: 3},
		{accounts: 250, perPage: 0, wantRequests: 3}, // the default is 100
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%d accounts per %d", tc.accounts, tc.perPage), func(t *testing.T) {
			sim, srv := newSim(t, chsim.Options{})
			seed(t, sim, tc.accounts)
			c := newClient(t, srv.URL, testKey, cloudhealth.Options{PerPage: tc.perPage})

			got, err := listAll(t.Context(), c)
			if err != nil {
				t.Fatalf("ListAccounts: %v", err)
			}
			if len(got) != tc.accounts {
				t.Fatalf("got %d accounts, want %d", len(got), tc.accounts)
			}
			seen := map[string]bool{}
			for i, a := range got {
				if seen[a.OwnerID] {
					t.Fatalf("account %s listed twice", a.OwnerID)
				}
				seen[a.OwnerID] = true
				want := accountID(i) // the simulator lists in creation order
				if a.OwnerID != want {
					t.Fatalf("account %d: owner %s, want %s", i, a.OwnerID, want)
				}
			}
			if n := sim.Counts().ListPages; n != tc.wantRequests {
				t.Errorf("%d list requests, want %d", n, tc.wantRequests)
			}
		})
	}
}

func TestListAccountsFields(t *testing.T) {
	sim, srv := newSim(t, chsim.Options{})
	seed(t, sim, 16)
	c := newClient(t, srv.URL, testKey, cloudhealth.Options{})
	got, err := listAll(t.Context(), c)
	if err != nil {
		t.Fatalf("ListAccounts: %v", err)
	}
	byOwner := map[string]cloudhealth.Account{}
	for _, a := range got {
		byOwner[a.OwnerID] = a
	}
	tests := []struct {
		owner    string
		level    cloudhealth.Level
		payer    string
		roleArn  string
		consolid bool
	}{
		{owner: accountID(0), level: cloudhealth.LevelRed, payer: ""},
		{owner: accountID(1), level: cloudhealth.LevelGreen, payer: "999988887777", roleArn: "arn:aws:iam::" + accountID(1) + ":role/CloudHealth", consolid: true},
		{owner: accountID(5), level: cloudhealth.LevelGreen, payer: "", roleArn: "arn:aws:iam::" + accountID(5) + ":role/CloudHealth"},
		{owner: accountID(6), level: cloudhealth.LevelRed, payer: "999988887777", consolid: true},
	}
	for _, tc := range tests {
		a, ok := byOwner[tc.owner]
		if !ok {
			t.Fatalf("account %s not listed", tc.owner)
		}
		if a.Status.Level != tc.level || a.PayerAccountID != tc.payer {
			t.Errorf("%s: level %q payer %q, want %q %q", tc.owner, a.Status.Level, a.PayerAccountID, tc.level, tc.payer)
		}
		if a.Authentication.AssumeRoleArn != tc.roleArn || a.Billing.IsConsolidated != tc.consolid {
			t.Errorf("%s: role %q consolidated %v, want %q %v", tc.owner, a.Authentication.AssumeRoleArn,
				a.Billing.IsConsolidated, tc.roleArn, tc.consolid)
		}
		if !a.Status.LastUpdate.Equal(fixedNow()) || !a.CreatedAt.Equal(fixedNow()) || a.ID == 0 {
			t.Errorf("%s: id %d, last update %v, created %v", tc.owner, a.ID, a.Status.LastUpdate, a.CreatedAt)
		}
	}
}

func TestGetAccountAndExternalID(t *testing.T) {
	sim, srv := newSim(t, chsim.Options{})
	if err := sim.SetStatus(t.Context(), "012345678901", "unknown", "N/A"); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, srv.URL, testKey, cloudhealth.Options{})

	a, err := c.AccountByOwner(t.Context(), "012345678901")
	if err != nil {
		t.Fatalf("AccountByOwner: %v", err)
	}
	if a.OwnerID != "012345678901" || a.Status.Level != cloudhealth.LevelUnknown || a.PayerAccountID != "" {
		t.Fatalf("got %+v", a)
	}
	if _, err := c.AccountByOwner(t.Context(), "111111111111"); !errors.Is(err, cloudhealth.ErrNotFound) {
		t.Fatalf("AccountByOwner of an unknown account: %v, want ErrNotFound", err)
	}

	got, err := c.GetAccount(t.Context(), a.ID)
	if err != nil {
		t.Fatalf("GetAccount: %v", err)
	}
	if got.OwnerID != a.OwnerID || got.ID != a.ID {
		t.Fatalf("GetAccount: got %+v, want %+v", got, a)
	}
	if _, err := c.GetAccount(t.Context(), a.ID+1000); !errors.Is(err, cloudhealth.ErrNotFound) {
		t.Fatalf("GetAccount of a missing id: %v, want ErrNotFound", err)
	}

	ext1, err := c.GenerateExternalID(t.Context(), a.ID)
	if err != nil {
		t.Fatalf("GenerateExternalID: %v", err)
	}
	ext2, err := c.GenerateExternalID(t.Context(), a.ID)
	if err != nil {
		t.Fatalf("GenerateExternalID again: %v", err)
	}
	if ext1 == "" || ext1 != ext2 {
		t.Fatalf("external ids %q and %q: want one stable id", ext1, ext2)
	}
	if _, err := cloudhealth.NewSetup(cloudhealth.SetupInput{AccountID: a.OwnerID, ExternalID: ext1}); err != nil {
		t.Fatalf("the simulator's external id is not usable in a setup: %v", err)
	}
	if _, err := c.GenerateExternalID(t.Context(), a.ID+1000); !errors.Is(err, cloudhealth.ErrNotFound) {
		t.Fatalf("GenerateExternalID of a missing id: %v, want ErrNotFound", err)
	}
	if n := sim.Counts().ExternalIDs; n != 2 {
		t.Errorf("%d external id answers, want 2", n)
	}
}

func TestBadKey(t *testing.T) {
	sim, srv := newSim(t, chsim.Options{})
	seed(t, sim, 3)
	const wrong = "wrong-key-0d6e4b2a"
	c := newClient(t, srv.URL, wrong, cloudhealth.Options{})

	_, err := listAll(t.Context(), c)
	var ae *cloudhealth.APIError
	if !errors.Is(err, cloudhealth.ErrUnauthorized) || !errors.As(err, &ae) || ae.StatusCode != http.StatusUnauthorized {
		t.Fatalf("got %v, want a 401 ErrUnauthorized", err)
	}
	if strings.Contains(err.Error(), wrong) {
		t.Fatalf("the error shows the key: %v", err)
	}
	if c := sim.Counts(); c.Unauthorized != 1 || c.Requests != 1 {
		t.Errorf("counts %+v: want one request, refused, not retried", c)
	}
}

func TestKeyNeverInErrors(t *testing.T) {
	// A server that echoes the Authorization header in its error body, as some proxies do.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "bad header: "+r.Header.Get("Authorization"), http.StatusBadRequest)
	}))
	t.Cleanup(srv.Close)
	c := newClient(t, srv.URL, testKey, cloudhealth.Options{})
	_, err := listAll(t.Context(), c)
	if err == nil || strings.Contains(err.Error(), testKey) {
		t.Fatalf("got %v: want an error without the key", err)
	}
}

func TestRetries(t *testing.T) {
	tests := []struct {
		name         string
		faults       []chsim.Fault
		retries      int
		wantErr      error
		wantStatus   int
		wantRequests int
	}{
		{
			name:         "429 then success",
			faults:       []chsim.Fault{{Status: 429, RetryAfter: 10 * time.Millisecond, Times: 2}},
			wantRequests: 3,
		},
		{
			name:         "503 once then success",
			faults:       []chsim.Fault{{Status: 503, Times: 1}},
			wantRequests: 2,
		},
		{
			name:         "500 persisting",
			faults:       []chsim.Fault{{Status: 500}},
			wantErr:      cloudhealth.ErrUnavailable,
			wantStatus:   500,
			wantRequests: 4, // the first try and 3 retries
		},
		{
			name:         "429 persisting",
			faults:       []chsim.Fault{{Status: 429, RetryAfter: 2 * time.Second}},
			retries:      2,
			wantErr:      cloudhealth.ErrRateLimited,
			wantStatus:   429,
			wantRequests: 3,
		},
		{
			name:         "400 is not retried",
			faults:       []chsim.Fault{{Status: 400}},
			wantStatus:   400,
			wantRequests: 1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sim, srv := newSim(t, chsim.Options{})
			seed(t, sim, 5)
			for _, f := range tc.faults {
				sim.InjectFault(f)
			}
			c := newClient(t, srv.URL, testKey, cloudhealth.Options{Retries: tc.retries})
			start := time.Now()
			got, err := listAll(t.Context(), c)
			elapsed := time.Since(start)
			if n := sim.Counts().Requests; n != tc.wantRequests {
				t.Errorf("%d requests, want %d", n, tc.wantRequests)
			}
			if tc.wantStatus == 0 {
				if err != nil || len(got) != 5 {
					t.Fatalf("got %d accounts, %v; want 5, no error", len(got), err)
				}
				return
			}
			var ae *cloudhealth.APIError
			if !errors.As(err, &ae) || ae.StatusCode != tc.wantStatus {
				t.Fatalf("got %v, want an http %d error", err, tc.wantStatus)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("got %v, want errors.Is %v", err, tc.wantErr)
			}
			if tc.wantStatus == 429 {
				if ae.RetryAfter != 2*time.Second || !strings.Contains(err.Error(), "retry after 2s") {
					t.Errorf("error %v: want the Retry-After of 2s in it", err)
				}
				// MaxBackoff (20ms) caps the server's 2s, so two retries are fast.
				if elapsed > time.Second {
					t.Errorf("took %v: the wait was not capped", elapsed)
				}
			}
		})
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	sim, srv := newSim(t, chsim.Options{})
	seed(t, sim, 1)
	sim.InjectFault(chsim.Fault{Status: 429, RetryAfter: time.Second, Times: 1})
	c := newClient(t, srv.URL, testKey, cloudhealth.Options{MaxBackoff: 5 * time.Second})
	start := time.Now()
	if _, err := listAll(t.Context(), c); err != nil {
		t.Fatalf("ListAccounts: %v", err)
	}
	if d := time.Since(start); d < time.Second {
		t.Errorf("retried after %v, before the Retry-After of 1s", d)
	}
}

func TestLatencyAndDeadline(t *testing.T) {
	sim, srv := newSim(t, chsim.Options{})
	seed(t, sim, 5)
	sim.InjectFault(chsim.Fault{Latency: 5 * time.Second})
	c := newClient(t, srv.URL, testKey, cloudhealth.Options{})

	ctx, cancel := context.WithTimeout(t.Context(), 150*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := listAll(ctx, c)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("returned after %v: the deadline was not respected", d)
	}
	if n := sim.Counts().Requests; n != 1 {
		t.Errorf("%d requests: a request past the deadline must not be retried", n)
	}

	// A short latency within the deadline is only slow.
	sim.ClearFaults()
	sim.InjectFault(chsim.Fault{Latency: 50 * time.Millisecond, Times: 1})
	start = time.Now()
	got, err := listAll(t.Context(), c)
	if err != nil || len(got) != 5 {
		t.Fatalf("got %d accounts, %v", len(got), err)
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("answered in %v, before the injected latency", d)
	}
}

func TestPartnerClientAPIID(t *testing.T) {
	sim, srv := newSim(t, chsim.Options{ClientAPIID: "cust-4711"})
	seed(t, sim, 4)
	tests := []struct {
		name    string
		id      string
		wantErr error
	}{
		{name: "the customer's id", id: "cust-4711"},
		{name: "another customer", id: "cust-0001", wantErr: cloudhealth.ErrForbidden},
		{name: "no id with a partner key", id: "", wantErr: cloudhealth.ErrForbidden},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newClient(t, srv.URL, testKey, cloudhealth.Options{ClientAPIID: tc.id})
			got, err := listAll(t.Context(), c)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("got %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil || len(got) != 4 {
				t.Fatalf("got %d accounts, %v", len(got), err)
			}
			ext, err := c.GenerateExternalID(t.Context(), got[0].ID)
			if err != nil || ext == "" {
				t.Fatalf("GenerateExternalID with client_api_id: %q, %v", ext, err)
			}
		})
	}
	// A direct (non-partner) simulator refuses a client_api_id.
	_, direct := newSim(t, chsim.Options{})
	c := newClient(t, direct.URL, testKey, cloudhealth.Options{ClientAPIID: "cust-4711"})
	if _, err := listAll(t.Context(), c); !errors.Is(err, cloudhealth.ErrForbidden) {
		t.Fatalf("client_api_id on a direct key: %v, want ErrForbidden", err)
	}
}

func TestListAccountsStopsOnCallbackError(t *testing.T) {
	sim, srv := newSim(t, chsim.Options{})
	seed(t, sim, 250)
	c := newClient(t, srv.URL, testKey, cloudhealth.Options{})
	stop := errors.New("stop")
	n := 0
	err := c.ListAccounts(t.Context(), func(cloudhealth.Account) error {
		n++
		if n == 150 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 150 {
		t.Fatalf("got %v after %d accounts, want stop after 150", err, n)
	}
	if p := sim.Counts().ListPages; p != 2 {
		t.Errorf("%d pages read, want 2", p)
	}
}

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name, url, key string
		opts           cloudhealth.Options
	}{
		{name: "no scheme", url: "chapi.cloudhealthtech.com", key: "k"},
		{name: "empty key", url: "https://chapi.cloudhealthtech.com", key: " "},
		{name: "page too big", url: "https://chapi.cloudhealthtech.com", key: "k", opts: cloudhealth.Options{PerPage: 101}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := cloudhealth.New(tc.url, tc.key, tc.opts); err == nil {
				t.Fatal("New accepted it")
			}
		})
	}
}

func TestAccountsByOwner(t *testing.T) {
	sim, srv := newSim(t, chsim.Options{})
	seed(t, sim, 250)
	c := newClient(t, srv.URL, testKey, cloudhealth.Options{})
	got, err := c.AccountsByOwner(t.Context())
	if err != nil {
		t.Fatalf("AccountsByOwner: %v", err)
	}
	if len(got) != 250 {
		t.Fatalf("%d accounts, want 250", len(got))
	}
	if a := got[accountID(3)]; a.Status.Level != cloudhealth.LevelRed || a.PayerAccountID != "999988887777" {
		t.Errorf("account 3: %+v", a)
	}
	if n := sim.Counts().ListPages; n != 3 {
		t.Errorf("%d list requests, want 3", n)
	}
}

// BenchmarkListAccounts10k lists 10,000 accounts (100 pages) from the simulator over HTTP.
func BenchmarkListAccounts10k(b *testing.B) {
	sim, err := chsim.New(chsim.Options{APIKey: testKey, Now: fixedNow})
	if err != nil {
		b.Fatal(err)
	}
	ups := make([]chsim.Update, 10000)
	for i := range ups {
		ups[i] = chsim.Update{OwnerID: accountID(i), Level: "green", PayerAccountID: "999988887777"}
	}
	if err := sim.Apply(b.Context(), ups...); err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	b.Cleanup(srv.Close)
	c, err := cloudhealth.New(srv.URL, testKey, cloudhealth.Options{})
	if err != nil {
		b.Fatal(err)
	}
	sim.ResetCounts()
	for b.Loop() {
		got, err := c.AccountsByOwner(b.Context())
		if err != nil || len(got) != 10000 {
			b.Fatalf("%d accounts, %v", len(got), err)
		}
	}
	b.ReportMetric(float64(sim.Counts().ListPages)/float64(b.N), "requests/op")
}
