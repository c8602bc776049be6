package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/cloudreseller/aws-invites/internal/auth"
	"github.com/cloudreseller/aws-invites/internal/config"
	"github.com/cloudreseller/aws-invites/internal/httpapi"
	"github.com/cloudreseller/aws-invites/internal/invite"
)

// spansOf returns the spans of one trace, in the order they started.
func spansOf(exp *tracetest.InMemoryExporter, id trace.TraceID) tracetest.SpanStubs {
	var out tracetest.SpanStubs
	for _, s := range exp.GetSpans() {
		if s.SpanContext.TraceID() == id {
			out = append(out, s)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].StartTime.Before(out[j].StartTime) })
	return out
}

func attr(s tracetest.SpanStub, key string) string {
	for _, kv := range s.Attributes {
		if string(kv.Key) == key {
			return kv.Value.String()
		}
	}
	return ""
}

// tree renders a trace as its spans' names and durations, indented under their parents (for the test's log).
func tree(spans tracetest.SpanStubs) string {
	children := map[trace.SpanID][]tracetest.SpanStub{}
	ids := map[trace.SpanID]bool{}
	for _, s := range spans {
		ids[s.SpanContext.SpanID()] = true
	}
	var roots []tracetest.SpanStub
	for _, s := range spans {
		if p := s.Parent.SpanID(); s.Parent.IsValid() && ids[p] {
			children[p] = append(children[p], s)
		} else {
			roots = append(roots, s)
		}
	}
	var b strings.Builder
	var walk func(s tracetest.SpanStub, depth int)
	walk = func(s tracetest.SpanStub, depth int) {
		fmt.Fprintf(&b, "%s%s %s\n", strings.Repeat("  ", depth), s.Name, s.EndTime.Sub(s.StartTime).Round(10*time.Microsecond))
		for _, c := range children[s.SpanContext.SpanID()] {
			walk(c, depth+1)
		}
	}
	for _, r := range roots {
		walk(r, 0)
	}
	return b.String()
}

// One trace follows a create from the caller's traceparent through the request, its database statements and its
// AWS call, into the jobs it enqueued (the event's dispatch) on the job engine; a reconciliation pass is one trace
// of its jobs, their AWS calls and statements. The spans go to an in-memory exporter; the log lines carry the ids.
func TestTracesOfACreateAndOfAReconcilePass(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	defer tp.Shutdown(context.Background())

	dir := t.TempDir()
	cfg, err := config.FromEnv(func(k string) string {
		return map[string]string{"AWS_INVITES_DATA_DIR": dir, "RECONCILE_INTERVAL": "1h", "CUR_SCAN_INTERVAL": "1h"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	log := newLogger(&logs)
	a, err := build(ctx, cfg, log, prometheus.NewRegistry(), tp)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	v, err := verifier(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	e, err := a.API(httpapi.Config{Verifier: v, Logger: log, Registry: prometheus.NewRegistry(), TracerProvider: tp})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(e)
	defer srv.Close()
	if err := announceSandbox(ctx, cfg, a.Store, srv.Listener.Addr().String(), &bytes.Buffer{}, log); err != nil {
		t.Fatal(err)
	}
	if err := a.Runner.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer a.Runner.Stop(context.WithoutCancel(ctx))
	secret, err := auth.LoadOrCreateDevSecret(dir)
	if err != nil {
		t.Fatal(err)
	}
	token, err := auth.Mint(secret, auth.Claims{Subject: "demo-user", CustomerID: demoCustomerID, BillingProfiles: []string{demoProfileID},
		Permissions: []string{invite.PermissionLicensesManager}, Issuer: cfg.AuthIssuer, Audience: cfg.AuthAudience}, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}

	// A webhook receiver of the demo billing profile: the create's event is delivered to it.
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	defer receiver.Close()
	hook, _ := http.NewRequest(http.MethodPost, srv.URL+"/billing-profiles/demo/webhooks", strings.NewReader(`{"url":"`+receiver.URL+`"}`))
	hook.Header.Set("Authorization", "Bearer "+token)
	hook.Header.Set("Content-Type", "application/json")
	if res, err := http.DefaultClient.Do(hook); err != nil || res.StatusCode != http.StatusCreated {
		t.Fatalf("create a webhook: %v %v", res, err)
	} else {
		res.Body.Close()
	}

	// A create, sent in the caller's trace.
	callerTrace, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/billing-profiles/demo/aws-invites", strings.NewReader(`{"accountId":"123456789012"}`))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d", res.StatusCode)
	}
	// The event's dispatch runs on the job engine, in the same trace.
	var create tracetest.SpanStubs
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		create = spansOf(exp, callerTrace)
		if slices.ContainsFunc(create, func(s tracetest.SpanStub) bool { return s.Name == "job deliver_webhook" && !s.EndTime.IsZero() }) {
			break
		}
	}
	t.Logf("the trace of a create:\n%s", tree(create))
	byName := map[string]tracetest.SpanStub{}
	for _, s := range create {
		if _, ok := byName[s.Name]; !ok {
			byName[s.Name] = s
		}
	}
	httpSpan, ok := byName["POST /billing-profiles/:billingProfileId/aws-invites"]
	if !ok {
		t.Fatalf("no span of the request in the caller's trace: %v", names(create))
	}
	if httpSpan.Parent.SpanID().String() != "00f067aa0ba902b7" || attr(httpSpan, "http.response.status_code") != "201" {
		t.Errorf("request span: parent %s, status %s; want the caller's span, 201", httpSpan.Parent.SpanID(), attr(httpSpan, "http.response.status_code"))
	}
	awsSpan, ok := byName["Organizations.InviteAccountToOrganization"]
	if !ok {
		t.Fatalf("no span of the AWS call: %v", names(create))
	}
	if attr(awsSpan, "aws_invites.payer") != demoManagement || attr(awsSpan, "aws.request_id") == "" || attr(awsSpan, "aws_invites.retries") != "0" {
		t.Errorf("AWS span attributes %v: want the payer, AWS's request id, 0 retries", awsSpan.Attributes)
	}
	if !descends(create, awsSpan, httpSpan) {
		t.Error("the AWS call's span is not under the request's")
	}
	dbSpans := 0
	for _, s := range create {
		if strings.HasPrefix(s.Name, "db.") && descends(create, s, httpSpan) {
			dbSpans++
			if q := attr(s, "db.query.text"); strings.Contains(q, "123456789012") {
				t.Errorf("a statement's span holds a parameter: %s", q)
			}
		}
	}
	if dbSpans == 0 {
		t.Errorf("no database statement under the request: %v", names(create))
	}
	if job, ok := byName["job dispatch_event"]; !ok || !descends(create, job, httpSpan) {
		t.Errorf("the event's dispatch is not a job span under the request: %v", names(create))
	}
	if job, ok := byName["job deliver_webhook"]; !ok || !descends(create, job, byName["job dispatch_event"]) {
		t.Errorf("the webhook delivery is not a job span under the event's dispatch: %v", names(create))
	}
	logged := false
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, `"msg":"request"`) && strings.Contains(line, `"path":"/billing-profiles/demo/aws-invites"`) && !strings.Contains(line, `"trace_id":"`+callerTrace.String()+`"`) {
			t.Errorf("the create's log line lacks its trace id: %s", line)
		}
		logged = logged || strings.Contains(line, `"path":"/billing-profiles/demo/aws-invites"`)
	}
	if !logged {
		t.Error("no log line of the create")
	}

	// A read: the read path's hand-written statements have their span too, under the request's.
	readTrace, _ := trace.TraceIDFromHex("5bf92f3577b34da6a3ce929d0e0e4737")
	get, _ := http.NewRequest(http.MethodGet, srv.URL+"/billing-profiles/demo/aws-invites?accountId=123456789012", nil)
	get.Header.Set("Authorization", "Bearer "+token)
	get.Header.Set("traceparent", "00-5bf92f3577b34da6a3ce929d0e0e4737-00f067aa0ba902b8-01")
	if res, err := http.DefaultClient.Do(get); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("list: %v %v", res, err)
	} else {
		res.Body.Close()
	}
	read := spansOf(exp, readTrace)
	var readHTTP, readDB tracetest.SpanStub
	for _, s := range read {
		switch s.Name {
		case "GET /billing-profiles/:billingProfileId/aws-invites":
			readHTTP = s
		case "db.read":
			readDB = s
		}
	}
	if readDB.Name == "" || !descends(read, readDB, readHTTP) || !strings.Contains(attr(readDB, "db.query.text"), "FROM invites") ||
		strings.Contains(attr(readDB, "db.query.text"), "123456789012") {
		t.Errorf("the list's statements: no db.read span under the request, or one holding a value: %v", names(read))
	}

	// A reconciliation pass, started in a trace of the test's.
	// A payer's job is unique while one is pending or running: when the pass the service started with still holds
	// the demo payer (a loaded machine), the test's pass adds none, and a later pass is tried.
	var pass tracetest.SpanStubs
	for attempt := 0; attempt < 4; attempt++ {
		pctx, root := tp.Tracer("test").Start(ctx, "reconcile pass")
		if err := a.Runner.EnqueueReconcileAll(pctx); err != nil {
			t.Fatal(err)
		}
		root.End()
		passTrace := root.SpanContext().TraceID()
		payerDone := func(s tracetest.SpanStub) bool { return s.Name == "job reconcile_payer" && !s.EndTime.IsZero() }
		for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			pass = spansOf(exp, passTrace)
			if slices.ContainsFunc(pass, payerDone) {
				break
			}
		}
		if slices.ContainsFunc(pass, payerDone) {
			break
		}
	}
	t.Logf("the trace of a reconciliation pass:\n%s", tree(pass))
	var payerJob, list tracetest.SpanStub
	for _, s := range pass {
		switch s.Name {
		case "job reconcile_payer":
			payerJob = s
		case "Organizations.ListHandshakesForOrganization":
			list = s
		}
	}
	if payerJob.Name == "" || attr(payerJob, "aws_invites.payer") != demoManagement {
		t.Fatalf("no job span of the payer's reconciliation in the pass: %v", names(pass))
	}
	if list.Name == "" || !descends(pass, list, payerJob) || attr(list, "aws_invites.payer") != demoManagement {
		t.Errorf("the payer's handshakes are not listed under its job: %v", names(pass))
	}
	if !slices.ContainsFunc(pass, func(s tracetest.SpanStub) bool { return s.Name == "job reconcile_all" }) {
		t.Errorf("no span of the pass's fan-out: %v", names(pass))
	}
}

func names(spans tracetest.SpanStubs) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name)
	}
	return out
}

// descends reports whether s is under ancestor in the trace.
func descends(spans tracetest.SpanStubs, s, ancestor tracetest.SpanStub) bool {
	parent := map[trace.SpanID]trace.SpanID{}
	for _, x := range spans {
		parent[x.SpanContext.SpanID()] = x.Parent.SpanID()
	}
	for id, n := s.Parent.SpanID(), 0; id.IsValid() && n < 100; id, n = parent[id], n+1 {
		if id == ancestor.SpanContext.SpanID() {
			return true
		}
	}
	return false
}
