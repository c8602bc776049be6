package invite

import (
	"context"
)

// Sandbox are the sandbox's use cases: the service plays the customer and the outside world (the invited account,
// CloudHealth, AWS's report delivery) through one port, then applies the result at once, so the whole flow can be
// walked by hand. It exists only in the sandbox.
type Sandbox struct {
	*core
	world       SandboxWorld
	cloudHealth *CloudHealthFollower
	cur         *CURFollower
}

// NewSandbox returns the sandbox use cases over the simulated world and the followers they drive.
func NewSandbox(d Deps, world SandboxWorld, cloudHealth *CloudHealthFollower, cur *CURFollower) *Sandbox {
	return &Sandbox{core: newCore(d), world: world, cloudHealth: cloudHealth, cur: cur}
}

// Answer accepts or declines the invite's current handshake as the invited account, then applies the answer.
func (s *Sandbox) Answer(ctx context.Context, p Principal, billingProfileID, inviteID string, accept bool) (View, error) {
	_, inv, err := s.inviteFor(ctx, p, billingProfileID, inviteID, read)
	if err != nil {
		return View{}, err
	}
	if inv.State != StateInvited || inv.Handshake == nil {
		return View{}, Errorf(CodeInvalidState, "only an invite in state invited with a handshake can be answered; this one is %s", inv.State)
	}
	answer := s.world.Accounts.DeclineHandshakeAs
	if accept {
		answer = s.world.Accounts.AcceptHandshakeAs
	}
	h, err := answer(ctx, inv.AccountID, inv.Handshake.ID)
	if err != nil {
		return View{}, err
	}
	return s.viewOrErr(s.observe(ctx, inv, h, Actor{Kind: ActorSandbox, Subject: p.Subject, Email: p.Email}))
}

// SetCloudHealth sets the account's status in the simulated CloudHealth and applies it to the invite at once.
func (s *Sandbox) SetCloudHealth(ctx context.Context, p Principal, billingProfileID, inviteID, level, payer string) (View, error) {
	_, inv, err := s.inviteFor(ctx, p, billingProfileID, inviteID, read)
	if err != nil {
		return View{}, err
	}
	if err := s.world.CloudHealth.SetStatus(ctx, inv.AccountID, level, payer); err != nil {
		return View{}, err
	}
	return s.viewOrErr(s.cloudHealth.refreshOne(ctx, inv))
}

// DeliverCUR writes a small real report with line items for the invite's account where the sandbox reads the
// payer's CUR, then scans it.
func (s *Sandbox) DeliverCUR(ctx context.Context, p Principal, billingProfileID, inviteID, unblendedCost string) (View, error) {
	bp, inv, err := s.inviteFor(ctx, p, billingProfileID, inviteID, read)
	if err != nil {
		return View{}, err
	}
	loc, ok, err := s.cur.location(ctx, bp.ManagementAccountID)
	if err != nil {
		return View{}, err
	}
	if !ok {
		return View{}, Errorf(CodeInvalidState, "billing profile %s names no Cost and Usage Report location", bp.ID)
	}
	now := s.clock.Now()
	usage, err := s.cur.scans.CURUsage(ctx, bp.ManagementAccountID, BillingPeriod(now))
	if err != nil {
		return View{}, err
	}
	// AWS rewrites the whole month at each delivery: the accounts delivered before, and this one.
	costs := map[string]string{}
	for acct, u := range usage {
		costs[acct] = u.UnblendedCost
	}
	costs[inv.AccountID] = unblendedCost
	if err := s.world.CUR.Deliver(ctx, loc, bp.ManagementAccountID, periodStart(now), costs, now); err != nil {
		return View{}, err
	}
	if _, err := s.cur.Scan(ctx, bp.ManagementAccountID); err != nil {
		return View{}, err
	}
	return s.viewOrErr(s.invite(ctx, billingProfileID, inviteID))
}
