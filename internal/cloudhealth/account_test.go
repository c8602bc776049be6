package cloudhealth_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cloudreseller/aws-invites/internal/cloudhealth"
)

// TestDecodeVariants serves hand-written CloudHealth JSON, written from the spec rather than by the simulator, so
// that the client's field names are checked against the document and not against our own simulator.
func TestDecodeVariants(t *testing.T) {
	const body = `{"aws_accounts": [
	  {"id": 206158430208, "name": "prod", "owner_id": "012345678901", "payer_account_id": "999988887777",
	   "status": {"level": "green", "last_update": "2026-11-25T08:15:00Z"},
	   "authentication": {"protocol": "assume_role", "assume_role_arn": "arn:aws:iam::012345678901:role/CloudHealth",
	                      "assume_role_external_id": "abc123"},
	   "billing": {"bucket": "", "is_consolidated": true},
	   "cost_and_usage_report": {"bucket": "x"}, "tags": [{"key": "team", "value": "data"}],
	   "created_at": "2026-10-01 10:00:00 UTC", "updated_at": "2026-11-25T08:15:00.123Z"},
	  {"id": "206158430209", "name": "numeric owner", "owner_id": 12345678901, "payer_account_id": "N/A",
	   "status": {"level": "Unknown", "last_update": null}, "authentication": {"protocol": "access_key"},
	   "billing": {"bucket": "cur-bucket", "is_consolidated": false}},
	  {"id": 3, "name": "no payer field", "owner_id": "111122223333", "status": {"level": "red"}},
	  {"id": 4, "name": "null payer", "owner_id": "111122224444", "payer_account_id": null, "status": {"level": "purple"}}
	]}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+testKey {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		if r.URL.Query().Get("page") != "1" {
			_, _ = w.Write([]byte(`{"aws_accounts": []}`))
			return
		}
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	c := newClient(t, srv.URL, testKey, cloudhealth.Options{PerPage: 4})
	got, err := listAll(t.Context(), c)
	if err != nil {
		t.Fatalf("ListAccounts: %v", err)
	}
	if len(got) != 4 {
		t.Fatalf("got %d accounts, want 4", len(got))
	}

	a := got[0]
	if a.ID != 206158430208 || a.Name != "prod" || a.OwnerID != "012345678901" || a.PayerAccountID != "999988887777" {
		t.Errorf("account 0: %+v", a)
	}
	if a.Status.Level != cloudhealth.LevelGreen || !a.Status.LastUpdate.Equal(time.Date(2026, 11, 25, 8, 15, 0, 0, time.UTC)) {
		t.Errorf("account 0 status: %+v", a.Status)
	}
	if a.Authentication != (cloudhealth.Authentication{Protocol: "assume_role",
		AssumeRoleArn: "arn:aws:iam::012345678901:role/CloudHealth", AssumeRoleExternalID: "abc123"}) {
		t.Errorf("account 0 authentication: %+v", a.Authentication)
	}
	if !a.Billing.IsConsolidated || a.Tags["team"] != "data" || !strings.Contains(string(a.CostAndUsageReport), "bucket") {
		t.Errorf("account 0 billing %+v tags %v cur %s", a.Billing, a.Tags, a.CostAndUsageReport)
	}
	if !a.CreatedAt.Equal(time.Date(2026, 10, 1, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("account 0 created_at: %v", a.CreatedAt)
	}

	b := got[1]
	if b.ID != 206158430209 || b.OwnerID != "012345678901" || b.PayerAccountID != "" {
		t.Errorf("account 1: id %d owner %q payer %q; want the string id read, the leading zero back and N/A as no payer",
			b.ID, b.OwnerID, b.PayerAccountID)
	}
	if b.Status.Level != cloudhealth.LevelUnknown || !b.Status.LastUpdate.IsZero() || b.Billing.Bucket != "cur-bucket" {
		t.Errorf("account 1: %+v", b)
	}
	if got[2].PayerAccountID != "" || got[2].Status.Level != cloudhealth.LevelRed {
		t.Errorf("account 2: %+v", got[2])
	}
	if got[3].PayerAccountID != "" || got[3].Status.Level != "purple" {
		t.Errorf("account 3: %+v; an unknown level is kept as sent", got[3])
	}
}

func TestDecodeRejectsBadOwner(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"aws_accounts": [{"id": 1, "owner_id": "12-34", "status": {"level": "green"}}]}`))
	}))
	t.Cleanup(srv.Close)
	c := newClient(t, srv.URL, testKey, cloudhealth.Options{})
	if _, err := listAll(t.Context(), c); err == nil || !strings.Contains(err.Error(), "owner_id") {
		t.Fatalf("got %v, want an owner_id error", err)
	}
}

func TestListAccountsDetectsIgnoredPage(t *testing.T) {
	// A server that always sends the same full page must not make the client loop forever.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"aws_accounts": [{"id": 1, "owner_id": "111122223333", "status": {"level": "green"}}]}`))
	}))
	t.Cleanup(srv.Close)
	c := newClient(t, srv.URL, testKey, cloudhealth.Options{PerPage: 1})
	if _, err := listAll(t.Context(), c); err == nil || !strings.Contains(err.Error(), "repeats") {
		t.Fatalf("got %v, want a repeated page error", err)
	}
}

func TestParseLevel(t *testing.T) {
	tests := []struct {
		in      string
		want    cloudhealth.Level
		wantErr bool
	}{
		{in: "green", want: cloudhealth.LevelGreen},
		{in: "Healthy", want: cloudhealth.LevelGreen},
		{in: "WARNING", want: cloudhealth.LevelYellow},
		{in: "yellow", want: cloudhealth.LevelYellow},
		{in: "critical", want: cloudhealth.LevelRed},
		{in: " red ", want: cloudhealth.LevelRed},
		{in: "unknown", want: cloudhealth.LevelUnknown},
		{in: "", want: cloudhealth.LevelUnknown},
		{in: "blue", wantErr: true},
	}
	for _, tc := range tests {
		got, err := cloudhealth.ParseLevel(tc.in)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("ParseLevel(%q) = %q, %v; want %q, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}
