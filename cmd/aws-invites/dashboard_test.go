package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.yaml.in/yaml/v3"

	"github.com/cloudreseller/aws-invites/internal/config"
	"github.com/cloudreseller/aws-invites/internal/httpapi"
	"github.com/cloudreseller/aws-invites/internal/telemetry"
)

// describing is a registerer that keeps the name of every metric a collector describes as it is registered: the
// names the service can export, whether or not a series of them exists yet (a counter by outcome has none until
// its first call).
type describing struct {
	*prometheus.Registry
	mu    sync.Mutex
	names map[string]bool
}

var fqName = regexp.MustCompile(`fqName: "([^"]+)"`)

func (d *describing) Register(c prometheus.Collector) error {
	ch := make(chan *prometheus.Desc)
	go func() {
		c.Describe(ch)
		close(ch)
	}()
	d.mu.Lock()
	for desc := range ch {
		// A Desc shows its name only in its String: Desc{fqName: "...", ...}.
		if m := fqName.FindStringSubmatch(desc.String()); m != nil {
			d.names[m[1]] = true
		}
	}
	d.mu.Unlock()
	return d.Registry.Register(c)
}

func (d *describing) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := d.Register(c); err != nil {
			panic(err)
		}
	}
}

// exportedMetrics builds the service as serve does (the sandbox, on a fresh data directory) and returns the names
// of every metric it registers, the API's included.
func exportedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	cfg, err := config.FromEnv(func(k string) string {
		return map[string]string{"AWS_INVITES_DATA_DIR": dir}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	reg := &describing{Registry: prometheus.NewRegistry(), names: map[string]bool{}}
	if err := telemetry.RegisterRuntime(reg); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	a, err := build(ctx, cfg, log, reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.close)
	v, err := verifier(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	// The API registers its metrics on the registry it serves; one request makes its series exist.
	e, err := a.API(httpapi.Config{Verifier: v, Logger: log, Registry: reg.Registry})
	if err != nil {
		t.Fatal(err)
	}
	e.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/healthz", nil))
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		reg.names[f.GetName()] = true
	}
	return reg.names
}

// metricName finds the service's metric names in a PromQL expression: every metric it exports starts with one of
// these prefixes.
var metricName = regexp.MustCompile(`\b(?:aws_invites|go|process)_[a-zA-Z0-9_]+\b`)

// known reports whether name is an exported metric, or a histogram's series of one.
func known(exported map[string]bool, name string) bool {
	if exported[name] {
		return true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok && exported[base] {
			return true
		}
	}
	return false
}

// The dashboard and the alerting rules that ship with the service read only metrics the service exports: a
// renamed metric or a typo leaves an empty panel or an alert that can never fire, which nothing else would show.
func TestDashboardAndAlertsUseExportedMetrics(t *testing.T) {
	exported := exportedMetrics(t)
	for _, want := range []string{"aws_invites_aws_calls_total", "aws_invites_invites", "aws_invites_build_info",
		"aws_invites_http_requests_total", "aws_invites_cloudhealth_calls_total", "aws_invites_job_queue_jobs"} {
		if !exported[want] {
			t.Fatalf("the service does not export %s: the list of names is wrong (%d names)", want, len(exported))
		}
	}

	exprs := map[string][]string{} // file -> expressions
	raw, err := os.ReadFile("../../deploy/grafana/aws-invites.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash any
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("dashboard: %v", err)
	}
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if s, ok := x.(string); ok && k == "expr" {
					exprs["dashboard"] = append(exprs["dashboard"], s)
				} else {
					walk(x)
				}
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(dash)

	raw, err = os.ReadFile("../../deploy/prometheus/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
				Expr  string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(raw, &rules); err != nil {
		t.Fatalf("alerts: %v", err)
	}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			exprs["alerts"] = append(exprs["alerts"], r.Expr)
		}
	}
	if len(exprs["dashboard"]) < 10 || len(exprs["alerts"]) < 6 {
		t.Fatalf("found %d dashboard and %d alert expressions: the files are not read as expected", len(exprs["dashboard"]), len(exprs["alerts"]))
	}

	for file, list := range exprs {
		for _, expr := range list {
			names := metricName.FindAllString(expr, -1)
			if len(names) == 0 {
				t.Errorf("%s: %q reads none of the service's metrics", file, expr)
			}
			for _, n := range names {
				if !known(exported, n) {
					t.Errorf("%s: %q reads %s, which the service does not export", file, expr, n)
				}
			}
		}
	}
	if t.Failed() {
		var all []string
		for n := range exported {
			all = append(all, n)
		}
		sort.Strings(all)
		t.Logf("exported: %s", strings.Join(all, " "))
	}
}
