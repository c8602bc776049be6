package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/cloudreseller/aws-invites/internal/auth"
	"github.com/cloudreseller/aws-invites/internal/config"
)

// token mints a development token signed like serve checks them.
func token(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sub := fs.String("sub", "dev-user", "subject")
	email := fs.String("email", "dev-user@example.com", "email")
	customer := fs.String("customer", demoCustomerID, "customer_id")
	profiles := fs.String("billing-profiles", demoProfileID, "billing profiles, comma-separated")
	perms := fs.String("permissions", "licenses_manager", "permissions, comma-separated")
	roles := fs.String("roles", "", "roles, comma-separated")
	ttl := fs.Duration("ttl", time.Hour, "lifetime")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "aws-invites token: unexpected argument %q\n", fs.Arg(0))
		return errUsage
	}
	cfg, err := config.FromEnv(getenv)
	if err != nil {
		return err
	}
	if cfg.AuthHS256Secret == nil && cfg.AuthJWKSURL != "" {
		return fmt.Errorf("tokens for AUTH_JWKS_URL come from your identity provider; token mints HS256 development tokens only")
	}
	secret, err := signingSecret(cfg)
	if err != nil {
		return err
	}
	tok, err := auth.Mint(secret, auth.Claims{
		Subject: *sub, Email: *email, CustomerID: *customer,
		BillingProfiles: list(*profiles), Permissions: list(*perms), Roles: list(*roles),
		Issuer: cfg.AuthIssuer, Audience: cfg.AuthAudience,
	}, *ttl, time.Now())
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, tok)
	return err
}

// signingSecret is the HS256 secret: the configured one, else the development secret of the data directory.
func signingSecret(cfg config.Config) ([]byte, error) {
	if cfg.AuthHS256Secret != nil {
		return cfg.AuthHS256Secret, nil
	}
	return auth.LoadOrCreateDevSecret(cfg.DataDir)
}

func list(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
