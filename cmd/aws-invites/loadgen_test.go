package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cloudreseller/aws-invites/internal/loadtest"
	"github.com/cloudreseller/aws-invites/internal/store"
	"github.com/cloudreseller/aws-invites/internal/testdb"
)

// TestLoadGeneratorSmoke runs scripts/load-mixed's generator for a few seconds against the real command, on each
// database: every kind of the mix is sent and answered as expected, with real tokens signed the way serve checks
// them. The ten-minute measurement is the script's, never a test's.
func TestLoadGeneratorSmoke(t *testing.T) {
	for _, d := range []string{store.DialectPostgres, store.DialectSQLite} {
		t.Run(d, func(t *testing.T) {
			dir := t.TempDir()
			url := dir + "/load.db"
			if d == store.DialectPostgres {
				url = testdb.New(t)
			}
			secret := strings.Repeat("load-smoke-secret-", 3)
			inst := start(t, map[string]string{
				"DATABASE_URL": url, "AWS_INVITES_MODE": "sandbox", "AWS_INVITES_DATA_DIR": dir,
				"AUTH_HS256_SECRET": secret, "AUTH_ISSUER": "load-smoke", "AUTH_AUDIENCE": "aws-invites",
			})
			rep, err := loadtest.Run(context.Background(), loadtest.Config{
				BaseURL: inst.url, Secret: []byte(secret), Issuer: "load-smoke", Audience: "aws-invites",
				Rate: 40, Duration: 3 * time.Second, Profiles: 8, InvitesPerProfile: 2, SampleEvery: time.Second, Seed: 12,
			})
			if err != nil {
				t.Fatal(err)
			}
			var sb strings.Builder
			rep.Print(&sb)
			if rep.Errors() != 0 || rep.Missed() != 0 || rep.Completed() != 120 {
				t.Errorf("want 120 requests answered as expected:\n%s", sb.String())
			}
			for k := range loadtest.RefreshInvite + 1 {
				if rep.Count(k) == 0 {
					t.Errorf("no %s was sent:\n%s", k, sb.String())
				}
			}
		})
	}
}
