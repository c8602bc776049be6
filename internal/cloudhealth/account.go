// Package cloudhealth is the adapter to the CloudHealth API as CloudHealth publishes it (its API guide, the
// repository CloudHealth/cht_api_guide, and its IAM module CloudHealth/terraform-cloudhealth-iam): a rate-limited
// client that lists AWS accounts and partner assignments page by page and resumes where it stopped, the payer of
// each account derived from the documented fields only (Snapshot), the domain's port over them (Source: the
// status of every account, handed to invite.EvaluateCloudHealth), the IAM role CloudHealth publishes (policy.go)
// with its one-click deployments (deploy.go), and the validation checks of an account's setup (validate.go).
//
// The sub-package chsim is a simulator built from the same published contract, for tests and the sandbox.
package cloudhealth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Level is CloudHealth's status level of an account.
type Level string

// The levels CloudHealth reports; its UI calls them Healthy, Warning, Critical and Unknown.
const (
	LevelGreen   Level = "green"
	LevelYellow  Level = "yellow"
	LevelRed     Level = "red"
	LevelUnknown Level = "unknown"
)

// ParseLevel reads a level as CloudHealth or a person writes it: "green", "Green", or the UI labels "healthy",
// "warning", "critical" and "unknown". Anything else is an error, so a typo in the sandbox is not silently unknown.
func ParseLevel(s string) (Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "green", "healthy":
		return LevelGreen, nil
	case "yellow", "warning":
		return LevelYellow, nil
	case "red", "critical":
		return LevelRed, nil
	case "unknown", "":
		return LevelUnknown, nil
	}
	return "", fmt.Errorf("cloudhealth: unknown status level %q (want green, yellow, red or unknown)", s)
}

// normalizeLevel maps what the API sent to a Level; a level this code does not know is kept lower-cased so the
// health rule can treat it as not healthy rather than dropping it.
func normalizeLevel(s string) Level {
	if l, err := ParseLevel(s); err == nil {
		return l
	}
	return Level(strings.ToLower(strings.TrimSpace(s)))
}

// NoPayer is how CloudHealth's UI shows an account it places under no payer ("Payer Account: N/A"). The API has no
// such field: the client derives the payer from documented fields (Snapshot.Placement), and the sandbox accepts
// "N/A" to mean an account CloudHealth has not placed yet.
const NoPayer = "N/A"

// The account types CloudHealth discovers from the bills.
const (
	TypeConsolidated = "Consolidated" // the payer (management) account of a consolidated bill
	TypeLinked       = "Linked"       // a member of a consolidated bill; cluster_name names its payer
	TypeStandalone   = "Standalone"   // its own payer
	TypeUnknown      = "Unknown"      // not discovered yet (a newly created account)
)

// Account is one AWS account as CloudHealth's /v1/aws_accounts documents it. Only documented fields are read; the
// payer is not one of them (see Snapshot.Placement for how it is derived).
type Account struct {
	ID         int64  // CloudHealth's own id of the account
	Name       string // the name set in CloudHealth
	AmazonName string // the name discovered from the bills
	OwnerID    string // the 12-digit AWS account id, as a string (leading zeros matter); "" until discovered
	// AccountType is Consolidated, Linked, Standalone or Unknown, as discovered from the bills.
	AccountType string
	// ClusterName is the name of the account's payer account (its own name for a standalone or payer account).
	ClusterName        string
	Status             Status
	Authentication     Authentication
	Billing            Billing
	CostAndUsageReport CostAndUsageReport
	Tags               map[string]string // CloudHealth's key/value tags
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

// Consolidated reports whether the record is a payer's own: account_type Consolidated or billing.is_consolidated,
// which the guide documents together; either one is taken, since a tenant might send only one of them.
func (a Account) Consolidated() bool {
	return strings.EqualFold(a.AccountType, TypeConsolidated) || a.Billing.IsConsolidated
}

// Status is CloudHealth's health status of an account.
type Status struct {
	Level      Level
	LastUpdate time.Time // zero when CloudHealth sent none
}

// Authentication is how CloudHealth reaches the account.
type Authentication struct {
	Protocol             string // "assume_role" once the customer's role is set up, or "access_key"
	AssumeRoleArn        string
	AssumeRoleExternalID string
}

// The authentication protocols CloudHealth documents.
const (
	ProtocolAssumeRole = "assume_role"
	ProtocolAccessKey  = "access_key"
)

// Billing is where CloudHealth reads the account's bills.
type Billing struct {
	Bucket         string
	IsConsolidated bool
}

// CostAndUsageReport is where the account's Cost and Usage Report is delivered, as set in CloudHealth.
type CostAndUsageReport struct {
	Bucket string
	Path   string
}

// Assignment is one AWS account's entry of a partner's /v2/aws_account_assignments: which customer tenant it is
// assigned to and which bill it belongs to.
type Assignment struct {
	ID                int64
	OwnerID           string // the AWS account
	TargetClientAPIID string // the customer tenant
	// BillingFamilyOwnerID is the AWS payer of the account, as the guide documents.
	BillingFamilyOwnerID string
	// PayerAccountOwnerID is the designated payer inside the customer's billing block (the account itself for a
	// standalone block): not the AWS payer.
	PayerAccountOwnerID string
	BillingBlockType    string // Family, Consolidated or Standalone
	BillingBlockName    string
}

// wireAccount is the JSON of /v1/aws_accounts, with the documented fields only. Ids and timestamps are decoded by
// hand because public clients have seen ids as numbers or strings and timestamps in more than one format.
type wireAccount struct {
	ID          json.RawMessage `json:"id"`
	Name        string          `json:"name"`
	AmazonName  string          `json:"amazon_name"`
	OwnerID     json.RawMessage `json:"owner_id"`
	AccountType string          `json:"account_type"`
	ClusterName string          `json:"cluster_name"`
	Status      struct {
		Level      string `json:"level"`
		LastUpdate string `json:"last_update"`
	} `json:"status"`
	Authentication struct {
		Protocol             string `json:"protocol"`
		AssumeRoleArn        string `json:"assume_role_arn"`
		AssumeRoleExternalID string `json:"assume_role_external_id"`
	} `json:"authentication"`
	Billing struct {
		Bucket         string `json:"bucket"`
		IsConsolidated bool   `json:"is_consolidated"`
	} `json:"billing"`
	CostAndUsageReport struct {
		Bucket string `json:"bucket"`
		Path   string `json:"path"`
	} `json:"cost_and_usage_report"`
	Tags []struct {
		Key   string `json:"key"`
		Value string `json:"value"`
	} `json:"tags"`
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
}

func (w wireAccount) account() (Account, error) {
	id, err := rawInt(w.ID)
	if err != nil {
		return Account{}, fmt.Errorf("id: %w", err)
	}
	owner, err := rawAccountID(w.OwnerID)
	if err != nil {
		return Account{}, fmt.Errorf("account %d: owner_id: %w", id, err)
	}
	a := Account{
		ID:          id,
		Name:        w.Name,
		AmazonName:  w.AmazonName,
		OwnerID:     owner,
		AccountType: strings.TrimSpace(w.AccountType),
		ClusterName: strings.TrimSpace(w.ClusterName),
		Status:      Status{Level: normalizeLevel(w.Status.Level)},
		Authentication: Authentication{
			Protocol:             w.Authentication.Protocol,
			AssumeRoleArn:        w.Authentication.AssumeRoleArn,
			AssumeRoleExternalID: w.Authentication.AssumeRoleExternalID,
		},
		Billing:            Billing{Bucket: w.Billing.Bucket, IsConsolidated: w.Billing.IsConsolidated},
		CostAndUsageReport: CostAndUsageReport{Bucket: w.CostAndUsageReport.Bucket, Path: w.CostAndUsageReport.Path},
	}
	if len(w.Tags) > 0 {
		a.Tags = make(map[string]string, len(w.Tags))
		for _, t := range w.Tags {
			a.Tags[t.Key] = t.Value
		}
	}
	for _, f := range []struct {
		name string
		in   string
		out  *time.Time
	}{
		{"status.last_update", w.Status.LastUpdate, &a.Status.LastUpdate},
		{"created_at", w.CreatedAt, &a.CreatedAt},
		{"updated_at", w.UpdatedAt, &a.UpdatedAt},
	} {
		if *f.out, err = parseTime(f.in); err != nil {
			return Account{}, fmt.Errorf("account %d: %s: %w", id, f.name, err)
		}
	}
	return a, nil
}

// wireAssignment is one entry of /v2/aws_account_assignments.
type wireAssignment struct {
	ID                   json.RawMessage `json:"id"`
	OwnerID              json.RawMessage `json:"owner_id"`
	TargetClientAPIID    json.RawMessage `json:"target_client_api_id"`
	PayerAccountOwnerID  json.RawMessage `json:"payer_account_owner_id"`
	BillingFamilyOwnerID json.RawMessage `json:"billing_family_owner_id"`
	BillingBlockType     string          `json:"billing_block_type"`
	BillingBlockName     string          `json:"billing_block_name"`
}

func (w wireAssignment) assignment() (Assignment, error) {
	id, err := rawInt(w.ID)
	if err != nil {
		return Assignment{}, fmt.Errorf("id: %w", err)
	}
	a := Assignment{ID: id, BillingBlockType: w.BillingBlockType, BillingBlockName: w.BillingBlockName,
		TargetClientAPIID: strings.Trim(string(bytes.TrimSpace(w.TargetClientAPIID)), `"`)}
	if a.TargetClientAPIID == "null" {
		a.TargetClientAPIID = ""
	}
	for _, f := range []struct {
		name string
		raw  json.RawMessage
		out  *string
	}{
		{"owner_id", w.OwnerID, &a.OwnerID},
		{"payer_account_owner_id", w.PayerAccountOwnerID, &a.PayerAccountOwnerID},
		{"billing_family_owner_id", w.BillingFamilyOwnerID, &a.BillingFamilyOwnerID},
	} {
		if *f.out, err = rawAccountID(f.raw); err != nil {
			return Assignment{}, fmt.Errorf("assignment %d: %s: %w", id, f.name, err)
		}
	}
	return a, nil
}

// rawInt reads a JSON number or a string of digits.
func rawInt(raw json.RawMessage) (int64, error) {
	s := strings.Trim(string(bytes.TrimSpace(raw)), `"`)
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("not an integer: %s", raw)
	}
	return n, nil
}

// rawAccountID reads a 12-digit AWS account id sent as a string or a number (a number loses leading zeros, which
// are put back). Null, empty and "N/A" mean no account and give "".
func rawAccountID(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return "", nil
	}
	var s string
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", fmt.Errorf("bad string %s: %w", raw, err)
		}
		s = strings.TrimSpace(s)
		if s == "" || strings.EqualFold(s, NoPayer) {
			return "", nil
		}
	} else {
		s = string(raw)
		if len(s) < 12 && isDigits(s) {
			s = strings.Repeat("0", 12-len(s)) + s
		}
	}
	if len(s) != 12 || !isDigits(s) {
		return "", fmt.Errorf("not a 12-digit aws account id: %s", raw)
	}
	return s, nil
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// parseTime reads the timestamp formats CloudHealth has been seen to use; "" is the zero time.
func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05 MST", "2006-01-02 15:04:05 -0700", "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("unrecognized timestamp %q", s)
}
