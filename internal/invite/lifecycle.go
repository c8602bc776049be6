package invite

// State is where an invite stands in its lifecycle.
type State string

// The states of an invite (README "Try it", the spec's InviteState). What each one means, and what follows from it, is the lifecycle table
// below.
const (
	// StateQueued: the invite holds its account but waits for a slot of the payer's daily invitation quota (or
	// its account quota); nothing was sent to AWS yet (quota.go).
	StateQueued              State = "queued"
	StateInvited             State = "invited"
	StateAccepted            State = "accepted"
	StateAwaitingCUR         State = "awaiting_cur"
	StateActive              State = "active"
	StateCloudHealthCritical State = "cloudhealth_critical"
	StateCanceled            State = "canceled"
	StateDeclined            State = "declined"
	StateExpired             State = "expired"
	// StateDeparted: the account joined, then stopped being a member of the payer's organization (it left, moved
	// to another organization by accepting its invitation, was removed, or was closed and cleaned up).
	StateDeparted State = "departed"
)

// stateInfo is everything the lifecycle says about one state. Every question about a state is answered from here.
type stateInfo struct {
	state State
	// next lists the states an invite may move to; a state with none is terminal.
	next []State
	// joined: the account is a member of the payer organization.
	joined bool
	// followsAWS: the facts that move it on live in AWS Organizations (handshakes, membership), so
	// reconciliation looks at it.
	followsAWS bool
	// followsCloudHealth: CloudHealth's status of the account can move it (to or from cloudhealth_critical).
	followsCloudHealth bool
	// followsCUR: the payer's Cost and Usage Report speaks about the account.
	followsCUR bool
	// followsMembership: reconciliation checks, from the payer's list of accounts, that the account is still a
	// member of the payer's organization and in what state AWS holds it.
	followsMembership bool
}

// lifecycle is the lifecycle's one source of truth, in lifecycle order.
var lifecycle = []stateInfo{
	// A queued invite has no handshake: reconciliation does not follow it, the queue pass sends it (queue.go).
	{state: StateQueued, next: []State{StateInvited, StateCanceled}},
	// invited -> queued: a re-send AWS refused for the daily quota after the old handshake was canceled waits in
	// the queue instead of losing the invitation.
	{state: StateInvited, next: []State{StateAccepted, StateDeclined, StateCanceled, StateExpired, StateQueued}, followsAWS: true},
	// A billing transfer can end after it was accepted (ended by the reseller, withdrawn by the customer):
	// canceled then follows every state that holds the account; an account that joined never leaves that way.
	{state: StateAccepted, next: []State{StateAwaitingCUR, StateCanceled}, followsAWS: true},
	// A joined account can depart: reconciliation lists the payer's accounts (followsMembership) and ends the
	// invite when its account is no longer among them.
	{state: StateAwaitingCUR, next: []State{StateActive, StateCloudHealthCritical, StateCanceled, StateDeparted},
		joined: true, followsCloudHealth: true, followsCUR: true, followsMembership: true},
	{state: StateActive, next: []State{StateCloudHealthCritical, StateCanceled, StateDeparted}, joined: true,
		followsCloudHealth: true, followsCUR: true, followsMembership: true},
	{state: StateCloudHealthCritical, next: []State{StateActive, StateAwaitingCUR, StateCanceled, StateDeparted},
		joined: true, followsCloudHealth: true, followsCUR: true, followsMembership: true},
	{state: StateCanceled},
	{state: StateDeclined},
	{state: StateExpired},
	{state: StateDeparted},
}

func (s State) info() (stateInfo, bool) {
	for _, i := range lifecycle {
		if i.state == s {
			return i, true
		}
	}
	return stateInfo{}, false
}

// Valid reports whether s is one of the lifecycle's states.
func (s State) Valid() bool {
	_, ok := s.info()
	return ok
}

// Terminal reports whether s can never be left.
func (s State) Terminal() bool {
	i, _ := s.info()
	return len(i.next) == 0
}

// HoldsAccount reports whether an invite in s holds its account on its payer: every state that is not terminal.
// At most one invite per account and payer holds it (the store's partial unique index guarantees it).
func (s State) HoldsAccount() bool { return s.Valid() && !s.Terminal() }

// Joined reports whether the account is a member of the payer organization in state s.
func (s State) Joined() bool {
	i, _ := s.info()
	return i.joined
}

// FollowsAWS reports whether reconciliation with AWS Organizations looks at invites in state s.
func (s State) FollowsAWS() bool {
	i, _ := s.info()
	return i.followsAWS
}

// FollowsCloudHealth reports whether CloudHealth's status can move an invite in state s.
func (s State) FollowsCloudHealth() bool {
	i, _ := s.info()
	return i.followsCloudHealth
}

// FollowsCUR reports whether the payer's Cost and Usage Report speaks about an invite in state s.
func (s State) FollowsCUR() bool {
	i, _ := s.info()
	return i.followsCUR
}

// FollowsMembership reports whether reconciliation checks, in state s, that the account is still a member of the
// payer's organization (and its AWS account state).
func (s State) FollowsMembership() bool {
	i, _ := s.info()
	return i.followsMembership
}

// States lists every state in lifecycle order.
func States() []State { return StatesWhere(func(State) bool { return true }) }

// StatesWhere lists, in lifecycle order, the states with a property (State.Terminal, State.Joined, ...).
func StatesWhere(property func(State) bool) []State {
	var out []State
	for _, i := range lifecycle {
		if property(i.state) {
			out = append(out, i.state)
		}
	}
	return out
}

// CanTransition reports whether an invite may move from one state to another.
func CanTransition(from, to State) bool {
	i, _ := from.info()
	for _, s := range i.next {
		if s == to {
			return true
		}
	}
	return false
}

// stateForHandshake is the invite state a pending invite takes when AWS reports a handshake ended.
func stateForHandshake(h HandshakeState) (State, bool) {
	switch h {
	case HandshakeAccepted:
		return StateAccepted, true
	case HandshakeDeclined:
		return StateDeclined, true
	case HandshakeCanceled:
		return StateCanceled, true
	case HandshakeExpired:
		return StateExpired, true
	}
	return "", false
}
