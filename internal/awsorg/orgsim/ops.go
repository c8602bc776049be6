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
	case "ListAccounts":
		return c.listAccounts(in.(*pageInput))
	case "CloseAccount":
		return c.closeAccount(in.(*accountInput))
	case "InviteOrganizationToTransferResponsibility":
		return c.inviteToTransfer(in.(*transferInviteInput))
	case "ListInboundResponsibilityTransfers":
		return c.listTransfers("target", in.(*transferListInput))
	case "ListOutboundResponsibilityTransfers":
		return c.listTransfers("source", in.(*transferListInput))
	case "DescribeResponsibilityTransfer":
		return c.describeTransfer(in.(*transferInput).Id)
	case "TerminateResponsibilityTransfer":
		return c.terminateTransfer(in.(*transferInput))
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

// targetAccount is the account an invitation targets, refused as AWS refuses a missing, non-account or malformed
// target.
func targetAccount(t *handshakeParty) (string, error) {
	if t == nil {
		return "", invalidInput("INPUT_REQUIRED", "You must specify a value for all required parameters: Target.")
	}
	if t.Type != "ACCOUNT" {
		return "", invalidInput("INVALID_PARTY_TYPE_TARGET",
			"You specified the wrong type for the Target parameter: the simulator only invites by ACCOUNT.")
	}
	if !accountIDRE.MatchString(t.Id) {
		return "", invalidInput("INVALID_PATTERN",
			"You provided a value that does not match the required pattern: an account id is 12 digits.")
	}
	return t.Id, nil
}

func (c *call) invite(in *inviteInput) (any, error) {
	org, err := c.managedOrg(true)
	if err != nil {
		return nil, err
	}
	target, err := targetAccount(in.Target)
	if err != nil {
		return nil, err
	}
	notes := ""
	if in.Notes != nil {
		notes = *in.Notes
	}
	if utf8.RuneCountInString(notes) > 1024 {
		return nil, invalidInput("MAX_LENGTH_EXCEEDED",
			"You provided a string parameter that is longer than allowed: Notes is at most 1024 characters.")
	}
	if err := screenFreeText(notes); err != nil {
		return nil, err
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
	if err := c.refuseDuplicate(actionInvite, target); err != nil {
		return nil, err
	}
	if err := c.checkQuotas(); err != nil {
		return nil, err
	}
	id, err := newID("h-")
	if err != nil {
		return nil, err
	}
	h := handshake{ID: id, Action: actionInvite, MgmtID: c.caller, OrgID: org.ID, AccountID: target, Notes: notes, State: "OPEN",
		RequestedAt: c.now, Expires: c.now.Add(handshakeLifetime)}
	if err := c.tx.insertHandshake(&h); err != nil {
		return nil, err
	}
	if err := c.tx.purge(c.caller, c.now, purgeBatch); err != nil {
		return nil, err
	}
	return c.answer(h)
}

// refuseDuplicate fails while a handshake of the action to target is open. One stored OPEN that has expired is
// written as EXPIRED now (with its transfer), the only time expiry is written: the database keeps a single OPEN
// row per organization, action and account.
func (c *call) refuseDuplicate(action, target string) error {
	h, open, err := c.tx.openHandshake(c.caller, action, target)
	switch {
	case err != nil || !open:
		return err
	case h.at(c.now).State == "OPEN":
		return newError("DuplicateHandshakeException", "A handshake with the same action and target already exists.")
	}
	if err := c.tx.updateHandshake(h.at(c.now)); err != nil {
		return err
	}
	return c.settleTransfer(h.at(c.now))
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
	max, err := maxResults(in.MaxResults)
	if err != nil {
		return nil, err
	}
	after, err := afterToken(in.NextToken, org.ID)
	if err != nil {
		return nil, err
	}
	page := []wireHandshake{}
	out := map[string]any{}
	action := ""
	if f := in.Filter; f != nil {
		if f.ActionType != "" && f.ParentHandshakeId != "" {
			return nil, invalidInput("MAX_LIMIT_EXCEEDED_FILTER", "You can specify only one filter parameter.")
		}
		// Only INVITE and TRANSFER_RESPONSIBILITY handshakes exist here, and none has a parent.
		if (f.ActionType != "" && f.ActionType != actionInvite && f.ActionType != actionTransfer) || f.ParentHandshakeId != "" {
			out["Handshakes"] = page
			return out, nil
		}
		action = f.ActionType
	}
	// One more than the page tells whether there is a next one.
	hs, err := c.tx.listHandshakes(c.caller, action, after, c.now, max+1)
	if err != nil {
		return nil, err
	}
	if len(hs) > max {
		hs = hs[:max]
		out["NextToken"] = makeToken(org.ID, hs[max-1].Seq)
	}
	page = make([]wireHandshake, 0, len(hs))
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

// maxResults checks a list's MaxResults, 1 to 20 as for every Organizations list, and defaults it to 20.
func maxResults(n *int) (int, error) {
	switch {
	case n == nil:
		return pageSize, nil
	case *n < 1:
		return 0, invalidInput("MIN_VALUE_EXCEEDED", "MaxResults must be at least 1.")
	case *n > pageSize:
		return 0, invalidInput("MAX_VALUE_EXCEEDED", "MaxResults must be at most %d.", pageSize)
	}
	return *n, nil
}

// afterToken reads the sequence number a NextToken of the scope continues after; 0 without a token.
func afterToken(tok *string, scope string) (int64, error) {
	if tok == nil {
		return 0, nil
	}
	last, ok := parseToken(*tok, scope)
	if !ok {
		return 0, invalidInput("INVALID_NEXT_TOKEN", "The NextToken value is not valid.")
	}
	n, err := strconv.ParseInt(last, 10, 64)
	if err != nil || n < 0 {
		return 0, invalidInput("INVALID_NEXT_TOKEN", "The NextToken value is not valid.")
	}
	return n, nil
}

// A NextToken names the list it belongs to (an organization's handshakes, an account's inbound transfers, ...)
// and the last row of the previous page, so that pages stay stable while rows are added or purged, and a token of
// one list is refused by another.
func makeToken(scope string, seq int64) string {
	return makeKeyToken(scope, strconv.FormatInt(seq, 10))
}

func makeKeyToken(scope, last string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(scope + "/" + last))
}

// parseToken returns the last row a token of the scope names. Scopes hold no "/".
func parseToken(tok, scope string) (string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return "", false
	}
	got, last, ok := strings.Cut(string(b), "/")
	return last, ok && got == scope
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
	// invited account manages, which it leaves (or, for a transfer, whose bill it hands over). Every change of a
	// transfer locks both of its organizations. Then read the handshake again: another call may have ended it.
	locks := []string{h.MgmtID}
	if to == "ACCEPTED" || h.Action == actionTransfer {
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
		if err := c.mayAccept(h); err != nil {
			return nil, err
		}
	}
	h.State, h.EndedAt = to, c.now
	if err := c.tx.updateHandshake(h); err != nil {
		return nil, err
	}
	if err := c.settleTransfer(h); err != nil {
		return nil, err
	}
	if to == "ACCEPTED" && h.Action == actionInvite {
		if err := join(c.tx, h.MgmtID, h.AccountID, "INVITED", c.now); err != nil {
			return nil, err
		}
	}
	if err := c.tx.purge(h.MgmtID, c.now, purgeBatch); err != nil {
		return nil, err
	}
	return c.answer(h)
}

// mayAccept refuses an acceptance AWS refuses: only a member account can accept an INVITE (a management account
// whose organization still has members cannot), and only a management account can accept a TRANSFER_RESPONSIBILITY
// (api_op_AcceptHandshake.go), whatever members its organization has.
func (c *call) mayAccept(h handshake) error {
	if h.Action == actionTransfer {
		m, member, err := c.tx.member(c.caller)
		if err != nil || !member {
			return err
		}
		return newError("AccessDeniedException",
			"You don't have permissions to access this resource: account %s is a member of organization %s; only a management account can accept a billing transfer.",
			c.caller, orgIDFor(m.MgmtID))
	}
	busy, err := c.managesOrgWithMembers(c.caller)
	if err != nil {
		return err
	}
	if busy {
		return handshakeViolation("ALREADY_IN_AN_ORGANIZATION",
			"The handshake request is invalid because the account is the management account of an organization that has member accounts.")
	}
	return nil
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

// scriptingPattern stands in for the cross-site scripting patterns AWS screens free text against: the SDK model
// (service/organizations types/errors.go, InvalidInputException reason INVALID_PATTERN) and
// ../shared/spec/aws-organizations.md ("Free text is screened") say that it does, not which patterns, so these are
// our own guess at "common" ones (an inference); tests rely only on a value this plainly a script being refused and
// ordinary prose passing.
var scriptingPattern = regexp.MustCompile(`(?i)<\s*/?\s*(script|iframe|object|embed|svg|img)\b|javascript\s*:|\bon[a-z]+\s*=`)

// screenFreeText refuses free text that looks like cross-site scripting, as AWS does since mid-2026.
func screenFreeText(s string) error {
	if scriptingPattern.MatchString(s) {
		return invalidInput("INVALID_PATTERN", "You provided a value that does not match the required pattern.")
	}
	return nil
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
	m := member{AccountID: id, MgmtID: c.caller, JoinedMethod: "CREATED", JoinedAt: org.CreatedAt}
	if id != c.caller {
		ms, err := c.conventionMembers(org, id)
		if err != nil {
			return nil, err
		}
		var ok bool
		if len(ms) == 1 && ms[0].AccountID == id {
			m, ok = ms[0], true
		} else if m, ok, err = c.tx.member(id); err != nil {
			return nil, err
		}
		if !ok || m.MgmtID != c.caller {
			return nil, newError("AccountNotFoundException",
				"You specified an account that doesn't exist or isn't in your organization.")
		}
	}
	w, err := c.wireAccount(org, m)
	if err != nil {
		return nil, err
	}
	return map[string]any{"Account": w}, nil
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

// wire renders a handshake as AWS returns it: the parties (the inviting organization, the invited account), then
// the resources the invited account is shown. An invitation to join shows the inviting organization with its
// management account's email and name and its feature set nested in it, the invited account, the notes. A billing
// transfer invitation shows the inviting organization, its management account's id, email and name
// (MANAGEMENT_ACCOUNT, MANAGEMENT_EMAIL, MANAGEMENT_NAME, the names types.HandshakeResourceType added with
// transfers), the transfer (RESPONSIBILITY_TRANSFER), its type and start (TRANSFER_TYPE, TRANSFER_START_TIMESTAMP
// in RFC 3339), the invited account and the notes.
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
	}
	arnKind := "invite"
	if h.Action == actionTransfer {
		arnKind = "transfer_responsibility"
		res = []wireResource{
			{Type: "ORGANIZATION", Value: h.OrgID},
			{Type: "MANAGEMENT_ACCOUNT", Value: h.MgmtID},
			{Type: "MANAGEMENT_EMAIL", Value: email},
			{Type: "MANAGEMENT_NAME", Value: name},
			{Type: "RESPONSIBILITY_TRANSFER", Value: h.TransferID},
			{Type: "TRANSFER_TYPE", Value: "BILLING"},
			{Type: "TRANSFER_START_TIMESTAMP", Value: h.TransferStart.Format(time.RFC3339)},
		}
	}
	res = append(res, wireResource{Type: "ACCOUNT", Value: h.AccountID})
	if h.Notes != "" {
		res = append(res, wireResource{Type: "NOTES", Value: h.Notes})
	}
	return wireHandshake{
		Id:                  h.ID,
		Arn:                 fmt.Sprintf("arn:aws:organizations::%s:handshake/%s/%s/%s", h.MgmtID, h.OrgID, arnKind, h.ID),
		Parties:             []wireParty{{Id: h.OrgID, Type: "ORGANIZATION"}, {Id: h.AccountID, Type: "ACCOUNT"}},
		State:               h.State,
		RequestedTimestamp:  epoch(h.RequestedAt),
		ExpirationTimestamp: epoch(h.expiresAt()),
		Action:              h.Action,
		Resources:           res,
	}, nil
}
