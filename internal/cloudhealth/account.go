// Package cloudhealth is the adapter to the CloudHealth API: a client for the reseller's AWS account list (each
// account's status level and payer, handed to the domain as invite.CloudHealthStatuses; the health rule itself is
// the domain's invite.EvaluateCloudHealth), and the IAM setup (JSON and a CloudFormation template) a customer needs
// so that CloudHealth can read their account.
//
// The sub-package chsim is a simulator that speaks the same JSON, for tests and the sandbox.
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

// NoPayer is how CloudHealth shows an account it has no payer for ("Payer Account: N/A"). The client turns it into
// an empty Account.PayerAccountID; the simulator sends it on the wire.
const NoPayer = "N/A"

// Account is one AWS account as CloudHealth knows it.
type Account struct {
	ID      int64  // CloudHealth's own id of the account
	Name    string // the name shown in CloudHealth
	OwnerID string // the 12-digit AWS account id, as a string (leading zeros matter)
	// PayerAccountID is the 12-digit AWS account id of the payer CloudHealth reports for the account; empty when
	// CloudHealth has none (it shows "N/A"), which the help pages count as a broken setup.
	PayerAccountID     string
	Status             Status
	Authentication     Authentication
	Billing            Billing
	CostAndUsageReport json.RawMessage   // kept as CloudHealth sent it; the service does not read it
	Tags               map[string]string // CloudHealth's key/value tags
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

// Status is CloudHealth's health status of an account.
type Status struct {
	Level      Level
	LastUpdate time.Time // zero when CloudHealth sent none
}

// Authentication is how CloudHealth reaches the account.
type Authentication struct {
	Protocol             string // "assume_role" once the customer's role is set up
	AssumeRoleArn        string
	AssumeRoleExternalID string
}

// Billing is where CloudHealth reads the account's bills.
type Billing struct {
	Bucket         string
	IsConsolidated bool
}

// wireAccount is the JSON of /v1/aws_accounts. Ids and timestamps are decoded by hand because CloudHealth has
// sent ids as numbers or strings and timestamps in more than one format.
type wireAccount struct {
	ID             json.RawMessage `json:"id"`
	Name           string          `json:"name"`
	OwnerID        json.RawMessage `json:"owner_id"`
	PayerAccountID json.RawMessage `json:"payer_account_id"`
	Status         struct {
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
	CostAndUsageReport json.RawMessage `json:"cost_and_usage_report"`
	Tags               []struct {
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
	payer, err := rawAccountID(w.PayerAccountID)
	if err != nil {
		return Account{}, fmt.Errorf("account %d: payer_account_id: %w", id, err)
	}
	a := Account{
		ID:             id,
		Name:           w.Name,
		OwnerID:        owner,
		PayerAccountID: payer,
		Status:         Status{Level: normalizeLevel(w.Status.Level)},
		Authentication: Authentication{
			Protocol:             w.Authentication.Protocol,
			AssumeRoleArn:        w.Authentication.AssumeRoleArn,
			AssumeRoleExternalID: w.Authentication.AssumeRoleExternalID,
		},
		Billing: Billing{Bucket: w.Billing.Bucket, IsConsolidated: w.Billing.IsConsolidated},
	}
	if len(w.CostAndUsageReport) > 0 && !bytes.Equal(w.CostAndUsageReport, []byte("null")) {
		a.CostAndUsageReport = w.CostAndUsageReport
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
