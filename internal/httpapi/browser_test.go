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
	"strings"
	"testing"
	"time"

	"github.com/cloudreseller/aws-invites/internal/httpapi"
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
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("skipping the browser test: node is not installed (scripts/test installs Debian's chromium; node comes with the image)")
	}
	chromium := os.Getenv("CHROMIUM")
	for _, name := range []string{"chromium", "chromium-browser"} {
		if chromium == "" {
			chromium, _ = exec.LookPath(name)
		}
	}
	if chromium == "" {
		t.Skip("skipping the browser test: chromium is not installed (apt-get install chromium, or set CHROMIUM to its path)")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, filepath.Join(root, "scripts/browser/install")).Output()
	if err != nil {
		t.Fatalf("installing playwright-core: %v", err)
	}
	modules := strings.TrimSpace(string(out))

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

	cmd := exec.CommandContext(ctx, node, filepath.Join(root, "scripts/browser/cors.cjs"))
	cmd.Env = append(os.Environ(), "PLAYWRIGHT_CORE="+filepath.Join(modules, "playwright-core"), "CHROMIUM="+chromium,
		"PAGE_URL="+page.URL, "API_URL="+e.url, "INVITES_PATH="+invitesPath(profile), "TOKEN="+e.token(), "ACCOUNT=123456789012")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	raw, err := cmd.Output()
	if err != nil {
		t.Fatalf("the browser script failed: %v\n%s", err, stderr.String())
	}
	var seen map[string]browserCall
	if err := json.Unmarshal(raw, &seen); err != nil {
		t.Fatalf("the browser script's output: %v: %s", err, raw)
	}

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
