package invite

import (
	"context"
	"time"
)

// Store keeps billing profiles, invites and their histories. Implementations turn "not found" into CodeNotFound,
// a second open invite for one (billing profile, account) into CodeSendInProgress... see each method.
type Store interface {
	// PutBillingProfile creates or replaces a billing profile; it reports whether it was created.
	PutBillingProfile(ctx context.Context, bp BillingProfile) (BillingProfile, bool, error)
	// BillingProfile returns one billing profile, or CodeNotFound.
	BillingProfile(ctx context.Context, id string) (BillingProfile, error)
	// BillingProfiles returns every billing profile (for background work across payers).
	BillingProfiles(ctx context.Context) ([]BillingProfile, error)

	// CreateInvite inserts a new invite and its first event in one transaction. When an open invite for the same
	// (billing profile, account id) exists, it returns a *Error with CodeAlreadyOpen and writes nothing.
	CreateInvite(ctx context.Context, inv Invite, ev Event) error
	// UpdateInvite writes inv, whose Version is the version it was read at, and appends ev (unless ev is the zero
	// Event: a change without a state change or cause worth a history line), in one transaction.
	// When the stored version differs, it returns CodeConcurrentUpdate and writes nothing. On success the stored
	// version is inv.Version+1, which it returns.
	UpdateInvite(ctx context.Context, inv Invite, ev Event) (Invite, error)
	// DeleteInvite removes an invite that never reached AWS, with its events (a reservation that failed).
	DeleteInvite(ctx context.Context, inv Invite) error
	// Invite returns one invite of a billing profile, or CodeNotFound.
	Invite(ctx context.Context, billingProfileID, inviteID string) (Invite, error)
	// OpenInvite returns the open (non-terminal) invite for an account, or CodeNotFound.
	OpenInvite(ctx context.Context, billingProfileID, accountID string) (Invite, error)
	// ListInvites returns a page of a billing profile's invites, newest first.
	ListInvites(ctx context.Context, q ListQuery) (Page, error)
	// Events returns an invite's history, oldest first.
	Events(ctx context.Context, inviteID string) ([]Event, error)

	// InvitesOfPayer returns the invites in the given states of every billing profile of a payer organization.
	InvitesOfPayer(ctx context.Context, managementAccountID string, states []State) ([]Invite, error)
	// InvitesInStates returns every invite in the given states.
	InvitesInStates(ctx context.Context, states []State) ([]Invite, error)
	// Payers returns the management account of every billing profile, each once.
	Payers(ctx context.Context) ([]string, error)
	// LockPayer holds an exclusive lock on a payer's reconciliation, across every process on the database, until
	// unlock is called; it waits until ctx ends.
	LockPayer(ctx context.Context, payer string) (unlock func() error, err error)
}

// CloudHealth is what the domain needs from CloudHealth: its view of every AWS account it knows, keyed by the
// 12-digit account id (one listing serves every invite).
type CloudHealth interface {
	Statuses(ctx context.Context) (map[string]CloudHealthStatus, error)
}

// CodeAlreadyOpen is returned by Store.CreateInvite when an open invite for the account exists already.
const CodeAlreadyOpen Code = "invite_already_open"

// ListQuery selects invites of one billing profile.
type ListQuery struct {
	BillingProfileID string
	States           []State
	AccountID        string
	Limit            int
	After            string // the id of the last invite of the previous page; empty for the first page
}

// Page is one page of invites and the id to continue after, empty on the last page.
type Page struct {
	Invites []Invite
	NextID  string
}

// Organizations is what the domain needs from AWS Organizations, per payer organization.
//
// Errors are *Error values with the codes above (CodeInOtherOrg, CodeAWSUnavailable, ...).
type Organizations interface {
	// InviteAccount sends an invitation to join the payer's organization. When an OPEN handshake for the account
	// exists already it is returned instead (adopted), with adopted set.
	InviteAccount(ctx context.Context, payer Payer, accountID, notes string) (h Handshake, adopted bool, err error)
	// CancelHandshake cancels a handshake the payer sent.
	CancelHandshake(ctx context.Context, payer Payer, handshakeID string) (Handshake, error)
	// DescribeHandshake returns a handshake; CodeHandshakeNotFound once AWS purged it.
	DescribeHandshake(ctx context.Context, payer Payer, handshakeID string) (Handshake, error)
	// ListInviteHandshakes calls fn for every INVITE handshake of the payer's organization, all pages.
	ListInviteHandshakes(ctx context.Context, payer Payer, fn func(Handshake) error) error
	// DescribeAccount returns a member account of the payer's organization, or CodeNotFound when it is none.
	DescribeAccount(ctx context.Context, payer Payer, accountID string) (Account, error)
}

// Clock tells the time; tests inject one they can move.
type Clock interface{ Now() time.Time }

// SystemClock is the real clock, in UTC.
type SystemClock struct{}

// Now returns the current time in UTC.
func (SystemClock) Now() time.Time { return time.Now().UTC() }

// IdempotencyRecord is what is remembered of a create sent with an Idempotency-Key. Status 0 marks a reservation
// whose request is still running; otherwise Status, Location and Body are the response to replay.
type IdempotencyRecord struct {
	Scope       string
	Key         string
	RequestHash string
	Status      int
	Location    string
	Body        []byte
	CreatedAt   time.Time
}

// Complete reports whether the record holds a finished response (rather than a reservation in progress).
func (r IdempotencyRecord) Complete() bool { return r.Status != 0 }
