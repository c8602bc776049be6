// Command readfloor is the floor of the read path's stack, for scripts/bench-read: a minimal net/http server that
// answers GET /billing-profiles/{billingProfileId}/aws-invites/{inviteId} with the statement the service runs for
// it (the invite joined to its billing profile, every column of both), scanned with pgx and written with
// encoding/json. No token, no validation, no log, no metrics: what is left is the cost of HTTP, one round trip to
// PostgreSQL and JSON, which is what the service's GET is compared with.
//
//	DATABASE_URL=postgres://... LISTEN_ADDR=127.0.0.1:18132 go run ./scripts/readfloor
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// getInvite is the service's statement for a GET (store.inviteWithProfile), with its columns written out.
const getInvite = `SELECT p.id, p.customer_id, p.name, p.management_account_id, p.role_arn, p.external_id, p.cur_bucket,
 p.cur_prefix, p.cur_report, p.cur_format, p.created_at, p.updated_at,
 i.id, i.billing_profile_id, i.payer, i.account_id, i.notes, i.state, i.handshake_id, i.handshake_state,
 i.handshake_requested_at, i.handshake_expires_at, i.invited_by_kind, i.invited_by_subject, i.invited_by_email,
 i.created_at, i.updated_at, i.last_sent_at, i.joined_at, i.version, i.cloudhealth_level, i.cloudhealth_payer,
 i.cloudhealth_listed, i.cloudhealth_checked_at, i.cur_seen_at, i.cur_period, i.cur_line_items, i.cur_cost,
 i.cur_first_usage, i.cur_last_usage, i.cur_period_first_seen, i.org_id, i.org_management_account_id,
 i.org_management_email, i.org_management_name, i.expiry_warned_for, i.kind, i.transfer_id, i.transfer_status,
 i.transfer_name, i.transfer_start, i.transfer_end
 FROM invites i JOIN billing_profiles p ON p.id = i.billing_profile_id WHERE i.id = $1 AND i.billing_profile_id = $2`

type profile struct {
	ID                  string    `json:"id"`
	CustomerID          string    `json:"customerId"`
	Name                string    `json:"name"`
	ManagementAccountID string    `json:"managementAccountId"`
	RoleARN             string    `json:"roleArn"`
	ExternalID          string    `json:"externalId"`
	CURBucket           string    `json:"curBucket"`
	CURPrefix           string    `json:"curPrefix"`
	CURReport           string    `json:"curReport"`
	CURFormat           string    `json:"curFormat"`
	CreatedAt           time.Time `json:"createdAt"`
	UpdatedAt           time.Time `json:"updatedAt"`
}

type invite struct {
	ID                   string     `json:"id"`
	BillingProfileID     string     `json:"billingProfileId"`
	Payer                string     `json:"payer"`
	AccountID            string     `json:"accountId"`
	Notes                string     `json:"notes"`
	State                string     `json:"state"`
	HandshakeID          *string    `json:"handshakeId,omitempty"`
	HandshakeState       *string    `json:"handshakeState,omitempty"`
	HandshakeRequestedAt *time.Time `json:"handshakeRequestedAt,omitempty"`
	HandshakeExpiresAt   *time.Time `json:"handshakeExpiresAt,omitempty"`
	InvitedByKind        string     `json:"invitedByKind"`
	InvitedBySubject     string     `json:"invitedBySubject"`
	InvitedByEmail       string     `json:"invitedByEmail"`
	CreatedAt            time.Time  `json:"createdAt"`
	UpdatedAt            time.Time  `json:"updatedAt"`
	LastSentAt           *time.Time `json:"lastSentAt,omitempty"`
	JoinedAt             *time.Time `json:"joinedAt,omitempty"`
	Version              int64      `json:"version"`
	CloudHealthLevel     string     `json:"cloudHealthLevel"`
	CloudHealthPayer     string     `json:"cloudHealthPayer"`
	CloudHealthListed    bool       `json:"cloudHealthListed"`
	CloudHealthCheckedAt *time.Time `json:"cloudHealthCheckedAt,omitempty"`
	CURSeenAt            *time.Time `json:"curSeenAt,omitempty"`
	CURPeriod            string     `json:"curPeriod"`
	CURLineItems         int64      `json:"curLineItems"`
	CURCost              string     `json:"curCost"`
	CURFirstUsage        *time.Time `json:"curFirstUsage,omitempty"`
	CURLastUsage         *time.Time `json:"curLastUsage,omitempty"`
	CURPeriodFirstSeen   *time.Time `json:"curPeriodFirstSeen,omitempty"`
	OrgID                string     `json:"orgId"`
	OrgManagementID      string     `json:"orgManagementAccountId"`
	OrgManagementEmail   string     `json:"orgManagementEmail"`
	OrgManagementName    string     `json:"orgManagementName"`
	ExpiryWarnedFor      string     `json:"expiryWarnedFor"`
	Kind                 string     `json:"kind"`
	TransferID           string     `json:"transferId"`
	TransferStatus       string     `json:"transferStatus"`
	TransferName         string     `json:"transferName"`
	TransferStart        *time.Time `json:"transferStart,omitempty"`
	TransferEnd          *time.Time `json:"transferEnd,omitempty"`
	Profile              *profile   `json:"billingProfile"`
}

func main() {
	if err := run(context.Background(), os.Getenv("DATABASE_URL"), os.Getenv("LISTEN_ADDR")); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, dsn, addr string) error {
	if dsn == "" || addr == "" {
		return errors.New("readfloor: DATABASE_URL and LISTEN_ADDR are required")
	}
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return fmt.Errorf("readfloor: %w", err)
	}
	defer pool.Close()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /billing-profiles/{billingProfileId}/aws-invites/{inviteId}", func(w http.ResponseWriter, r *http.Request) {
		var p profile
		inv := invite{Profile: &p}
		err := pool.QueryRow(r.Context(), getInvite, r.PathValue("inviteId"), r.PathValue("billingProfileId")).Scan(
			&p.ID, &p.CustomerID, &p.Name, &p.ManagementAccountID, &p.RoleARN, &p.ExternalID, &p.CURBucket,
			&p.CURPrefix, &p.CURReport, &p.CURFormat, &p.CreatedAt, &p.UpdatedAt,
			&inv.ID, &inv.BillingProfileID, &inv.Payer, &inv.AccountID, &inv.Notes, &inv.State, &inv.HandshakeID,
			&inv.HandshakeState, &inv.HandshakeRequestedAt, &inv.HandshakeExpiresAt, &inv.InvitedByKind,
			&inv.InvitedBySubject, &inv.InvitedByEmail, &inv.CreatedAt, &inv.UpdatedAt, &inv.LastSentAt,
			&inv.JoinedAt, &inv.Version, &inv.CloudHealthLevel, &inv.CloudHealthPayer, &inv.CloudHealthListed,
			&inv.CloudHealthCheckedAt, &inv.CURSeenAt, &inv.CURPeriod, &inv.CURLineItems, &inv.CURCost,
			&inv.CURFirstUsage, &inv.CURLastUsage, &inv.CURPeriodFirstSeen, &inv.OrgID, &inv.OrgManagementID,
			&inv.OrgManagementEmail, &inv.OrgManagementName, &inv.ExpiryWarnedFor, &inv.Kind, &inv.TransferID,
			&inv.TransferStatus, &inv.TransferName, &inv.TransferStart, &inv.TransferEnd)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			http.Error(w, `{"status":404}`, http.StatusNotFound)
			return
		case err != nil:
			http.Error(w, `{"status":500}`, http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(&inv)
	})
	log.Printf("readfloor: listening on %s", addr)
	return http.ListenAndServe(addr, mux)
}
