package orgsim

import (
	"fmt"
	"slices"
	"strings"
)

// listAccounts is ListAccounts: every account of the caller's organization, its management account included, by
// account id. The sandbox reads it to know the accounts of an organization whose bill was transferred to a payer.
func (c *call) listAccounts(in *pageInput) (any, error) {
	org, err := c.managedOrg(false)
	if err != nil {
		return nil, err
	}
	max, err := maxResults(in.MaxResults)
	if err != nil {
		return nil, err
	}
	scope := org.ID + ":accounts"
	after := ""
	if in.NextToken != nil {
		last, ok := parseToken(*in.NextToken, scope)
		if !ok || !accountIDRE.MatchString(last) {
			return nil, invalidInput("INVALID_NEXT_TOKEN", "The NextToken value is not valid.")
		}
		after = last
	}
	// One more than the page tells whether there is a next one; the management account and the conventions'
	// members are merged in before cutting.
	ms, err := c.tx.listMembers(c.caller, after, max+1)
	if err != nil {
		return nil, err
	}
	extra, err := c.conventionMembers(org, "")
	if err != nil {
		return nil, err
	}
	extra = append(extra, member{AccountID: c.caller, MgmtID: c.caller, JoinedMethod: "CREATED", JoinedAt: org.CreatedAt})
	for _, m := range extra {
		if m.AccountID > after {
			ms = append(ms, m)
		}
	}
	slices.SortFunc(ms, func(a, b member) int { return strings.Compare(a.AccountID, b.AccountID) })
	out := map[string]any{}
	if len(ms) > max {
		ms = ms[:max]
		out["NextToken"] = makeKeyToken(scope, ms[max-1].AccountID)
	}
	page := []wireAccount{}
	for _, m := range ms {
		w, err := c.wireAccount(org, m)
		if err != nil {
			return nil, err
		}
		page = append(page, w)
	}
	out["Accounts"] = page
	return out, nil
}

// conventionMembers returns, with the sandbox conventions, the members a 9992 management account's organization
// has while the account is not described: 9982 and 9983 with its last eight digits, created with the
// organization. They are not stored (describing the account with PutAccount ends them, as it ends the
// convention), so the sandbox can list the accounts of a 9992 organization whose bill it transferred. When only
// is set, just that member is returned, if it is one.
func (c *call) conventionMembers(o org, only string) ([]member, error) {
	id := o.MgmtID
	if !c.sim.opts.Conventions || !strings.HasPrefix(id, "9992") {
		return nil, nil
	}
	if _, described, err := c.described(id); described || err != nil {
		return nil, err
	}
	var out []member
	for _, prefix := range []string{"9982", "9983"} {
		m := member{AccountID: prefix + id[4:], MgmtID: id, JoinedMethod: "CREATED", JoinedAt: o.CreatedAt}
		if only == "" || only == m.AccountID {
			out = append(out, m)
		}
	}
	return out, nil
}

// wireAccount renders an account of org as DescribeAccount and ListAccounts return it.
func (c *call) wireAccount(o org, m member) (wireAccount, error) {
	a, err := c.account(m.AccountID)
	if err != nil {
		return wireAccount{}, err
	}
	email, err := c.email(m.AccountID)
	if err != nil {
		return wireAccount{}, err
	}
	name, err := c.name(m.AccountID)
	if err != nil {
		return wireAccount{}, err
	}
	if a.State == "" {
		a.State = "ACTIVE"
	}
	return wireAccount{
		Id:              m.AccountID,
		Arn:             fmt.Sprintf("arn:aws:organizations::%s:account/%s/%s", o.MgmtID, o.ID, m.AccountID),
		Email:           email,
		Name:            name,
		State:           a.State,
		JoinedMethod:    m.JoinedMethod,
		JoinedTimestamp: epoch(m.JoinedAt),
	}, nil
}
