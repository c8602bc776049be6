package orgsim

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Options configures a Sim. The zero value is usable.
type Options struct {
	// Clock tells the simulator's time; time.Now when nil.
	Clock func() time.Time
	// ClockOf, when set, tells the time of a call as the calling account sees it (the sandbox's payers can have
	// test clocks of their own); Clock when nil.
	ClockOf func(ctx context.Context, account string) time.Time
	// MaxAccounts is the accounts quota of every organization (management account, members and OPEN invitations);
	// 10 when zero.
	MaxAccounts int
	// MaxInvitesPerDay is how many invitations (accepted ones excepted) an organization may send in any 24 hours;
	// 20 when zero.
	MaxInvitesPerDay int
	// Conventions turns on the sandbox conventions on account ids (see the package documentation).
	Conventions bool
	// Store keeps the simulated world; NewMemoryStore() when nil.
	World World
}

// Sim is the simulator: an http.Handler speaking AWS Organizations' JSON 1.1 protocol. It is safe for concurrent
// use.
type Sim struct {
	opts Options

	mu     sync.Mutex
	faults []*Fault
	calls  map[string]int
	total  int
}

// New returns a simulator with the given options.
func New(opts Options) *Sim {
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.MaxAccounts <= 0 {
		opts.MaxAccounts = 10
	}
	if opts.MaxInvitesPerDay <= 0 {
		opts.MaxInvitesPerDay = 20
	}
	if opts.World == nil {
		opts.World = NewMemoryStore()
	}
	return &Sim{opts: opts, calls: map[string]int{}}
}

// now is the simulator's time as every store keeps it: UTC, to the microsecond (PostgreSQL's precision).
func (s *Sim) now() time.Time { return s.opts.Clock().UTC().Truncate(time.Microsecond) }

// AccessKeyFor returns an access key id that the simulator reads as the given account's.
func AccessKeyFor(accountID string) string { return "AKIASIM" + accountID }

// Fault makes calls fail or slow down; see Sim.Inject.
type Fault struct {
	// Op is the operation name the fault applies to (e.g. "InviteAccountToOrganization"); empty for any.
	Op string
	// Times is how many calls the fault hits; zero or less means every matching call until ClearFaults.
	Times int
	// Code is the error code to answer with (e.g. "TooManyRequestsException"); empty for none.
	Code string
	// Status is the HTTP status of the error; when zero, the status AWS models for Code (400 for
	// TooManyRequestsException and ConcurrentModificationException).
	Status int
	// Message, Reason and Type fill the error's members.
	Message string
	Reason  string
	Type    string
	// Latency delays the answer (or the dropped connection).
	Latency time.Duration
	// Drop closes the connection without answering.
	Drop bool
	// Applied makes the call take effect before the fault answers, as when AWS did the work but its answer was
	// lost; otherwise the fault answers instead of doing the work.
	Applied bool
}

// Inject adds a fault; faults are tried in the order they were added and the first matching one hits.
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

// Calls returns how many calls of the operation the simulator received.
func (s *Sim) Calls(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

// TotalCalls returns how many operation calls the simulator received.
func (s *Sim) TotalCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

// count records a call and returns the fault that hits it, if any.
func (s *Sim) count(op string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[op]++
	s.total++
	for i, f := range s.faults {
		if f.Op != "" && f.Op != op {
			continue
		}
		hit := *f
		if f.Times > 0 {
			f.Times--
			if f.Times == 0 {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			}
		}
		return &hit
	}
	return nil
}

// AddMember makes accountID a member of mgmt's organization, as if it had joined at the given time
// (joinedMethod INVITED or CREATED); it leaves any other organization.
func (s *Sim) AddMember(mgmt, accountID, joinedMethod string, at time.Time) error {
	return s.update(func(t tx, now time.Time) error {
		if err := lockOrgs(t, now, mgmt, accountID); err != nil {
			return err
		}
		return join(t, mgmt, accountID, joinedMethod, at.UTC().Truncate(time.Microsecond))
	})
}

// RemoveMember removes accountID from mgmt's organization, as if it had left.
func (s *Sim) RemoveMember(mgmt, accountID string) error {
	return s.update(func(t tx, _ time.Time) error { return t.deleteMember(mgmt, accountID) })
}

// PutAccount describes an account: its name, email and state, the organization it belongs to or manages, and how
// invitations of it or by it behave. It replaces the sandbox conventions for that account id.
func (s *Sim) PutAccount(id string, a Account) error {
	return s.update(func(t tx, now time.Time) error {
		locks := append([]string{id}, a.Members...)
		if a.MemberOf != "" {
			locks = append(locks, a.MemberOf)
		}
		if err := lockOrgs(t, now, locks...); err != nil {
			return err
		}
		if a.MemberOf != "" {
			if err := join(t, a.MemberOf, id, "INVITED", now); err != nil {
				return err
			}
		}
		for _, m := range a.Members {
			if err := join(t, id, m, "CREATED", now); err != nil {
				return err
			}
		}
		a.MemberOf, a.Members = "", nil
		return t.putAccount(id, a)
	})
}

func (s *Sim) update(fn func(t tx, now time.Time) error) error {
	now := s.now() // before the transaction, as in handle
	return s.opts.World.transact(context.Background(), func(t tx) error { return fn(t, now) })
}

var supported = map[string]bool{
	"InviteAccountToOrganization":   true,
	"ListHandshakesForOrganization": true,
	"DescribeHandshake":             true,
	"CancelHandshake":               true,
	"AcceptHandshake":               true,
	"DeclineHandshake":              true,
	"DescribeAccount":               true,
	"DescribeOrganization":          true,
	"ListAccounts":                  true,
	"CloseAccount":                  true,

	"InviteOrganizationToTransferResponsibility": true,
	"ListInboundResponsibilityTransfers":         true,
	"ListOutboundResponsibilityTransfers":        true,
	"DescribeResponsibilityTransfer":             true,
	"TerminateResponsibilityTransfer":            true,
}

// ServeHTTP answers one AWS JSON 1.1 request.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("x-amzn-RequestId", uuid.NewString())
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), targetPrefix)
	if r.Method != http.MethodPost || !ok || !supported[op] {
		writeError(w, newError("UnknownOperationException", "the simulator does not implement %q",
			r.Header.Get("X-Amz-Target")))
		return
	}
	f := s.count(op)
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return // the client is gone
	}
	if f != nil && f.Latency > 0 {
		t := time.NewTimer(f.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	failing := f != nil && (f.Drop || f.Code != "")
	if failing && !f.Applied {
		answerFault(w, f)
		return
	}
	out, apiErr := s.handle(r.Context(), op, callerOf(r), body)
	if failing {
		answerFault(w, f)
		return
	}
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func answerFault(w http.ResponseWriter, f *Fault) {
	if f.Drop {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return
			}
		}
		// Without a hijackable connection the closest thing is aborting the handler, which net/http turns into
		// a reset connection.
		panic(http.ErrAbortHandler)
	}
	e := newError(f.Code, "%s", f.Message)
	if f.Message == "" {
		e.Message = "injected " + f.Code
	}
	if f.Status != 0 {
		e.Status = f.Status
	}
	e.Reason, e.Type = f.Reason, f.Type
	if e.Code == "TooManyRequestsException" && e.Type == "" {
		e.Type = "RateLimit"
	}
	writeError(w, e)
}

var credentialRE = regexp.MustCompile(`Credential=([A-Za-z0-9]+)/`)
var accountIDRE = regexp.MustCompile(`^\d{12}$`)

// callerOf reads the caller's account id from the SigV4 Authorization header; empty when unknown.
func callerOf(r *http.Request) string {
	m := credentialRE.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil || len(m[1]) < 12 {
		return ""
	}
	id := m[1][len(m[1])-12:]
	if !accountIDRE.MatchString(id) {
		return ""
	}
	return id
}

// handle runs one operation in one transaction of the store. An answer that is an AWS error commits too: what
// the operation did before it refused (creating the caller's organization, say) is what AWS would keep.
func (s *Sim) handle(ctx context.Context, op, caller string, body []byte) (any, *apiError) {
	if caller == "" {
		return nil, newError("AccessDeniedException",
			"You don't have permissions to access this resource: the request is not signed with a known access key.")
	}
	in, apiErr := decodeInput(op, body)
	if apiErr != nil {
		return nil, apiErr
	}
	var out any
	// The time is read before the transaction begins: the sandbox's clock reads the same database, and on SQLite
	// the transaction holds its only connection, so a clock read inside it would wait for itself forever.
	now := s.now()
	if s.opts.ClockOf != nil {
		now = s.opts.ClockOf(ctx, caller).UTC().Truncate(time.Microsecond)
	}
	err := s.opts.World.transact(ctx, func(t tx) error {
		c := &call{sim: s, tx: t, now: now, caller: caller}
		var err error
		out, err = c.dispatch(op, in)
		if errors.As(err, &apiErr) {
			return nil
		}
		return err
	})
	if err != nil {
		return nil, newError("ServiceException", "the simulator could not keep its state: %v", err)
	}
	return out, apiErr
}

func decodeInput(op string, body []byte) (any, *apiError) {
	var in any
	switch op {
	case "InviteAccountToOrganization":
		in = &inviteInput{}
	case "ListHandshakesForOrganization":
		in = &listInput{}
	case "DescribeHandshake", "CancelHandshake", "AcceptHandshake", "DeclineHandshake":
		in = &handshakeInput{}
	case "DescribeAccount", "CloseAccount":
		in = &accountInput{}
	case "ListAccounts":
		in = &pageInput{}
	case "InviteOrganizationToTransferResponsibility":
		in = &transferInviteInput{}
	case "ListInboundResponsibilityTransfers", "ListOutboundResponsibilityTransfers":
		in = &transferListInput{}
	case "DescribeResponsibilityTransfer", "TerminateResponsibilityTransfer":
		in = &transferInput{}
	default:
		return nil, nil
	}
	if len(body) == 0 {
		body = []byte("{}")
	}
	if err := json.Unmarshal(body, in); err != nil {
		return nil, newError("SerializationException", "the request body is not valid JSON for %s", op)
	}
	return in, nil
}

// newID returns a fresh random id with the prefix (h- for handshakes, rt- for transfers) and 12 lowercase letters
// or digits, as both patterns want; random rather than sequential so that Sims sharing a store, or restarted,
// cannot collide.
func newID(prefix string) (string, error) {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("read random id: %w", err)
	}
	for i := range b {
		b[i] = alnum[int(b[i])%len(alnum)]
	}
	return prefix + string(b), nil
}
