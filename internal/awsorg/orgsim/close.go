package orgsim

// closeAccount is CloseAccount: the management account closes a member account of its organization. AWS closes
// it in the background (api_op_CloseAccount.go: PENDING_CLOSURE while the request is in progress, then
// SUSPENDED, "a few minutes"); the simulator skips those minutes and answers with the account SUSPENDED at once.
// It stays a member: AWS removes a closed account from the organization 90 days later (departureMethod CLEANED),
// which the simulator does not do by itself (Sim.RemoveMember does). The management account cannot be closed
// this way (ConstraintViolationException CANNOT_CLOSE_MANAGEMENT_ACCOUNT), nor an account already closed
// (AccountAlreadyClosedException, 409 in the SDK's schemas).
func (c *call) closeAccount(in *accountInput) (any, error) {
	if _, err := c.managedOrg(true); err != nil {
		return nil, err
	}
	id := in.AccountId
	if !accountIDRE.MatchString(id) {
		return nil, invalidInput("INVALID_PATTERN",
			"You provided a value that does not match the required pattern: an account id is 12 digits.")
	}
	if id == c.caller {
		return nil, withReason(newError("ConstraintViolationException",
			"You can't close the management account with this API."), "CANNOT_CLOSE_MANAGEMENT_ACCOUNT")
	}
	m, ok, err := c.tx.member(id)
	if err != nil {
		return nil, err
	}
	if !ok || m.MgmtID != c.caller {
		return nil, newError("AccountNotFoundException",
			"You specified an account that doesn't exist or isn't in your organization.")
	}
	a, err := c.account(id)
	if err != nil {
		return nil, err
	}
	switch a.State {
	case "SUSPENDED", "PENDING_CLOSURE", "CLOSED":
		return nil, newError("AccountAlreadyClosedException", "You attempted to close an account that is already closed.")
	}
	a.State = "SUSPENDED"
	if err := c.tx.putAccount(id, a); err != nil {
		return nil, err
	}
	delete(c.accounts, id)
	return map[string]any{}, nil
}
