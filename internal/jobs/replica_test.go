package jobs_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cloudreseller/aws-invites/internal/jobs"
	"github.com/cloudreseller/aws-invites/internal/store"
	"github.com/cloudreseller/aws-invites/internal/store/storetest"
)

// replicaEnv names the database a child process joins as a replica; TestMain turns the test binary into that
// replica when it is set, so a test can kill a real process (SIGKILL: no graceful stop, no leader resignation).
const replicaEnv = "JOBS_TEST_REPLICA_DATABASE_URL"

// replicaStarted is the line the child prints when its reconciliation of the payer begins.
const replicaStarted = "replica: reconciling"

func TestMain(m *testing.M) {
	if url := os.Getenv(replicaEnv); url != "" {
		os.Exit(runReplica(url))
	}
	os.Exit(m.Run())
}

// blockingWork reconciles its one payer forever (until its context ends), announcing the start on stdout.
type blockingWork struct{ payer string }

func (w blockingWork) Payers(context.Context) ([]string, error) { return []string{w.payer}, nil }
func (w blockingWork) ReconcilePayer(ctx context.Context, payer string) error {
	fmt.Printf("%s %s\n", replicaStarted, payer)
	<-ctx.Done()
	return ctx.Err()
}
func (blockingWork) SyncCloudHealth(context.Context) error { return nil }
func (blockingWork) ScanCUR(context.Context, string) error { return nil }

func runReplica(url string) int {
	ctx := context.Background()
	st, err := store.Open(ctx, url, pgOptions())
	if err != nil {
		fmt.Fprintln(os.Stderr, "replica: open store:", err)
		return 2
	}
	r, err := jobs.New(ctx, jobs.Config{
		PgxPool: st.PgxPool(), Work: blockingWork{payer: "999999999999"},
		Logger:         slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		ReconcileEvery: time.Hour, CloudHealthEvery: time.Hour, CURScanEvery: time.Hour,
		JobTimeout: time.Hour, RescueStuckAfter: 2 * time.Hour, // this replica never gives up on its own
		PollInterval: 50 * time.Millisecond, ID: "replica-killed",
	})
	if err == nil {
		err = r.Start(ctx)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "replica:", err)
		return 2
	}
	select {} // until killed
}

// TestKilledReplicaJobIsRescued: a replica (a separate process, River's leader) is killed with SIGKILL while it
// reconciles a payer. The surviving replica becomes leader, River's rescuer finds the job still "running" past
// RescueStuckAfter (3 s here) and schedules it again, and the survivor runs it: the same job, second attempt.
//
// The bound, from River v0.51.2's fixed intervals: the dead leader's lease runs out (up to 15 s), the survivor's
// next election attempt (5-6 s), the rescuer runs at once on the new leader, the retry backoff (1 s), the job
// scheduler (every 5 s) makes it available, and a fetch (50 ms here): at most about 27 s, plus RescueStuckAfter
// when the job had run less than that. The test allows 40 s.
func TestKilledReplicaJobIsRescued(t *testing.T) {
	t.Parallel()
	url := storetest.URL(t, store.DialectPostgres)
	survivorStore := storetest.MustOpenUnmigrated(t, url, pgOptions())
	// The survivor knows no payers: its own fan-out adds no job, so the payer's reconciliation can only be the
	// rescued one.
	work := newFakeWork()
	cfg := testConfig(t, survivorStore, work.replica("survivor"))
	cfg.ID = "replica-survivor"
	cfg.ReconcileEvery = time.Hour // only the fan-out at election: the rescued job is the one to run
	probe, err := jobs.New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("jobs.New: %v", err)
	}
	if err := probe.Migrate(context.Background()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}

	// The child replica starts alone, so it is elected leader and enqueues the periodic fan-out.
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), replicaEnv+"="+url)
	child.Stderr = t.Output()
	stdout, err := child.StdoutPipe()
	if err != nil {
		t.Fatalf("child stdout: %v", err)
	}
	if err := child.Start(); err != nil {
		t.Fatalf("start child replica: %v", err)
	}
	t.Cleanup(func() {
		_ = child.Process.Kill()
		_ = child.Wait()
	})
	started := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), replicaStarted) {
				started <- sc.Text()
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case line := <-started:
		t.Logf("child: %s", line)
	case <-time.After(30 * time.Second):
		t.Fatal("the child replica never started reconciling")
	}

	startRunner(t, cfg)
	// The survivor is running and the child is still the leader: nothing to do for the survivor yet.
	time.Sleep(500 * time.Millisecond)
	if n := work.snapshot().calls["999999999999"]; n != 0 {
		t.Fatalf("survivor reconciled the payer %d times while the child held its job", n)
	}

	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill child: %v", err)
	}
	took := eventually(t, 40*time.Second, "the survivor reconciles the killed replica's payer", func() bool {
		return work.snapshot().calls["999999999999"] > 0
	})
	t.Logf("picked up %s after the kill", took.Round(100*time.Millisecond))

	ctx := context.Background()
	var (
		jobsOfPayer, attempt int
		state, errs          string
		attemptedBy          string
	)
	eventually(t, 10*time.Second, "the rescued job completes", func() bool {
		err := survivorStore.SQLDB().QueryRowContext(ctx, `
			SELECT count(*) OVER (), attempt, state, errors::text, array_to_string(attempted_by, ',')
			FROM river_job WHERE kind = $1 AND args->>'payer' = '999999999999' ORDER BY id DESC LIMIT 1`,
			jobs.KindReconcilePayer).Scan(&jobsOfPayer, &attempt, &state, &errs, &attemptedBy)
		if err != nil {
			t.Fatalf("read the payer's job: %v", err)
		}
		return state == "completed"
	})
	if jobsOfPayer != 1 || attempt != 2 || !strings.Contains(errs, "Stuck job rescued") {
		t.Errorf("payer's jobs: %d, last attempt %d, errors %s; want one job, rescued, completed on attempt 2", jobsOfPayer, attempt, errs)
	}
	if attemptedBy != "replica-killed,replica-survivor" {
		t.Errorf("attempted by %q, want the killed replica then the survivor", attemptedBy)
	}
	if s := work.snapshot(); s.maxRunning["999999999999"] != 1 || s.calls["999999999999"] != 1 {
		t.Errorf("survivor reconciled the payer %d times, at most %d at once; want once", s.calls["999999999999"], s.maxRunning["999999999999"])
	}
}
