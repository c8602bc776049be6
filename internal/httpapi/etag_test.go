package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/cloudreseller/aws-invites/internal/invite"
	"github.com/cloudreseller/aws-invites/internal/store"
)

// A billing profile's ETag names its version; a replacement with If-Match happens only at that version, so two
// administrators cannot overwrite each other's changes unknowingly.
func TestBillingProfileETagAndIfMatch(t *testing.T) {
	for _, dialect := range []string{store.DialectPostgres, store.DialectSQLite} {
		t.Run(dialect, func(t *testing.T) {
			e := newEnv(t, envOptions{dialect: dialect})
			admin := adminToken(e)
			path := "/billing-profiles/" + profile
			put := func(name, ifMatch string) response {
				e.t.Helper()
				var h []string
				if ifMatch != "" {
					h = []string{"If-Match", ifMatch}
				}
				return e.do("PUT", path, admin, map[string]any{"customerId": customer, "name": name, "managementAccountId": management}, h...)
			}
			name := func() string {
				bp, err := e.store.BillingProfile(context.Background(), profile)
				if err != nil {
					t.Fatal(err)
				}
				return bp.Name
			}

			read := e.do("GET", path, admin, nil)
			first := read.header.Get("ETag")
			if read.status != 200 || !strings.HasPrefix(first, `"`) || !strings.HasSuffix(first, `"`) {
				t.Fatalf("GET: %d, ETag %q", read.status, first)
			}
			// A customer reads another representation (no role, no external id): another tag.
			if c := e.do("GET", path, e.token(), nil).header.Get("ETag"); c == "" || c == first {
				t.Errorf("the customer's ETag %q, the administrator's %q", c, first)
			}

			r := put("Acme renamed", first)
			second := r.header.Get("ETag")
			if r.status != 200 || second == "" || second == first {
				t.Fatalf("PUT at the current version: %d, ETag %q (was %q) %s", r.status, second, first, r.body)
			}
			if got := e.do("GET", path, admin, nil).header.Get("ETag"); got != second {
				t.Errorf("GET after PUT: ETag %q, the PUT answered %q", got, second)
			}

			// The version the other administrator read is gone: nothing is written.
			p := e.problem(put("Acme overwritten", first), 412, "precondition_failed")
			if !strings.Contains(p["detail"].(string), "read it again") {
				t.Errorf("the detail does not say what to do: %v", p["detail"])
			}
			if got := name(); got != "Acme renamed" {
				t.Errorf("after a stale If-Match the name is %q", got)
			}
			// Strong comparison: a weak tag of the current version does not match.
			e.problem(put("Acme weak", "W/"+second), 412, "precondition_failed")
			// One of several tags matching is enough.
			if r := put("Acme listed", first+", "+second); r.status != 200 {
				t.Errorf("If-Match with the current tag among others: %d %s", r.status, r.body)
			}
			// Any existing version; no header: unconditional, as before.
			if r := put("Acme any", "*"); r.status != 200 {
				t.Errorf("If-Match: *: %d %s", r.status, r.body)
			}
			if r := put("Acme unconditional", ""); r.status != 200 || r.header.Get("ETag") == "" {
				t.Errorf("without If-Match: %d, ETag %q %s", r.status, r.header.Get("ETag"), r.body)
			}
			e.problem(put("Acme bad", "not-quoted"), 400, "invalid_parameter")

			// A profile that does not exist is no version at all: If-Match (even *) does not create it
			// (RFC 9110 13.1.1); without it, PUT creates.
			body := map[string]any{"customerId": customer, "name": "Acme new", "managementAccountId": "444455556666"}
			e.problem(e.do("PUT", "/billing-profiles/acme-new", admin, body, "If-Match", "*"), 412, "precondition_failed")
			if _, err := e.store.BillingProfile(context.Background(), "acme-new"); !invite.IsCode(err, invite.CodeNotFound) {
				t.Errorf("If-Match created the profile: %v", err)
			}
			if r := e.do("PUT", "/billing-profiles/acme-new", admin, body); r.status != 201 || r.header.Get("ETag") == "" || r.header.Get("Location") == "" {
				t.Errorf("create: %d, ETag %q, Location %q", r.status, r.header.Get("ETag"), r.header.Get("Location"))
			}

			// Administrators racing from the same version: one write wins, the others are told.
			current := e.do("GET", path, admin, nil).header.Get("ETag")
			statuses := make([]int, 8)
			var wg sync.WaitGroup
			for i := range statuses {
				wg.Go(func() { statuses[i] = put(fmt.Sprintf("Acme racer %d", i), current).status })
			}
			wg.Wait()
			won := -1
			for i, s := range statuses {
				switch {
				case s == http.StatusOK && won < 0:
					won = i
				case s != http.StatusPreconditionFailed:
					t.Errorf("racers answered %v, want one 200 and the rest 412", statuses)
				}
			}
			if won < 0 {
				t.Fatalf("no racer won: %v", statuses)
			}
			if got, want := name(), fmt.Sprintf("Acme racer %d", won); got != want {
				t.Errorf("the stored name is %q, the winner wrote %q", got, want)
			}
		})
	}
}
