package orgsim

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// call is one operation running inside a persistence transaction.
type call struct {
	sim    *Sim
	st     *state
	now    time.Time
	caller string
}

func (c *call) dispatch(op string, in any) (any, *apiError) {
	switch op {
	case "InviteAccountToOrganization":
		return c.invite(in.(*inviteInput))
	case "ListHandshakesForOrganization":
		return c.list(in.(*listInput))
	case "DescribeHandshake":
		h, e := c.visibleHandshake(in.(*handshakeInput).HandshakeId)
		if e != nil {
			return nil, e
		}
		return map[string]any{"Handshake": c.wire(h)}, nil
	case "CancelHandshake":
		return c.transition(in.(*handshakeInput).HandshakeId, "CANCELED")
	case "AcceptHandshake":
		return c.transition(in.(*handshakeInput).HandshakeId, "ACCEPTED")
	case "DeclineHandshake":
		return c.transition(in.(*handshakeInput).HandshakeId, "DECLINED")
	case "DescribeAccount":
		return c.describeAccount(in.(*accountInput).AccountId)
	case "DescribeOrganization":
		return c.describeOrganization()
	}
	return nil, newError("UnknownOperationException", "the simulator does not implement %s", op)
}

// account returns what is known of an account: its PutAccount description, else what the sandbox conventions
// say about its id.
func (c *call) account(id string) Account {
	if a, ok := c.st.Accounts[id]; ok {
		return a
	}
	if !c.sim.opts.Conventions {
		return Account{}
	}
	switch {
	case strings.HasPrefix(id, "9991"):
		return Account{InviteRefusal: "ALREADY_IN_AN_ORGANIZATION"}
	case strings.HasPrefix(id, "9993"):
		return Account{InviteRefusal: "PAYMENT_INSTRUMENT_REQUIRED"}
	case strings.HasPrefix(id, "9994"):
		return Account{InviteRefusal: "ORGANIZATION_FROM_DIFFERENT_SELLER_OF_RECORD"}
	case strings.HasPrefix(id, "9995"):
		return Account{EmailUnverified: true}
	}
	return Account{}
}

// managesOrgWithMembers reports whether the account is the management account of an organization that still has
// member accounts, which keeps it from joining another one.
func (c *call) managesOrgWithMembers(id string) bool {
	if o, ok := c.st.Orgs[id]; ok && len(o.Members) > 0 {
		return true
	}
	_, described := c.st.Accounts[id]
	return c.sim.opts.Conventions && !described && strings.HasPrefix(id, "9992")
}

func (c *call) email(id string) string {
	if a := c.account(id); a.Email != "" {
		return a.Email
	}
	return "aws+" + id + "@example.com"
}

func (c *call) name(id string) string {
	if a := c.account(id); a.Name != "" {
		return a.Name
	}
	return "Account " + id
}

// managedOrg returns the caller's organization for operations only a management account may call.
func (c *call) managedOrg() (*orgState, *apiError) {
	if mgmt, ok := c.st.memberOf(c.caller); ok {
		return nil, newError("AccessDeniedException",
			"You don't have permissions to access this resource: account %s is a member of organization %s; only its management account can do this.",
			c.caller, c.st.Orgs[mgmt].ID)
	}
	return c.st.org(c.caller, c.now), nil
}

func invalidInput(reason, format string, args ...any) *apiError {
	return withReason(newError("InvalidInputException", format, args...), reason)
}

func handshakeViolation(reason, format string, args ...any) *apiError {
	return withReason(newError("HandshakeConstraintViolationException", format, args...), reason)
}

func (c *call) invite(in *inviteInput) (any, *apiError) {
	org, e := c.managedOrg()
	if e != nil {
		return nil, e
	}
	if in.Target == nil {
		return nil, invalidInput("INPUT_REQUIRED", "You must specify a value for all required parameters: Target.")
	}
	if in.Target.Type != "ACCOUNT" {
		return nil, invalidInput("INVALID_PARTY_TYPE_TARGET",
			"You specified the wrong type for the Target parameter: the simulator only invites by ACCOUNT.")
	}
	target := in.Target.Id
	if !accountIDRE.MatchString(target) {
		return nil, invalidInput("INVALID_PATTERN",
			"You provided a value that does not match the required pattern: an account id is 12 digits.")
	}
	notes := ""
	if in.Notes != nil {
		notes = *in.Notes
	}
	if utf8.RuneCountInString(notes) > 1024 {
		return nil, invalidInput("MAX_LENGTH_EXCEEDED",
			"You provided a string parameter that is longer than allowed: Notes is at most 1024 characters.")
	}
	if c.account(c.caller).EmailUnverified {
		return nil, newError("AccountOwnerNotVerifiedException",
			"You can't invite an existing account to your organization until you verify that you own the email address associated with the management account.")
	}
	if _, member := org.Members[target]; member || target == c.caller {
		return nil, handshakeViolation("ALREADY_IN_AN_ORGANIZATION",
			"The handshake request is invalid because the invited account is already a member of an organization.")
	}
	if reason := c.account(target).InviteRefusal; reason != "" {
		return nil, handshakeViolation(reason, "The handshake request could not be completed: %s.", reason)
	}
	open, recent := 0, 0
	for _, h := range c.st.Handshakes {
		if h.MgmtID != c.caller {
			continue
		}
		if h.State == "OPEN" {
			open++
			if h.AccountID == target {
				return nil, newError("DuplicateHandshakeException",
					"A handshake with the same action and target already exists.")
			}
		}
		if h.State != "ACCEPTED" && h.RequestedAt.After(c.now.Add(-24*time.Hour)) {
			recent++
		}
	}
	if 1+len(org.Members)+open >= c.sim.opts.MaxAccounts {
		return nil, handshakeViolation("ACCOUNT_NUMBER_LIMIT_EXCEEDED",
			"You attempted to exceed the number of accounts in an organization (%d, open invitations included).",
			c.sim.opts.MaxAccounts)
	}
	if recent >= c.sim.opts.MaxInvitesPerDay {
		return nil, handshakeViolation("HANDSHAKE_RATE_LIMIT_EXCEEDED",
			"You attempted to exceed the number of handshakes that you can send in one day (%d).",
			c.sim.opts.MaxInvitesPerDay)
	}
	id, err := newHandshakeID()
	if err != nil {
		return nil, newError("ServiceException", "%v", err)
	}
	c.st.NextSeq++
	h := &handshakeState{
		Seq: c.st.NextSeq, ID: id, MgmtID: c.caller, OrgID: org.ID, AccountID: target, Notes: notes,
		State: "OPEN", RequestedAt: c.now,
	}
	c.st.Handshakes = append(c.st.Handshakes, h)
	return map[string]any{"Handshake": c.wire(h)}, nil
}

const pageSize = 20

func (c *call) list(in *listInput) (any, *apiError) {
	org, e := c.managedOrg()
	if e != nil {
		return nil, e
	}
	max := pageSize
	if in.MaxResults != nil {
		switch {
		case *in.MaxResults < 1:
			return nil, invalidInput("MIN_VALUE_EXCEEDED", "MaxResults must be at least 1.")
		case *in.MaxResults > pageSize:
			return nil, invalidInput("MAX_VALUE_EXCEEDED", "MaxResults must be at most %d.", pageSize)
		}
		max = *in.MaxResults
	}
	var after int64
	if in.NextToken != nil {
		seq, ok := parseToken(*in.NextToken, org.ID)
		if !ok {
			return nil, invalidInput("INVALID_NEXT_TOKEN", "The NextToken value is not valid.")
		}
		after = seq
	}
	page := []wireHandshake{}
	out := map[string]any{}
	if f := in.Filter; f != nil {
		if f.ActionType != "" && f.ParentHandshakeId != "" {
			return nil, invalidInput("MAX_LIMIT_EXCEEDED_FILTER", "You can specify only one filter parameter.")
		}
		// Only INVITE handshakes exist here, and none has a parent.
		if (f.ActionType != "" && f.ActionType != "INVITE") || f.ParentHandshakeId != "" {
			out["Handshakes"] = page
			return out, nil
		}
	}
	for _, h := range c.st.Handshakes {
		if h.MgmtID != c.caller || h.Seq <= after {
			continue
		}
		if len(page) == max {
			out["NextToken"] = makeToken(org.ID, after)
			break
		}
		page = append(page, c.wire(h))
		after = h.Seq
	}
	out["Handshakes"] = page
	return out, nil
}

// A NextToken names the organization and the last handshake of the previous page, so that pages stay stable
// while handshakes are added or purged.
func makeToken(orgID string, seq int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(orgID + "/" + strconv.FormatInt(seq, 10)))
}

func parseToken(tok, orgID string) (int64, bool) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, false
	}
	org, seq, ok := strings.Cut(string(b), "/")
	if !ok || org != orgID {
		return 0, false
	}
	n, err := strconv.ParseInt(seq, 10, 64)
	return n, err == nil && n >= 0
}

var handshakeIDRE = regexp.MustCompile(`^h-[0-9a-z]{8,32}$`)

// visibleHandshake returns a handshake the caller takes part in; others do not exist as far as it can tell.
func (c *call) visibleHandshake(id string) (*handshakeState, *apiError) {
	if !handshakeIDRE.MatchString(id) {
		return nil, invalidInput("INVALID_PATTERN",
			"You provided a value that does not match the required pattern: a handshake id is h- and 8 to 32 lowercase letters or digits.")
	}
	h := c.st.handshake(id)
	if h != nil {
		mgmt, _ := c.st.memberOf(c.caller)
		if c.caller == h.MgmtID || c.caller == h.AccountID || mgmt == h.MgmtID {
			return h, nil
		}
	}
	return nil, newError("HandshakeNotFoundException", "We can't find a handshake with the HandshakeId that you specified.")
}

func (c *call) transition(id, to string) (any, *apiError) {
	h, e := c.visibleHandshake(id)
	if e != nil {
		return nil, e
	}
	switch {
	case to == "CANCELED" && c.caller != h.MgmtID:
		return nil, newError("AccessDeniedException",
			"You don't have permissions to access this resource: only the organization that sent the handshake can cancel it.")
	case to != "CANCELED" && c.caller != h.AccountID:
		return nil, newError("AccessDeniedException",
			"You don't have permissions to access this resource: only the invited account can accept or decline the handshake.")
	}
	if h.State == to {
		return nil, newError("HandshakeAlreadyInStateException", "The specified handshake is already in the requested state (%s).", to)
	}
	if h.State != "OPEN" {
		return nil, newError("InvalidHandshakeTransitionException",
			"You can't perform the operation on the handshake in its current state (%s).", h.State)
	}
	if to == "ACCEPTED" && c.managesOrgWithMembers(c.caller) {
		return nil, handshakeViolation("ALREADY_IN_AN_ORGANIZATION",
			"The handshake request is invalid because the account is the management account of an organization that has member accounts.")
	}
	h.State, h.EndedAt = to, c.now
	if to == "ACCEPTED" {
		c.st.join(h.MgmtID, h.AccountID, "INVITED", c.now)
	}
	return map[string]any{"Handshake": c.wire(h)}, nil
}

func (c *call) describeAccount(id string) (any, *apiError) {
	org, e := c.managedOrg()
	if e != nil {
		return nil, e
	}
	if !accountIDRE.MatchString(id) {
		return nil, invalidInput("INVALID_PATTERN",
			"You provided a value that does not match the required pattern: an account id is 12 digits.")
	}
	var m memberState
	if id == c.caller {
		m = memberState{JoinedMethod: "CREATED", JoinedAt: org.CreatedAt}
	} else {
		var ok bool
		if m, ok = org.Members[id]; !ok {
			return nil, newError("AccountNotFoundException",
				"You specified an account that doesn't exist or isn't in your organization.")
		}
	}
	st := c.account(id).State
	if st == "" {
		st = "ACTIVE"
	}
	return map[string]any{"Account": wireAccount{
		Id:              id,
		Arn:             fmt.Sprintf("arn:aws:organizations::%s:account/%s/%s", c.caller, org.ID, id),
		Email:           c.email(id),
		Name:            c.name(id),
		State:           st,
		JoinedMethod:    m.JoinedMethod,
		JoinedTimestamp: epoch(m.JoinedAt),
	}}, nil
}

func (c *call) describeOrganization() (any, *apiError) {
	mgmt, member := c.st.memberOf(c.caller)
	if !member {
		mgmt = c.caller
	}
	org := c.st.org(mgmt, c.now)
	return map[string]any{"Organization": wireOrganization{
		Id:                 org.ID,
		Arn:                fmt.Sprintf("arn:aws:organizations::%s:organization/%s", mgmt, org.ID),
		FeatureSet:         "ALL",
		MasterAccountArn:   fmt.Sprintf("arn:aws:organizations::%s:account/%s/%s", mgmt, org.ID, mgmt),
		MasterAccountId:    mgmt,
		MasterAccountEmail: c.email(mgmt),
	}}, nil
}

// wire renders a handshake as AWS returns it.
func (c *call) wire(h *handshakeState) wireHandshake {
	res := []wireResource{
		{Type: "ORGANIZATION", Value: h.OrgID, Resources: []wireResource{
			{Type: "MASTER_EMAIL", Value: c.email(h.MgmtID)},
			{Type: "MASTER_NAME", Value: c.name(h.MgmtID)},
			{Type: "ORGANIZATION_FEATURE_SET", Value: "ALL"},
		}},
		{Type: "ACCOUNT", Value: h.AccountID},
	}
	if h.Notes != "" {
		res = append(res, wireResource{Type: "NOTES", Value: h.Notes})
	}
	return wireHandshake{
		Id:                  h.ID,
		Arn:                 fmt.Sprintf("arn:aws:organizations::%s:handshake/%s/invite/%s", h.MgmtID, h.OrgID, h.ID),
		Parties:             []wireParty{{Id: h.OrgID, Type: "ORGANIZATION"}, {Id: h.AccountID, Type: "ACCOUNT"}},
		State:               h.State,
		RequestedTimestamp:  epoch(h.RequestedAt),
		ExpirationTimestamp: epoch(h.RequestedAt.Add(handshakeLifetime)),
		Action:              "INVITE",
		Resources:           res,
	}
}
