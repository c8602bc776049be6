package service_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cloudreseller/aws-invites/internal/awsorg"
	"github.com/cloudreseller/aws-invites/internal/awsorg/orgsim"
	"github.com/cloudreseller/aws-invites/internal/invite"
	"github.com/cloudreseller/aws-invites/internal/jobs"
	"github.com/cloudreseller/aws-invites/internal/service"
	"github.com/cloudreseller/aws-invites/internal/store"
	"github.com/cloudreseller/aws-invites/internal/store/storetest"
	"github.com/cloudreseller/aws-invites/internal/testclock"
)

// BenchmarkReconcilePass measures one reconciliation pass of the service as it runs in production: the River fan-out
// over real PostgreSQL, one job per payer, the real SDK over HTTP against the Organizations simulator answering each
// call after a latency (100 ms by default, like AWS's), and the client's per-payer rate of production (5 calls a
// second, burst 5). Each payer has 100 invites (5 pages of handshakes) of which one was accepted since the last
// pass, so a pass makes 6 calls a payer: 5 pages and one DescribeAccount; from the second measured pass on, the
// accounts that joined before it are listed too (one ListAccounts page while fewer than 20 have joined).
//
// It reports per pass: its wall time, the AWS calls, the most connections open to the simulator at once, the CPU
// time of this process (service and simulator; PostgreSQL's own is not counted), the memory it allocated (what the
// garbage collector's work follows; unlike CPU time, not moved by other load on the machine) and the time workers
// waited for a pooled database connection. 100 and 1,000 payers run by default; 10,000 payers (a million invites to set up,
// seeded in bulk, a few minutes) only with PASS_BENCH_10K=1; PASS_BENCH_PAYERS=100,10000 picks the sizes:
//
//	TEST_DATABASE_URL=postgres://... go test -run '^$' -bench ReconcilePass -benchtime 2x ./internal/service/
//	PASS_BENCH_10K=1 PASS_BENCH_LATENCY=100ms PASS_BENCH_WORKERS=128 go test -run '^$' -bench 'ReconcilePass/payers=10000' -benchtime 1x -timeout 60m ./internal/service/
//
// The replicas=2 cases run two services (own pools, own AWS clients, own River clients) over one database, as two
// processes would, sharing each pass; every payer is reconciled once per pass (the AWS calls prove it). Here the two
// share this machine's cores, so a pass bound by CPU does not get shorter: what they show on one machine is the split
// (most-payers-one-replica) and that nothing runs twice; the time halves when each replica has cores of its own.
func BenchmarkReconcilePass(b *testing.B) {
	sizes := []int{100, 1000}
	if os.Getenv("PASS_BENCH_10K") != "" {
		sizes = append(sizes, 10_000)
	}
	if list := os.Getenv("PASS_BENCH_PAYERS"); list != "" {
		sizes = nil
		for f := range strings.SplitSeq(list, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 {
				b.Fatalf("PASS_BENCH_PAYERS: %q is not a number of payers", f)
			}
			sizes = append(sizes, n)
		}
	}
	for _, n := range sizes {
		for _, replicas := range []int{1, 2} {
			b.Run(fmt.Sprintf("payers=%d/replicas=%d", n, replicas), func(b *testing.B) { benchPass(b, n, replicas) })
		}
	}
}

const (
	invitesPerPayer = 100
	apiShare        = 16 // the API's connections beside the background work's, as serve sizes them
)

func benchPass(b *testing.B, payers, replicas int) {
	latency := 100 * time.Millisecond
	if s := os.Getenv("PASS_BENCH_LATENCY"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			b.Fatalf("PASS_BENCH_LATENCY: %v", err)
		}
		latency = d
	}
	workers := jobs.DefaultWorkers
	if s := os.Getenv("PASS_BENCH_WORKERS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			b.Fatalf("PASS_BENCH_WORKERS: %v", err)
		}
		workers = n
	}
	ctx := context.Background()
	clk := testclock.New(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))

	// AWS: one simulator, as AWS is one, behind a server that counts its connections.
	sim := orgsim.New(orgsim.Options{Clock: clk.Now, MaxAccounts: 10 * invitesPerPayer, MaxInvitesPerDay: 10 * invitesPerPayer})
	conns = connGauge{}
	srv := httptest.NewUnstartedServer(sim)
	srv.Config.ConnState = conns.track
	srv.Start()
	b.Cleanup(srv.Close)

	url := storetest.URL(b, store.DialectPostgres)
	jc := jobs.Config{Workers: workers, Unscheduled: true, PollInterval: 100 * time.Millisecond,
		JobTimeout: 2 * time.Minute, RescueStuckAfter: 3 * time.Minute}
	var reps []*replica
	for i := range replicas {
		reps = append(reps, newReplica(b, url, sim, srv.URL, clk, jc, i))
	}
	began := time.Now()
	seed(b, reps[0], payers, clk)
	b.Logf("seeded %d payers x %d invites in %s", payers, invitesPerPayer, time.Since(began).Round(time.Second))

	// Start the replicas, then a warm-up pass at no latency: it settles what seeding left (nothing, normally) and
	// opens the connections a running service would have.
	for _, r := range reps {
		if err := r.svc.Runner.Start(ctx); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() {
			sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_ = r.svc.Runner.Stop(sctx)
		})
	}
	runPass(b, reps, payers)

	var last passFigures
	joined := -1 // accounts of each payer that had joined when the last measured pass began
	for b.Loop() {
		joined++
		b.StopTimer()
		acceptOnePerPayer(b, reps[0], payers)
		sim.Inject(orgsim.Fault{Latency: latency})
		b.StartTimer()
		stop := profile(b)
		last = runPass(b, reps, payers)
		stop()
		b.StopTimer()
		sim.ClearFaults()
		b.StartTimer()
	}
	b.ReportMetric(last.wall.Seconds(), "pass-s")
	b.ReportMetric(float64(last.calls), "aws-calls/pass")
	b.ReportMetric(float64(last.maxConns), "max-conns")
	b.ReportMetric(last.cpu.Seconds(), "cpu-s/pass")
	b.ReportMetric(last.allocMB, "alloc-MB/pass")
	b.ReportMetric(last.pgCPU.Seconds(), "pg-cpu-s/pass")
	b.ReportMetric(float64(last.poolWait.Milliseconds()), "pool-wait-ms/pass")
	b.ReportMetric(float64(last.maxShare), "most-payers-one-replica")
	// A payer with joined accounts also has its accounts listed (departures): one ListAccounts call per 20 of them,
	// its management account included.
	listPages := 0
	if joined > 0 {
		listPages = (joined + 1 + 19) / 20
	}
	if want := payers * (invitesPerPayer/20 + 1 + listPages); last.calls != want {
		b.Errorf("a pass made %d AWS calls, want %d (5 pages, 1 DescribeAccount and %d ListAccounts pages a payer, each payer once)", last.calls, want, listPages)
	}
}

// replica is one service over the shared database, as one process of a deployment.
type replica struct {
	st   *store.Store
	orgs *awsorg.Client
	svc  *service.Service
	reg  *prometheus.Registry
	sim  *orgsim.Sim
}

func newReplica(b *testing.B, url string, sim *orgsim.Sim, simURL string, clk *testclock.Clock, jc jobs.Config, i int) *replica {
	st := storetest.MustOpen(b, url, store.Options{Clock: clk, MaxConns: jobs.MinPoolConns(jc) + apiShare})
	orgs := awsorg.New(aws.Config{Region: "us-east-1"}, awsorg.Options{
		OrganizationsEndpoint: simURL, RatePerSecond: 5, Burst: 5, MaxConns: jc.Workers + apiShare,
		CredentialsFor: func(p invite.Payer) aws.CredentialsProvider {
			return credentials.NewStaticCredentialsProvider(orgsim.AccessKeyFor(p.ManagementAccountID), "bench", "")
		},
	})
	reg := prometheus.NewRegistry()
	jc.ID = fmt.Sprintf("bench-replica-%d", i)
	svc, err := service.New(context.Background(), service.Parts{Store: st, Clock: clk, AWS: orgs, Jobs: jc, Quiet: true,
		Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})), Registry: reg})
	if err != nil {
		b.Fatal(err)
	}
	return &replica{st: st, orgs: orgs, svc: svc, reg: reg, sim: sim}
}

func payerID(i int) string   { return fmt.Sprintf("6%011d", i) }
func profileID(i int) string { return fmt.Sprintf("bench-%05d", i) }
func accountID(p, j int) string {
	return fmt.Sprintf("8%06d%05d", p, j)
}

func principal(i int) invite.Principal {
	return invite.Principal{Subject: "bench", CustomerID: "bench", BillingProfiles: []string{profileID(i)},
		Permissions: []string{invite.PermissionLicensesManager}}
}

// seed creates the billing profiles through the store, and their invites in bulk, as the service would have
// written them after sending each invitation: the simulator makes each handshake (in process, one call each, no
// network), then one COPY a payer writes its 100 invites and their handshake records. Sending 100 invitations a
// payer through the use case and the HTTP client took minutes at 1,000 payers (one transaction and one rate-limited
// call each); a million at 10,000 payers would not fit a run.
func seed(b *testing.B, r *replica, payers int, clk *testclock.Clock) {
	ctx := context.Background()
	parallel(b, payers, func(i int) error {
		_, _, err := r.st.PutBillingProfile(ctx, invite.BillingProfile{ID: profileID(i), CustomerID: "bench",
			Name: profileID(i), ManagementAccountID: payerID(i)})
		return err
	})
	// Times as the simulator writes them (its clock, to the microsecond), so the first pass finds nothing to change.
	at := clk.Now().UTC().Truncate(time.Microsecond)
	expires := at.Add(15 * 24 * time.Hour)
	inviteCols := []string{"id", "billing_profile_id", "payer", "account_id", "notes", "state", "handshake_id",
		"handshake_state", "handshake_requested_at", "handshake_expires_at", "invited_by_kind", "invited_by_subject",
		"invited_by_email", "created_at", "updated_at", "last_sent_at", "version", "kind"}
	pool := r.st.PgxPool()
	parallel(b, payers, func(p int) error {
		invites := make([][]any, invitesPerPayer)
		handshakes := make([][]any, invitesPerPayer)
		for j := range invitesPerPayer {
			h, err := inviteInProcess(r.sim, payerID(p), accountID(p, j))
			if err != nil {
				return fmt.Errorf("payer %d, invite %d: %w", p, j, err)
			}
			n := p*invitesPerPayer + j
			id := fmt.Sprintf("%08x-0000-7000-8000-%012x", n, n)
			invites[j] = []any{id, profileID(p), payerID(p), accountID(p, j), "", string(invite.StateInvited), h,
				"OPEN", at, expires, "user", "bench", "", at, at, at, int64(1), "join"}
			handshakes[j] = []any{h, id, payerID(p), at}
		}
		tx, err := pool.Begin(ctx)
		if err != nil {
			return err
		}
		defer func() { _ = tx.Rollback(ctx) }()
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"invites"}, inviteCols, pgx.CopyFromRows(invites)); err != nil {
			return fmt.Errorf("copy the invites of payer %d: %w", p, err)
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"invite_handshakes"},
			[]string{"handshake_id", "invite_id", "payer", "recorded_at"}, pgx.CopyFromRows(handshakes)); err != nil {
			return fmt.Errorf("copy the handshakes of payer %d: %w", p, err)
		}
		return tx.Commit(ctx)
	})
	if _, err := pool.Exec(ctx, "ANALYZE invites; ANALYZE invite_handshakes"); err != nil {
		b.Fatal(err)
	}
}

// inviteInProcess sends one InviteAccountToOrganization to the simulator's handler as the payer would, without a
// network round trip, and returns the handshake's id.
func inviteInProcess(sim *orgsim.Sim, payer, account string) (string, error) {
	body := fmt.Sprintf(`{"Target":{"Id":%q,"Type":"ACCOUNT"}}`, account)
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	req.Header.Set("X-Amz-Target", "AWSOrganizationsV20161128.InviteAccountToOrganization")
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+orgsim.AccessKeyFor(payer)+"/20261102/us-east-1/organizations/aws4_request")
	rec := httptest.NewRecorder()
	sim.ServeHTTP(rec, req)
	var out struct{ Handshake struct{ Id string } }
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || rec.Code != http.StatusOK || out.Handshake.Id == "" {
		return "", fmt.Errorf("the simulator answered %d: %s", rec.Code, rec.Body.String())
	}
	return out.Handshake.Id, nil
}

// acceptOnePerPayer makes the next invited account of every payer accept, as its owner would in the console.
func acceptOnePerPayer(b *testing.B, r *replica, payers int) {
	ctx := context.Background()
	parallel(b, payers, func(i int) error {
		page, err := r.svc.Invites.List(ctx, principal(i), invite.ListQuery{BillingProfileID: profileID(i),
			States: []invite.State{invite.StateInvited}, Limit: 1})
		if err != nil || len(page.Views) == 0 {
			return fmt.Errorf("payer %d has no invited invite left: %v", i, err)
		}
		inv := page.Views[0].Invite
		_, err = r.orgs.AcceptHandshakeAs(ctx, inv.AccountID, inv.Handshake.ID)
		return err
	})
}

// passFigures is what one pass cost.
type passFigures struct {
	wall, cpu, poolWait time.Duration
	pgCPU               time.Duration // the CPU time of the database's backends serving the pass
	allocMB             float64       // bytes the process allocated during the pass (service and simulator), in MB
	calls, maxConns     int
	maxShare            int // payers reconciled by the busiest replica
}

// runPass enqueues a pass on the first replica and waits until every payer's job has finished, on any replica.
func runPass(b *testing.B, reps []*replica, payers int) passFigures {
	b.Helper()
	ctx := context.Background()
	var waitBefore time.Duration
	for _, r := range reps {
		waitBefore += r.st.PgxPool().Stat().AcquireDuration()
	}
	failedBefore := jobsFailed(b, reps)
	after := lastJobID(b, reps[0])
	calls := reps[0].sim.TotalCalls()
	conns.resetMax()
	allocated := allocatedBytes()
	pg := backendTicks(b, reps[0])
	cpu := cpuTime()
	start := time.Now()
	if err := reps[0].svc.Runner.EnqueueReconcileAll(ctx); err != nil {
		b.Fatal(err)
	}
	for {
		done, waiting := passProgress(b, reps[0], after)
		if done >= payers && waiting == 0 {
			break
		}
		if time.Since(start) > 30*time.Minute {
			b.Fatalf("the pass did not finish: %d of %d payers", done, payers)
		}
		time.Sleep(passPoll)
	}
	f := passFigures{wall: time.Since(start), cpu: cpuTime() - cpu, calls: reps[0].sim.TotalCalls() - calls, maxConns: conns.maxOpen(),
		allocMB: float64(allocatedBytes()-allocated) / 1e6, pgCPU: ticksSince(backendTicks(b, reps[0]), pg)}
	shares := jobsOfPass(b, reps[0], after)
	for _, n := range shares {
		f.maxShare = max(f.maxShare, n)
	}
	for _, r := range reps {
		f.poolWait += r.st.PgxPool().Stat().AcquireDuration()
	}
	f.poolWait -= waitBefore
	if failed := jobsFailed(b, reps) - failedBefore; failed > 0 {
		b.Fatalf("%.0f reconciliations failed", failed)
	}
	b.Logf("pass: %s, %d calls, %d connections at most, %s CPU (+ %s PostgreSQL), %.0f MB allocated, pool wait %s, payers per replica %v",
		f.wall.Round(time.Millisecond), f.calls, f.maxConns, f.cpu.Round(time.Millisecond), f.pgCPU.Round(time.Millisecond), f.allocMB,
		f.poolWait.Round(time.Millisecond), shares)
	return f
}

var conns connGauge

// passPoll is how often runPass looks whether a pass has finished: the pass's wall time is known to that much.
const passPoll = 100 * time.Millisecond

// lastJobID is the newest River job's id: the jobs of a pass enqueued after it have greater ones.
func lastJobID(b *testing.B, r *replica) int64 {
	var id int64
	if err := r.st.PgxPool().QueryRow(context.Background(), "SELECT COALESCE(max(id), 0) FROM river_job").Scan(&id); err != nil {
		b.Fatal(err)
	}
	return id
}

// passProgress reads from River's own table how many reconcile_payer jobs enqueued after the job id `after` have
// completed and how many are not finalized yet; a failed one fails the benchmark. Reading the service's metrics
// instead (gathering every per-payer series of each registry every 100 ms) cost the process more CPU than the
// pass's own statements, and counted a job before River had recorded it finished, which let the next pass's
// fan-out find it running and skip its payer.
func passProgress(b *testing.B, r *replica, after int64) (done, waiting int) {
	var failed int
	err := r.st.PgxPool().QueryRow(context.Background(), `
		SELECT count(*) FILTER (WHERE state = 'completed'),
			count(*) FILTER (WHERE state NOT IN ('completed', 'retryable', 'discarded', 'cancelled')),
			count(*) FILTER (WHERE state IN ('retryable', 'discarded', 'cancelled'))
		FROM river_job WHERE id > $1 AND kind = $2`, after, jobs.KindReconcilePayer).Scan(&done, &waiting, &failed)
	if err != nil {
		b.Fatal(err)
	}
	if failed > 0 {
		b.Fatalf("%d reconciliations of the pass failed", failed)
	}
	return done, waiting
}

// jobsOfPass is how many of the pass's reconcile_payer jobs each replica completed: River records the client that
// ran a job in attempted_by.
func jobsOfPass(b *testing.B, r *replica, after int64) (shares []int) {
	rows, err := r.st.PgxPool().Query(context.Background(), `
		SELECT count(*) FROM river_job WHERE id > $1 AND kind = $2
		GROUP BY attempted_by[array_upper(attempted_by, 1)] ORDER BY 1 DESC`, after, jobs.KindReconcilePayer)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var n int
		if err := rows.Scan(&n); err != nil {
			b.Fatal(err)
		}
		shares = append(shares, n)
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	return shares
}

// connGauge counts the simulator's open connections and the most open at once since the last reset.
type connGauge struct {
	mu        sync.Mutex
	open, max int
}

func (c *connGauge) track(_ net.Conn, s http.ConnState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch s {
	case http.StateNew:
		c.open++
		c.max = max(c.max, c.open)
	case http.StateClosed, http.StateHijacked:
		c.open--
	}
}

func (c *connGauge) resetMax() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.max = c.open
}

func (c *connGauge) maxOpen() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.max
}

func jobsFailed(b *testing.B, reps []*replica) float64 {
	var n float64
	for _, r := range reps {
		n += jobCount(b, r.reg, "error") + jobCount(b, r.reg, "canceled")
	}
	return n
}

func jobCount(b *testing.B, reg prometheus.Gatherer, outcome string) float64 {
	families, err := reg.Gather()
	if err != nil {
		b.Fatal(err)
	}
	var n float64
	for _, f := range families {
		if f.GetName() != "aws_invites_jobs_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			var kind, out string
			for _, lp := range m.GetLabel() {
				switch lp.GetName() {
				case "kind":
					kind = lp.GetValue()
				case "outcome":
					out = lp.GetValue()
				}
			}
			if kind == jobs.KindReconcilePayer && (outcome == "" || out == outcome) {
				n += m.GetCounter().GetValue()
			}
		}
	}
	return n
}

// backendTicks is the CPU time so far (user + system, in clock ticks) of each PostgreSQL backend connected to the
// benchmark's database, by pid, read from /proc: the server runs on this machine. Empty where /proc cannot be read.
func backendTicks(b *testing.B, r *replica) map[int]int64 {
	rows, err := r.st.PgxPool().Query(context.Background(), "SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
	if err != nil {
		b.Fatal(err)
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		b.Fatal(err)
	}
	ticks := map[int]int64{}
	for _, pid := range pids {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue // another machine's server, or a backend gone since
		}
		// The fields after the command's closing parenthesis: utime and stime are the 12th and 13th of them.
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(f) < 13 {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		s, _ := strconv.ParseInt(f[12], 10, 64)
		ticks[int(pid)] = u + s
	}
	return ticks
}

// ticksSince is the CPU time the backends of now spent since before (a backend new since then, all of its own).
func ticksSince(now, before map[int]int64) time.Duration {
	var t int64
	for pid, n := range now {
		t += n - before[pid]
	}
	return time.Duration(t) * time.Second / clockTicks
}

// clockTicks is the unit of /proc's CPU times (USER_HZ), 100 on Linux.
const clockTicks = 100

// allocatedBytes is what the process has allocated so far: the garbage collector's work follows it, and unlike CPU
// time it does not move with the machine's load.
func allocatedBytes() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.TotalAlloc
}

// cpuTime is the user and system CPU time of this process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// parallel runs f(0..n-1), 32 at a time, and fails the benchmark on the first error.
func parallel(b *testing.B, n int, f func(int) error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for range 32 {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := f(i); err != nil {
					once.Do(func() { first = err })
					next.Store(int64(n))
					return
				}
			}
		})
	}
	wg.Wait()
	if first != nil {
		b.Fatal(first)
	}
}

// profile writes a CPU profile of the measured pass to PASS_BENCH_CPUPROFILE when set.
func profile(b *testing.B) (stop func()) {
	path := os.Getenv("PASS_BENCH_CPUPROFILE")
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		b.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}
}
