package invite

import (
	"context"
	"time"
)

// Store keeps billing profiles, invites and their histories: the whole port, which the databases' store and the
// memory store implement. Each use case takes it narrowed to what it uses (CoreStore and the use case's own).
// Implementations turn "not found" into CodeNotFound.
type Store interface {
	// PutBillingProfile creates or replaces a billing profile; it reports whether it was created. It refuses,
	// with CodePayerChangeWithOpenInvites, to change the management account of a profile that has invites
	// holding accounts.
	PutBillingProfile(ctx context.Context, bp BillingProfile) (BillingProfile, bool, error)
	InvitesStore
	ProfilesStore
	ReconcilerStore
	CloudHealthStore
	CURFollowerStore
}

// CoreStore is what every use case reads and writes through the core: a billing profile, an invite, and the one
// versioned write of an invite with its history line.
type CoreStore interface {
	// BillingProfile returns one billing profile, or CodeNotFound.
	BillingProfile(ctx context.Context, id string) (BillingProfile, error)
	// Invite returns one invite of a billing profile, or CodeNotFound.
	Invite(ctx context.Context, billingProfileID, inviteID string) (Invite, error)
	// ProfileAndInvite returns a billing profile and one of its invites, read together (one round trip for a
	// GET): CodeNotFound when the profile is missing, a nil invite when it has no such invite.
	ProfileAndInvite(ctx context.Context, billingProfileID, inviteID string) (BillingProfile, *Invite, error)
	// UpdateInvite writes inv, whose Version is the version it was read at, and appends ev (unless ev is the zero
	// Event: a change without a state change or cause worth a history line), in one transaction.
	// When the stored version differs, it returns CodeConcurrentUpdate and writes nothing. On success the stored
	// version is inv.Version+1, and it returns the invite as stored.
	UpdateInvite(ctx context.Context, inv Invite, ev Event) (Invite, error)
}

// InvitesStore is what the invite use cases (create, re-send, cancel, adopt, reassign, the lists) keep.
type InvitesStore interface {
	CoreStore
	CloudHealthValidationStore
	QueueStore
	// CreateInvite inserts a new invite and its first event in one transaction. When another invite already
	// holds the account (State.HoldsAccount) on the same payer, whatever its billing profile, it returns
	// CodeAlreadyOpen and writes nothing: the database guarantees one holder per account and payer.
	CreateInvite(ctx context.Context, inv Invite, ev Event) error
	// DeleteInvite removes an invite that never reached AWS, with its history (a reservation AWS refused), and
	// writes refusal (unless empty), the event that keeps the attempt in the activity feed, in one transaction.
	DeleteInvite(ctx context.Context, inv Invite, refusal Event) error
	// HolderOf returns the invite that holds an account on a payer, whatever its billing profile, or CodeNotFound.
	HolderOf(ctx context.Context, payer, accountID string) (Invite, error)
	// ReassignInvite moves an invite with its handshakes and history to another billing profile of its payer,
	// writing out under the profile it leaves and in under the one it joins, in one transaction guarded by the
	// invite's version; CodeDifferentPayer for a profile of another payer.
	ReassignInvite(ctx context.Context, inv Invite, toProfileID string, out, in Event) (Invite, error)
	// HandshakeOwners returns, per handshake id, the invite of the payer that has or had that handshake.
	HandshakeOwners(ctx context.Context, payer string) (map[string]HandshakeOwner, error)
	// ProfileAndPage returns a billing profile and a page of its invites, newest first, read together;
	// CodeNotFound when the profile is missing.
	ProfileAndPage(ctx context.Context, q ListQuery) (BillingProfile, Page, error)
	// ListInvites returns a page of invites, newest first, of the profile or profiles q names (or of every profile).
	ListInvites(ctx context.Context, q ListQuery) (Page, error)
	// BillingProfilesByID returns the billing profiles of ids that exist, ordered by id.
	BillingProfilesByID(ctx context.Context, ids []string) ([]BillingProfile, error)
	// Events returns an invite's history under its billing profile, oldest first.
	Events(ctx context.Context, billingProfileID, inviteID string) ([]Event, error)
	// ListEvents returns a page of the activity feed, newest first.
	ListEvents(ctx context.Context, q EventQuery) (EventPage, error)
}

// ProfilesStore is what the billing profile use cases keep.
type ProfilesStore interface {
	CoreStore
	// PutBillingProfileIfMatch is PutBillingProfile when m holds for the current profile (IfMatch.Holds), checked
	// in the write's transaction with the row locked; otherwise it writes nothing and returns
	// CodePreconditionFailed.
	PutBillingProfileIfMatch(ctx context.Context, bp BillingProfile, m IfMatch) (BillingProfile, bool, error)
	// BillingProfilesByID returns the billing profiles of ids that exist, ordered by id.
	BillingProfilesByID(ctx context.Context, ids []string) ([]BillingProfile, error)
	// ListBillingProfiles returns a page of billing profiles ordered by id (of one customer when q names one).
	ListBillingProfiles(ctx context.Context, q ProfileQuery) (ProfilePage, error)
	// CURFeed returns what the last look at the payer's report found of it as a whole (CURStore.CURFeed).
	CURFeed(ctx context.Context, payer string) (CURFeed, error)
}

// ProfileQuery selects a page of billing profiles.
type ProfileQuery struct {
	CustomerID string // empty: every customer's
	Limit      int    // 1..MaxPageSize; DefaultPageSize when zero
	After      string // the id of the last profile of the previous page; empty for the first page
}

// ProfilePage is one page of billing profiles and the id to continue after, empty on the last page.
type ProfilePage struct {
	Profiles []BillingProfile
	NextID   string
}

// ReconcilerStore is what reconciliation reads: a payer's profiles and invites, who had which handshake, the lock
// that keeps one pass per payer.
type ReconcilerStore interface {
	CoreStore
	QueueStore
	// ProfilesOfPayer returns the billing profiles that name a management account, ordered by id.
	ProfilesOfPayer(ctx context.Context, managementAccountID string) ([]BillingProfile, error)
	// InvitesOfPayer returns the invites in the given states of every billing profile of a payer organization.
	InvitesOfPayer(ctx context.Context, managementAccountID string, states []State) ([]Invite, error)
	// HandshakeOwners returns, per handshake id, the invite of the payer that has or had that handshake.
	HandshakeOwners(ctx context.Context, payer string) (map[string]HandshakeOwner, error)
	// Payers returns the management account of every billing profile, each once.
	Payers(ctx context.Context) ([]string, error)
	// LockPayer holds an exclusive lock on a payer's reconciliation, across every process on the database, until
	// unlock is called; it waits until ctx ends.
	LockPayer(ctx context.Context, payer string) (unlock func() error, err error)
}

// CloudHealthStore is what the CloudHealth follower reads: the invites it follows.
type CloudHealthStore interface {
	CoreStore
	// InvitesInStates returns every invite in the given states.
	InvitesInStates(ctx context.Context, states []State) ([]Invite, error)
}

// CURFollowerStore is what the CUR follower reads: a payer's profiles and invites.
type CURFollowerStore interface {
	CoreStore
	// ProfilesOfPayer returns the billing profiles that name a management account, ordered by id.
	ProfilesOfPayer(ctx context.Context, managementAccountID string) ([]BillingProfile, error)
	// InvitesOfPayer returns the invites in the given states of every billing profile of a payer organization.
	InvitesOfPayer(ctx context.Context, managementAccountID string, states []State) ([]Invite, error)
}

// ListQuery selects invites of one billing profile.
type ListQuery struct {
	// BillingProfileID names the profile listed; empty for a list across the profiles of BillingProfileIDs, or
	// across every profile when AllProfiles.
	BillingProfileID  string
	BillingProfileIDs []string
	AllProfiles       bool
	States            []State
	AccountID         string
	Kind              InviteKind // empty: every kind
	Limit             int        // 1..MaxPageSize; DefaultPageSize when zero
	After             string     // the id of the last invite of the previous page; empty for the first page
}

// Page is one page of invites and the id to continue after, empty on the last page.
type Page struct {
	Invites []Invite
	NextID  string
}

// Organizations is what the domain needs from AWS Organizations, per payer organization.
//
// Errors are *Error values with the codes of errors.go (CodeInOtherOrg, CodeAWSUnavailable, ...).
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
	// ListAccounts calls fn for every account of the payer's organization (its management account included), all
	// pages: one call per page of 20 accounts.
	ListAccounts(ctx context.Context, payer Payer, fn func(Account) error) error
}

// TransferStatus is AWS's status of a responsibility transfer.
type TransferStatus string

// The responsibility transfer statuses AWS reports.
const (
	TransferRequested TransferStatus = "REQUESTED"
	TransferAccepted  TransferStatus = "ACCEPTED" // in force from its start until its end
	TransferDeclined  TransferStatus = "DECLINED"
	TransferCanceled  TransferStatus = "CANCELED"
	TransferExpired   TransferStatus = "EXPIRED"
	TransferWithdrawn TransferStatus = "WITHDRAWN" // ended by either side; in force until its EndAt
)

// Transfer is AWS's record of a billing transfer: the customer's organization (the source) hands responsibility
// for its consolidated bill to the payer (the target) from StartAt, until EndAt when it ends.
type Transfer struct {
	ID                        string // rt-...
	Name                      string
	Status                    TransferStatus
	SourceManagementAccountID string
	SourceManagementEmail     string
	StartAt                   time.Time
	EndAt                     time.Time // zero while open-ended
	ActiveHandshakeID         string
}

// Transfers is what the domain needs from AWS Organizations for billing transfers, per payer organization (the
// bill-transfer account). Errors are *Error values as for Organizations.
type Transfers interface {
	// InviteToTransfer invites a customer's management account to transfer responsibility for its organization's
	// consolidated bill to the payer from start (00:00 UTC on the first day of a month). When an open transfer
	// handshake for that account exists already it is returned instead (adopted).
	InviteToTransfer(ctx context.Context, payer Payer, managementAccountID, sourceName string, start time.Time, notes string) (h Handshake, adopted bool, err error)
	// ListTransferHandshakes calls fn for every TRANSFER_RESPONSIBILITY handshake of the payer's organization.
	ListTransferHandshakes(ctx context.Context, payer Payer, fn func(Handshake) error) error
	// ListInboundTransfers calls fn for every billing transfer into the payer, all pages.
	ListInboundTransfers(ctx context.Context, payer Payer, fn func(Transfer) error) error
	// DescribeTransfer returns one transfer; CodeNotFound when AWS knows none.
	DescribeTransfer(ctx context.Context, payer Payer, id string) (Transfer, error)
	// TerminateTransfer ends an accepted transfer at end (the end of a month).
	TerminateTransfer(ctx context.Context, payer Payer, id string, end time.Time) (Transfer, error)
}

// Clock tells the time; tests inject one they can move.
type Clock interface{ Now() time.Time }

// SystemClock is the real clock, in UTC.
type SystemClock struct{}

// Now returns the current time in UTC.
func (SystemClock) Now() time.Time { return time.Now().UTC() }

// Clocks tells the time that applies to a payer organization (its management account id). Outside the sandbox
// every payer reads the real time; in the sandbox a payer can have its own test clock, given to one partner so
// that no other customer moves its time, and the others read the sandbox's shared clock.
type Clocks interface {
	For(payer string) Clock
}

// OneClock is Clocks where every payer reads the same clock.
type OneClock struct{ Clock Clock }

// For returns the one clock.
func (c OneClock) For(string) Clock { return c.Clock }

// IdempotencyRecord is what is remembered of a create sent with an Idempotency-Key. Status 0 marks a reservation
// whose request is still running; otherwise Status, Location and Body are the response to replay.
type IdempotencyRecord struct {
	Scope       string
	Key         string
	RequestHash string
	Status      int
	Location    string
	Body        []byte
	CreatedAt   time.Time // the reservation's stamp: re-stamped when a retry takes a dead reservation over
	ReservedAt  time.Time // when the first request reserved the key, never re-stamped
}

// Complete reports whether the record holds a finished response (rather than a reservation in progress).
func (r IdempotencyRecord) Complete() bool { return r.Status != 0 }
