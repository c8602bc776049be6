// Package invite is the domain of aws-invites: invites of existing AWS accounts into a billing profile's payer
// organization, their lifecycle (lifecycle.go), the rules and limits (rules.go), what a customer sees next
// (steps.go), who may do what, and the ports the domain needs from the outside world (ports.go, and each use case's own beside it).
//
// The use cases are split by concern over one shared core (core.go): Invites (create, re-send, cancel, read),
// Profiles (billing profiles), Reconciler (handshakes and membership from AWS Organizations), the followers
// CloudHealthFollower and CURFollower, and Sandbox (playing the customer in the sandbox). A feature that is not
// configured is not wired: its use case is simply not built. The package imports no web framework, ORM or AWS SDK.
package invite

import (
	"slices"
	"time"
)

// HandshakeState is AWS Organizations' state of a handshake.
type HandshakeState string

// The handshake states AWS reports.
const (
	HandshakeRequested HandshakeState = "REQUESTED"
	HandshakeOpen      HandshakeState = "OPEN"
	HandshakeAccepted  HandshakeState = "ACCEPTED"
	HandshakeDeclined  HandshakeState = "DECLINED"
	HandshakeCanceled  HandshakeState = "CANCELED"
	HandshakeExpired   HandshakeState = "EXPIRED"
)

// Pending reports whether the handshake still waits for the invited account's answer.
func (s HandshakeState) Pending() bool { return s == HandshakeOpen || s == HandshakeRequested }

// HandshakeAction is what a handshake invites to do.
type HandshakeAction string

// The handshake actions the service sends.
const (
	ActionInvite   HandshakeAction = "INVITE"                  // join the payer organization
	ActionTransfer HandshakeAction = "TRANSFER_RESPONSIBILITY" // transfer an organization's consolidated bill to the payer
)

// Handshake is AWS's record of one invitation of one account.
type Handshake struct {
	ID           string
	Action       HandshakeAction // INVITE when empty
	AccountID    string          // the invited account (the ACCOUNT party): for a transfer, the customer's management account
	TransferID   string          // for a transfer handshake, the responsibility transfer it is about (rt-...)
	State        HandshakeState
	RequestedAt  time.Time
	ExpiresAt    time.Time
	Organization *Organization // what the handshake says about the inviting organization, when it says it
}

// Organization is what an invitation tells the invited account about the organization it would join (the help
// page's "Organization overview").
type Organization struct {
	ID                  string // o-...
	ManagementAccountID string
	ManagementEmail     string
	ManagementName      string
}

// HandshakeOwner is the invite that has (or had) a handshake.
type HandshakeOwner struct {
	InviteID         string
	BillingProfileID string
}

// Actor is who or what caused a change.
type Actor struct {
	Kind    ActorKind
	Subject string // the user's or client's id when Kind is ActorUser
	Email   string
}

// ActorKind says what kind of actor caused a change.
type ActorKind string

// The kinds of actors.
const (
	ActorUser           ActorKind = "user"
	ActorReconciliation ActorKind = "reconciliation"
	ActorCloudHealth    ActorKind = "cloudhealth"
	ActorCUR            ActorKind = "cur"
	ActorSandbox        ActorKind = "sandbox"
)

// InviteKind is what an invite brings to the payer: an account that joins its organization, or a customer's whole
// organization whose consolidated bill the payer takes over (a billing transfer).
type InviteKind string

// The kinds of invites.
const (
	InviteJoin     InviteKind = "join"
	InviteTransfer InviteKind = "billing_transfer"
)

// OrJoin is the kind, join when unset (invites from before kinds existed).
func (k InviteKind) OrJoin() InviteKind {
	if k == "" {
		return InviteJoin
	}
	return k
}

// Invite is one request to bring one AWS account into one billing profile's payer organization.
type Invite struct {
	ID               string
	Kind             InviteKind
	BillingProfileID string
	Payer            string // the management account of the billing profile's payer organization
	AccountID        string // 12 digits: for a billing transfer, the customer's management account
	Notes            string
	State            State
	Transfer         *Transfer  // for a billing transfer: AWS's responsibility transfer, once known
	Handshake        *Handshake // nil while the first send is in flight or after a failed re-send
	InvitedBy        Actor
	CreatedAt        time.Time
	UpdatedAt        time.Time
	LastSentAt       time.Time // when the current handshake was (or is being) sent
	JoinedAt         *time.Time
	CURSeenAt        *time.Time         // when CUR line items for the account were first seen
	CUR              *CURUsage          // the account's line items in the newest billing period scanned
	BillingData      *BillingData       // where its billing data stands in the payer's report, once joined and followed
	CloudHealth      *CloudHealthStatus // CloudHealth's last word on the account, once joined
	ExpiryWarnedFor  string             // the handshake whose coming expiry was announced (invite.expiring), once
	Version          int64              // optimistic concurrency guard, incremented by every update

	// AccountState is AWS's state of the joined account (ACTIVE, SUSPENDED, PENDING_CLOSURE, CLOSED, ...) as the
	// payer's account list last showed it; empty until reconciliation listed it.
	AccountState string
	Departure    *Departure // set when the account departed the payer's organization (state departed)
	// BillingGroup is the account's place in the profile's AWS Billing Conductor billing group (billinggroups.go);
	// nil while the profile names none and the account was never associated.
	BillingGroup *BillingGroupLink
	Queue        *QueueSlot // set while the invite waits for a slot of the payer's quota (state queued)
}

// CURUsage is what a payer's Cost and Usage Report says about one usage account in one billing period.
type CURUsage struct {
	AccountID     string
	BillPayers    []string // the payer accounts its line items name (bill/PayerAccountId), sorted
	BillingPeriod string   // YYYY-MM
	LineItems     int64
	UnblendedCost string // exact decimal
	FirstUsageAt  time.Time
	LastUsageAt   time.Time
	FirstSeenAt   time.Time // when the service first saw the account's line items in this period
}

// CloudHealthStatus is what CloudHealth reports about an AWS account, from the fields its API documents.
type CloudHealthStatus struct {
	Level string // green, yellow, red or unknown
	// PayerAccountID is the payer CloudHealth places the account under, as its documented fields give it (the
	// payer's Consolidated record named by cluster_name, or a partner assignment's billing_family_owner_id); empty
	// when they give none, which CloudHealth's UI shows as "Payer Account: N/A".
	PayerAccountID string
	PayerName      string    // the payer's name as CloudHealth shows it (cluster_name), when known
	PayerReason    string    // why PayerAccountID is empty, or where it came from
	LastUpdate     time.Time // CloudHealth's status.last_update; zero when it sent none
	Listed         bool      // false when CloudHealth does not list the account at all
	CheckedAt      time.Time
}

// BillingProfile is the unit users are assigned to; it points at one payer organization.
type BillingProfile struct {
	ID                  string
	CustomerID          string
	Name                string
	ManagementAccountID string
	RoleARN             string
	ExternalID          string
	CUR                 CURLocation // where the payer's Cost and Usage Report lives; zero when not configured
	// CloudHealthClientID is the CloudHealth tenant of the profile's customer when the reseller's key is a
	// partner's (the customer's client_api_id); empty for the service's default tenant.
	CloudHealthClientID string
	// BillingGroupARN is the AWS Billing Conductor billing group of the payer that the profile's joined accounts
	// are associated with (billinggroups.go); empty for none. Platform administrators only.
	BillingGroupARN string
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// CURLocation says where a payer's Cost and Usage Report is delivered.
type CURLocation struct {
	Bucket string
	Prefix string
	Report string // the report (CUR 1.0) or export (CUR 2.0) name
	Format string // CURLegacy or CUR2
}

// CUR formats.
const (
	CURLegacy = "legacy" // CUR 1.0: manifest + gzip/zip CSV or Athena Parquet
	CUR2      = "cur2"   // CUR 2.0 Data Exports
)

// Configured reports whether the location names a report.
func (l CURLocation) Configured() bool { return l.Bucket != "" && l.Report != "" }

// Payer is how to reach a payer organization's management account.
func (bp BillingProfile) Payer() Payer {
	return Payer{ManagementAccountID: bp.ManagementAccountID, RoleARN: bp.RoleARN, ExternalID: bp.ExternalID}
}

// Payer identifies a payer organization's management account and how to reach it.
type Payer struct {
	ManagementAccountID string
	RoleARN             string // assumed through STS when set
	ExternalID          string
}

// Departure is what the service knows of a joined account's departure from the payer's organization.
type Departure struct {
	// NoticedAt is when reconciliation found the account missing from the payer's account list. AWS's own
	// departure time is only in the management account's CloudTrail, which the service does not read.
	NoticedAt time.Time
	// Method is how the account departed, where AWS says it: CLEANED for an account that was closed (AWS removes
	// a closed account from the organization 90 days after its closure); empty when AWS does not say (LEFT,
	// REMOVED and a move to another organization look the same in the account list).
	Method string
	// LastAccountState is the account's AWS state when it was last listed.
	LastAccountState string
}

// DepartureCleaned is the departure method of an account AWS removed from the organization after its closure
// (CloudTrail's departureMethod CLEANED).
const DepartureCleaned = "CLEANED"

// AWS account states (Account.State; Account.Status is retired on 9 September 2026).
const (
	AccountActive            = "ACTIVE"
	AccountPendingActivation = "PENDING_ACTIVATION"
	AccountSuspended         = "SUSPENDED"
	AccountPendingClosure    = "PENDING_CLOSURE"
	AccountClosed            = "CLOSED"
)

// AccountClosing reports whether AWS holds the invite's account as closed or on its way there (SUSPENDED,
// PENDING_CLOSURE, CLOSED): it bills no new usage, so billing data is no longer expected for it.
func (inv Invite) AccountClosing() bool {
	switch inv.AccountState {
	case AccountSuspended, AccountPendingClosure, AccountClosed:
		return true
	}
	return false
}

// Account is what AWS Organizations says about a member account.
type Account struct {
	ID           string
	State        string // ACTIVE, SUSPENDED, ...
	JoinedMethod string // INVITED or CREATED
	JoinedAt     time.Time
}

// Principal is the authenticated caller, as read from a verified token.
type Principal struct {
	Subject         string
	Email           string
	CustomerID      string
	Permissions     []string
	BillingProfiles []string
	Roles           []string
}

// Permission and role names read from tokens.
const (
	PermissionLicensesManager = "licenses_manager"
	RolePlatformAdmin         = "platform_admin"
)

// IsPlatformAdmin reports whether the caller is the reseller's own staff or systems.
func (p Principal) IsPlatformAdmin() bool { return slices.Contains(p.Roles, RolePlatformAdmin) }

// HasPermission reports whether the caller holds the named permission.
func (p Principal) HasPermission(name string) bool { return slices.Contains(p.Permissions, name) }

// AssignedTo reports whether the caller is assigned to the billing profile.
func (p Principal) AssignedTo(billingProfileID string) bool {
	return slices.Contains(p.BillingProfiles, billingProfileID)
}

// Actor returns the principal as the actor of a change.
func (p Principal) Actor() Actor { return Actor{Kind: ActorUser, Subject: p.Subject, Email: p.Email} }
