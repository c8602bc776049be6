// Command aws-invites serves the aws-invites REST API and runs its maintenance tasks.
//
//	aws-invites [serve]     serve the API (the default)
//	aws-invites migrate     apply database migrations and exit
//	aws-invites token ...   mint a development token
//	aws-invites reconcile --once   reconcile every payer with AWS (and CloudHealth) now
//	aws-invites cur scan PATH...   summarise Cost and Usage Report data per usage account
//	aws-invites healthcheck exit 0 when the local server is ready (for container health checks)
//	aws-invites --version   print the module version and VCS commit
//
// Configuration comes from the environment; `aws-invites --help` lists it.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/cloudreseller/aws-invites/internal/cloudhealth"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, errUsage) {
			fmt.Fprintln(os.Stderr, "aws-invites:", err)
		}
		os.Exit(1)
	}
}

// errUsage marks an error whose explanation was already printed.
var errUsage = errors.New("usage")

// run is the whole program; main only binds it to the process, so tests can call it.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		if isHelp(args) {
			serveUsage(stdout)
			return nil
		}
		return serve(ctx, args, getenv, stdout, stderr)
	case "migrate":
		return migrate(ctx, args, getenv, stdout, stderr)
	case "token":
		return token(args, getenv, stdout, stderr)
	case "reconcile":
		return reconcileOnce(ctx, args, getenv, stdout, stderr)
	case "cur":
		return curCommand(ctx, args, stdout, stderr)
	case "healthcheck":
		return healthcheck(ctx, getenv, stdout)
	case "cloudhealth-template":
		// The template the reseller hosts: its own checker principal, when it set one, is CheckerPrincipal's default
		// (never the sandbox's, which only the sandbox's simulated accounts trust).
		tmpl, err := cloudhealth.HostedTemplate(cloudhealth.PolicyOptions{}, strings.TrimSpace(getenv("CLOUDHEALTH_CHECKER_PRINCIPAL")))
		if err != nil {
			return err
		}
		_, err = stdout.Write(tmpl)
		return err
	case "-h", "--help", "-help":
		usage(stdout)
		return nil
	case "help":
		return help(args, stdout, stderr)
	case "--version", "-version", "version":
		_, err := fmt.Fprintln(stdout, versionLine(debug.ReadBuildInfo()))
		return err
	default:
		fmt.Fprintf(stderr, "aws-invites: unknown command %q\n\n", cmd)
		usage(stderr)
		return errUsage
	}
}
