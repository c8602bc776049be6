package main

import (
	"fmt"
	"io"

	"github.com/cloudreseller/aws-invites/internal/config"
)

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
  aws-invites help       this text

Environment:
`)
	for _, v := range config.Env {
		fmt.Fprintf(w, "  %-22s %s\n", v.Name, v.Help)
	}
	fmt.Fprint(w, `
In aws mode the AWS SDK's own settings apply too: the default credential chain (AWS_PROFILE, AWS_ACCESS_KEY_ID, ...,
instance roles) and the endpoint overrides AWS_ENDPOINT_URL_ORGANIZATIONS, AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL_S3.
`)
}
