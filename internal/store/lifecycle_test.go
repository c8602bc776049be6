package store_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/cloudreseller/aws-invites/internal/invite"
	"github.com/cloudreseller/aws-invites/internal/store"
)

// TestOpenInviteIndexMatchesTheLifecycle reads the partial unique index that lets one invite at a time hold an
// account, as the migrations left it in the database, and checks that its predicate excludes exactly the terminal
// states of the domain's lifecycle table.
func TestOpenInviteIndexMatchesTheLifecycle(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *store.Store) {
		var def string
		q := "SELECT indexdef FROM pg_indexes WHERE indexname = 'invites_open_account_key'"
		if s.Dialect() == store.DialectSQLite {
			q = "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'invites_open_account_key'"
		}
		if err := s.SQLDB().QueryRow(q).Scan(&def); err != nil {
			t.Fatalf("reading the index: %v", err)
		}
		m := regexp.MustCompile(`(?is)state\)?\s*(?:NOT IN|<> ALL)\s*\((.*)\)`).FindStringSubmatch(def)
		if m == nil {
			t.Fatalf("index predicate not understood: %s", def)
		}
		var excluded []string
		for _, q := range regexp.MustCompile(`'([a-z_]+)'`).FindAllStringSubmatch(m[1], -1) {
			excluded = append(excluded, q[1])
		}
		var terminal []string
		for _, st := range invite.StatesWhere(invite.State.Terminal) {
			terminal = append(terminal, string(st))
		}
		slices.Sort(excluded)
		slices.Sort(terminal)
		if !slices.Equal(excluded, terminal) {
			t.Errorf("the index excludes %v, the lifecycle's terminal states are %v (%s)", excluded, terminal, strings.TrimSpace(def))
		}
	})
}
