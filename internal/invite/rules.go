package invite

import "time"

// The rules and defaults of the service, each defined once. Configuration defaults, the store, the HTTP layer and
// the background jobs refer to these; tests check that openapi.yaml states the same limits.
const (
	// ResendAfter is how long a user waits for AWS's email before a re-send is allowed (the help page's advice).
	ResendAfter = 5 * time.Minute
	// HandshakeLifetime is how long AWS keeps an invitation open.
	HandshakeLifetime = 15 * 24 * time.Hour
	// SpendRule is how long after joining an account with spend should show CUR data before a ticket is due.
	SpendRule = 48 * time.Hour
	// SendTimeout bounds one send to AWS, retries included. An invite reserved longer ago than this without a
	// handshake was left by a process that stopped mid-send; the next request for it resumes the send.
	SendTimeout = time.Minute
	// DefaultCloudHealthGrace is how long a joined account may stay unknown to CloudHealth (or without a payer)
	// before it counts as critical: CloudHealth picks accounts up from the payer's CUR, which takes 24-72 hours.
	DefaultCloudHealthGrace = 72 * time.Hour

	// MaxNotes is AWS's limit on an invitation's notes, in characters.
	MaxNotes = 1024
	// DefaultPageSize is the number of items a list returns when the caller asks for no particular number.
	DefaultPageSize = 20
	// MaxPageSize is the largest page a caller may ask for.
	MaxPageSize = 100

	// DefaultReconcileEvery is how often each payer's handshakes are reconciled with AWS.
	DefaultReconcileEvery = time.Minute
	// DefaultCloudHealthEvery is how often CloudHealth's account list is read.
	DefaultCloudHealthEvery = 10 * time.Minute
	// DefaultCURScanEvery is how often each payer's Cost and Usage Report is looked at.
	DefaultCURScanEvery = time.Hour
)

// ResendAvailableAt is the earliest time a re-send is allowed (the help page's five minutes).
func (inv Invite) ResendAvailableAt() time.Time { return inv.LastSentAt.Add(ResendAfter) }

// SendInFlight reports whether the invite's send to AWS may still be under way at now (reserved, no handshake
// yet, within SendTimeout), and how long until it counts as interrupted.
func (inv Invite) SendInFlight(now time.Time) (wait time.Duration, inFlight bool) {
	if inv.Handshake != nil {
		return 0, false
	}
	wait = inv.LastSentAt.Add(SendTimeout).Sub(now)
	return wait, wait > 0
}

// sinceJoined is how long ago the invite's account joined, zero when it has not.
func (inv Invite) sinceJoined(now time.Time) time.Duration {
	if inv.JoinedAt == nil {
		return 0
	}
	return now.Sub(*inv.JoinedAt)
}

// PageSize is the size of a page a caller asked for: DefaultPageSize when it asked for none (0), else within 1 and
// MaxPageSize.
func PageSize(asked int) int {
	if asked == 0 {
		return DefaultPageSize
	}
	return min(max(asked, 1), MaxPageSize)
}
