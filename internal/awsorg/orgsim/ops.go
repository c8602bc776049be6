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

// call is one operation running inside a transaction of the store.
type call struct {
	sim      *Sim
	tx       tx
	now      time.Time
	caller   string
	accounts map[string]description // what described read, so that a page of handshakes reads its sender once
}

func (c *call) dispatch(op string, in any) (any, error) {
	if err := c.materialize(c.caller); err != nil {
		return nil, err
	}
	switch op {
	case "InviteAccountToOrganization":
		return c.invite(in.(*inviteInput))
	case "ListHandshakesForOrganization":
		return c.list(in.(*listInput))
	case "DescribeHandshake":
		h, err := c.visibleHandshake(in.(*handshakeInput).HandshakeId)
		if err != nil {
			return nil, err
		}
		return c.answer(h)
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

// described returns the account's description, given with PutAccount (or by materialize), which turns the sandbox
// conventions off for it.
func (c *call) described(id string) (Account, bool, error) {
	if d, ok := c.accounts[id]; ok {
		return d.Account, d.ok, nil
	}
	a, ok, err := c.tx.account(id)
	if err != nil {
		return a, false, err
	}
	if c.accounts == nil {
		c.accounts = map[string]description{}
	}
	c.accounts[id] = description{a, ok}
	return a, ok, nil
}

// description is what call.described read about an account, kept for the rest of the call.
type description struct {
	Account
	ok bool
}

// account returns what is known of an account: its description, else what the sandbox conventions say about
// its id.
func (c *call) account(id string) (Account, error) {
	a, ok, err := c.described(id)
	if ok || err != nil || !c.sim.opts.Conventions {
		return a, err
	}
	switch {
	case strings.HasPrefix(id, "9996"):
		return Account{InviteRefusal: "ALREADY_IN_AN_ORGANIZATION"}, nil
	case strings.HasPrefix(id, "9993"):
		return Account{InviteRefusal: "PAYMENT_INSTRUMENT_REQUIRED"}, nil
	case strings.HasPrefix(id, "9994"):
		return Account{InviteRefusal: "ORGANIZATION_FROM_DIFFERENT_SELLER_OF_RECORD"}, nil
	case strings.HasPrefix(id, "9995"):
		return Account{EmailUnverified: true}, nil
	}
	return Account{}, nil
}

// materialize gives a 9991 account of the sandbox conventions, the first time the simulator meets it, the
// membership the convention promises: it is described (so the convention is spent) and made a member of the
// organization of 9990 and its last eight digits. From then on it is an ordinary member of another organization,
// which moves when it accepts an invitation. Two calls meeting it at once describe it once.
func (c *call) materialize(id string) error {
	if !c.sim.opts.Conventions || !strings.HasPrefix(id, "9991") || !accountIDRE.MatchString(id) {
		return nil
	}
	if _, ok, err := c.described(id); ok || err != nil {
		return err
	}
	added, err := c.tx.addAccount(id, Account{})
	if !added || err != nil {
		return err
	}
	c.accounts[id] = description{ok: true}
	owner := "9990" + id[4:]
	if _, err := c.tx.org(owner, c.now); err != nil {
		return err
	}
	return c.tx.putMember(member{AccountID: id, MgmtID: owner, JoinedMethod: "CREATED", JoinedAt: c.now})
}

// managesOrgWithMembers reports whether the account is the management account of an organization that still has
// member accounts, which keeps it from joining another one.
func (c *call) managesOrgWithMembers(id string) (bool, error) {
	n, err := c.tx.countMembers(id, 1)
	if n > 0 || err != nil {
		return n > 0, err
	}
	_, described, err := c.described(id)
	return c.sim.opts.Conventions && !described && strings.HasPrefix(id, "9992"), err
}

func (c *call) email(id string) (string, error) {
	a, err := c.account(id)
	if a.Email == "" {
		a.Email = "aws+" + id + "@example.com"
	}
	return a.Email, err
}

func (c *call) name(id string) (string, error) {
	a, err := c.account(id)
	if a.Name == "" {
		a.Name = "Account " + id
	}
	return a.Name, err
}

// managedOrg returns the caller's organization for operations only a management account may call, locked for
// those that change it.
func (c *call) managedOrg(lock bool) (org, error) {
	m, member, err := c.tx.member(c.caller)
	switch {
	case err != nil:
		return org{}, err
	case member:
		return org{}, newError("AccessDeniedException",
			"You don't have permissions to access this resource: account %s is a member of organization %s; only its management account can do this.",
			c.caller, orgIDFor(m.MgmtID))
	case lock:
		return c.tx.lockOrg(c.caller, c.now)
	}
	return c.tx.org(c.caller, c.now)
}

func invalidInput(reason, format string, args ...any) *apiError {
	return withReason(newError("InvalidInputException", format, args...), reason)
}

func handshakeViolation(reason, format string, args ...any) *apiError {
	return withReason(newError("HandshakeConstraintViolationException", format, args...), reason)
}

func (c *call) invite(in *inviteInput) (any, error) {
	org, err := c.managedOrg(true)
	if err != nil {
		return nil, err
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
	if sender, err := c.account(c.caller); err != nil {
		return nil, err
	} else if sender.EmailUnverified {
		return nil, newError("AccountOwnerNotVerifiedException",
			"You can't invite an existing account to your organization until you verify that you own the email address associated with the management account.")
	}
	if err := c.materialize(target); err != nil {
		return nil, err
	}
	m, member, err := c.tx.member(target)
	if err != nil {
		return nil, err
	}
	if (member && m.MgmtID == c.caller) || target == c.caller {
		return nil, handshakeViolation("ALREADY_IN_AN_ORGANIZATION",
			"The handshake request is invalid because the invited account is already a member of an organization.")
	}
	a, err := c.account(target)
	if err != nil {
		return nil, err
	}
	if a.InviteRefusal != "" {
		return nil, handshakeViolation(a.InviteRefusal, "The handshake request could not be completed: %s.", a.InviteRefusal)
	}
	if err := c.refuseDuplicate(target); err != nil {
		return nil, err
	}
	if err := c.checkQuotas(); err != nil {
		return nil, err
	}
	id, err := newHandshakeID()
	if err != nil {
		return nil, err
	}
	h := handshake{ID: id, MgmtID: c.caller, OrgID: org.ID, AccountID: target, Notes: notes, State: "OPEN", RequestedAt: c.now}
	if err := c.tx.insertHandshake(&h); err != nil {
		return nil, err
	}
	if err := c.tx.purge(c.caller, c.now, purgeBatch); err != nil {
		return nil, err
	}
	return c.answer(h)
}

// refuseDuplicate fails while an invitation of target is open. One stored OPEN that has expired is written as
// EXPIRED now, the only time expiry is written: the database keeps a single OPEN row per organization and account.
func (c *call) refuseDuplicate(target string) error {
	h, open, err := c.tx.openHandshake(c.caller, target)
	switch {
	case err != nil || !open:
		return err
	case h.at(c.now).State == "OPEN":
		return newError("DuplicateHandshakeException", "A handshake with the same action and target already exists.")
	}
	return c.tx.updateHandshake(h.at(c.now))
}

// checkQuotas counts no further than each quota: the cost of a call does not grow with the organization.
func (c *call) checkQuotas() error {
	maxAccounts, maxPerDay := c.sim.opts.MaxAccounts, c.sim.opts.MaxInvitesPerDay
	members, err := c.tx.countMembers(c.caller, maxAccounts)
	if err != nil {
		return err
	}
	open, err := c.tx.countOpen(c.caller, c.now.Add(-handshakeLifetime), maxAccounts)
	if err != nil {
		return err
	}
	if 1+members+open >= maxAccounts {
		return handshakeViolation("ACCOUNT_NUMBER_LIMIT_EXCEEDED",
			"You attempted to exceed the number of accounts in an organization (%d, open invitations included).", maxAccounts)
	}
	recent, err := c.tx.countUnaccepted(c.caller, c.now.Add(-24*time.Hour), maxPerDay)
	if err != nil {
		return err
	}
	if recent >= maxPerDay {
		return handshakeViolation("HANDSHAKE_RATE_LIMIT_EXCEEDED",
			"You attempted to exceed the number of handshakes that you can send in one day (%d).", maxPerDay)
	}
	return nil
}

const pageSize = 20

func (c *call) list(in *listInput) (any, error) {
	org, err := c.managedOrg(false)
	if err != nil {
		return nil, err
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
	// One more than the page tells whether there is a next one.
	hs, err := c.tx.listHandshakes(c.caller, after, c.now, max+1)
	if err != nil {
		return nil, err
	}
	if len(hs) > max {
		hs = hs[:max]
		out["NextToken"] = makeToken(org.ID, hs[max-1].Seq)
	}
	for _, h := range hs {
		w, err := c.wire(h.at(c.now))
		if err != nil {
			return nil, err
		}
		page = append(page, w)
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

// visibleHandshake returns a handshake the caller takes part in, as it stands now; others do not exist as far as
// the caller can tell.
func (c *call) visibleHandshake(id string) (handshake, error) {
	if !handshakeIDRE.MatchString(id) {
		return handshake{}, invalidInput("INVALID_PATTERN",
			"You provided a value that does not match the required pattern: a handshake id is h- and 8 to 32 lowercase letters or digits.")
	}
	h, ok, err := c.tx.handshake(id)
	if err != nil {
		return handshake{}, err
	}
	if ok && h.visible(c.now) {
		if c.caller == h.MgmtID || c.caller == h.AccountID {
			return h.at(c.now), nil
		}
		m, member, err := c.tx.member(c.caller)
		if err != nil {
			return handshake{}, err
		}
		if member && m.MgmtID == h.MgmtID {
			return h.at(c.now), nil
		}
	}
	return handshake{}, newError("HandshakeNotFoundException", "We can't find a handshake with the HandshakeId that you specified.")
}

func (c *call) transition(id, to string) (any, error) {
	h, err := c.visibleHandshake(id)
	if err != nil {
		return nil, err
	}
	switch {
	case to == "CANCELED" && c.caller != h.MgmtID:
		return nil, newError("AccessDeniedException",
			"You don't have permissions to access this resource: only the organization that sent the handshake can cancel it.")
	case to != "CANCELED" && c.caller != h.AccountID:
		return nil, newError("AccessDeniedException",
			"You don't have permissions to access this resource: only the invited account can accept or decline the handshake.")
	}
	// Lock what the transition changes: the sender's organization, and when accepting the organization the
	// invited account manages, which it leaves. Then read the handshake again: another call may have ended it.
	locks := []string{h.MgmtID}
	if to == "ACCEPTED" {
		locks = append(locks, h.AccountID)
	}
	if err := lockOrgs(c.tx, c.now, locks...); err != nil {
		return nil, err
	}
	if h, err = c.visibleHandshake(id); err != nil {
		return nil, err
	}
	if h.State == to {
		return nil, newError("HandshakeAlreadyInStateException", "The specified handshake is already in the requested state (%s).", to)
	}
	if h.State != "OPEN" {
		return nil, newError("InvalidHandshakeTransitionException",
			"You can't perform the operation on the handshake in its current state (%s).", h.State)
	}
	if to == "ACCEPTED" {
		busy, err := c.managesOrgWithMembers(c.caller)
		if err != nil {
			return nil, err
		}
		if busy {
			return nil, handshakeViolation("ALREADY_IN_AN_ORGANIZATION",
				"The handshake request is invalid because the account is the management account of an organization that has member accounts.")
		}
	}
	h.State, h.EndedAt = to, c.now
	if err := c.tx.updateHandshake(h); err != nil {
		return nil, err
	}
	if to == "ACCEPTED" {
		if err := join(c.tx, h.MgmtID, h.AccountID, "INVITED", c.now); err != nil {
			return nil, err
		}
	}
	if err := c.tx.purge(h.MgmtID, c.now, purgeBatch); err != nil {
		return nil, err
	}
	return c.answer(h)
}

// join makes account a member of mgmt's organization, which leaves any other organization it belonged to (AWS
// logs AccountDepartedOrganization there and AccountJoinedOrganization here; the simulator keeps no such log). An
// organization the account managed itself ceases to exist. The caller holds the locks of mgmt and account.
func join(t tx, mgmt, account, method string, at time.Time) error {
	if err := t.deleteOrg(account); err != nil {
		return err
	}
	return t.putMember(member{AccountID: account, MgmtID: mgmt, JoinedMethod: method, JoinedAt: at})
}

func (c *call) describeAccount(id string) (any, error) {
	org, err := c.managedOrg(false)
	if err != nil {
		return nil, err
	}
	if !accountIDRE.MatchString(id) {
		return nil, invalidInput("INVALID_PATTERN",
			"You provided a value that does not match the required pattern: an account id is 12 digits.")
	}
	if err := c.materialize(id); err != nil {
		return nil, err
	}
	m := member{JoinedMethod: "CREATED", JoinedAt: org.CreatedAt}
	if id != c.caller {
		var ok bool
		if m, ok, err = c.tx.member(id); err != nil {
			return nil, err
		}
		if !ok || m.MgmtID != c.caller {
			return nil, newError("AccountNotFoundException",
				"You specified an account that doesn't exist or isn't in your organization.")
		}
	}
	a, err := c.account(id)
	if err != nil {
		return nil, err
	}
	email, err := c.email(id)
	if err != nil {
		return nil, err
	}
	name, err := c.name(id)
	if err != nil {
		return nil, err
	}
	if a.State == "" {
		a.State = "ACTIVE"
	}
	return map[string]any{"Account": wireAccount{
		Id:              id,
		Arn:             fmt.Sprintf("arn:aws:organizations::%s:account/%s/%s", c.caller, org.ID, id),
		Email:           email,
		Name:            name,
		State:           a.State,
		JoinedMethod:    m.JoinedMethod,
		JoinedTimestamp: epoch(m.JoinedAt),
	}}, nil
}

func (c *call) describeOrganization() (any, error) {
	mgmt := c.caller
	m, member, err := c.tx.member(c.caller)
	if err != nil {
		return nil, err
	}
	if member {
		mgmt = m.MgmtID
	}
	org, err := c.tx.org(mgmt, c.now)
	if err != nil {
		return nil, err
	}
	email, err := c.email(mgmt)
	if err != nil {
		return nil, err
	}
	return map[string]any{"Organization": wireOrganization{
		Id:                 org.ID,
		Arn:                fmt.Sprintf("arn:aws:organizations::%s:organization/%s", mgmt, org.ID),
		FeatureSet:         "ALL",
		MasterAccountArn:   fmt.Sprintf("arn:aws:organizations::%s:account/%s/%s", mgmt, org.ID, mgmt),
		MasterAccountId:    mgmt,
		MasterAccountEmail: email,
	}}, nil
}

// answer is the output of the operations that return one handshake.
func (c *call) answer(h handshake) (any, error) {
	w, err := c.wire(h)
	if err != nil {
		return nil, err
	}
	return map[string]any{"Handshake": w}, nil
}

// wire renders a handshake as AWS returns it: the parties, then the resources the invited account is shown (the
// inviting organization with its management account's email and name and its feature set, the invited account,
// the notes).
func (c *call) wire(h handshake) (wireHandshake, error) {
	email, err := c.email(h.MgmtID)
	if err != nil {
		return wireHandshake{}, err
	}
	name, err := c.name(h.MgmtID)
	if err != nil {
		return wireHandshake{}, err
	}
	res := []wireResource{
		{Type: "ORGANIZATION", Value: h.OrgID, Resources: []wireResource{
			{Type: "MASTER_EMAIL", Value: email},
			{Type: "MASTER_NAME", Value: name},
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
		ExpirationTimestamp: epoch(h.expiresAt()),
		Action:              "INVITE",
		Resources:           res,
	}, nil
}
