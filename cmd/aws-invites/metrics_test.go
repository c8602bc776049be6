package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// get fetches url with the Authorization header auth (none when empty) and returns the status, the body and the
// WWW-Authenticate header.
func get(t *testing.T, url, auth string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, string(body), res.Header.Get("WWW-Authenticate")
}

// wantMetricsRefused checks that /metrics at url refuses every request without the right token.
func wantMetricsRefused(t *testing.T, url string) {
	t.Helper()
	for _, auth := range []string{"", "Bearer wrong-token", "Bearer scrape-token-but-longer", "Bearer scrape-toke",
		"Basic c2NyYXBlLXRva2Vu", "scrape-token", "Bearer scrape-token extra"} {
		status, body, challenge := get(t, url, auth)
		if status != http.StatusUnauthorized || !strings.HasPrefix(challenge, "Bearer") {
			t.Errorf("Authorization %q: %d, WWW-Authenticate %q, want 401 with a Bearer challenge", auth, status, challenge)
		}
		if strings.Contains(body, "go_goroutines") {
			t.Errorf("Authorization %q: the refusal carries metrics", auth)
		}
	}
}

// With METRICS_ADDR, /metrics is served there (with its token) and only there.
func TestMetricsOnItsOwnAddress(t *testing.T) {
	inst := start(t, map[string]string{"AWS_INVITES_DATA_DIR": t.TempDir(), "METRICS_ADDR": "127.0.0.1:0",
		"METRICS_TOKEN": "scrape-token"})
	if inst.metricsURL == "" {
		t.Fatal(`no "serving metrics" log line with the address`)
	}
	if status, _, _ := get(t, inst.url+"/healthz", ""); status != http.StatusOK {
		t.Fatalf("API /healthz: %d", status)
	}
	status, body, _ := get(t, inst.metricsURL+"/metrics", "Bearer scrape-token")
	if status != http.StatusOK || !strings.Contains(body, "go_goroutines") || !strings.Contains(body, "aws_invites_http_requests_total") {
		t.Fatalf("metrics address /metrics with the token: %d %.300s", status, body)
	}
	wantMetricsRefused(t, inst.metricsURL+"/metrics")
	for _, auth := range []string{"", "Bearer scrape-token"} {
		if status, body, _ := get(t, inst.url+"/metrics", auth); status != http.StatusNotFound || strings.Contains(body, "go_goroutines") {
			t.Errorf("the API address still serves /metrics (Authorization %q): %d %.200s", auth, status, body)
		}
	}
	// The metrics listener serves metrics and nothing else.
	if status, _, _ := get(t, inst.metricsURL+"/healthz", "Bearer scrape-token"); status != http.StatusNotFound {
		t.Errorf("metrics address /healthz: %d, want 404", status)
	}
}

// Without METRICS_ADDR, /metrics stays beside the API; METRICS_TOKEN guards it there too.
func TestMetricsTokenBesideTheAPI(t *testing.T) {
	inst := start(t, map[string]string{"AWS_INVITES_DATA_DIR": t.TempDir(), "METRICS_TOKEN": "scrape-token"})
	if inst.metricsURL != "" {
		t.Errorf("a metrics listener was started without METRICS_ADDR: %s", inst.metricsURL)
	}
	status, body, _ := get(t, inst.url+"/metrics", "Bearer scrape-token")
	if status != http.StatusOK || !strings.Contains(body, "go_goroutines") {
		t.Fatalf("/metrics with the token: %d %.300s", status, body)
	}
	if status, _, _ := get(t, inst.url+"/metrics", "bearer scrape-token"); status != http.StatusOK {
		t.Errorf("/metrics with a lower-case scheme: %d (RFC 9110: the scheme is case-insensitive)", status)
	}
	wantMetricsRefused(t, inst.url+"/metrics")
	_, body, _ = get(t, inst.url+"/metrics", "")
	if !strings.Contains(body, `"code":"unauthenticated"`) {
		t.Errorf("the API's refusal is not its usual problem document: %s", body)
	}
}

// PPROF_ADDR serves Go's profiler on a listener of its own; the API's address never serves it.
func TestProfilerOnItsOwnAddress(t *testing.T) {
	inst := start(t, map[string]string{"AWS_INVITES_DATA_DIR": t.TempDir()})
	if inst.pprofURL != "" {
		t.Errorf("a profiler was started without PPROF_ADDR: %s", inst.pprofURL)
	}
	if status, _, _ := get(t, inst.url+"/debug/pprof/", ""); status != http.StatusNotFound {
		t.Errorf("the API address serves /debug/pprof/: %d", status)
	}
	inst = start(t, map[string]string{"AWS_INVITES_DATA_DIR": t.TempDir(), "PPROF_ADDR": "127.0.0.1:0"})
	if inst.pprofURL == "" {
		t.Fatal(`no "serving profiler" log line with the address`)
	}
	status, body, _ := get(t, inst.pprofURL+"/debug/pprof/heap?debug=1", "")
	if status != http.StatusOK || !strings.Contains(body, "heap profile") {
		t.Errorf("profiler heap: %d %.200s", status, body)
	}
	if status, _, _ := get(t, inst.url+"/debug/pprof/heap", ""); status != http.StatusNotFound {
		t.Errorf("the API address serves /debug/pprof/heap with PPROF_ADDR set: %d", status)
	}
}
