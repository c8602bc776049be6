// Command readfloor is the floor of the read path's stack, for scripts/bench-read: a minimal net/http server that
// answers GET /billing-profiles/{billingProfileId}/aws-invites/{inviteId} with the statement the service runs for
// it (the invite joined to its billing profile, every column of both), scanned with pgx and written with
// encoding/json. No token, no validation, no log, no metrics: what is left is the cost of HTTP, one round trip to
// PostgreSQL and JSON, which is what the service's GET is compared with.
//
// The service reads every column of both tables (its row types must cover them: TestRowTypesCoverTheTables), so
// the floor does too: at start it compares its columns with the tables' and refuses to run when a migration added
// one it lacks, rather than measure a smaller statement than the service's.
//
//	DATABASE_URL=postgres://... LISTEN_ADDR=127.0.0.1:18132 go run ./scripts/readfloor
//	PPROF_ADDR=127.0.0.1:18133 ...  # also serves Go's profiler there
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/pprof"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// profile is a row of billing_profiles, as the service's billingProfileRow reads it.
type profile struct {
	ID                  string    `db:"id" json:"id"`
	CustomerID          string    `db:"customer_id" json:"customerId"`
	Name                string    `db:"name" json:"name"`
	ManagementAccountID string    `db:"management_account_id" json:"managementAccountId"`
	RoleARN             string    `db:"role_arn" json:"roleArn"`
	ExternalID          string    `db:"external_id" json:"externalId"`
	CURBucket           string    `db:"cur_bucket" json:"curBucket"`
	CURPrefix           string    `db:"cur_prefix" json:"curPrefix"`
	CURReport           string    `db:"cur_report" json:"curReport"`
	CURFormat           string    `db:"cur_format" json:"curFormat"`
	CloudHealthClientID string    `db:"cloudhealth_client_api_id" json:"cloudHealthClientApiId"`
	BillingGroupARN     string    `db:"billing_group_arn" json:"billingGroupArn"`
	CreatedAt           time.Time `db:"created_at" json:"createdAt"`
	UpdatedAt           time.Time `db:"updated_at" json:"updatedAt"`
}

func (p *profile) dest() []any {
	return []any{&p.ID, &p.CustomerID, &p.Name, &p.ManagementAccountID, &p.RoleARN, &p.ExternalID, &p.CURBucket,
		&p.CURPrefix, &p.CURReport, &p.CURFormat, &p.CloudHealthClientID, &p.BillingGroupARN, &p.CreatedAt, &p.UpdatedAt}
}

// invite is a row of invites, as the service's inviteRow reads it, with its billing profile.
type invite struct {
	ID                        string     `db:"id" json:"id"`
	BillingProfileID          string     `db:"billing_profile_id" json:"billingProfileId"`
	Payer                     string     `db:"payer" json:"payer"`
	AccountID                 string     `db:"account_id" json:"accountId"`
	Notes                     string     `db:"notes" json:"notes"`
	State                     string     `db:"state" json:"state"`
	HandshakeID               *string    `db:"handshake_id" json:"handshakeId,omitempty"`
	HandshakeState            *string    `db:"handshake_state" json:"handshakeState,omitempty"`
	HandshakeRequestedAt      *time.Time `db:"handshake_requested_at" json:"handshakeRequestedAt,omitempty"`
	HandshakeExpiresAt        *time.Time `db:"handshake_expires_at" json:"handshakeExpiresAt,omitempty"`
	InvitedByKind             string     `db:"invited_by_kind" json:"invitedByKind"`
	InvitedBySubject          string     `db:"invited_by_subject" json:"invitedBySubject"`
	InvitedByEmail            string     `db:"invited_by_email" json:"invitedByEmail"`
	CreatedAt                 time.Time  `db:"created_at" json:"createdAt"`
	UpdatedAt                 time.Time  `db:"updated_at" json:"updatedAt"`
	LastSentAt                *time.Time `db:"last_sent_at" json:"lastSentAt,omitempty"`
	JoinedAt                  *time.Time `db:"joined_at" json:"joinedAt,omitempty"`
	Version                   int64      `db:"version" json:"version"`
	CloudHealthLevel          string     `db:"cloudhealth_level" json:"cloudHealthLevel"`
	CloudHealthPayer          string     `db:"cloudhealth_payer" json:"cloudHealthPayer"`
	CloudHealthListed         bool       `db:"cloudhealth_listed" json:"cloudHealthListed"`
	CloudHealthCheckedAt      *time.Time `db:"cloudhealth_checked_at" json:"cloudHealthCheckedAt,omitempty"`
	CloudHealthPayerName      string     `db:"cloudhealth_payer_name" json:"cloudHealthPayerName"`
	CloudHealthReason         string     `db:"cloudhealth_payer_reason" json:"cloudHealthPayerReason"`
	CloudHealthUpdate         *time.Time `db:"cloudhealth_last_update" json:"cloudHealthLastUpdate,omitempty"`
	CURSeenAt                 *time.Time `db:"cur_seen_at" json:"curSeenAt,omitempty"`
	CURPeriod                 string     `db:"cur_period" json:"curPeriod"`
	CURLineItems              int64      `db:"cur_line_items" json:"curLineItems"`
	CURCost                   string     `db:"cur_cost" json:"curCost"`
	CURFirstUsage             *time.Time `db:"cur_first_usage" json:"curFirstUsage,omitempty"`
	CURLastUsage              *time.Time `db:"cur_last_usage" json:"curLastUsage,omitempty"`
	CURPeriodFirstSeen        *time.Time `db:"cur_period_first_seen" json:"curPeriodFirstSeen,omitempty"`
	OrgID                     string     `db:"org_id" json:"orgId"`
	OrgManagementID           string     `db:"org_management_account_id" json:"orgManagementAccountId"`
	OrgManagementEmail        string     `db:"org_management_email" json:"orgManagementEmail"`
	OrgManagementName         string     `db:"org_management_name" json:"orgManagementName"`
	ExpiryWarnedFor           string     `db:"expiry_warned_for" json:"expiryWarnedFor"`
	Kind                      string     `db:"kind" json:"kind"`
	TransferID                string     `db:"transfer_id" json:"transferId"`
	TransferStatus            string     `db:"transfer_status" json:"transferStatus"`
	TransferName              string     `db:"transfer_name" json:"transferName"`
	TransferStart             *time.Time `db:"transfer_start" json:"transferStart,omitempty"`
	TransferEnd               *time.Time `db:"transfer_end" json:"transferEnd,omitempty"`
	AccountState              string     `db:"account_state" json:"accountState"`
	DepartedAt                *time.Time `db:"departed_at" json:"departedAt,omitempty"`
	DepartureMethod           string     `db:"departure_method" json:"departureMethod"`
	DepartureAccountState     string     `db:"departure_account_state" json:"departureAccountState"`
	QueueReason               string     `db:"queue_reason" json:"queueReason"`
	QueueMode                 string     `db:"queue_mode" json:"queueMode"`
	QueuePosition             int64      `db:"queue_position" json:"queuePosition"`
	QueueScheduledFor         *time.Time `db:"queue_scheduled_for" json:"queueScheduledFor,omitempty"`
	BillingGroupARN           string     `db:"billing_group_arn" json:"billingGroupArn"`
	BillingGroupState         string     `db:"billing_group_state" json:"billingGroupState"`
	BillingGroupAssociatedAt  *time.Time `db:"billing_group_associated_at" json:"billingGroupAssociatedAt,omitempty"`
	BillingGroupProblemCode   string     `db:"billing_group_problem_code" json:"billingGroupProblemCode"`
	BillingGroupProblemDetail string     `db:"billing_group_problem_detail" json:"billingGroupProblemDetail"`
	BillingGroupProblemSince  *time.Time `db:"billing_group_problem_since" json:"billingGroupProblemSince,omitempty"`
	BillingDataState          string     `db:"billing_data_state" json:"billingDataState"`
	BillingDataLastReport     *time.Time `db:"billing_data_last_report" json:"billingDataLastReport,omitempty"`
	BillingDataThrough        *time.Time `db:"billing_data_through" json:"billingDataThrough,omitempty"`
	BillingDataExpectedBy     *time.Time `db:"billing_data_expected_by" json:"billingDataExpectedBy,omitempty"`
	Profile                   *profile   `db:"-" json:"billingProfile"`
}

func (i *invite) dest() []any {
	return []any{&i.ID, &i.BillingProfileID, &i.Payer, &i.AccountID, &i.Notes, &i.State, &i.HandshakeID,
		&i.HandshakeState, &i.HandshakeRequestedAt, &i.HandshakeExpiresAt, &i.InvitedByKind, &i.InvitedBySubject,
		&i.InvitedByEmail, &i.CreatedAt, &i.UpdatedAt, &i.LastSentAt, &i.JoinedAt, &i.Version, &i.CloudHealthLevel,
		&i.CloudHealthPayer, &i.CloudHealthListed, &i.CloudHealthCheckedAt, &i.CloudHealthPayerName,
		&i.CloudHealthReason, &i.CloudHealthUpdate, &i.CURSeenAt, &i.CURPeriod, &i.CURLineItems, &i.CURCost,
		&i.CURFirstUsage, &i.CURLastUsage, &i.CURPeriodFirstSeen, &i.OrgID, &i.OrgManagementID,
		&i.OrgManagementEmail, &i.OrgManagementName, &i.ExpiryWarnedFor, &i.Kind, &i.TransferID, &i.TransferStatus,
		&i.TransferName, &i.TransferStart, &i.TransferEnd, &i.AccountState, &i.DepartedAt, &i.DepartureMethod,
		&i.DepartureAccountState, &i.QueueReason, &i.QueueMode, &i.QueuePosition, &i.QueueScheduledFor,
		&i.BillingGroupARN, &i.BillingGroupState, &i.BillingGroupAssociatedAt, &i.BillingGroupProblemCode,
		&i.BillingGroupProblemDetail, &i.BillingGroupProblemSince, &i.BillingDataState, &i.BillingDataLastReport,
		&i.BillingDataThrough, &i.BillingDataExpectedBy}
}

// columns are the db tags of a row type's fields, in order, after checking that dest names those fields in the
// same order (so the statement's columns and the scan's targets cannot drift apart).
func columns[R any](dest func(*R) []any) ([]string, error) {
	var r R
	v := reflect.ValueOf(&r).Elem()
	var cols []string
	var want []any
	for i := range v.NumField() {
		if tag := v.Type().Field(i).Tag.Get("db"); tag != "-" {
			cols = append(cols, tag)
			want = append(want, v.Field(i).Addr().Interface())
		}
	}
	if got := dest(&r); !slices.Equal(got, want) {
		return nil, fmt.Errorf("readfloor: the scan targets of %T are not its fields in order", r)
	}
	return cols, nil
}

func prefixed(alias string, cols []string) string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = alias + c
	}
	return strings.Join(out, ", ")
}

// statement is the service's statement for a GET (store.inviteWithProfile): every column of the profile, then every
// column of the invite. It fails when a table has a column the floor does not read.
func statement(ctx context.Context, pool *pgxpool.Pool) (string, error) {
	pcols, err := columns((*profile).dest)
	if err != nil {
		return "", err
	}
	icols, err := columns((*invite).dest)
	if err != nil {
		return "", err
	}
	for table, cols := range map[string][]string{"billing_profiles": pcols, "invites": icols} {
		rows, err := pool.Query(ctx, "SELECT * FROM "+table+" LIMIT 0")
		if err != nil {
			return "", fmt.Errorf("readfloor: %w", err)
		}
		var have []string
		for _, fd := range rows.FieldDescriptions() {
			have = append(have, fd.Name)
		}
		rows.Close()
		slices.Sort(have)
		mine := slices.Sorted(slices.Values(cols))
		if !slices.Equal(have, mine) {
			return "", fmt.Errorf("readfloor: %s has the columns %v, the floor reads %v: update scripts/readfloor as the service's row types", table, have, mine)
		}
	}
	return "SELECT " + prefixed("p.", pcols) + ", " + prefixed("i.", icols) +
		" FROM invites i JOIN billing_profiles p ON p.id = i.billing_profile_id WHERE i.id = $1 AND i.billing_profile_id = $2", nil
}

func main() {
	if err := run(context.Background(), os.Getenv("DATABASE_URL"), os.Getenv("LISTEN_ADDR"), os.Getenv("PPROF_ADDR")); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, dsn, addr, pprofAddr string) error {
	if dsn == "" || addr == "" {
		return errors.New("readfloor: DATABASE_URL and LISTEN_ADDR are required")
	}
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return fmt.Errorf("readfloor: %w", err)
	}
	defer pool.Close()
	getInvite, err := statement(ctx, pool)
	if err != nil {
		return err
	}
	if pprofAddr != "" {
		prof := http.NewServeMux()
		prof.HandleFunc("/debug/pprof/", pprof.Index)
		prof.HandleFunc("/debug/pprof/profile", pprof.Profile)
		go func() { log.Print(http.ListenAndServe(pprofAddr, prof)) }()
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /billing-profiles/{billingProfileId}/aws-invites/{inviteId}", func(w http.ResponseWriter, r *http.Request) {
		var p profile
		inv := invite{Profile: &p}
		err := pool.QueryRow(r.Context(), getInvite, r.PathValue("inviteId"), r.PathValue("billingProfileId")).Scan(
			append(p.dest(), inv.dest()...)...)
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
