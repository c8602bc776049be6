package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cloudreseller/aws-invites/internal/httpapi"
	"github.com/cloudreseller/aws-invites/internal/invite"
)

// browserCall is what the page saw of one fetch.
type browserCall struct {
	Status  int                `json:"status"`
	Headers map[string]*string `json:"headers"`
	Body    string             `json:"body"`
	Error   string             `json:"error"`
}

func (c browserCall) header(name string) string {
	if v := c.Headers[name]; v != nil {
		return *v
	}
	return ""
}

// TestCORSInABrowser has headless Chromium, on a page of one origin, call the API on another: requests with the
// web app's headers (preflighted), and responses whose headers the page must be able to read. scripts/test installs
// what it needs (Chromium from Debian, playwright-core into .cache/browser); without Chromium or node it skips.
func TestCORSInABrowser(t *testing.T) {
	tools := browserTools(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte("<!doctype html><title>web app</title>"))
	}))
	t.Cleanup(page.Close)
	e := newEnv(t, envOptions{sandbox: true, corsOrigins: []string{page.URL},
		limits: httpapi.RateLimits{RPS: 100, Burst: 100, AWSRPS: 100, AWSBurst: 100}})
	if strings.TrimPrefix(page.URL, "http://") == strings.TrimPrefix(e.url, "http://") {
		t.Fatal("the page and the API share an origin")
	}

	cmd := tools.script(ctx, "cors.cjs",
		"PAGE_URL="+page.URL, "API_URL="+e.url, "INVITES_PATH="+invitesPath(profile), "TOKEN="+e.token(), "ACCOUNT=123456789012")
	var seen map[string]browserCall
	tools.run(t, cmd, &seen)

	expect := func(name string, status int, headers map[string]string) browserCall {
		t.Helper()
		c, ok := seen[name]
		if !ok || c.Error != "" || c.Status != status {
			t.Errorf("%s: status %d, error %q; want %d (%s)", name, c.Status, c.Error, status, c.Body)
			return c
		}
		for h, want := range headers {
			got := c.header(h)
			if (want == "*" && got == "") || (want != "*" && got != want) {
				t.Errorf("%s: the page reads %s = %q, want %q", name, h, got, want)
			}
		}
		return c
	}
	// Authorization, X-Request-Id and traceparent pass the preflight; the page reads the request id it sent and
	// where it stands with the rate limits.
	expect("list", 200, map[string]string{"X-Request-Id": "browser-list-1", "RateLimit": "*", "RateLimit-Policy": "*", "X-Sandbox": "true"})
	// A preflighted JSON POST with an Idempotency-Key; its Location, and on the repeat Idempotent-Replayed.
	created := expect("create", 201, map[string]string{"Location": "*", "X-Request-Id": "browser-create-1", "RateLimit": "*"})
	if created.header("Idempotent-Replayed") != "" {
		t.Error("the first create says it was replayed")
	}
	expect("replay", 201, map[string]string{"Idempotent-Replayed": "true", "Location": created.header("Location")})
	expect("tooSoon", 409, map[string]string{"Retry-After": "*"})
	expect("noToken", 401, map[string]string{"WWW-Authenticate": `Bearer realm="aws-invites"`})
	// ETag where the API sends one (reading it directly tells), and If-Match passes the preflight of a DELETE.
	direct := e.do("GET", created.header("Location"), e.token(), nil)
	etag := map[string]string{}
	if v := direct.header.Get("ETag"); v != "" {
		etag["ETag"] = "*"
	}
	expect("get", 200, etag)
	expect("cancel", 200, nil)
}

// browser is what the browser tests run: node, Chromium, and playwright-core as scripts/browser/install put it.
type browser struct {
	node, chromium, root, modules string
}

// browserTools finds node and Chromium (scripts/test installs Debian's chromium; node comes with the image) and
// installs playwright-core into .cache/browser; without node or Chromium the test is skipped, saying why.
func browserTools(t *testing.T) browser {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		skipUnlessRequired(t, "skipping the browser test: node is not installed (scripts/test installs Debian's chromium; node comes with the image)")
	}
	chromium := os.Getenv("CHROMIUM")
	for _, name := range []string{"chromium", "chromium-browser"} {
		if chromium == "" {
			chromium, _ = exec.LookPath(name)
		}
	}
	if chromium == "" {
		skipUnlessRequired(t, "skipping the browser test: chromium is not installed (apt-get install chromium, or set CHROMIUM to its path)")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, filepath.Join(root, "scripts/browser/install")).Output()
	if err != nil {
		t.Fatalf("installing playwright-core: %v", err)
	}
	return browser{node: node, chromium: chromium, root: root, modules: strings.TrimSpace(string(out))}
}

// script prepares one of scripts/browser's scripts with the given environment.
func (b browser) script(ctx context.Context, name string, env ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, b.node, filepath.Join(b.root, "scripts/browser", name))
	cmd.Env = append(os.Environ(), append([]string{"PLAYWRIGHT_CORE=" + filepath.Join(b.modules, "playwright-core"),
		"CHROMIUM=" + b.chromium}, env...)...)
	return cmd
}

// run runs a browser script and decodes the JSON it prints into seen.
func (b browser) run(t *testing.T, cmd *exec.Cmd, seen any) {
	t.Helper()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	raw, err := cmd.Output()
	if err != nil {
		t.Fatalf("the browser script failed: %v\n%s", err, stderr.String())
	}
	if err := json.Unmarshal(raw, seen); err != nil {
		t.Fatalf("the browser script's output: %v: %s", err, raw)
	}
}

// TestSwaggerUITransferWalk walks a billing transfer through Swagger UI in headless Chromium, as the README's walk
// does with curl: Authorize, create (kind billing_transfer), accept in the sandbox, move the sandbox clock to just
// after the start (whatever day it is), read it in force, deliver the organization's CUR data, end it, read its history.
func TestSwaggerUITransferWalk(t *testing.T) {
	tools := browserTools(t)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	e := newEnv(t, envOptions{sandbox: true, limits: httpapi.RateLimits{RPS: 100, Burst: 100, AWSRPS: 100, AWSBurst: 100}})
	if _, _, err := e.store.PutBillingProfile(ctx, invite.BillingProfile{ID: profile, CustomerID: customer, Name: "Acme main",
		ManagementAccountID: management, CUR: invite.CURLocation{Bucket: "payer-cur", Prefix: "cur", Report: "payer",
			Format: invite.CURLegacy}}); err != nil {
		t.Fatal(err)
	}
	cmd := tools.script(ctx, "swagger-transfer.cjs", "API_URL="+e.url, "TOKEN="+e.token(), "PROFILE="+profile,
		"ACCOUNT=999200000001")
	var seen map[string]struct {
		Status int    `json:"status"`
		Body   string `json:"body"`
	}
	tools.run(t, cmd, &seen)

	type shown struct {
		ID       string `json:"id"`
		Kind     string `json:"kind"`
		State    string `json:"state"`
		Transfer *struct {
			Status  string    `json:"status"`
			StartAt time.Time `json:"startAt"`
			EndAt   string    `json:"endAt"`
		} `json:"transfer"`
		Now       time.Time `json:"now"` // the sandbox clock's answer
		NextSteps []struct {
			Code string `json:"code"`
		} `json:"nextSteps"`
		Items []struct {
			Type string `json:"type"`
		} `json:"items"`
	}
	step := func(name string, status int) shown {
		t.Helper()
		c, ok := seen[name]
		if !ok {
			t.Fatalf("Swagger UI did not get to %s: %v", name, seen)
		}
		if c.Status != status {
			t.Fatalf("%s: Swagger UI shows %d, want %d: %s", name, c.Status, status, c.Body)
		}
		var v shown
		if err := json.Unmarshal([]byte(c.Body), &v); err != nil {
			t.Fatalf("%s: Swagger UI shows no JSON: %v: %s", name, err, c.Body)
		}
		return v
	}
	created := step("create", 201)
	steps := make([]string, len(created.NextSteps))
	for i, s := range created.NextSteps {
		steps[i] = s.Code
	}
	if created.Kind != "billing_transfer" || created.State != "invited" || created.Transfer == nil ||
		!slices.Contains(steps, "accept_billing_transfer") || slices.Contains(steps, "expiring_soon") {
		t.Errorf("create: %+v, next steps %v (the default start leaves a day to accept)", created, steps)
	}
	if v := step("accept", 200); v.State != "accepted" {
		t.Errorf("accept: state %s", v.State)
	}
	// The walk moves the sandbox clock to just after the start, whatever day the test runs.
	if v := step("advance", 200); created.Transfer != nil &&
		(!v.Now.After(created.Transfer.StartAt) || v.Now.Sub(created.Transfer.StartAt) > 2*time.Hour) {
		t.Errorf("advance: the sandbox says %s, not just after the transfer's start %s", v.Now, created.Transfer.StartAt)
	}
	if v := step("inForce", 200); v.State != "awaiting_cur" {
		t.Errorf("after the start: state %s", v.State)
	}
	if v := step("cur", 200); v.State != "active" {
		t.Errorf("after the organization's CUR data: state %s", v.State)
	}
	if v := step("end", 200); v.State != "canceled" || v.Transfer == nil || v.Transfer.EndAt == "" {
		t.Errorf("ended: %+v", v)
	}
	var types []string
	for _, ev := range step("history", 200).Items {
		types = append(types, ev.Type)
	}
	if !strings.Contains(strings.Join(types, " "), "transfer_ended") {
		t.Errorf("the history Swagger UI shows: %v", types)
	}
}

// skipUnlessRequired skips a test whose tools are missing, unless scripts/test found them (AWS_INVITES_TOOLS=required):
// then the test fails, so that a test command with the tools never counts a skipped browser test as a pass.
func skipUnlessRequired(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("AWS_INVITES_TOOLS") == "required" {
		t.Fatal(strings.Replace(why, "skipping", "cannot run", 1))
	}
	t.Skip(why)
}
