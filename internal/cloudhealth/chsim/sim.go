// Package chsim simulates the part of the CloudHealth API that aws-invites uses: the paginated AWS account list,
// one account, and external id generation, with the same JSON, a bearer key check and client_api_id for partners.
// Tests and the sandbox set accounts' statuses through its Go API, inject faults and count calls. A Store keeps the
// accounts: NewMemoryStore in this process, NewSQLStore in the service's database (one row per account), so that
// replicas and restarts share them and a call reads or writes only the rows it needs.
package chsim

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cloudreseller/aws-invites/internal/cloudhealth"
)

// ErrInvalid marks a bad argument to the simulator's Go API (an account id that is not 12 digits, an unknown
// level), so a sandbox endpoint can answer 400.
var ErrInvalid = errors.New("invalid simulator input")

// Options configures a Simulator.
type Options struct {
	// APIKey is the only bearer key accepted; required.
	APIKey string
	// ClientAPIID, when set, makes the key a partner key: every request must carry this client_api_id. When empty,
	// a request with any client_api_id is refused, as for a key that is not a partner's.
	ClientAPIID string
	// Store keeps the accounts; nil means NewMemoryStore(). Faults and counters are per process and never stored.
	World World
	// Now is the clock of last_update, created_at and updated_at; nil means time.Now.
	Now func() time.Time
	// DefaultPerPage is the page size when a request has no per_page; default 30.
	DefaultPerPage int
}

// Fault is a misbehaviour the simulator shows to the next requests.
type Fault struct {
	// Status answers with this HTTP status instead of serving the request (429, 500, 503...); 0 serves normally.
	Status int
	// RetryAfter is sent as a Retry-After header (in whole seconds, rounded up) with Status.
	RetryAfter time.Duration
	// Latency delays the answer, or until the client gives up.
	Latency time.Duration
	// Times is how many requests the fault applies to; 0 means every request until ClearFaults.
	Times int
}

// Counts is what the simulator has answered since it started or since ResetCounts.
type Counts struct {
	Requests     int // every request that reached the simulator
	Faulted      int // answered with an injected status
	Unauthorized int // 401: no or wrong key
	Forbidden    int // 403: wrong client_api_id
	ListPages    int // 200 answers to GET /v1/aws_accounts
	Gets         int // 200 answers to GET /v1/aws_accounts/:id
	ExternalIDs  int // 200 answers to GET /v1/aws_accounts/:id/generate_external_id
}

// Simulator is an http.Handler speaking the CloudHealth API. It is safe for concurrent use.
type Simulator struct {
	opts Options
	mux  *http.ServeMux

	mu     sync.Mutex
	faults []Fault
	counts Counts
}

// New returns a simulator with no accounts (or those its Store holds).
func New(opts Options) (*Simulator, error) {
	if opts.APIKey == "" {
		return nil, errors.New("chsim: an api key is required")
	}
	if opts.World == nil {
		opts.World = NewMemoryStore()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.DefaultPerPage <= 0 {
		opts.DefaultPerPage = 30
	}
	s := &Simulator{opts: opts, mux: http.NewServeMux()}
	s.mux.HandleFunc("GET /v1/aws_accounts", s.list)
	s.mux.HandleFunc("GET /v1/aws_accounts/{id}", s.get)
	s.mux.HandleFunc("GET /v1/aws_accounts/{id}/generate_external_id", s.generateExternalID)
	return s, nil
}

// Update is one status change for Apply.
type Update struct {
	OwnerID        string // 12-digit AWS account id
	Level          string // green, yellow, red or unknown (or the UI labels)
	PayerAccountID string // 12 digits, or "" / "N/A" for no payer
}

// SetStatus sets an account's level and payer, creating the account when CloudHealth does not know it yet (as
// CloudHealth does when an account appears in a payer's CUR).
func (s *Simulator) SetStatus(ctx context.Context, ownerID, level, payerAccountID string) error {
	return s.Apply(ctx, Update{OwnerID: ownerID, Level: level, PayerAccountID: payerAccountID})
}

// Apply sets several accounts' statuses in one step, which seeds thousands of accounts quickly.
func (s *Simulator) Apply(ctx context.Context, updates ...Update) error {
	now := s.opts.Now().UTC().Truncate(time.Second)
	accounts := make([]Account, 0, len(updates))
	for _, u := range updates {
		if !isAccountID(u.OwnerID) {
			return fmt.Errorf("chsim: owner id %q is not a 12-digit aws account id: %w", u.OwnerID, ErrInvalid)
		}
		lvl, err := cloudhealth.ParseLevel(u.Level)
		if err != nil {
			return fmt.Errorf("chsim: %w: %w", err, ErrInvalid)
		}
		payer := strings.TrimSpace(u.PayerAccountID)
		if strings.EqualFold(payer, cloudhealth.NoPayer) {
			payer = ""
		}
		if payer != "" && !isAccountID(payer) {
			return fmt.Errorf("chsim: payer %q is not a 12-digit aws account id: %w", payer, ErrInvalid)
		}
		a := Account{Name: u.OwnerID, OwnerID: u.OwnerID, PayerAccountID: payer, Level: string(lvl),
			LastUpdate: now, CreatedAt: now, UpdatedAt: now}
		// A green or yellow account is one CloudHealth reaches through the customer's role.
		if lvl == cloudhealth.LevelGreen || lvl == cloudhealth.LevelYellow {
			a.RoleArn = "arn:aws:iam::" + u.OwnerID + ":role/" + cloudhealth.RoleName
		}
		accounts = append(accounts, a)
	}
	return s.opts.World.put(ctx, accounts)
}

// Accounts returns every account, ordered by id.
func (s *Simulator) Accounts(ctx context.Context) ([]Account, error) {
	return s.opts.World.page(ctx, 0, math.MaxInt32)
}

// InjectFault queues a fault; faults apply in the order they were injected, and one with Times 0 stays first
// until ClearFaults.
func (s *Simulator) InjectFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f)
}

// ClearFaults removes every queued fault.
func (s *Simulator) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// Counts returns the counters.
func (s *Simulator) Counts() Counts {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts
}

// ResetCounts sets every counter to zero.
func (s *Simulator) ResetCounts() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts = Counts{}
}

func (s *Simulator) count(f func(*Counts)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.counts)
}

// nextFault takes the fault for one request, if any.
func (s *Simulator) nextFault() (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts.Requests++
	if len(s.faults) == 0 {
		return Fault{}, false
	}
	f := s.faults[0]
	if f.Times > 0 {
		s.faults[0].Times--
		if s.faults[0].Times == 0 {
			s.faults = s.faults[1:]
		}
	}
	if f.Status != 0 {
		s.counts.Faulted++
	}
	return f, true
}

// ServeHTTP applies faults, then the key and client_api_id checks, then serves the API.
func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f, ok := s.nextFault(); ok {
		if f.Latency > 0 {
			t := time.NewTimer(f.Latency)
			select {
			case <-r.Context().Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		if f.Status != 0 {
			if f.RetryAfter > 0 {
				w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(f.RetryAfter.Seconds()))))
			}
			writeError(w, f.Status, http.StatusText(f.Status))
			return
		}
	}
	key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || key != s.opts.APIKey {
		s.count(func(c *Counts) { c.Unauthorized++ })
		w.Header().Set("WWW-Authenticate", `Bearer realm="cloudhealth"`)
		writeError(w, http.StatusUnauthorized, "Bad credentials")
		return
	}
	if got := r.URL.Query().Get("client_api_id"); got != s.opts.ClientAPIID {
		s.count(func(c *Counts) { c.Forbidden++ })
		writeError(w, http.StatusForbidden, "client_api_id is not a customer of this partner")
		return
	}
	s.mux.ServeHTTP(w, r)
}

func (s *Simulator) list(w http.ResponseWriter, r *http.Request) {
	page, err := intParam(r, "page", 1)
	if err != nil || page < 1 {
		writeError(w, http.StatusBadRequest, "page must be a positive integer")
		return
	}
	perPage, err := intParam(r, "per_page", s.opts.DefaultPerPage)
	if err != nil || perPage < 1 {
		writeError(w, http.StatusBadRequest, "per_page must be a positive integer")
		return
	}
	// CloudHealth serves at most 100 a page whatever is asked.
	perPage = min(perPage, cloudhealth.MaxPerPage)
	out := struct {
		Accounts []wireAccount `json:"aws_accounts"`
	}{Accounts: []wireAccount{}}
	accounts, err := s.opts.World.page(r.Context(), (page-1)*perPage, perPage)
	for _, a := range accounts {
		out.Accounts = append(out.Accounts, toWire(a))
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, "state unavailable")
		return
	}
	s.count(func(c *Counts) { c.ListPages++ })
	writeJSON(w, http.StatusOK, out)
}

func (s *Simulator) get(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		writeError(w, http.StatusNotFound, "no such aws account")
		return
	}
	a, found, err := s.opts.World.get(r.Context(), id)
	switch {
	case err != nil:
		writeError(w, http.StatusInternalServerError, "state unavailable")
	case !found:
		writeError(w, http.StatusNotFound, "no such aws account")
	default:
		s.count(func(c *Counts) { c.Gets++ })
		writeJSON(w, http.StatusOK, toWire(a))
	}
}

// generateExternalID issues one external id per account and keeps it, so the setup a customer was shown stays
// valid when asked again.
func (s *Simulator) generateExternalID(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		writeError(w, http.StatusNotFound, "no such aws account")
		return
	}
	b := make([]byte, 15)
	_, _ = rand.Read(b)
	ext, found, err := s.opts.World.externalID(r.Context(), id, hex.EncodeToString(b))
	switch {
	case err != nil:
		writeError(w, http.StatusInternalServerError, "state unavailable")
	case !found:
		writeError(w, http.StatusNotFound, "no such aws account")
	default:
		s.count(func(c *Counts) { c.ExternalIDs++ })
		writeJSON(w, http.StatusOK, map[string]string{"generated_external_id": ext})
	}
}

// wireAccount is the JSON CloudHealth sends for an AWS account.
type wireAccount struct {
	ID             int64  `json:"id"`
	Name           string `json:"name"`
	OwnerID        string `json:"owner_id"`
	PayerAccountID string `json:"payer_account_id"`
	Status         struct {
		Level      string `json:"level"`
		LastUpdate string `json:"last_update"`
	} `json:"status"`
	Authentication struct {
		Protocol             string `json:"protocol"`
		AssumeRoleArn        string `json:"assume_role_arn,omitempty"`
		AssumeRoleExternalID string `json:"assume_role_external_id,omitempty"`
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

func toWire(a Account) wireAccount {
	var w wireAccount
	w.ID, w.Name, w.OwnerID = a.ID, a.Name, a.OwnerID
	w.PayerAccountID = a.PayerAccountID
	if w.PayerAccountID == "" {
		w.PayerAccountID = cloudhealth.NoPayer
	}
	w.Status.Level = a.Level
	w.Status.LastUpdate = a.LastUpdate.Format(time.RFC3339)
	w.Authentication.Protocol = "access_key"
	if a.RoleArn != "" {
		w.Authentication.Protocol = "assume_role"
		w.Authentication.AssumeRoleArn = a.RoleArn
		w.Authentication.AssumeRoleExternalID = a.ExternalID
	}
	// Member accounts are billed through their payer's CUR; they have no bucket of their own.
	w.Billing.IsConsolidated = a.PayerAccountID != "" && a.PayerAccountID != a.OwnerID
	w.CostAndUsageReport = json.RawMessage(`{"status":"unknown"}`)
	w.Tags = []struct {
		Key   string `json:"key"`
		Value string `json:"value"`
	}{}
	w.CreatedAt = a.CreatedAt.Format(time.RFC3339)
	w.UpdatedAt = a.UpdatedAt.Format(time.RFC3339)
	return w
}

func intParam(r *http.Request, name string, def int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	return strconv.Atoi(v)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
