package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/cloudreseller/aws-invites/internal/auth"
	"github.com/cloudreseller/aws-invites/internal/invite"
	"github.com/cloudreseller/aws-invites/internal/store"
	"github.com/cloudreseller/aws-invites/internal/store/storetest"
)

// River's UI is served at /admin/jobs/ to platform administrators only, read-only, on both databases: a script
// with a bearer token reads its API; a browser signs in once and its cookie carries the token; a customer's user
// and an anonymous caller are refused; changes to jobs are refused.
func TestJobsUIForPlatformAdministrators(t *testing.T) {
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			dir := t.TempDir()
			env := map[string]string{"AWS_INVITES_DATA_DIR": dir}
			if dialect == store.DialectPostgres {
				env["DATABASE_URL"], env["AWS_INVITES_MODE"] = storetest.URL(t, dialect), "sandbox"
			}
			inst := start(t, env)
			secret, err := auth.LoadOrCreateDevSecret(dir)
			if err != nil {
				t.Fatal(err)
			}
			mint := func(roles ...string) string {
				tok, err := auth.Mint(secret, auth.Claims{Subject: "ops-1", Email: "ops@example.com", CustomerID: demoCustomerID,
					BillingProfiles: []string{demoProfileID}, Permissions: []string{invite.PermissionLicensesManager}, Roles: roles,
					Issuer: "aws-invites-dev", Audience: "aws-invites"}, time.Hour, time.Now())
				if err != nil {
					t.Fatal(err)
				}
				return tok
			}
			admin, user := mint(invite.RolePlatformAdmin), mint()
			ui := inst.url + "/admin/jobs"
			noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

			send := func(c *http.Client, method, u, token string) (int, string, http.Header) {
				t.Helper()
				req, err := http.NewRequest(method, u, nil)
				if err != nil {
					t.Fatal(err)
				}
				if token != "" {
					req.Header.Set("Authorization", "Bearer "+token)
				}
				res, err := c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer res.Body.Close()
				body, _ := io.ReadAll(res.Body)
				return res.StatusCode, string(body), res.Header
			}
			wantProblem := func(what string, status int, body string, h http.Header, want int, code string) {
				t.Helper()
				if status != want || h.Get("Content-Type") != "application/problem+json" || !strings.Contains(body, `"code":"`+code+`"`) {
					t.Errorf("%s: %d %s %.200s, want %d problem %s", what, status, h.Get("Content-Type"), body, want, code)
				}
			}

			// The service's first pass has run: its jobs are there to see. Wait for the reconciliation's to complete
			// (the start's other periodic jobs, CloudHealth's and the housekeeping, may complete before it).
			var jobs struct {
				Data []struct {
					Kind  string `json:"kind"`
					State string `json:"state"`
					Args  string `json:"args"`
				} `json:"data"`
			}
			kinds := map[string]bool{}
			deadline := time.Now().Add(20 * time.Second)
			for {
				status, body, _ := send(http.DefaultClient, http.MethodGet, ui+"/api/jobs?state=completed", admin)
				if status != http.StatusOK {
					t.Fatalf("admin reads the jobs: %d %.300s", status, body)
				}
				if err := json.Unmarshal([]byte(body), &jobs); err != nil {
					t.Fatalf("jobs: %v: %.300s", err, body)
				}
				for _, j := range jobs.Data {
					kinds[j.Kind] = true
					if j.State != "completed" {
						t.Errorf("a %s job in state %s listed as completed", j.Kind, j.State)
					}
				}
				if kinds["reconcile_all"] || time.Now().After(deadline) {
					break
				}
				time.Sleep(200 * time.Millisecond)
			}
			if !kinds["reconcile_all"] {
				t.Errorf("completed jobs %+v lack the first reconciliation pass", jobs.Data)
			}

			status, body, h := send(http.DefaultClient, http.MethodGet, ui+"/api/jobs?state=completed", "")
			wantProblem("no token", status, body, h, http.StatusUnauthorized, "unauthenticated")
			status, body, h = send(http.DefaultClient, http.MethodGet, ui+"/api/jobs?state=completed", user)
			wantProblem("a customer's user", status, body, h, http.StatusForbidden, "forbidden")
			status, body, h = send(http.DefaultClient, http.MethodPost, ui+"/api/jobs/cancel", admin)
			wantProblem("a change", status, body, h, http.StatusMethodNotAllowed, "method_not_allowed")
			if status, _, h := send(noRedirect, http.MethodGet, ui+"/", ""); status != http.StatusSeeOther || h.Get("Location") != "/admin/jobs/login" {
				t.Errorf("the page without a token: %d to %q, want 303 to the login form", status, h.Get("Location"))
			}

			// A browser: the login form's post sets the cookie, which the UI's page and API requests then carry.
			jar, err := cookiejar.New(nil)
			if err != nil {
				t.Fatal(err)
			}
			browser := &http.Client{Jar: jar}
			for _, tc := range []struct {
				token string
				want  int
			}{{"not-a-token", http.StatusUnauthorized}, {user, http.StatusForbidden}, {admin, http.StatusOK}} {
				res, err := browser.PostForm(ui+"/login", url.Values{"token": {tc.token}})
				if err != nil {
					t.Fatal(err)
				}
				page, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode != tc.want {
					t.Errorf("login: %d, want %d: %.200s", res.StatusCode, tc.want, page)
				}
				if tc.want == http.StatusOK && !strings.Contains(string(page), "/admin/jobs/") {
					t.Errorf("after the login, the UI's page: %.300s", page)
				}
			}
			if status, body, _ := send(browser, http.MethodGet, ui+"/api/queues", ""); status != http.StatusOK || !strings.Contains(body, `"reconcile"`) {
				t.Errorf("the browser's API request with the cookie: %d %.300s", status, body)
			}
			res, err := browser.PostForm(ui+"/logout", nil)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if status, _, _ := send(browser, http.MethodGet, ui+"/api/queues", ""); status != http.StatusUnauthorized {
				t.Errorf("after signing out: %d, want 401", status)
			}
		})
	}
}
