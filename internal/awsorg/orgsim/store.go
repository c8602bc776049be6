package orgsim

import (
	"context"
	"crypto/sha256"
	"slices"
	"time"
)

// Store keeps the simulated world: organizations, memberships, described accounts and handshakes.
// NewMemoryStore keeps it in this process; NewSQLStore in a database that several processes share. Only this
// package implements it: an operation takes many small steps inside one transaction, and those stay private.
type World interface {
	// transact runs fn as one atomic step: all of fn's changes are kept when it returns nil, none otherwise.
	transact(ctx context.Context, fn func(tx) error) error
}

// tx is what an operation reads and changes inside one transaction. Every method is a lookup by key or a bounded
// range of an index, so that a call costs the same whether the world holds ten handshakes or a hundred thousand.
type tx interface {
	// lockOrg returns the organization managed by mgmt, creating it when missing, and holds it until the
	// transaction ends. Operations that change an organization lock it first; one that locks several goes
	// through lockOrgs, which takes them in ascending order so that two calls never wait for each other.
	lockOrg(mgmt string, now time.Time) (org, error)
	// org returns the organization managed by mgmt, creating it when missing, without holding it.
	org(mgmt string, now time.Time) (org, error)
	// deleteOrg removes the organization managed by mgmt and its memberships.
	deleteOrg(mgmt string) error

	member(account string) (member, bool, error)
	// putMember makes m.AccountID a member of m.MgmtID's organization, and of no other.
	putMember(m member) error
	deleteMember(mgmt, account string) error
	// countMembers counts mgmt's members, up to limit: a quota only needs to know whether it is reached.
	countMembers(mgmt string, limit int) (int, error)

	account(id string) (Account, bool, error)
	putAccount(id string, a Account) error
	// addAccount describes the account unless it is described already, and reports whether it did.
	addAccount(id string, a Account) (bool, error)

	// listMembers returns up to limit of mgmt's members whose account id is after afterAccount, by account id.
	listMembers(mgmt, afterAccount string, limit int) ([]member, error)

	handshake(id string) (handshake, bool, error)
	// openHandshake returns mgmt's handshake of the action for account whose stored state is OPEN (it may have
	// expired since).
	openHandshake(mgmt, action, account string) (handshake, bool, error)
	// countOpen counts, up to limit, mgmt's invitations (INVITE handshakes) stored OPEN and requested after since.
	countOpen(mgmt string, since time.Time, limit int) (int, error)
	// countUnaccepted counts, up to limit, mgmt's invitations requested after since and not accepted.
	countUnaccepted(mgmt string, since time.Time, limit int) (int, error)
	// listHandshakes returns up to limit of mgmt's handshakes of the action (any when empty) created after the one
	// numbered afterSeq, in creation order, leaving out those purged at now.
	listHandshakes(mgmt, action string, afterSeq int64, now time.Time, limit int) ([]handshake, error)
	// insertHandshake stores a new handshake and numbers it (h.Seq).
	insertHandshake(h *handshake) error
	// updateHandshake stores a handshake's new state and end.
	updateHandshake(h handshake) error
	// purge deletes up to limit of mgmt's handshakes that are purged at now. Purged handshakes are invisible
	// already; deleting them keeps the organization's indexes short, a few at a time so no call pays for all.
	purge(mgmt string, now time.Time, limit int) error

	transfer(id string) (transfer, bool, error)
	// insertTransfer stores a new responsibility transfer and numbers it (t.Seq).
	insertTransfer(t *transfer) error
	// updateTransfer stores a transfer's new status and end.
	updateTransfer(t transfer) error
	// liveTransfers returns the transfers of the source organization that may still be in force after since: those
	// stored REQUESTED or ACCEPTED, and those WITHDRAWN that end after since. A source has few of them.
	liveTransfers(source string, since time.Time) ([]transfer, error)
	// listTransfers returns up to limit of the transfers whose source (side "source") or target (side "target")
	// is account, created after the one numbered afterSeq, in creation order.
	listTransfers(side, account string, afterSeq int64, limit int) ([]transfer, error)
}

// lockOrgs locks the organizations of these management accounts in ascending order (see tx.lockOrg).
func lockOrgs(t tx, now time.Time, mgmts ...string) error {
	mgmts = slices.Clone(mgmts)
	slices.Sort(mgmts)
	for _, m := range slices.Compact(mgmts) {
		if _, err := t.lockOrg(m, now); err != nil {
			return err
		}
	}
	return nil
}

// Account describes an account for the simulator (see Sim.PutAccount). The zero value is an ordinary standalone
// account.
type Account struct {
	Name  string
	Email string
	// State is the account's state as DescribeAccount reports it; ACTIVE when empty.
	State string
	// MemberOf makes the account a member of the organization of this management account (JoinedMethod INVITED).
	MemberOf string
	// Members makes the account the management account of an organization with these member accounts.
	Members []string
	// EmailUnverified makes the account's invitations, as a management account, fail with
	// AccountOwnerNotVerifiedException.
	EmailUnverified bool
	// InviteRefusal, when set, is the HandshakeConstraintViolationException reason with which invitations of this
	// account are refused (ALREADY_IN_AN_ORGANIZATION, PAYMENT_INSTRUMENT_REQUIRED, ...).
	InviteRefusal string
}

type org struct {
	MgmtID    string
	ID        string
	CreatedAt time.Time
}

type member struct {
	AccountID    string
	MgmtID       string
	JoinedMethod string
	JoinedAt     time.Time
}

type handshake struct {
	Seq         int64 // creation order, the cursor of ListHandshakesForOrganization
	ID          string
	Action      string // actionInvite or actionTransfer
	MgmtID      string
	OrgID       string
	AccountID   string
	Notes       string
	State       string    // as last written; see at
	RequestedAt time.Time // UTC, microseconds
	EndedAt     time.Time // zero while OPEN
	// Expires is when the handshake expires unless answered; zero in rows written before billing transfers
	// existed, which expire after the invitation lifetime.
	Expires time.Time
	// TransferID and TransferStart are the responsibility transfer a TRANSFER_RESPONSIBILITY handshake proposes,
	// kept on the handshake so that a page of handshakes renders without reading the transfers.
	TransferID    string
	TransferStart time.Time
}

// The handshake actions the simulator knows, as types.ActionType spells them.
const (
	actionInvite   = "INVITE"
	actionTransfer = "TRANSFER_RESPONSIBILITY"
)

// Lifetimes of handshakes, as AWS documents them.
const (
	handshakeLifetime = 15 * 24 * time.Hour
	purgeAfter        = 30 * 24 * time.Hour
)

// purgeBatch is how many purged handshakes a write deletes: more than one call creates, so none pile up.
const purgeBatch = 50

func (h handshake) expiresAt() time.Time {
	if !h.Expires.IsZero() {
		return h.Expires
	}
	return h.RequestedAt.Add(handshakeLifetime)
}

// at returns the handshake as it stands at now: an OPEN one past its lifetime has EXPIRED, which no call writes
// until it must (see call.refuseDuplicate).
func (h handshake) at(now time.Time) handshake {
	if h.State == "OPEN" && !now.Before(h.expiresAt()) {
		h.State, h.EndedAt = "EXPIRED", h.expiresAt()
	}
	return h
}

func (h *handshake) seqNo() int64 { return h.Seq }

// transfer is a responsibility transfer: the source organization (its management account) designates the
// target (the management account that invited it) to manage and pay its consolidated bill from StartAt.
type transfer struct {
	Seq         int64 // creation order, the cursor of the List*ResponsibilityTransfers operations
	ID          string
	Name        string
	Type        string // BILLING
	SourceID    string
	TargetID    string
	Status      string // as last written; see at
	HandshakeID string
	StartAt     time.Time
	EndAt       time.Time // zero until withdrawn
	ExpiresAt   time.Time // when its handshake expires unless answered
	CreatedAt   time.Time
}

// at returns the transfer as it stands at now: a REQUESTED one whose handshake expired has EXPIRED with it.
func (t transfer) at(now time.Time) transfer {
	if t.Status == "REQUESTED" && !now.Before(t.ExpiresAt) {
		t.Status = "EXPIRED"
	}
	return t
}

func (t *transfer) seqNo() int64 { return t.Seq }

// purgeAt is when the handshake disappears: 30 days after it ended, an OPEN one ending when it expires.
func (h handshake) purgeAt() time.Time {
	if h.State == "OPEN" {
		return h.expiresAt().Add(purgeAfter)
	}
	return h.EndedAt.Add(purgeAfter)
}

func (h handshake) visible(now time.Time) bool { return now.Before(h.purgeAt()) }

const alnum = "0123456789abcdefghijklmnopqrstuvwxyz"

// orgIDFor derives a stable organization id from its management account id, so that the same account always
// manages the same organization, in every process.
func orgIDFor(mgmt string) string {
	sum := sha256.Sum256([]byte("orgsim organization " + mgmt))
	b := make([]byte, 10)
	for i := range b {
		b[i] = alnum[int(sum[i])%len(alnum)]
	}
	return "o-" + string(b)
}
