package invite

import (
	"time"
)

// EventType is the stable name of a meaningful change, as webhooks, email and the activity feed show it.
type EventType string

// The event types.
const (
	EventCreated             EventType = "invite.created" // the invitation went out (or an open handshake was adopted)
	EventResent              EventType = "invite.resent"
	EventAccepted            EventType = "invite.accepted"
	EventJoined              EventType = "invite.joined" // a member of the payer: awaiting CUR data
	EventActive              EventType = "invite.active"
	EventCloudHealthCritical EventType = "invite.cloudhealth_critical"
	EventCloudHealthOK       EventType = "invite.cloudhealth_recovered"
	// EventCloudHealthChecked says a validation of the account's CloudHealth setup ran; the state is unchanged.
	EventCloudHealthChecked EventType = "invite.cloudhealth_validated"
	EventDeclined           EventType = "invite.declined"
	EventCanceled           EventType = "invite.canceled"
	EventExpired            EventType = "invite.expired"
	EventTransferEnded      EventType = "invite.transfer_ended" // a billing transfer ended after it was accepted
	EventExpiring           EventType = "invite.expiring"       // 48 hours before AWS's expiry, once per handshake
	EventRefused            EventType = "invite.refused"        // AWS refused an invitation; no invite remains
	EventReassigned         EventType = "invite.reassigned"
	EventUpdated            EventType = "invite.updated"  // a change that keeps the state (a handshake adopted, a send resumed)
	EventTest               EventType = "webhook.test"    // sent on request to one webhook endpoint
	EventBatchCompleted     EventType = "batch.completed" // every item of a batch of invites has its outcome

	// EventDeparted says a joined account is no longer a member of the payer's organization (state departed).
	EventDeparted EventType = "invite.departed"
	// EventAccountState says AWS's state of a joined account changed (suspended, closing, closed, active again).
	EventAccountState EventType = "invite.account_state_changed"
	// EventBillingData says the state of a joined account's billing data in the payer's report changed
	// (billingData.state); the invite's state may stay.
	EventBillingData EventType = "invite.billing_data_changed"
	// EventBillingGroup says the account's association with the profile's Billing Conductor billing group changed
	// (billingGroup.state or its problem); the invite's state stays.
	EventBillingGroup EventType = "invite.billing_group_changed"
)

// EventTypes lists every type a consumer may subscribe to.
func EventTypes() []EventType {
	return []EventType{EventCreated, EventResent, EventAccepted, EventJoined, EventActive, EventCloudHealthCritical,
		EventCloudHealthOK, EventCloudHealthChecked, EventDeclined, EventCanceled, EventExpired, EventTransferEnded, EventExpiring, EventRefused, EventReassigned,
		EventDeparted, EventAccountState, EventBillingData, EventBillingGroup, EventBatchCompleted, EventUpdated, EventTest}
}

// Valid reports whether t is one of the event types.
func (t EventType) Valid() bool {
	for _, v := range EventTypes() {
		if v == t {
			return true
		}
	}
	return false
}

// ExpiryWarning is how long before AWS's expiry an invite's coming expiry is announced (invite.expiring).
const ExpiryWarning = 48 * time.Hour

// ExpiringSoon is how long before AWS's expiry the next steps warn (expiring_soon).
const ExpiringSoon = 72 * time.Hour

// Event is one entry of an invite's history, and of its billing profile's activity feed. Every meaningful change
// has a Type; a line without one (the reservation of an invite before its send) is history only.
type Event struct {
	ID               int64  // the store's sequence: events of one invite are in this order
	PublicID         string // stable, for consumers' de-duplication (webhook-id)
	Type             EventType
	InviteID         string // empty for a refused attempt, whose reservation is gone
	BillingProfileID string
	Payer            string
	AccountID        string
	At               time.Time
	Actor            Actor
	From             State // empty for the creation
	To               State
	Reason           string
	Code             Code // for a refused attempt, the problem code AWS's refusal maps to
	// View is the invite as a client saw it at that moment, set when the event is written; Snapshot is the same,
	// encoded as the API shows it, when the event is read back (opaque to the domain).
	View     *View
	Snapshot []byte
}

// Empty reports whether ev is no event at all (a change written without a history line).
func (e Event) Empty() bool { return e.Type == "" && e.Reason == "" && e.To == "" }

// typeOfTransition is the event a move between two states is.
func typeOfTransition(from, to State) EventType {
	switch to {
	case StateAccepted:
		return EventAccepted
	case StateAwaitingCUR:
		if from == StateCloudHealthCritical {
			return EventCloudHealthOK
		}
		return EventJoined
	case StateActive:
		if from == StateCloudHealthCritical {
			return EventCloudHealthOK
		}
		return EventActive
	case StateCloudHealthCritical:
		return EventCloudHealthCritical
	case StateDeclined:
		return EventDeclined
	case StateInvited:
		if from == StateQueued {
			return EventCreated // consumers hear of an invite once its invitation went out
		}
	case StateCanceled:
		if from != StateInvited && from != StateQueued {
			return EventTransferEnded
		}
		return EventCanceled
	case StateExpired:
		return EventExpired
	case StateDeparted:
		return EventDeparted
	}
	return EventUpdated
}

// EventQuery selects events of the activity feed.
type EventQuery struct {
	BillingProfileID string // empty: every billing profile (platform administrators)
	Types            []EventType
	Since            time.Time // only events at or after
	AccountID        string
	Limit            int
	Before           int64 // the ID of the last event of the previous page; 0 for the first page
}

// EventPage is one page of events, newest first, and the ID to continue before (0 on the last page).
type EventPage struct {
	Events []Event
	Next   int64
}
