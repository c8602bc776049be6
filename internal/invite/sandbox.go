package invite

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Sandbox are the sandbox's use cases: the service plays the customer and the outside world (the invited account,
// CloudHealth, AWS's report delivery) through one port, then applies the result at once, so the whole flow can be
// walked by hand. It exists only in the sandbox.
type Sandbox struct {
	*core
	world       SandboxWorld
	reconciler  *Reconciler
	cloudHealth *CloudHealthFollower
	cur         *CURFollower
}

// NewSandbox returns the sandbox use cases over the simulated world and the use cases they drive.
func NewSandbox(st CoreStore, d Deps, world SandboxWorld, reconciler *Reconciler, cloudHealth *CloudHealthFollower, cur *CURFollower) *Sandbox {
	return &Sandbox{core: newCore(d, st), world: world, reconciler: reconciler, cloudHealth: cloudHealth, cur: cur}
}

// ClockReport is what an advance of the sandbox clock did.
type ClockReport struct {
	Now     time.Time
	Payers  int      // payers reconciled and scanned
	Changed int      // invites whose state or handshake changed
	Errors  []string // work that failed (it runs again on its schedule)
}

// Clock tells the sandbox's time.
func (s *Sandbox) Clock(_ context.Context, _ Principal) time.Time { return s.world.Clock.Now() }

// AdvanceClock moves the sandbox's time forward, by advance or to to (never backwards), then runs at once the
// background work that came due meanwhile (every payer's reconciliation and CUR scan, the CloudHealth sync), so
// the answers show its effect: expired and purged handshakes, the 48-hour step, the end of the CloudHealth grace.
func (s *Sandbox) AdvanceClock(ctx context.Context, _ Principal, advance time.Duration, to time.Time) (ClockReport, error) {
	now := s.world.Clock.Now()
	switch {
	case advance < 0 || (advance == 0 && to.IsZero()):
		return ClockReport{}, FieldProblem(CodeValidationFailed, "advance", "not a positive duration",
			"advance must be a positive duration such as 72h (the sandbox clock only moves forward)")
	case advance > 0 && !to.IsZero():
		return ClockReport{}, FieldProblem(CodeValidationFailed, "to", "given with advance", "give either advance or to, not both")
	case advance > 0:
		to = now.Add(advance)
	}
	moved, err := s.world.Clock.AdvanceTo(ctx, to)
	if err != nil {
		return ClockReport{}, err
	}
	rep := ClockReport{Now: moved}
	if _, err := s.world.Jobs.BringForward(ctx, moved.Sub(now)); err != nil {
		rep.Errors = append(rep.Errors, "webhook retries: "+err.Error())
	}
	due, err := s.world.Jobs.RunDue(ctx)
	if err != nil {
		return rep, err
	}
	rep.Payers, rep.Changed = due.Payers, due.Changed
	rep.Errors = append(rep.Errors, due.Failures...)
	for _, e := range rep.Errors {
		s.log.WarnContext(ctx, "sandbox clock: due work failed", "error", e)
	}
	return rep, nil
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
	// AWS rewrites the whole month at each delivery: the lines delivered before, and this invite's (its kind says
	// which: a billing transfer's are those of every account of the transferred organization).
	lines := map[string]CURLine{}
	for acct, u := range usage {
		payer := bp.ManagementAccountID
		if len(u.BillPayers) > 0 {
			payer = u.BillPayers[0]
		}
		lines[acct] = CURLine{AccountID: acct, BillPayer: payer, UnblendedCost: u.UnblendedCost}
	}
	own, err := inv.Kind.rules().sandboxCURLines(ctx, s.world, bp, inv, unblendedCost)
	if err != nil {
		return View{}, err
	}
	for _, l := range own {
		lines[l.AccountID] = l
	}
	all := make([]CURLine, 0, len(lines))
	for _, l := range lines {
		all = append(all, l)
	}
	if err := s.world.CUR.Deliver(ctx, loc, periodStart(now), all, now); err != nil {
		return View{}, err
	}
	if _, err := s.cur.Scan(ctx, bp.ManagementAccountID); err != nil {
		return View{}, err
	}
	return s.viewOrErr(s.invite(ctx, billingProfileID, inviteID))
}

// Mail returns the email the sandbox sent, newest first.
func (s *Sandbox) Mail(_ context.Context, _ Principal) []SentMail {
	if s.world.Mail == nil {
		return nil
	}
	sent := s.world.Mail.Sent()
	slices.Reverse(sent)
	return sent
}

// ParseAdvance reads how far to move the sandbox clock: a Go duration (90s, 15m, 72h) or a number of days (16d).
func ParseAdvance(s string) (time.Duration, error) {
	bad := FieldProblem(CodeValidationFailed, "advance", "not a duration such as 15m, 72h or 16d",
		fmt.Sprintf("advance %q is not a duration such as 15m, 72h or 16d", s))
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 || n > 3650 {
			return 0, bad
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, bad
	}
	return d, nil
}

// SandboxWorld is the simulated outside world of the sandbox, where the service plays the customer: the invited
// account answering a handshake, CloudHealth reporting a status, AWS delivering a Cost and Usage Report. It is the
// sandbox's one port; nothing outside the Sandbox use cases knows of it.
type SandboxWorld struct {
	Accounts    SandboxAccounts
	CloudHealth SandboxCloudHealth
	CUR         SandboxCUR
	Clock       SandboxClock
	Jobs        SandboxJobs
	Mail        SandboxMailbox
}

// SandboxJobs is the background work as the sandbox drives it when its clock moves.
type SandboxJobs interface {
	// BringForward makes work that waits for a time (webhook retries) due within by due now.
	BringForward(ctx context.Context, by time.Duration) (int, error)
	// RunDue runs the periodic work once, as the jobs run it (every payer's reconciliation and CUR scan, the
	// CloudHealth sync); an error says it could not run at all (the database), a failure of one piece of work is
	// in DueWork.Failures.
	RunDue(ctx context.Context) (DueWork, error)
}

// DueWork is what a run of the periodic work covered.
type DueWork struct {
	Payers   int      // payers reconciled and scanned
	Changed  int      // invites whose state or handshake the reconciliation changed
	Failures []string // the work that failed (it runs again on its schedule)
}

// SandboxMailbox keeps the email the sandbox sent, so a walk can read it.
type SandboxMailbox interface {
	Sent() []SentMail
}

// SentMail is one email the sandbox sent.
type SentMail struct {
	ID      string
	At      time.Time
	From    string
	To      []string
	Subject string
	Text    string
	HTML    string
}

// SandboxClock is the sandbox's test clock, which the service's rules, the simulators and the background work all
// read (it is the Deps' Clock in the sandbox).
type SandboxClock interface {
	Now() time.Time
	// AdvanceTo moves the time forward to t, for every process on the database; a t before now is refused.
	AdvanceTo(ctx context.Context, t time.Time) (time.Time, error)
}

// SandboxAccounts answers handshakes as the invited account, and tells which accounts an organization has.
type SandboxAccounts interface {
	AcceptHandshakeAs(ctx context.Context, accountID, handshakeID string) (Handshake, error)
	DeclineHandshakeAs(ctx context.Context, accountID, handshakeID string) (Handshake, error)
	// ListAccountsAs lists, as its management account, the accounts of an organization (itself included).
	ListAccountsAs(ctx context.Context, managementAccountID string) ([]Account, error)
}

// SandboxCloudHealth sets what the simulated CloudHealth reports for an account.
type SandboxCloudHealth interface {
	SetStatus(ctx context.Context, accountID, level, payerAccountID string) error
}

// SandboxCUR writes reports where the sandbox reads them.
type SandboxCUR interface {
	// Deliver writes a new version of the payer's report for the period with one line item per line.
	Deliver(ctx context.Context, loc CURLocation, period time.Time, lines []CURLine, at time.Time) error
}

// CURLine is one usage line item the sandbox delivers: an account, the payer account its line names, its cost.
type CURLine struct {
	AccountID     string
	BillPayer     string
	UnblendedCost string
}
