package main

import (
	"bytes"
	"context"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cloudreseller/aws-invites/internal/awsorg/orgsim"
)

// signalCluster sends sig to the cluster's postmaster and every backend it started (and only those: another
// PostgreSQL on the machine runs as the same user).
func (pg *throwawayPostgres) signalCluster(t *testing.T, sig syscall.Signal) {
	t.Helper()
	raw, err := os.ReadFile(pg.dir + "/data/postmaster.pid")
	if err != nil {
		t.Fatal(err)
	}
	postmaster := strings.SplitN(string(raw), "\n", 2)[0]
	out, _ := exec.Command("pgrep", "-P", postmaster).Output()
	for _, p := range append([]string{postmaster}, strings.Fields(string(out))...) {
		pid, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil {
			t.Fatalf("a pid %q: %v", p, err)
		}
		if err := syscall.Kill(pid, sig); err != nil {
			t.Errorf("signal %s to %d: %v", sig, pid, err)
		}
	}
}

// TestHungDatabase: a database that stops answering without refusing (its processes frozen) gives 503s within
// the request deadline, not hung requests; /healthz stays 200 and the service recovers when it answers again.
func TestHungDatabase(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the hung database test starts a PostgreSQL cluster")
	}
	if _, err := exec.LookPath("pgrep"); err != nil {
		t.Skip("pgrep (procps) is missing: the test freezes the cluster's processes by pid")
	}
	pg := startThrowawayPostgres(t)
	// aws mode (over a simulator): the sandbox reads its test clock from the database for every answer's
	// X-Sandbox-Time, bounded by a deadline of its own, which is not what this test is about.
	sim := orgsim.New(orgsim.Options{Clock: systemClock.Now})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_ORGANIZATIONS": srv.URL, "AWS_ACCESS_KEY_ID": orgsim.AccessKeyFor("444444444444"),
		"AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_PROFILE": "",
	} {
		t.Setenv(k, v)
	}
	env := map[string]string{"DATABASE_URL": pg.url(), "AWS_INVITES_MODE": "aws", "AWS_INVITES_DATA_DIR": t.TempDir(),
		"AUTH_HS256_SECRET": strings.Repeat("h", 32), "AUTH_ISSUER": "https://idp.example.com", "AUTH_AUDIENCE": "aws-invites",
		"REQUEST_TIMEOUT": "1s", "DATABASE_CONNECT_TIMEOUT": "2s"}
	inst := start(t, env)
	var admin bytes.Buffer
	if err := run(context.Background(), []string{"token", "--sub", "ops", "--customer", "reseller", "--roles", "platform_admin",
		"--billing-profiles", "", "--permissions", ""}, func(k string) string { return env[k] }, &admin, io.Discard); err != nil {
		t.Fatal(err)
	}
	tok := strings.TrimSpace(admin.String())
	if s, bp, _ := call(t, "PUT", inst.url+"/billing-profiles/acme", tok,
		map[string]any{"customerId": "acme", "name": "Acme", "managementAccountId": "444444444444"}); s != 201 {
		t.Fatalf("put billing profile: %d %v", s, bp)
	}
	list := inst.url + "/billing-profiles/acme/aws-invites"
	if s, _, _ := call(t, "GET", list, tok, nil); s != 200 {
		t.Fatalf("list before: %d", s)
	}
	pg.signalCluster(t, syscall.SIGSTOP)
	thawed := false
	defer func() {
		if !thawed {
			pg.signalCluster(t, syscall.SIGCONT)
		}
	}()
	for i := range 3 {
		began := time.Now()
		s, p, h := call(t, "GET", list, tok, nil)
		took := time.Since(began)
		if s != 503 || p["code"] != "database_unavailable" || h.Get("Retry-After") == "" {
			t.Errorf("list %d with the database frozen: %d %v", i, s, p)
		}
		// The request deadline is 1s.
		if took > 2500*time.Millisecond {
			t.Errorf("list %d with the database frozen took %s, want about the request deadline of 1s", i, took)
		}
		t.Logf("list %d: %d in %s", i, s, took.Round(time.Millisecond))
	}
	if s, err := getStatus(inst.url + "/healthz"); s != 200 {
		t.Errorf("/healthz with the database frozen: %d %v", s, err)
	}
	if s, _ := getStatus(inst.url + "/readyz"); s != 503 {
		t.Errorf("/readyz with the database frozen: %d", s)
	}
	pg.signalCluster(t, syscall.SIGCONT)
	thawed = true
	deadline := time.Now().Add(15 * time.Second)
	for {
		s, _, _ := call(t, "GET", list, tok, nil)
		if s == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("list still %d 15s after the database answers again", s)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
