package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/cloudreseller/aws-invites/internal/awsorg"
	"github.com/cloudreseller/aws-invites/internal/awsorg/orgsim"
	"github.com/cloudreseller/aws-invites/internal/invite"
	"github.com/cloudreseller/aws-invites/internal/testdb"
)

// instance is one `aws-invites serve` started through run, as main does.
type instance struct {
	url        string
	metricsURL string // when METRICS_ADDR is set
	pprofURL   string // when PPROF_ADDR is set
	stdout     *syncBuffer
	logs       *syncBuffer // every log line, as written to stderr
	stop       func() error
}

// start calls run with the environment and waits until it listens; the instance stops at the end of the test.
func start(t *testing.T, env map[string]string) *instance {
	t.Helper()
	inst, err := startAsync(env)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inst.stop() })
	return inst
}

// startAsync calls run as main does, on port 0, and returns once it listens. stop cancels it (as SIGTERM does)
// and returns what run returned.
func startAsync(env map[string]string) (*instance, error) {
	env["LISTEN_ADDR"] = "127.0.0.1:0"
	if _, ok := env["SHUTDOWN_DRAIN"]; !ok {
		env["SHUTDOWN_DRAIN"] = "0s" // no load balancer to wait for; TestShutdown tries the drain
	}
	ctx, cancel := context.WithCancel(context.Background())
	stdout, logs := &syncBuffer{}, &syncBuffer{}
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve"}, func(k string) string { return env[k] }, stdout, pw)
		pw.Close()
	}()
	addr := make(chan string, 1)
	badLine := make(chan string, 1)
	var metricsAddr, pprofAddr string // written before addr is sent, read after it is received
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for sc.Scan() {
			logs.Write(append(sc.Bytes(), '\n'))
			var line map[string]any
			if json.Unmarshal(sc.Bytes(), &line) != nil {
				select {
				case badLine <- sc.Text():
				default:
				}
				continue
			}
			if line["msg"] == "serving metrics" {
				metricsAddr = line["addr"].(string)
			}
			if line["msg"] == "serving profiler" {
				pprofAddr = line["addr"].(string)
			}
			if line["msg"] == "listening" {
				addr <- line["addr"].(string)
			}
		}
	}()
	select {
	case a := <-addr:
		inst := &instance{url: "http://" + a, stdout: stdout, logs: logs}
		if metricsAddr != "" {
			inst.metricsURL = "http://" + metricsAddr
		}
		if pprofAddr != "" {
			inst.pprofURL = "http://" + pprofAddr
		}
		var once sync.Once
		var stopErr error
		inst.stop = func() error {
			once.Do(func() {
				cancel()
				select {
				case stopErr = <-done:
				case <-time.After(30 * time.Second):
					stopErr = errors.New("run did not return after cancellation")
				}
			})
			return stopErr
		}
		return inst, nil
	case line := <-badLine:
		cancel()
		return nil, fmt.Errorf("a log line is not JSON: %s", line)
	case err := <-done:
		cancel()
		return nil, fmt.Errorf("run returned before listening: %v", err)
	case <-time.After(60 * time.Second):
		cancel()
		return nil, errors.New("run did not start listening")
	}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func call(t *testing.T, method, url, token string, body any) (int, map[string]any, http.Header) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, url, rd)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(res.Body).Decode(&m); err != nil {
		t.Fatalf("%s %s: body is not JSON: %v", method, url, err)
	}
	return res.StatusCode, m, res.Header
}

// TestEndToEndSandbox runs the real command on port 0 with PostgreSQL and the sandbox's simulator, and walks
// invite, accept, cancel and re-send as a newcomer would with the printed token.
func TestEndToEndSandbox(t *testing.T) {
	env := map[string]string{
		"DATABASE_URL": testdb.New(t), "AWS_INVITES_MODE": "sandbox", "AWS_INVITES_DATA_DIR": t.TempDir(),
	}
	inst := start(t, env)
	out := inst.stdout.String()
	m := regexp.MustCompile(`development token \(24h\): (\S+)`).FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "demo billing profile id: demo") {
		t.Fatalf("start-up did not print a token and the demo profile:\n%s", out)
	}
	tok := m[1]
	base := inst.url + "/billing-profiles/demo/aws-invites"

	status, inv, h := call(t, "POST", base, tok, map[string]any{"accountId": "1234 5678 9012", "notes": "e2e"})
	if status != 201 || inv["state"] != "invited" || h.Get("X-Sandbox") != "true" || h.Get("X-Request-Id") == "" {
		t.Fatalf("invite: %d %v %v", status, inv, h)
	}
	id := inv["id"].(string)
	status, inv, _ = call(t, "POST", base+"/"+id+"/sandbox/accept", tok, nil)
	if status != 200 || inv["state"] != "awaiting_cur" {
		t.Fatalf("accept: %d %v", status, inv)
	}

	status, other, _ := call(t, "POST", base, tok, map[string]any{"accountId": "210987654321"})
	if status != 201 {
		t.Fatalf("second invite: %d %v", status, other)
	}
	oid := other["id"].(string)
	status, p, h := call(t, "POST", base+"/"+oid+"/resend", tok, nil)
	if status != 409 || p["code"] != "resend_too_soon" || h.Get("Retry-After") == "" {
		t.Fatalf("re-send within five minutes: %d %v", status, p)
	}
	status, other, _ = call(t, "DELETE", base+"/"+oid, tok, nil)
	if status != 200 || other["state"] != "canceled" {
		t.Fatalf("cancel: %d %v", status, other)
	}

	// Graceful stop, then a restart on the same data: the invites and the simulator's handshakes are still there.
	if err := inst.stop(); err != nil {
		t.Fatalf("run after SIGTERM: %v", err)
	}
	inst = start(t, env)
	base = inst.url + "/billing-profiles/demo/aws-invites"
	status, inv, _ = call(t, "GET", base+"/"+id, tok, nil)
	if status != 200 || inv["state"] != "awaiting_cur" {
		t.Fatalf("after restart: %d %v", status, inv)
	}
	// The simulator remembers the member: inviting it again is refused by the database and by AWS alike.
	status, p, _ = call(t, "POST", base, tok, map[string]any{"accountId": "123456789012"})
	if status != 409 || p["code"] != "account_already_joined" {
		t.Fatalf("invite a member again: %d %v", status, p)
	}
}

// TestEndToEndAWSMode runs the command in aws mode: the SDK's own settings (endpoint override, credentials from
// the environment) take it to a simulator standing in for AWS.
func TestEndToEndAWSMode(t *testing.T) {
	sim := orgsim.New(orgsim.Options{Clock: systemClock.Now}) // AWS tells the time the service does
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	secret := strings.Repeat("p", 32)
	env := map[string]string{
		"DATABASE_URL": testdb.New(t), "AWS_INVITES_MODE": "aws", "AUTH_HS256_SECRET": secret,
		"AUTH_ISSUER": "https://idp.example.com", "AUTH_AUDIENCE": "aws-invites", "AWS_INVITES_DATA_DIR": t.TempDir(),
	}
	// The AWS SDK reads its settings from the process environment, as it does in production.
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_ORGANIZATIONS": srv.URL, "AWS_ACCESS_KEY_ID": orgsim.AccessKeyFor("444444444444"),
		"AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_PROFILE": "",
	} {
		t.Setenv(k, v)
	}
	inst := start(t, env)
	var admin, user bytes.Buffer
	getenv := func(k string) string { return env[k] }
	if err := run(context.Background(), []string{"token", "--sub", "ops", "--customer", "reseller", "--roles", "platform_admin",
		"--billing-profiles", "", "--permissions", ""}, getenv, &admin, io.Discard); err != nil {
		t.Fatal(err)
	}
	if err := run(context.Background(), []string{"token", "--customer", "acme", "--billing-profiles", "acme-main"}, getenv, &user, io.Discard); err != nil {
		t.Fatal(err)
	}
	status, bp, _ := call(t, "PUT", inst.url+"/billing-profiles/acme-main", strings.TrimSpace(admin.String()),
		map[string]any{"customerId": "acme", "name": "Acme", "managementAccountId": "444444444444"})
	if status != 201 {
		t.Fatalf("put billing profile: %d %v", status, bp)
	}
	status, inv, h := call(t, "POST", inst.url+"/billing-profiles/acme-main/aws-invites", strings.TrimSpace(user.String()),
		map[string]any{"accountId": "123456789012"})
	if status != 201 || h.Get("X-Sandbox") != "" {
		t.Fatalf("invite: %d %v", status, inv)
	}
	if sim.Calls("InviteAccountToOrganization") != 1 {
		t.Errorf("AWS saw %d invitations", sim.Calls("InviteAccountToOrganization"))
	}
	// No sandbox here.
	status, p, _ := call(t, "POST", inst.url+"/billing-profiles/acme-main/aws-invites/"+inv["id"].(string)+"/sandbox/accept",
		strings.TrimSpace(user.String()), nil)
	if status != 404 || p["code"] != "sandbox_only" {
		t.Fatalf("sandbox endpoint in aws mode: %d %v", status, p)
	}

	// The owner accepts in the console; `reconcile --once` applies it now, from the command line.
	orgs := awsorg.New(aws.Config{Region: "us-east-1"}, awsorg.Options{OrganizationsEndpoint: srv.URL,
		CredentialsFor: func(p invite.Payer) aws.CredentialsProvider {
			return credentials.NewStaticCredentialsProvider(orgsim.AccessKeyFor(p.ManagementAccountID), "test", "")
		}})
	if _, err := orgs.AcceptHandshakeAs(context.Background(), "123456789012", inv["handshake"].(map[string]any)["id"].(string)); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"reconcile", "--once"}, getenv, &out, io.Discard); err != nil {
		t.Fatalf("reconcile --once: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), `"step":"reconcile"`) || !strings.Contains(out.String(), `"changed":1`) {
		t.Errorf("reconcile --once printed:\n%s", out.String())
	}
	_, got, _ := call(t, "GET", inst.url+"/billing-profiles/acme-main/aws-invites/"+inv["id"].(string), strings.TrimSpace(user.String()), nil)
	if got["state"] != "awaiting_cur" {
		t.Errorf("after reconcile --once: %v", got["state"])
	}
}

func TestCommandLine(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"--help"}, func(string) string { return "" }, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"serve", "migrate", "token", "DATABASE_URL", "AWS_INVITES_MODE", "AUTH_JWKS_URL", "CORS_ALLOWED_ORIGINS", "LISTEN_ADDR"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("--help does not mention %s", want)
		}
	}
	// A wrong setting stops the start with one clear line.
	err := run(context.Background(), nil, func(k string) string {
		return map[string]string{"DATABASE_URL": "postgres://db.internal/app", "HOME": t.TempDir()}[k]
	}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "AWS_INVITES_MODE") || strings.Contains(err.Error(), "\n") {
		t.Errorf("production database without a mode: %v", err)
	}
	if err := run(context.Background(), []string{"launch"}, func(string) string { return "" }, io.Discard, io.Discard); err == nil {
		t.Error("an unknown command ran")
	}
	// migrate on an empty database.
	out.Reset()
	env := map[string]string{"DATABASE_URL": testdb.New(t), "AWS_INVITES_MODE": "aws", "AUTH_HS256_SECRET": strings.Repeat("s", 32),
		"AUTH_ISSUER": "https://idp.example.com/", "AUTH_AUDIENCE": "aws-invites"}
	if err := run(context.Background(), []string{"migrate"}, func(k string) string { return env[k] }, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "migration version") {
		t.Errorf("migrate printed %q", out.String())
	}
}
