// Package chsim simulates the part of the CloudHealth API that aws-invites uses, built from what CloudHealth
// publishes and nothing else (../shared/spec/cloudhealth-api.md beside the repository): the paged AWS account list
// with the documented fields only (the payer as account_type, cluster_name and the payer's own Consolidated
// record; no payer id field, since none is documented), one account, the external id of a customer tenant, and a
// partner's v2 account assignments; X-Total, X-Per-Page and Link headers; errors as {"error": "..."}; the bearer
// key (401 "Currently logged out" without one, 403 "Bad API Key" for a wrong one); the rate limit of 30 requests a
// minute per key (configurable); and partner tenants by client_api_id. Tests and the sandbox set accounts'
// statuses through its Go API, inject faults and read the requests it served. A World keeps the accounts:
// NewMemoryStore in this process, NewSQLStore in the service's database (one row per account), so that replicas
// and restarts share them; a partner's customers are the simulator's configuration, kept in this process.
package chsim

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
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
	// APIKey is the only key accepted; required.
	APIKey string
	// World keeps the accounts; nil means NewMemoryStore(). Faults, counters and customers are per process.
	World World
	// Now is the clock of last_update, created_at and updated_at; nil means time.Now.
	Now func() time.Time
	// DefaultPerPage is the page size when a request has no per_page; default 30, as documented.
	DefaultPerPage int
	// Rate is the key's request budget: CloudHealth's 30 a minute by default; Requests < 0 means no limit.
	Rate cloudhealth.Rate
	// RateNow is the clock of the budget; nil means time.Now (not Now: the sandbox's clock stands still between
	// its moves, and a budget on it would never refill).
	RateNow func() time.Time
	// ExternalIDSeed makes the external ids of this simulator's tenants; the same seed gives the same ids after a
	// restart. Default "chsim".
	ExternalIDSeed string
}

// Fault is a misbehaviour the simulator shows to the next requests.
type Fault struct {
	// Status answers with this HTTP status instead of serving the request (429, 500, 503...); 0 serves normally.
	Status int
	// RetryAfter is sent as a Retry-After header (in whole seconds, rounded up) with Status. CloudHealth documents
	// none; leave it zero to behave as documented.
	RetryAfter time.Duration
	// Latency delays the answer, or until the client gives up.
	Latency time.Duration
	// Times is how many requests the fault applies to; 0 means every request until ClearFaults.
	Times int
	// Path, when set, limits the fault to requests of that path (e.g. "/v1/aws_accounts") and Page to that page.
	Path string
	Page int
}

// Counts is what the simulator has answered since it started or since ResetCounts.
type Counts struct {
	Requests        int // every request that reached the simulator
	Faulted         int // answered with an injected status
	Unauthorized    int // 401: no key
	Forbidden       int // 403: wrong key, or a client_api_id the key may not act for
	RateLimited     int // 429: over the key's budget
	ListPages       int // 200 answers to GET /v1/aws_accounts
	AssignmentPages int // 200 answers to GET /v2/aws_account_assignments
	Gets            int // 200 answers to GET /v1/aws_accounts/:id
	ExternalIDs     int // 200 answers to GET /v1/aws_accounts/:id/generate_external_id
}

// Request is one request the simulator received, as tests check them: its path, page, tenant and answer.
type Request struct {
	Path   string
	Page   int    // the page asked for; 1 when none
	Tenant string // client_api_id, or target_client_api_id for assignments
	Status int
}

// Simulator is an http.Handler speaking the CloudHealth API. It is safe for concurrent use.
type Simulator struct {
	opts Options
	mux  *http.ServeMux

	mu        sync.Mutex
	faults    []Fault
	counts    Counts
	log       []Request
	sent      []time.Time         // the key's requests in the budget's window, oldest first
	customers map[string]struct{} // a partner's customers, by client_api_id
	tenantOf  map[string]string   // AWS account id -> the customer it is assigned to
}

// New returns a simulator with no accounts (or those its World holds).
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
	if opts.RateNow == nil {
		opts.RateNow = time.Now
	}
	if opts.DefaultPerPage <= 0 {
		opts.DefaultPerPage = 30
	}
	if opts.Rate.Requests == 0 || opts.Rate.Per <= 0 && opts.Rate.Requests > 0 {
		opts.Rate = cloudhealth.DefaultRate
	}
	if opts.ExternalIDSeed == "" {
		opts.ExternalIDSeed = "chsim"
	}
	s := &Simulator{opts: opts, mux: http.NewServeMux(), customers: map[string]struct{}{}, tenantOf: map[string]string{}}
	s.mux.HandleFunc("GET /v1/aws_accounts", s.list)
	s.mux.HandleFunc("GET /v1/aws_accounts/{id}", s.get)
	s.mux.HandleFunc("GET /v1/aws_accounts/{id}/generate_external_id", s.generateExternalID)
	s.mux.HandleFunc("GET /v2/aws_account_assignments", s.assignments)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { writeError(w, http.StatusNotFound, "Not Found") })
	return s, nil
}

// Update is one status change for Apply.
type Update struct {
	OwnerID string // 12-digit AWS account id
	Level   string // green, yellow, red or unknown (or the UI labels)
	// PayerAccountID places the account under that payer's bill (its own id: a standalone account or a payer);
	// "N/A" places it under none; "" keeps its placement (none for a new account).
	PayerAccountID string
	// Name is the account's name in CloudHealth; default its id for a new account.
	Name string
	// RoleArn and ExternalID set the account's authentication; by default a green or yellow account gets the
	// standard role in the account and its tenant's external id, as a working setup has.
	RoleArn    string
	ExternalID string
}

// SetStatus sets an account's level and payer, creating the account when CloudHealth does not know it yet (as
// CloudHealth does when an account appears in a payer's CUR).
func (s *Simulator) SetStatus(ctx context.Context, ownerID, level, payerAccountID string) error {
	return s.Apply(ctx, Update{OwnerID: ownerID, Level: level, PayerAccountID: payerAccountID})
}

// PayerName is the name the simulator gives a payer's own record when it creates it.
func PayerName(payerID string) string { return "Payer " + payerID }

// Apply sets several accounts' statuses in one step, which seeds thousands of accounts quickly. A payer named by
// an update gets its own record (account_type Consolidated) if it has none, as CloudHealth lists the payer whose
// bills it reads.
func (s *Simulator) Apply(ctx context.Context, updates ...Update) error {
	now := s.opts.Now().UTC().Truncate(time.Second)
	accounts := make([]Account, 0, len(updates))
	var payers []Account
	seenPayer := map[string]bool{}
	for _, u := range updates {
		if !isAccountID(u.OwnerID) {
			return fmt.Errorf("chsim: owner id %q is not a 12-digit aws account id: %w", u.OwnerID, ErrInvalid)
		}
		lvl, err := cloudhealth.ParseLevel(u.Level)
		if err != nil {
			return fmt.Errorf("chsim: %w: %w", err, ErrInvalid)
		}
		payer := strings.TrimSpace(u.PayerAccountID)
		switch {
		case payer == "":
			payer = s.currentPayer(ctx, u.OwnerID)
		case strings.EqualFold(payer, cloudhealth.NoPayer):
			payer = ""
		case !isAccountID(payer):
			return fmt.Errorf("chsim: payer %q is not a 12-digit aws account id: %w", payer, ErrInvalid)
		}
		a := Account{Name: cmpOr(u.Name, u.OwnerID), OwnerID: u.OwnerID, PayerAccountID: payer, Level: string(lvl),
			LastUpdate: now, CreatedAt: now, UpdatedAt: now, RoleArn: u.RoleArn, ExternalID: u.ExternalID}
		// A green or yellow account is one CloudHealth reaches through the customer's role.
		if (lvl == cloudhealth.LevelGreen || lvl == cloudhealth.LevelYellow) && a.RoleArn == "" {
			a.RoleArn = "arn:aws:iam::" + u.OwnerID + ":role/" + cloudhealth.RoleName
		}
		if a.RoleArn != "" && a.ExternalID == "" {
			a.ExternalID = s.ExternalID(s.customerOf(u.OwnerID))
		}
		accounts = append(accounts, a)
		if payer != "" && payer != u.OwnerID && !seenPayer[payer] {
			seenPayer[payer] = true
			payers = append(payers, Account{Name: PayerName(payer), OwnerID: payer, PayerAccountID: payer,
				Level: string(cloudhealth.LevelGreen), LastUpdate: now, CreatedAt: now, UpdatedAt: now,
				RoleArn: "arn:aws:iam::" + payer + ":role/" + cloudhealth.RoleName, ExternalID: s.ExternalID(s.customerOf(payer))})
		}
	}
	return s.opts.World.put(ctx, accounts, payers)
}

// currentPayer is the account's placement, "" when it has none or does not exist (or the World fails: Apply's
// put reports that).
func (s *Simulator) currentPayer(ctx context.Context, owner string) string {
	got, _, err := s.opts.World.byOwner(ctx, []string{owner})
	if err != nil {
		return ""
	}
	return got[owner].PayerAccountID
}

// AssignCustomer makes the key a partner's and assigns AWS accounts to one of its customers (client_api_id): the
// customer's tenant lists them, the partner's own tenant no longer does, and the partner's assignments name them.
func (s *Simulator) AssignCustomer(clientAPIID string, ownerIDs ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.customers[clientAPIID] = struct{}{}
	for _, o := range ownerIDs {
		s.tenantOf[o] = clientAPIID
	}
}

func (s *Simulator) customerOf(owner string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tenantOf[owner]
}

// ExternalID is the tenant's external id ("" for the key's own tenant). CloudHealth generates one per customer and
// keeps it; the simulator derives it from the seed and the tenant, which gives the same id every time without
// storing it.
func (s *Simulator) ExternalID(tenant string) string {
	sum := sha256.Sum256([]byte(s.opts.ExternalIDSeed + "|" + tenant))
	return "chsim-" + hex.EncodeToString(sum[:12])
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

// Requests returns the requests received since the start or ResetCounts, in order.
func (s *Simulator) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.log)
}

// ResetCounts sets every counter to zero and forgets the requests.
func (s *Simulator) ResetCounts() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts, s.log = Counts{}, nil
}

// statusRecorder keeps the status a handler answered, for the request log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

// ServeHTTP applies faults, then the key check and the key's budget, then serves the API.
func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The request is logged when it arrives, so that the log's order is the order of arrival even when a client
	// sends the next request before this handler has returned.
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	i := s.record(r)
	defer func() { s.setStatus(i, rec.status) }()
	w = rec
	if f, ok := s.nextFault(r); ok {
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
			msg := http.StatusText(f.Status)
			if f.Status == http.StatusServiceUnavailable {
				msg = "Back end capped out"
			}
			writeError(w, f.Status, msg)
			return
		}
	}
	key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		key = r.URL.Query().Get("api_key")
	}
	switch {
	case key == "":
		s.count(func(c *Counts) { c.Unauthorized++ })
		writeError(w, http.StatusUnauthorized, "Currently logged out")
		return
	case key != s.opts.APIKey:
		s.count(func(c *Counts) { c.Forbidden++ })
		writeError(w, http.StatusForbidden, "Bad API Key")
		return
	}
	// Whether refused requests count against the budget is not published; counting every request that presents
	// the key is the cautious reading.
	if !s.allow() {
		s.count(func(c *Counts) { c.RateLimited++ })
		writeError(w, http.StatusTooManyRequests, "Rate limit exceeded")
		return
	}
	if id := r.URL.Query().Get("client_api_id"); id != "" && !s.isCustomer(id) {
		s.count(func(c *Counts) { c.Forbidden++ })
		writeError(w, http.StatusForbidden, "Bad API Key")
		return
	}
	s.mux.ServeHTTP(w, r)
}

func (s *Simulator) setStatus(i, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i < len(s.log) {
		s.log[i].Status = status
	}
}

func (s *Simulator) record(r *http.Request) int {
	q := r.URL.Query()
	page, err := strconv.Atoi(q.Get("page"))
	if err != nil || page < 1 {
		page = 1
	}
	tenant := q.Get("client_api_id")
	if t := q.Get("target_client_api_id"); t != "" {
		tenant = t
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = append(s.log, Request{Path: r.URL.Path, Page: page, Tenant: tenant})
	return len(s.log) - 1
}

// allow counts one request against the key's sliding-window budget.
func (s *Simulator) allow() bool {
	if s.opts.Rate.Requests < 0 {
		return true
	}
	now := s.opts.RateNow()
	s.mu.Lock()
	defer s.mu.Unlock()
	cut := 0
	for cut < len(s.sent) && !s.sent[cut].After(now.Add(-s.opts.Rate.Per)) {
		cut++
	}
	s.sent = s.sent[cut:]
	if len(s.sent) >= s.opts.Rate.Requests {
		return false
	}
	s.sent = append(s.sent, now)
	return true
}

func (s *Simulator) isCustomer(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.customers[id]
	return ok
}

func (s *Simulator) count(f func(*Counts)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.counts)
}

// nextFault takes the fault for one request, if any.
func (s *Simulator) nextFault(r *http.Request) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts.Requests++
	for i, f := range s.faults {
		if f.Path != "" && f.Path != r.URL.Path {
			continue
		}
		if f.Page != 0 && strconv.Itoa(f.Page) != cmpOr(r.URL.Query().Get("page"), "1") {
			continue
		}
		if f.Times > 0 {
			s.faults[i].Times--
			if s.faults[i].Times == 0 {
				s.faults = slices.Delete(s.faults, i, i+1)
			}
		}
		if f.Status != 0 {
			s.counts.Faulted++
		}
		return f, true
	}
	return Fault{}, false
}

// pageParams reads page and per_page; CloudHealth serves at most 100 a page whatever is asked.
func (s *Simulator) pageParams(w http.ResponseWriter, r *http.Request) (page, perPage int, ok bool) {
	page, err := intParam(r, "page", 1)
	if err != nil || page < 1 {
		writeError(w, http.StatusUnprocessableEntity, "page must be a positive integer")
		return 0, 0, false
	}
	perPage, err = intParam(r, "per_page", s.opts.DefaultPerPage)
	if err != nil || perPage < 1 {
		writeError(w, http.StatusUnprocessableEntity, "per_page must be a positive integer")
		return 0, 0, false
	}
	return page, min(perPage, cloudhealth.MaxPerPage), true
}

// visible returns a page of the accounts the tenant sees, and how many it sees in all. Without customers every
// account is the key's own and the World pages them; a partner's tenants are filtered here.
func (s *Simulator) visible(ctx context.Context, tenant string, offset, limit int) ([]Account, int, error) {
	s.mu.Lock()
	partner := len(s.customers) > 0
	s.mu.Unlock()
	if !partner {
		page, err := s.opts.World.page(ctx, offset, limit)
		if err != nil {
			return nil, 0, err
		}
		total, err := s.opts.World.count(ctx)
		return page, total, err
	}
	all, err := s.opts.World.page(ctx, 0, math.MaxInt32)
	if err != nil {
		return nil, 0, err
	}
	s.mu.Lock()
	mine := all[:0]
	for _, a := range all {
		if s.tenantOf[a.OwnerID] == tenant {
			mine = append(mine, a)
		}
	}
	s.mu.Unlock()
	if offset >= len(mine) {
		return nil, len(mine), nil
	}
	return mine[offset:min(len(mine), offset+limit)], len(mine), nil
}

func (s *Simulator) list(w http.ResponseWriter, r *http.Request) {
	page, perPage, ok := s.pageParams(w, r)
	if !ok {
		return
	}
	accounts, total, err := s.visible(r.Context(), r.URL.Query().Get("client_api_id"), (page-1)*perPage, perPage)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "state unavailable")
		return
	}
	out := struct {
		Accounts []wireAccount `json:"aws_accounts"`
	}{Accounts: []wireAccount{}}
	wires, err := s.toWire(r.Context(), accounts)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "state unavailable")
		return
	}
	out.Accounts = append(out.Accounts, wires...)
	s.count(func(c *Counts) { c.ListPages++ })
	pageHeaders(w, r, page, perPage, total)
	writeJSON(w, http.StatusOK, out)
}

func (s *Simulator) get(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		writeError(w, http.StatusNotFound, "Record not found")
		return
	}
	a, found, err := s.opts.World.get(r.Context(), id)
	switch {
	case err != nil:
		writeError(w, http.StatusInternalServerError, "state unavailable")
	case !found || s.customerOf(a.OwnerID) != r.URL.Query().Get("client_api_id"):
		writeError(w, http.StatusNotFound, "Record not found")
	default:
		wires, err := s.toWire(r.Context(), []Account{a})
		if err != nil {
			writeError(w, http.StatusInternalServerError, "state unavailable")
			return
		}
		s.count(func(c *Counts) { c.Gets++ })
		writeJSON(w, http.StatusOK, wires[0])
	}
}

// generateExternalID answers the tenant's external id whatever the id in the path: the guide generates one per
// customer, and public clients send a literal ":id".
func (s *Simulator) generateExternalID(w http.ResponseWriter, r *http.Request) {
	s.count(func(c *Counts) { c.ExternalIDs++ })
	writeJSON(w, http.StatusOK, map[string]string{"generated_external_id": s.ExternalID(r.URL.Query().Get("client_api_id"))})
}

// wireAssignment is one entry of /v2/aws_account_assignments.
type wireAssignment struct {
	ID                   int64    `json:"id"`
	OwnerID              string   `json:"owner_id"`
	TargetClientAPIID    string   `json:"target_client_api_id"`
	PayerAccountOwnerID  *string  `json:"payer_account_owner_id"`
	BillingFamilyOwnerID *string  `json:"billing_family_owner_id"`
	BillingBlockType     string   `json:"billing_block_type"`
	BillingBlockName     string   `json:"billing_block_name"`
	Errors               []string `json:"errors"`
}

// assignments lists a partner's assignments of accounts to its customers (one customer's with
// target_client_api_id). It is a partner-level endpoint: client_api_id has no place on it.
func (s *Simulator) assignments(w http.ResponseWriter, r *http.Request) {
	page, perPage, ok := s.pageParams(w, r)
	if !ok {
		return
	}
	target := r.URL.Query().Get("target_client_api_id")
	if target != "" && !s.isCustomer(target) {
		writeError(w, http.StatusNotFound, "Record not found")
		return
	}
	all, err := s.opts.World.page(r.Context(), 0, math.MaxInt32)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "state unavailable")
		return
	}
	var out []wireAssignment
	s.mu.Lock()
	for _, a := range all {
		t, assigned := s.tenantOf[a.OwnerID]
		if !assigned || (target != "" && t != target) {
			continue
		}
		as := wireAssignment{ID: a.ID, OwnerID: a.OwnerID, TargetClientAPIID: t, Errors: []string{}}
		switch payer := a.PayerAccountID; {
		case payer == "":
			as.BillingBlockType = cloudhealth.TypeStandalone
		case payer == a.OwnerID:
			as.BillingBlockType, as.PayerAccountOwnerID, as.BillingFamilyOwnerID = cloudhealth.TypeStandalone, &payer, &payer
			as.BillingBlockName = a.Name
		default:
			as.BillingBlockType, as.PayerAccountOwnerID, as.BillingFamilyOwnerID = "Family", &payer, &payer
			as.BillingBlockName = PayerName(payer)
		}
		out = append(out, as)
	}
	s.mu.Unlock()
	total := len(out)
	from := min((page-1)*perPage, total)
	body := struct {
		Assignments []wireAssignment `json:"aws_account_assignments"`
	}{Assignments: append([]wireAssignment{}, out[from:min(total, from+perPage)]...)}
	s.count(func(c *Counts) { c.AssignmentPages++ })
	pageHeaders(w, r, page, perPage, total)
	writeJSON(w, http.StatusOK, body)
}

// pageHeaders writes X-Total, X-Per-Page and, when the result spans pages, a Link header with the relations that
// exist.
func pageHeaders(w http.ResponseWriter, r *http.Request, page, perPage, total int) {
	w.Header().Set("X-Total", strconv.Itoa(total))
	w.Header().Set("X-Per-Page", strconv.Itoa(perPage))
	last := max(1, (total+perPage-1)/perPage)
	if last == 1 {
		return
	}
	link := func(p int, rel string) string {
		u := *r.URL
		q := u.Query()
		q.Set("page", strconv.Itoa(p))
		q.Del("api_key")
		u.RawQuery = q.Encode()
		return fmt.Sprintf(`<%s>; rel="%s"`, (&url.URL{Path: u.Path, RawQuery: u.RawQuery}).String(), rel)
	}
	rels := []string{link(1, "first")}
	if page > 1 {
		rels = append(rels, link(min(page-1, last), "prev"))
	}
	if page < last {
		rels = append(rels, link(page+1, "next"))
	}
	rels = append(rels, link(last, "last"))
	w.Header().Set("Link", strings.Join(rels, ", "))
}

// wireAccount is the JSON CloudHealth documents for an AWS account: nothing more.
type wireAccount struct {
	ID          int64   `json:"id"`
	Name        string  `json:"name"`
	AmazonName  string  `json:"amazon_name"`
	OwnerID     string  `json:"owner_id"`
	AccountType string  `json:"account_type"`
	ClusterName *string `json:"cluster_name"`
	VPCOnly     bool    `json:"vpc_only"`
	Region      string  `json:"region"`
	Status      struct {
		Level      string `json:"level"`
		LastUpdate string `json:"last_update"`
	} `json:"status"`
	Authentication struct {
		Protocol             string `json:"protocol"`
		AssumeRoleArn        string `json:"assume_role_arn,omitempty"`
		AssumeRoleExternalID string `json:"assume_role_external_id,omitempty"`
	} `json:"authentication"`
	Billing struct {
		Bucket         *string `json:"bucket"`
		IsConsolidated bool    `json:"is_consolidated"`
	} `json:"billing"`
	CostAndUsageReport struct {
		Bucket *string `json:"bucket"`
		Path   *string `json:"path"`
	} `json:"cost_and_usage_report"`
	Tags      []struct{} `json:"tags"`
	Groups    []struct{} `json:"groups"`
	CreatedAt string     `json:"created_at"`
	UpdatedAt string     `json:"updated_at"`
}

// toWire renders accounts as CloudHealth documents them. The payer shows only as documented: a member is Linked
// with cluster_name the payer's name; a payer with members is Consolidated (billing.is_consolidated) and one
// without is Standalone, both with their own name as cluster_name; an account not placed yet is Unknown with no
// cluster_name.
func (s *Simulator) toWire(ctx context.Context, accounts []Account) ([]wireAccount, error) {
	var payers []string
	for _, a := range accounts {
		if a.PayerAccountID != "" && !slices.Contains(payers, a.PayerAccountID) {
			payers = append(payers, a.PayerAccountID)
		}
	}
	byOwner, heads, err := s.opts.World.byOwner(ctx, payers)
	if err != nil {
		return nil, err
	}
	out := make([]wireAccount, 0, len(accounts))
	for _, a := range accounts {
		var w wireAccount
		w.ID, w.Name, w.AmazonName, w.OwnerID, w.Region = a.ID, a.Name, a.Name, a.OwnerID, "global"
		switch {
		case a.PayerAccountID == "":
			w.AccountType = cloudhealth.TypeUnknown
		case a.PayerAccountID == a.OwnerID && heads[a.OwnerID]:
			w.AccountType, w.ClusterName, w.Billing.IsConsolidated = cloudhealth.TypeConsolidated, &a.Name, true
		case a.PayerAccountID == a.OwnerID:
			w.AccountType, w.ClusterName = cloudhealth.TypeStandalone, &a.Name
		default:
			name := PayerName(a.PayerAccountID)
			if p, ok := byOwner[a.PayerAccountID]; ok {
				name = p.Name
			}
			w.AccountType, w.ClusterName = cloudhealth.TypeLinked, &name
		}
		w.Status.Level = a.Level
		w.Status.LastUpdate = a.LastUpdate.UTC().Format(time.RFC3339)
		w.Authentication.Protocol = cloudhealth.ProtocolAccessKey
		if a.RoleArn != "" {
			w.Authentication.Protocol = cloudhealth.ProtocolAssumeRole
			w.Authentication.AssumeRoleArn = a.RoleArn
			w.Authentication.AssumeRoleExternalID = a.ExternalID
		}
		w.Tags, w.Groups = []struct{}{}, []struct{}{}
		w.CreatedAt = a.CreatedAt.UTC().Format(time.RFC3339)
		w.UpdatedAt = a.UpdatedAt.UTC().Format(time.RFC3339)
		out = append(out, w)
	}
	return out, nil
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

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
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
