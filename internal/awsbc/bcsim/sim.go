// Package bcsim is a wire-level simulator of AWS Billing Conductor for tests and the sandbox: it speaks the
// REST-JSON protocol of service/billingconductor (model billingconductor/2021-07-30) for the calls the service makes
// (AssociateAccounts, DisassociateAccounts, ListAccountAssociations, ListBillingGroups), so the real SDK client
// talks to it over HTTP.
//
// Sources: ../shared/spec/billing-conductor.md (the operations, rules and errors the service relies on) and the
// SDK's own model in service/billingconductor v1.32.6 (api_op_*.go for the members, serializers.go and
// deserializers.go for the wire format, types/errors.go and types/enums.go for the errors and their reasons).
//
// What it holds to, from those: at most 30 accounts per AssociateAccounts or
// DisassociateAccounts call (TOO_MANY_ACCOUNTS_IN_REQUEST); an account belongs to one billing group at a time in a
// billing period (ACCOUNTS_ALREADY_ASSOCIATED); only accounts of the payer's consolidated billing family can be
// associated (ILLEGAL_ACCOUNTS), which it asks Options.InFamily; a call either applies whole or not at all. A payer
// (the caller, read from the SigV4 access key as orgsim does) sees only its own groups.
//
// Inferred, where AWS documents nothing: how long after an account joins AWS accepts it (RefuseUntil makes the
// simulator refuse an account with ILLEGAL_ACCOUNTS until a time of the test's choosing); associating an account
// with the group it is already in is refused with ACCOUNTS_ALREADY_ASSOCIATED like any other group; associations
// carry over into the next billing period until changed; ListAccountAssociations pages hold 20 accounts, and it
// lists the accounts groups hold plus those asked for by id that are in the family (the simulator cannot enumerate
// a billing family, which AWS lists whole).
package bcsim

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Group is a billing group as the simulator holds it.
type Group struct {
	Arn           string
	Name          string
	Payer         string // the payer's management account, the account in the ARN
	Status        string // ACTIVE, PRIMARY_ACCOUNT_MISSING or PENDING
	Type          string // STANDARD or TRANSFER_BILLING
	AutoAssociate bool
}

// Options configures a Sim.
type Options struct {
	// Clock is the time (the billing period of a call is its month); time.Now when nil.
	Clock func() time.Time
	// InFamily reports whether an account is in the payer's consolidated billing family; every account is when nil.
	// In tests and the sandbox it asks the Organizations simulator (through the SDK) whether the account is a member.
	InFamily func(ctx context.Context, payer, accountID string) (bool, error)
	// Conventions (the sandbox): a well-formed billing group ARN of the caller's account that the simulator does not
	// know is taken for an ACTIVE STANDARD group of the caller, created on first sight, so an operator can name any
	// group on a profile.
	Conventions bool
}

// Fault makes the calls of one operation fail; see Sim.Inject.
type Fault struct {
	Op     string // the operation, e.g. "AssociateAccounts"; every operation when empty
	Code   string // ThrottlingException, ConflictException, InternalServerException, ...
	Reason string // ConflictException's or ValidationException's reason
	Times  int    // how many calls fail; every call when 0
}

// Sim is the simulator: an http.Handler. It is safe for concurrent use.
type Sim struct {
	opts Options

	mu      sync.Mutex
	groups  map[string]*Group
	periods map[string]map[string]string // billing period -> account -> group ARN
	refuse  map[string]time.Time         // account -> refused with ILLEGAL_ACCOUNTS until
	calls   map[string]int
	faults  []*Fault
	seq     int
}

// New returns a simulator.
func New(opts Options) *Sim {
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	return &Sim{opts: opts, groups: map[string]*Group{}, periods: map[string]map[string]string{},
		refuse: map[string]time.Time{}, calls: map[string]int{}}
}

// AccessKeyFor is the access key that signs as an account, the same convention as orgsim's, so one set of
// credentials serves both simulators.
func AccessKeyFor(accountID string) string { return "AKIASIM" + accountID }

// ARN is the ARN of a billing group of a payer with a numeric id, as AWS writes it.
func ARN(payer, id string) string {
	return "arn:aws:billingconductor::" + payer + ":billinggroup/" + id
}

var groupARN = regexp.MustCompile(`^arn:aws(-cn)?:billingconductor::(\d{12}):billinggroup/?(\d{12})$`)

// AddGroup creates a billing group of a payer (ACTIVE STANDARD unless g says otherwise) and returns its ARN.
func (s *Sim) AddGroup(payer string, g Group) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	if g.Arn == "" {
		g.Arn = ARN(payer, fmt.Sprintf("%012d", 100000000000+s.seq))
	}
	g.Payer = payer
	if g.Status == "" {
		g.Status = "ACTIVE"
	}
	if g.Type == "" {
		g.Type = "STANDARD"
	}
	if g.Name == "" {
		g.Name = "group-" + strconv.Itoa(s.seq)
	}
	s.groups[g.Arn] = &g
	return g.Arn
}

// SetStatus changes a group's status (PENDING, PRIMARY_ACCOUNT_MISSING, ACTIVE).
func (s *Sim) SetStatus(arn, status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g, ok := s.groups[arn]; ok {
		g.Status = status
	}
}

// RefuseUntil makes AssociateAccounts refuse the account with ILLEGAL_ACCOUNTS until t, as AWS does for a while
// after an account joined (how long is not documented).
func (s *Sim) RefuseUntil(accountID string, t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuse[accountID] = t
}

// GroupOf returns the group an account is associated with in the current billing period, empty for none.
func (s *Sim) GroupOf(accountID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.period(period(s.opts.Clock()))[accountID]
}

// Associate puts an account in a group directly, as an operator might in the console.
func (s *Sim) Associate(arn, accountID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.period(period(s.opts.Clock()))[accountID] = arn
}

// Inject makes calls fail as f says, until ClearFaults or f.Times calls.
func (s *Sim) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// ClearFaults removes every fault.
func (s *Sim) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// Calls returns how many requests of an operation the simulator answered (faults included).
func (s *Sim) Calls(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

func period(t time.Time) string { return t.UTC().Format("2006-01") }

// period returns the associations of a billing period; a period not yet written starts from the latest earlier
// one (associations carry over until changed). The caller holds mu.
func (s *Sim) period(p string) map[string]string {
	if m, ok := s.periods[p]; ok {
		return m
	}
	var prev string
	for q := range s.periods {
		if q < p && q > prev {
			prev = q
		}
	}
	m := map[string]string{}
	for k, v := range s.periods[prev] {
		m[k] = v
	}
	s.periods[p] = m
	return m
}

var ops = map[string]string{
	"/associate-accounts":        "AssociateAccounts",
	"/disassociate-accounts":     "DisassociateAccounts",
	"/list-account-associations": "ListAccountAssociations",
	"/list-billing-groups":       "ListBillingGroups",
}

var credentialRE = regexp.MustCompile(`Credential=AKIASIM(\d{12})/`)

// ServeHTTP answers one REST-JSON request.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op, ok := ops[r.URL.Path]
	if !ok || r.Method != http.MethodPost {
		writeError(w, apiErr(http.StatusNotFound, "UnknownOperationException", "", "no such operation"))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeError(w, apiErr(http.StatusBadRequest, "ValidationException", "", "unreadable body"))
		return
	}
	if f := s.count(op); f != nil {
		writeError(w, faultErr(f))
		return
	}
	m := credentialRE.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil {
		writeError(w, apiErr(http.StatusForbidden, "AccessDeniedException", "", "the request is not signed with a known access key"))
		return
	}
	out, e := s.handle(r.Context(), op, m[1], body)
	if e != nil {
		writeError(w, e)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

func (s *Sim) count(op string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[op]++
	for i, f := range s.faults {
		if f.Op != "" && f.Op != op {
			continue
		}
		if f.Times > 0 {
			f.Times--
			if f.Times == 0 {
				s.faults = slices.Delete(s.faults, i, i+1)
			}
		}
		cp := *f
		return &cp
	}
	return nil
}

func (s *Sim) handle(ctx context.Context, op, caller string, body []byte) (any, *apiError) {
	switch op {
	case "AssociateAccounts", "DisassociateAccounts":
		var in struct {
			Arn        string   `json:"Arn"`
			AccountIds []string `json:"AccountIds"`
		}
		if err := json.Unmarshal(body, &in); err != nil {
			return nil, validation("", "malformed request")
		}
		if op == "AssociateAccounts" {
			return s.associate(ctx, caller, in.Arn, in.AccountIds)
		}
		return s.disassociate(caller, in.Arn, in.AccountIds)
	case "ListAccountAssociations":
		var in struct {
			BillingPeriod string `json:"BillingPeriod"`
			Filters       struct {
				Association string   `json:"Association"`
				AccountId   string   `json:"AccountId"`
				AccountIds  []string `json:"AccountIds"`
			} `json:"Filters"`
			NextToken string `json:"NextToken"`
		}
		if err := json.Unmarshal(body, &in); err != nil {
			return nil, validation("", "malformed request")
		}
		return s.listAssociations(ctx, caller, in.BillingPeriod, in.Filters.Association, in.Filters.AccountId, in.Filters.AccountIds, in.NextToken)
	default:
		var in struct {
			Filters struct {
				Arns              []string `json:"Arns"`
				Statuses          []string `json:"Statuses"`
				BillingGroupTypes []string `json:"BillingGroupTypes"`
			} `json:"Filters"`
			MaxResults int    `json:"MaxResults"`
			NextToken  string `json:"NextToken"`
		}
		if err := json.Unmarshal(body, &in); err != nil {
			return nil, validation("", "malformed request")
		}
		return s.listGroups(caller, in.Filters.Arns, in.Filters.Statuses, in.Filters.BillingGroupTypes, in.MaxResults, in.NextToken)
	}
}

// group returns the caller's group with arn (the caller holds mu).
func (s *Sim) group(caller, arn string) (*Group, *apiError) {
	m := groupARN.FindStringSubmatch(arn)
	if m == nil {
		return nil, validation("", "Arn is not a billing group ARN")
	}
	g, ok := s.groups[arn]
	if !ok && s.opts.Conventions && m[2] == caller {
		g = &Group{Arn: arn, Name: "sandbox-" + m[3], Payer: caller, Status: "ACTIVE", Type: "STANDARD"}
		s.groups[arn] = g
		ok = true
	}
	if !ok || g.Payer != caller {
		return nil, apiErr(http.StatusNotFound, "ResourceNotFoundException", "", "The billing group "+arn+" does not exist.")
	}
	return g, nil
}

func checkIDs(ids []string) *apiError {
	switch {
	case len(ids) == 0:
		return validation("", "AccountIds must name at least one account")
	case len(ids) > 30:
		return validation("TOO_MANY_ACCOUNTS_IN_REQUEST", "at most 30 accounts in a request")
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			return validation("DUPLICATE_ACCOUNT", "account "+id+" is named twice")
		}
		seen[id] = true
	}
	return nil
}

func (s *Sim) associate(ctx context.Context, caller, arn string, ids []string) (any, *apiError) {
	if e := checkIDs(ids); e != nil {
		return nil, e
	}
	// Membership is asked outside the lock: it calls another simulator.
	for _, id := range ids {
		in := true
		if s.opts.InFamily != nil {
			var err error
			if in, err = s.opts.InFamily(ctx, caller, id); err != nil {
				return nil, apiErr(http.StatusInternalServerError, "InternalServerException", "", "internal error")
			}
		}
		if !in {
			return nil, validation("ILLEGAL_ACCOUNTS", "Account "+id+" is not part of the consolidated billing family.")
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, e := s.group(caller, arn)
	if e != nil {
		return nil, e
	}
	if g.Status != "ACTIVE" {
		return nil, validation("INVALID_BILLING_GROUP_STATUS", "The billing group is "+g.Status+".")
	}
	now := s.opts.Clock()
	for _, id := range ids {
		if until, ok := s.refuse[id]; ok && now.Before(until) {
			return nil, validation("ILLEGAL_ACCOUNTS", "Account "+id+" is not part of the consolidated billing family.")
		}
	}
	assoc := s.period(period(now))
	for _, id := range ids {
		if other, ok := assoc[id]; ok {
			return nil, validation("ACCOUNTS_ALREADY_ASSOCIATED", "Account "+id+" is already associated with billing group "+other+".")
		}
	}
	for _, id := range ids {
		assoc[id] = arn
	}
	return map[string]string{"Arn": arn}, nil
}

func (s *Sim) disassociate(caller, arn string, ids []string) (any, *apiError) {
	if e := checkIDs(ids); e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, e := s.group(caller, arn); e != nil {
		return nil, e
	}
	assoc := s.period(period(s.opts.Clock()))
	for _, id := range ids {
		if assoc[id] != arn {
			return nil, validation("ACCOUNTS_NOT_ASSOCIATED", "Account "+id+" is not associated with the billing group.")
		}
	}
	for _, id := range ids {
		delete(assoc, id)
	}
	return map[string]string{"Arn": arn}, nil
}

type wireLinked struct {
	AccountId       string `json:"AccountId"`
	BillingGroupArn string `json:"BillingGroupArn,omitempty"`
	AccountName     string `json:"AccountName"`
	AccountEmail    string `json:"AccountEmail"`
}

const associationsPage = 20

func (s *Sim) listAssociations(ctx context.Context, caller, p, association, accountID string, accountIDs []string, token string) (any, *apiError) {
	if p == "" {
		p = period(s.opts.Clock())
	} else if _, err := time.Parse("2006-01", p); err != nil {
		return nil, validation("", "BillingPeriod must be YYYY-MM")
	}
	if accountID != "" {
		accountIDs = append(accountIDs, accountID)
	}
	s.mu.Lock()
	assoc := s.period(p)
	var out []wireLinked
	for acct, arn := range assoc {
		if g := s.groups[arn]; g == nil || g.Payer != caller {
			continue
		}
		if len(accountIDs) > 0 && !slices.Contains(accountIDs, acct) {
			continue
		}
		if association != "" && association != "MONITORED" && association != arn {
			continue
		}
		out = append(out, wireLinked{AccountId: acct, BillingGroupArn: arn, AccountName: "account " + acct, AccountEmail: acct + "@example.com"})
	}
	s.mu.Unlock()
	// An account asked for by id that no group holds is listed unmonitored when it is in the family.
	if association == "" || association == "UNMONITORED" {
		for _, id := range accountIDs {
			if slices.ContainsFunc(out, func(l wireLinked) bool { return l.AccountId == id }) {
				continue
			}
			in := true
			if s.opts.InFamily != nil {
				var err error
				if in, err = s.opts.InFamily(ctx, caller, id); err != nil {
					return nil, apiErr(http.StatusInternalServerError, "InternalServerException", "", "internal error")
				}
			}
			if in {
				out = append(out, wireLinked{AccountId: id, AccountName: "account " + id, AccountEmail: id + "@example.com"})
			}
		}
		if association == "UNMONITORED" {
			out = slices.DeleteFunc(out, func(l wireLinked) bool { return l.BillingGroupArn != "" })
		}
	}
	slices.SortFunc(out, func(a, b wireLinked) int {
		if a.AccountId < b.AccountId {
			return -1
		}
		return 1
	})
	page, next, e := paginate(out, token, associationsPage)
	if e != nil {
		return nil, e
	}
	res := map[string]any{"LinkedAccounts": page}
	if next != "" {
		res["NextToken"] = next
	}
	return res, nil
}

type wireGroup struct {
	Arn              string         `json:"Arn"`
	Name             string         `json:"Name"`
	PrimaryAccountId string         `json:"PrimaryAccountId,omitempty"`
	Status           string         `json:"Status"`
	BillingGroupType string         `json:"BillingGroupType"`
	Size             int64          `json:"Size"`
	AccountGrouping  map[string]any `json:"AccountGrouping"`
}

func (s *Sim) listGroups(caller string, arns, statuses, types []string, maxResults int, token string) (any, *apiError) {
	if maxResults < 0 || maxResults > 100 {
		return nil, validation("", "MaxResults must be between 1 and 100")
	}
	if maxResults == 0 {
		maxResults = 100
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.opts.Conventions {
		for _, arn := range arns {
			if m := groupARN.FindStringSubmatch(arn); m != nil && m[2] == caller {
				_, _ = s.group(caller, arn)
			}
		}
	}
	size := map[string]int64{}
	for _, arn := range s.period(period(s.opts.Clock())) {
		size[arn]++
	}
	var out []wireGroup
	for _, g := range s.groups {
		if g.Payer != caller || (len(arns) > 0 && !slices.Contains(arns, g.Arn)) ||
			(len(statuses) > 0 && !slices.Contains(statuses, g.Status)) || (len(types) > 0 && !slices.Contains(types, g.Type)) {
			continue
		}
		out = append(out, wireGroup{Arn: g.Arn, Name: g.Name, PrimaryAccountId: g.Payer, Status: g.Status, BillingGroupType: g.Type,
			Size: size[g.Arn], AccountGrouping: map[string]any{"AutoAssociate": g.AutoAssociate}})
	}
	slices.SortFunc(out, func(a, b wireGroup) int {
		if a.Arn < b.Arn {
			return -1
		}
		return 1
	})
	page, next, e := paginate(out, token, maxResults)
	if e != nil {
		return nil, e
	}
	res := map[string]any{"BillingGroups": page}
	if next != "" {
		res["NextToken"] = next
	}
	return res, nil
}

func paginate[T any](all []T, token string, size int) ([]T, string, *apiError) {
	start := 0
	if token != "" {
		n, err := strconv.Atoi(token)
		if err != nil || n < 0 || n > len(all) {
			return nil, "", validation("", "invalid NextToken")
		}
		start = n
	}
	end := min(start+size, len(all))
	next := ""
	if end < len(all) {
		next = strconv.Itoa(end)
	}
	page := all[start:end]
	if page == nil {
		page = []T{}
	}
	return page, next, nil
}

type apiError struct {
	status int
	code   string
	reason string
	msg    string
}

func apiErr(status int, code, reason, msg string) *apiError {
	return &apiError{status: status, code: code, reason: reason, msg: msg}
}

func validation(reason, msg string) *apiError {
	return apiErr(http.StatusBadRequest, "ValidationException", reason, msg)
}

func faultErr(f *Fault) *apiError {
	status := map[string]int{"ThrottlingException": http.StatusTooManyRequests, "ConflictException": http.StatusConflict,
		"AccessDeniedException": http.StatusForbidden, "ResourceNotFoundException": http.StatusNotFound,
		"ValidationException": http.StatusBadRequest, "ServiceLimitExceededException": http.StatusPaymentRequired}[f.Code]
	if status == 0 {
		status = http.StatusInternalServerError
	}
	return apiErr(status, f.Code, f.Reason, "injected fault")
}

func writeError(w http.ResponseWriter, e *apiError) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-ErrorType", e.code)
	w.WriteHeader(e.status)
	body := map[string]string{"Message": e.msg}
	if e.reason != "" {
		body["Reason"] = e.reason
	}
	_ = json.NewEncoder(w).Encode(body)
}
