// Command loadgen sends issue 12's mixed load to a running aws-invites at a constant arrival rate and prints what
// the service did with it. scripts/load-mixed builds and starts the service, then runs this; see there.
//
//	AUTH_HS256_SECRET=... loadgen -url http://127.0.0.1:18120 -issuer load-mixed -audience aws-invites \
//	    -rate 200 -duration 10m -profiles 380 -pid $(pidof aws-invites)
//
// The tokens are signed with AUTH_HS256_SECRET, AUTH_ISSUER and AUTH_AUDIENCE as the service verifies them (the
// flags override the last two). It exits 1 when a target of the issue is not met, 2 when the load could not run.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/cloudreseller/aws-invites/internal/loadtest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("url", "http://127.0.0.1:18120", "the service's root URL")
	issuer := fs.String("issuer", getenv("AUTH_ISSUER"), "the iss of the tokens (default $AUTH_ISSUER)")
	audience := fs.String("audience", getenv("AUTH_AUDIENCE"), "the aud of the tokens (default $AUTH_AUDIENCE)")
	rate := fs.Float64("rate", 200, "arrivals a second")
	duration := fs.Duration("duration", 10*time.Minute, "how long the load is sent")
	profiles := fs.Int("profiles", 380, "billing profiles, each with its own payer and user")
	seed := fs.Int("invites-per-profile", 5, "invites each profile gets before the load starts")
	pid := fs.Int("pid", 0, "the service's process id, whose VmRSS is sampled (0: none)")
	every := fs.Duration("sample", 10*time.Second, "how often RSS is sampled and a progress line printed")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	secret := getenv("AUTH_HS256_SECRET")
	if len(secret) < 32 || *issuer == "" || *audience == "" {
		fmt.Fprintln(stderr, "loadgen: set AUTH_HS256_SECRET (32 bytes or more) and the issuer and audience the service checks")
		return 2
	}
	fmt.Fprintf(stdout, "loadgen: setting up %d billing profiles with %d invites each, then %.0f req/s for %s\n",
		*profiles, *seed, *rate, *duration)
	rep, err := loadtest.Run(ctx, loadtest.Config{
		BaseURL: *base, Secret: []byte(secret), Issuer: *issuer, Audience: *audience,
		Rate: *rate, Duration: *duration, Profiles: *profiles, InvitesPerProfile: max(1, *seed),
		PID: *pid, SampleEvery: *every, Progress: stdout,
	})
	if err != nil {
		fmt.Fprintln(stderr, "loadgen:", err)
		return 2
	}
	rep.Print(stdout)
	if ok, _ := rep.Verdict(); !ok {
		return 1
	}
	return 0
}
