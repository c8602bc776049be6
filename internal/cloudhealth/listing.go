package cloudhealth

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
)

// DefaultResumeFor is how long a listing stopped midway may be resumed: pages read longer ago than that are
// dropped and the listing starts again at page 1, so a snapshot never mixes views far apart in time.
const DefaultResumeFor = 30 * time.Minute

// Listing reads one tenant's whole account list (and, for a partner's customer, its assignments) page by page,
// and keeps its place across failures and calls: a pass stopped by a 429 that outlasted its waits, a 5xx or a
// deadline continues at the page it stopped on at the next call instead of starting again at page 1. That is
// what lets a tenant larger than one budget window (30 pages at 30 requests a minute) finish at all. The last
// complete listing stays available as a Snapshot, so that other callers (setup, validation) never list again.
// It is safe for concurrent use; calls run one at a time.
type Listing struct {
	client    *Client
	tenant    string
	resumeFor time.Duration

	mu    sync.Mutex
	round *round
	last  *Snapshot
}

// round is one listing in progress.
type round struct {
	started      time.Time
	touched      time.Time // when a page was last read
	accounts     []Account
	seen         map[int64]bool
	nextPage     int // the next page of /v1/aws_accounts to read; 0 once all are read
	assignments  []Assignment
	nextAssigned int // the next page of assignments; 0 once all are read (or not needed)
	firstID      int64
	pages        []string // the pages read, in order ("accounts 1", "assignments 1", ...), for the snapshot
}

// NewListing returns the listing of one tenant ("" for the key's own; a client_api_id for a partner's customer,
// whose payers come from the partner's assignments).
func NewListing(c *Client, tenant string) *Listing {
	return &Listing{client: c, tenant: tenant, resumeFor: DefaultResumeFor}
}

// Tenant returns the tenant the listing reads.
func (l *Listing) Tenant() string { return l.tenant }

// Last returns the last complete snapshot, or nil before the first.
func (l *Listing) Last() *Snapshot {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.last
}

// Progress tells where an unfinished listing stands: the next page of accounts and of assignments to read (0 when
// done or not needed), and the accounts read so far; all zero when no listing is under way.
func (l *Listing) Progress() (nextPage, nextAssignmentsPage, accounts int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.round == nil {
		return 0, 0, 0
	}
	return l.round.nextPage, l.round.nextAssigned, len(l.round.accounts)
}

// Next continues the listing until it is complete and returns the new snapshot. On an error the pages read so far
// are kept, and the next call goes on from the page that failed.
func (l *Listing) Next(ctx context.Context) (*Snapshot, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.client.opts.Clock.Now()
	if l.round != nil && now.Sub(l.round.touched) > l.resumeFor {
		l.round = nil
	}
	if l.round == nil {
		l.round = &round{started: now, touched: now, seen: map[int64]bool{}, nextPage: 1}
		if l.tenant != "" {
			l.round.nextAssigned = 1
		}
	}
	r := l.round
	for r.nextPage > 0 {
		accounts, info, err := l.client.AccountsPage(ctx, l.tenant, r.nextPage)
		if err != nil {
			return nil, err
		}
		// A server that ignored ?page= would serve the first page forever.
		if len(accounts) > 0 {
			if r.nextPage > 1 && accounts[0].ID == r.firstID {
				return nil, fmt.Errorf("cloudhealth: list aws accounts%s: page %d repeats page 1", tenantText(l.tenant), r.nextPage)
			}
			if r.nextPage == 1 {
				r.firstID = accounts[0].ID
			}
		}
		for _, a := range accounts {
			// An account created while the pages are read can shift one onto the next page: keep it once.
			if !r.seen[a.ID] {
				r.seen[a.ID] = true
				r.accounts = append(r.accounts, a)
			}
		}
		r.pages = append(r.pages, fmt.Sprintf("accounts %d", r.nextPage))
		r.touched = l.client.opts.Clock.Now()
		r.nextPage++
		if info.Last() {
			r.nextPage = 0
		}
	}
	for r.nextAssigned > 0 {
		assigned, info, err := l.client.AssignmentsPage(ctx, l.tenant, r.nextAssigned)
		if err != nil {
			return nil, err
		}
		r.assignments = append(r.assignments, assigned...)
		r.pages = append(r.pages, fmt.Sprintf("assignments %d", r.nextAssigned))
		r.touched = l.client.opts.Clock.Now()
		r.nextAssigned++
		if info.Last() {
			r.nextAssigned = 0
		}
	}
	snap := NewSnapshot(l.tenant, r.accounts, r.assignments, l.client.opts.Clock.Now())
	snap.Started, snap.Pages = r.started, r.pages
	l.last, l.round = snap, nil
	return snap, nil
}

// Snapshot is one complete listing of a tenant: every account, and where CloudHealth's documented fields place
// each under a payer.
type Snapshot struct {
	Tenant   string
	Started  time.Time // when the listing's first page was read
	Taken    time.Time // when its last page was read
	Pages    []string  // the pages read, in order
	accounts map[string]Account
	placed   map[string]Placement
	assigned []Assignment // the partner's assignments read with it, to place an account read again (With)
}

// Placement is the payer CloudHealth's documented fields give an account.
type Placement struct {
	PayerID   string // the payer's 12-digit AWS account id; "" when the fields give none ("Payer N/A")
	PayerName string // the payer's name (cluster_name), when known
	// Reason says why PayerID is empty, or where it came from, in words a reseller can check in CloudHealth.
	Reason string
}

// NewSnapshot derives every account's payer from a complete listing. For a customer key the guide documents the
// payer by name only: a member reads account_type Linked and cluster_name, the payer account's name; the payer's
// own record in the same list (account_type Consolidated, billing.is_consolidated true) carries its owner_id; a
// standalone account is its own payer. So the names of the Consolidated records are mapped to their owner ids over
// the whole listing (never page by page: the payer's record can be on any page). For a partner's customer the
// assignment's billing_family_owner_id is the AWS payer, and wins when there is one.
func NewSnapshot(tenant string, accounts []Account, assignments []Assignment, taken time.Time) *Snapshot {
	s := &Snapshot{Tenant: tenant, Taken: taken, accounts: make(map[string]Account, len(accounts)),
		placed: make(map[string]Placement, len(accounts)), assigned: assignments}
	for _, a := range accounts {
		if a.OwnerID == "" {
			continue // not discovered from the bills yet: nothing to match an invite against
		}
		// CloudHealth may list an AWS account twice; the most recently updated entry is its current word.
		if prev, ok := s.accounts[a.OwnerID]; !ok || a.UpdatedAt.After(prev.UpdatedAt) {
			s.accounts[a.OwnerID] = a
		}
	}
	// The payers by name. The guide says cluster_name is "the payer account's name" without saying which of the
	// two names: name (set in CloudHealth) is matched first, then amazon_name (from the bills), inferred.
	byName, byAmazonName := map[string][]Account{}, map[string][]Account{}
	for _, a := range s.accounts {
		if a.Consolidated() {
			byName[a.Name] = append(byName[a.Name], a)
			if a.AmazonName != "" && a.AmazonName != a.Name {
				byAmazonName[a.AmazonName] = append(byAmazonName[a.AmazonName], a)
			}
		}
	}
	family := map[string]Assignment{}
	for _, as := range assignments {
		if as.OwnerID != "" && (tenant == "" || as.TargetClientAPIID == "" || as.TargetClientAPIID == tenant) {
			family[as.OwnerID] = as
		}
	}
	for owner, a := range s.accounts {
		p := placeByName(a, byName, byAmazonName)
		if as, ok := family[owner]; ok {
			if as.BillingFamilyOwnerID != "" {
				p = Placement{PayerID: as.BillingFamilyOwnerID, PayerName: a.ClusterName,
					Reason: "the partner assignment's billing_family_owner_id"}
			} else if p.PayerID == "" {
				p.Reason = "the partner assignment names no billing family, and " + p.Reason
			}
		}
		s.placed[owner] = p
	}
	return s
}

// placeByName applies the customer-key rule to one account.
func placeByName(a Account, byName, byAmazonName map[string][]Account) Placement {
	switch {
	case a.Consolidated():
		return Placement{PayerID: a.OwnerID, PayerName: a.Name, Reason: "the account is a payer (Consolidated)"}
	case strings.EqualFold(a.AccountType, TypeStandalone):
		return Placement{PayerID: a.OwnerID, PayerName: a.ClusterName, Reason: "a standalone account is its own payer"}
	case strings.EqualFold(a.AccountType, TypeUnknown):
		return Placement{Reason: "CloudHealth has not discovered the account from a bill yet (account_type Unknown)"}
	case a.ClusterName == "":
		return Placement{Reason: fmt.Sprintf("CloudHealth names no payer for the account (account_type %q, no cluster_name)", a.AccountType)}
	}
	// Linked, or a type this code does not know: cluster_name names the payer.
	matches := byName[a.ClusterName]
	if len(matches) == 0 {
		matches = byAmazonName[a.ClusterName]
	}
	switch len(matches) {
	case 0:
		return Placement{PayerName: a.ClusterName,
			Reason: fmt.Sprintf("no Consolidated record named %q in the list", a.ClusterName)}
	case 1:
		if matches[0].OwnerID == "" {
			return Placement{PayerName: a.ClusterName,
				Reason: fmt.Sprintf("the Consolidated record named %q has no owner_id yet", a.ClusterName)}
		}
		return Placement{PayerID: matches[0].OwnerID, PayerName: a.ClusterName,
			Reason: fmt.Sprintf("cluster_name %q is the Consolidated record of %s", a.ClusterName, matches[0].OwnerID)}
	}
	ids := make([]string, 0, len(matches))
	for _, m := range matches {
		ids = append(ids, m.OwnerID)
	}
	return Placement{PayerName: a.ClusterName,
		Reason: fmt.Sprintf("%d Consolidated records are named %q (%s): the payer is ambiguous", len(matches), a.ClusterName, strings.Join(ids, ", "))}
}

// Account returns the account of a 12-digit AWS account id, if the listing has it.
func (s *Snapshot) Account(ownerID string) (Account, bool) {
	a, ok := s.accounts[ownerID]
	return a, ok
}

// Placement returns the payer the documented fields give an account; ok is false when the listing lacks it.
func (s *Snapshot) Placement(ownerID string) (Placement, bool) {
	p, ok := s.placed[ownerID]
	return p, ok
}

// With returns the snapshot with one account read again (GET /v1/aws_accounts/:id), placed by the same rules
// against the rest of the listing; s itself is unchanged.
func (s *Snapshot) With(a Account) *Snapshot {
	accounts := make([]Account, 0, len(s.accounts))
	for owner, old := range s.accounts {
		if owner != a.OwnerID {
			accounts = append(accounts, old)
		}
	}
	out := NewSnapshot(s.Tenant, append(accounts, a), s.assigned, s.Taken)
	out.Started, out.Pages = s.Started, s.Pages
	return out
}

// Len returns how many AWS accounts the snapshot holds.
func (s *Snapshot) Len() int { return len(s.accounts) }

// Owners calls fn for every AWS account of the snapshot.
func (s *Snapshot) Owners(fn func(Account, Placement)) {
	for owner, a := range s.accounts {
		fn(a, s.placed[owner])
	}
}
