package main

import (
	"fmt"
	"io"
	"runtime/debug"
	"strings"

	"github.com/cloudreseller/aws-invites/internal/config"
)

// help prints the usage of the command named in args, or of all of them.
func help(args []string, stdout, stderr io.Writer) error {
	switch {
	case len(args) == 0:
		usage(stdout)
	case len(args) == 1 && args[0] == "serve":
		serveUsage(stdout)
	default:
		fmt.Fprintf(stderr, "aws-invites help: no help for %q; try aws-invites help, or aws-invites help serve\n", strings.Join(args, " "))
		return errUsage
	}
	return nil
}

// isHelp reports whether a command's arguments ask for its usage.
func isHelp(args []string) bool {
	return len(args) == 1 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help")
}

// versionLine names the build: the main module's version and the VCS commit it was built from, as the Go toolchain
// recorded them ("(devel)" and "unknown" where it recorded nothing, as in `go run` or tests).
func versionLine(info *debug.BuildInfo, ok bool) string {
	version, commit, modified := "(devel)", "unknown", ""
	if ok && info != nil {
		if info.Main.Version != "" {
			version = info.Main.Version
		}
		for _, s := range info.Settings {
			switch {
			case s.Key == "vcs.revision" && s.Value != "":
				commit = s.Value
			case s.Key == "vcs.modified" && s.Value == "true":
				modified = " (modified)"
			}
		}
	}
	return fmt.Sprintf("aws-invites %s commit %s%s", version, commit, modified)
}

// serveUsage is what `aws-invites serve --help` prints: what serve does and every variable it reads.
func serveUsage(w io.Writer) {
	fmt.Fprint(w, `Usage: aws-invites [serve]

Serves the REST API until SIGTERM or SIGINT, then waits up to SHUTDOWN_TIMEOUT for requests in flight. With no
configuration: 127.0.0.1:8080, an embedded SQLite database and the sandbox (an in-process AWS Organizations
simulator); it prints a development token and the demo billing profile. Swagger UI: /docs/. Health: /healthz,
/readyz. Prometheus: /metrics (on METRICS_ADDR when set).

Environment:
`)
	printEnv(w)
}

func printEnv(w io.Writer) {
	for _, v := range config.Env {
		fmt.Fprintf(w, "  %-25s %s\n", v.Name, v.Help)
	}
	fmt.Fprint(w, `
In aws mode the AWS SDK's own settings apply too: the default credential chain (AWS_PROFILE, AWS_ACCESS_KEY_ID, ...,
instance roles) and the endpoint overrides AWS_ENDPOINT_URL_ORGANIZATIONS, AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL_S3.
`)
}

func usage(w io.Writer) {
	fmt.Fprint(w, `aws-invites brings existing AWS accounts into a reseller's consolidated billing: it invites them into a
billing profile's payer organization (AWS Organizations) and follows each invite until the account is billed.

Usage:
  aws-invites [serve]    serve the REST API (default). With no configuration: 127.0.0.1:8080, an embedded SQLite
                         database and the sandbox (an in-process AWS Organizations simulator); it prints a
                         development token and the demo billing profile. Swagger UI: /docs/
  aws-invites migrate    apply the database migrations and exit
  aws-invites token      print a development token (HS256), signed with AUTH_HS256_SECRET when set, else with the
                         development secret that serve uses (kept in the data directory)
      --sub ID                  subject (default dev-user)
      --email ADDRESS           email (default dev-user@example.com)
      --customer ID             customer_id (default demo-customer)
      --billing-profiles a,b    billing profiles the caller is assigned to (default demo)
      --permissions p,q         permissions (default licenses_manager)
      --roles r,s               roles, e.g. platform_admin (default none)
      --ttl DURATION            lifetime (default 1h)
  aws-invites reconcile --once
                         reconcile every payer's invitations with AWS Organizations, then CloudHealth, now, in
                         this process (serve does it periodically); one JSON line per step
  aws-invites cur scan PATH...
                         per usage account: line items, unblended cost, first and last usage start, as JSON
                         lines. PATH: a CUR file (.csv, .csv.gz, .csv.zip, .parquet), a manifest, a folder holding
                         a report, or s3://bucket/prefix (the SDK's credentials and AWS_ENDPOINT_URL_S3 apply)
  aws-invites healthcheck  exit 0 when the server on LISTEN_ADDR's port answers /readyz (container health checks)
  aws-invites cloudhealth-template
                         the CloudHealth role's CloudFormation template (CloudHealth's published read-only policy,
                         the external id, role name and checker principal as parameters, the last defaulting to
                         CLOUDHEALTH_CHECKER_PRINCIPAL), for the reseller to host on S3 and name in
                         CLOUDHEALTH_TEMPLATE_URL
  aws-invites help [serve]
                         this text, or serve's alone (also: aws-invites serve --help)
  aws-invites --version  the module version and VCS commit of this build

Environment:
`)
	printEnv(w)
}
