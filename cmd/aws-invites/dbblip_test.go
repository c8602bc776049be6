package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// throwawayPostgres is a PostgreSQL cluster of the test's own, which it may stop and start.
type throwawayPostgres struct {
	t        *testing.T
	bin, dir string
	port     int
	run      []string // runuser -u postgres -- when root: PostgreSQL refuses to run as root
}

// startThrowawayPostgres starts a cluster on a free port of 55500-55599 (this test's range), removed at the end.
func startThrowawayPostgres(t *testing.T) *throwawayPostgres {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(bins) == 0 {
		t.Skip("no PostgreSQL server binaries in /usr/lib/postgresql/*/bin (Debian's postgresql package): the database blip test needs a cluster of its own to stop")
	}
	pg := &throwawayPostgres{t: t, bin: filepath.Dir(bins[len(bins)-1])}
	for p := 55500; p < 55600; p++ {
		if ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p)); err == nil {
			ln.Close()
			pg.port = p
			break
		}
	}
	if pg.port == 0 {
		t.Fatal("no free port in 55500-55599")
	}
	dir, err := os.MkdirTemp("", "aws-invites-blip-")
	if err != nil {
		t.Fatal(err)
	}
	pg.dir = dir
	if os.Getuid() == 0 {
		pg.run = []string{"runuser", "-u", "postgres", "--"}
		if out, err := exec.Command("chown", "postgres:postgres", dir).CombinedOutput(); err != nil {
			t.Fatalf("chown: %v %s", err, out)
		}
	}
	pg.cmd("initdb", "-D", dir+"/data", "-U", "postgres", "-A", "trust", "-E", "UTF8")
	t.Cleanup(func() {
		pg.ctl("stop", "-m", "immediate")
		os.RemoveAll(dir)
	})
	pg.start()
	return pg
}

func (pg *throwawayPostgres) cmd(name string, args ...string) {
	pg.t.Helper()
	argv := append(append(append([]string{}, pg.run...), filepath.Join(pg.bin, name)), args...)
	if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
		pg.t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
	}
}

func (pg *throwawayPostgres) ctl(args ...string) error {
	argv := append(append(append([]string{}, pg.run...), filepath.Join(pg.bin, "pg_ctl"), "-D", pg.dir+"/data", "-l", pg.dir+"/log", "-w"), args...)
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl %s: %v\n%s", args[0], err, out)
	}
	return nil
}

func (pg *throwawayPostgres) start() {
	pg.t.Helper()
	if err := pg.ctl("start", "-o", fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200", pg.port, pg.dir)); err != nil {
		pg.t.Fatal(err)
	}
}

func (pg *throwawayPostgres) url() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", pg.port)
}

// answer is one HTTP answer of the load, as a client sees it.
type answer struct {
	status      int
	contentType string
	retryAfter  string
	body        map[string]any
}

func post(url, token, key string, body any) (answer, error) {
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", url, bytes.NewReader(raw))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	c := http.Client{Timeout: 15 * time.Second}
	res, err := c.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer res.Body.Close()
	a := answer{status: res.StatusCode, contentType: res.Header.Get("Content-Type"), retryAfter: res.Header.Get("Retry-After")}
	data, _ := io.ReadAll(res.Body)
	json.Unmarshal(data, &a.body)
	return a, nil
}

// TestDatabaseBlip runs the service on a PostgreSQL of its own under a steady load of creates, each sent with an
// Idempotency-Key and retried with it until it succeeds, stops the database for a few seconds, starts it again
// and later ends every connection from inside. Meanwhile the service answers 503 problems with Retry-After,
// /readyz 503 and /healthz 200; afterwards every key has one invite, AWS holds one invitation for each (none
// unclaimed), and each invite.created event reached the webhook once.
func TestDatabaseBlip(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the database blip test starts a PostgreSQL cluster")
	}
	pg := startThrowawayPostgres(t)
	hooks := struct {
		sync.Mutex
		byID    map[string]int
		created []string // the bodies of invite.created deliveries
	}{byID: map[string]int{}}
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var ev struct {
			Type string `json:"type"`
		}
		json.Unmarshal(raw, &ev)
		hooks.Lock()
		hooks.byID[r.Header.Get("webhook-id")]++
		if ev.Type == "invite.created" {
			hooks.created = append(hooks.created, string(raw))
		}
		hooks.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(receiver.Close)

	dataDir := t.TempDir()
	env := map[string]string{"DATABASE_URL": pg.url(), "AWS_INVITES_MODE": "sandbox", "AWS_INVITES_DATA_DIR": dataDir,
		"REQUEST_TIMEOUT": "2s", "SANDBOX_INVITES_PER_DAY": "100000", "RATE_LIMIT_RPS": "0", "RATE_LIMIT_BURST": "0",
		"RATE_LIMIT_AWS_RPS": "0", "RATE_LIMIT_AWS_BURST": "0"}
	inst := start(t, env)
	tok := devToken(t, inst)
	var admin bytes.Buffer
	if err := run(context.Background(), []string{"token", "--sub", "ops", "--customer", "reseller", "--roles", "platform_admin",
		"--billing-profiles", "", "--permissions", ""}, func(k string) string { return env[k] }, &admin, io.Discard); err != nil {
		t.Fatal(err)
	}
	adminTok := strings.TrimSpace(admin.String())
	if s, hook, _ := call(t, "POST", inst.url+"/billing-profiles/demo/webhooks", tok,
		map[string]any{"url": receiver.URL, "events": []string{"invite.created"}}); s != 201 {
		t.Fatalf("add webhook: %d %v", s, hook)
	}

	// The load: 4 clients, each creating invites one after another and retrying each with its key until it is
	// answered 201 (or 200: the same invite as the first answer).
	type result struct {
		key, inviteID string
		tries         int
	}
	var (
		mu        sync.Mutex
		results   []result
		failures  []string
		byStatus  = map[int]int{}
		stopLoad  = make(chan struct{})
		wg        sync.WaitGroup
		next      = 0
		giveUpAll = time.Now().Add(40 * time.Second)
	)
	check503 := func(a answer) {
		if a.status == 503 && (!strings.HasPrefix(a.contentType, "application/problem+json") || a.retryAfter == "") {
			mu.Lock()
			failures = append(failures, fmt.Sprintf("a 503 without problem+json or Retry-After: %q %q %v", a.contentType, a.retryAfter, a.body))
			mu.Unlock()
		}
	}
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stopLoad:
					return
				default:
				}
				mu.Lock()
				n := next
				next++
				mu.Unlock()
				key := fmt.Sprintf("blip-%d", n)
				body := map[string]any{"accountId": fmt.Sprintf("5%011d", n)}
				var r result
				r.key = key
				for time.Now().Before(giveUpAll) {
					r.tries++
					a, err := post(inst.url+"/billing-profiles/demo/aws-invites", tok, key, body)
					if err != nil {
						time.Sleep(200 * time.Millisecond)
						continue
					}
					mu.Lock()
					byStatus[a.status]++
					mu.Unlock()
					check503(a)
					if a.status == 201 || a.status == 200 {
						r.inviteID, _ = a.body["id"].(string)
						break
					}
					if a.status != 503 && a.status != 409 {
						mu.Lock()
						failures = append(failures, fmt.Sprintf("%s: %d %v", key, a.status, a.body))
						mu.Unlock()
						break
					}
					// In use: the first request with the key still runs, or died and is not settled yet. In progress:
					// the invite's send died with the database; once that send counts as interrupted, it is resumed.
					if a.status == 409 && a.body["code"] != "idempotency_key_in_use" && a.body["code"] != "send_in_progress" {
						mu.Lock()
						failures = append(failures, fmt.Sprintf("%s: 409 %v", key, a.body))
						mu.Unlock()
						break
					}
					time.Sleep(200 * time.Millisecond)
				}
				mu.Lock()
				results = append(results, r)
				mu.Unlock()
				time.Sleep(20 * time.Millisecond)
			}
		})
	}

	time.Sleep(1500 * time.Millisecond)
	began := time.Now()
	if err := pg.ctl("stop", "-m", "fast"); err != nil {
		t.Fatal(err)
	}
	t.Logf("database stopped")
	time.Sleep(500 * time.Millisecond)
	if s, err := getStatus(inst.url + "/readyz"); s != 503 {
		t.Errorf("/readyz with the database down: %d %v", s, err)
	}
	if s, err := getStatus(inst.url + "/healthz"); s != 200 {
		t.Errorf("/healthz with the database down: %d %v", s, err)
	}
	time.Sleep(time.Until(began.Add(4 * time.Second)))
	pg.start()
	t.Logf("database started after %s", time.Since(began).Round(time.Millisecond))
	// Ready again within a few seconds, without a restart.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if s, _ := getStatus(inst.url + "/readyz"); s == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("/readyz not 200 within 10s of the database's return")
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("ready %s after the database started", time.Since(began.Add(4*time.Second)).Round(time.Millisecond))

	// Then the server ends every connection of the service from inside.
	time.Sleep(time.Second)
	adminConn, err := pgx.Connect(context.Background(), pg.url())
	if err != nil {
		t.Fatal(err)
	}
	var killed int
	if err := adminConn.QueryRow(context.Background(),
		"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'").Scan(&killed); err != nil {
		t.Fatal(err)
	}
	adminConn.Close(context.Background())
	t.Logf("terminated %d backends", killed)
	time.Sleep(1500 * time.Millisecond)
	close(stopLoad)
	// A create whose send died with the database left its invite reserved without a handshake; the domain resumes
	// such a send once it counts as interrupted (invite.SendTimeout, a minute), and answers send_in_progress until
	// then. The sandbox's clock stands in for that minute, once every request of the blip is over.
	time.Sleep(3 * time.Second)
	if s, c, _ := call(t, "POST", inst.url+"/sandbox/clock", tok, map[string]any{"advance": "2m"}); s != 200 {
		t.Fatalf("advancing the sandbox clock: %d %v", s, c)
	}
	wg.Wait()
	t.Logf("every key answered %s after the database stopped", time.Since(began).Round(time.Millisecond))

	for _, f := range failures {
		t.Error(f)
	}
	t.Logf("%d creates, answers by status: %v", len(results), byStatus)
	if byStatus[503] == 0 {
		t.Error("no create met the database's absence: the blip proved nothing")
	}
	ids := map[string]string{}
	for _, r := range results {
		if r.inviteID == "" {
			t.Errorf("key %s never got its invite (%d tries)", r.key, r.tries)
			continue
		}
		if other, dup := ids[r.inviteID]; dup {
			t.Errorf("keys %s and %s answered the same invite", other, r.key)
		}
		ids[r.inviteID] = r.key
	}

	// AWS holds one invitation per invite, all claimed. An invite no key answered can only be one the service
	// settled as never sent (a reservation whose send died before AWS, ended by reconciliation), after which the
	// key's retry invited the account again.
	unclaimed := listAll(t, inst.url+"/payers/111111111111/handshakes?unclaimed=true", adminTok)
	if len(unclaimed) != 0 {
		t.Errorf("%d invitations no invite owns (sent twice?): %v", len(unclaimed), unclaimed)
	}
	if all := listAll(t, inst.url+"/payers/111111111111/handshakes", adminTok); len(all) != len(ids) {
		t.Errorf("AWS holds %d invitations for %d invites", len(all), len(ids))
	}
	for _, it := range listAll(t, inst.url+"/billing-profiles/demo/aws-invites", tok) {
		if _, answered := ids[it["id"].(string)]; !answered {
			t.Logf("an invite no key answered: %v", it)
			if it["state"] == "invited" {
				t.Errorf("an open invite that no key answered: %v", it)
			}
		}
	}

	// Every invite.created event arrives, once.
	deadline = time.Now().Add(20 * time.Second)
	for {
		// Distinct events: a delivery sent again with its webhook-id must not stand in for one not delivered yet.
		hooks.Lock()
		n := len(hooks.byID)
		hooks.Unlock()
		if n >= len(ids) || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Second)
	hooks.Lock()
	defer hooks.Unlock()
	for id := range ids {
		n := 0
		for _, body := range hooks.created {
			if strings.Contains(body, `"`+id+`"`) {
				n++
			}
		}
		if n == 0 {
			t.Errorf("invite %s: invite.created never delivered", id)
			logJobs(t, pg.url())
		}
	}
	// Each event is one webhook-id: a delivery whose success could not be recorded while the database was away is
	// sent again with the same id (at least once, as the Standard Webhooks specification says), which receivers
	// drop; no event is two webhook-ids.
	again := 0
	for _, n := range hooks.byID {
		again += n - 1
	}
	if len(hooks.byID) != len(ids) {
		t.Errorf("%d webhook-ids for %d invite.created events", len(hooks.byID), len(ids))
	}
	t.Logf("%d events, %d deliveries sent again with their webhook-id; %s after the database stopped", len(hooks.byID), again,
		time.Since(began).Round(time.Millisecond))
}

// listAll follows a list's pages (limit 100, nextCursor) and returns every item.
func listAll(t *testing.T, url, token string) []map[string]any {
	t.Helper()
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	var out []map[string]any
	cursor := ""
	for {
		u := url + sep + "limit=100"
		if cursor != "" {
			u += "&cursor=" + cursor
		}
		s, page, _ := call(t, "GET", u, token, nil)
		if s != 200 {
			t.Fatalf("GET %s: %d %v", u, s, page)
		}
		items, _ := page["items"].([]any)
		for _, it := range items {
			out = append(out, it.(map[string]any))
		}
		cursor, _ = page["nextCursor"].(string)
		if cursor == "" {
			return out
		}
	}
}

// logJobs logs the background jobs that have not completed, to tell a delivery still waiting for its retry from a
// lost one.
func logJobs(t *testing.T, url string) {
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Logf("jobs: %v", err)
		return
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(context.Background(),
		"SELECT id, kind, state, attempt, scheduled_at, args::text, errors::text FROM river_job WHERE state <> 'completed' ORDER BY id")
	if err != nil {
		t.Logf("jobs: %v", err)
		return
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id, attempt       int64
			kind, state, args string
			errs              *string
			scheduled         time.Time
		)
		if err := rows.Scan(&id, &kind, &state, &attempt, &scheduled, &args, &errs); err != nil {
			t.Logf("jobs: %v", err)
			return
		}
		e := ""
		if errs != nil {
			e = *errs
		}
		t.Logf("job %d %s %s attempt %d scheduled %s args %s errors %.400s", id, kind, state, attempt, scheduled.Format(time.RFC3339), args, e)
	}
}
