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
	store       SandboxStore
	world       SandboxWorld
	reconciler  *Reconciler
	cloudHealth *CloudHealthFollower
	cur         *CURFollower
}

// NewSandbox returns the sandbox use cases over the simulated world and the use cases they drive.
func NewSandbox(st SandboxStore, d Deps, world SandboxWorld, reconciler *Reconciler, cloudHealth *CloudHealthFollower, cur *CURFollower) *Sandbox {
	return &Sandbox{core: newCore(d, st), store: st, world: world, reconciler: reconciler, cloudHealth: cloudHealth, cur: cur}
}

// SandboxStore is what the sandbox reads: invites, and the billing profiles of a payer (whose time a test clock is).
type SandboxStore interface {
	CoreStore
	ProfilesOfPayer(ctx context.Context, managementAccountID string) ([]BillingProfile, error)
}

// ClockReport is what an advance of a sandbox clock did.
type ClockReport struct {
	Now     time.Time
	Payers  int      // payers reconciled and scanned
	Changed int      // invites whose state or handshake changed
	Errors  []string // work that failed (it runs again on its schedule)
}

// TestClock is a payer organization's own test clock in the sandbox: the time of that payer's invites and of the
// simulated AWS as the payer sees it, given to one partner (its customer), whose users alone move it.
type TestClock struct {
	Payer      string // the payer's management account id
	CustomerID string
	Now        time.Time
	CreatedAt  time.Time
}

// Clock tells the sandbox's shared time: that of every payer without a test clock of its own.
func (s *Sandbox) Clock(_ context.Context, _ Principal) time.Time { return s.world.Clock.Now() }

// AdvanceClock moves the sandbox's shared time forward, by advance or to to (never backwards), then runs at once
// the background work that came due meanwhile for the payers that read it (their reconciliation and CUR scan, the
// CloudHealth sync), so the answers show its effect: expired and purged handshakes, the 48-hour step, the end of
// the CloudHealth grace. The shared time is every partner's without a clock of its own: only a platform
// administrator moves it, or the users of the one customer the sandbox gives it to (SharedClockCustomer: the
// embedded default's demo customer).
func (s *Sandbox) AdvanceClock(ctx context.Context, p Principal, advance time.Duration, to time.Time) (ClockReport, error) {
	if !p.IsPlatformAdmin() && (s.world.SharedClockCustomer == "" || p.CustomerID != s.world.SharedClockCustomer ||
		!p.HasPermission(PermissionLicensesManager)) {
		return ClockReport{}, Errorf(CodeForbidden,
			"the sandbox's shared clock is the time of every partner without a test clock of its own: moving it needs the %q role; ask a platform administrator for a test clock of your payer organization (POST /sandbox/test-clocks)", RolePlatformAdmin)
	}
	to, err := advanceTarget(s.world.Clock.Now(), advance, to)
	if err != nil {
		return ClockReport{}, err
	}
	moved, err := s.world.Clock.AdvanceTo(ctx, to)
	if err != nil {
		return ClockReport{}, err
	}
	return s.runDue(ctx, moved, func(payer string) bool {
		if s.world.Clocks == nil {
			return true
		}
		_, err := s.world.Clocks.TestClock(ctx, payer)
		return IsCode(err, CodeNotFound) // the payers that read the shared clock
	})
}

// CreateTestClock gives a payer organization of the sandbox its own clock, starting at the shared time, for one
// customer (platform administrators only). The payer's billing profiles must all be that customer's, so that its
// time is no one else's.
func (s *Sandbox) CreateTestClock(ctx context.Context, p Principal, payer, customerID string) (TestClock, error) {
	if !p.IsPlatformAdmin() {
		return TestClock{}, Errorf(CodeForbidden, "creating a test clock needs the %q role", RolePlatformAdmin)
	}
	if s.world.Clocks == nil {
		return TestClock{}, Errorf(CodeSandboxOnly, "this sandbox keeps no test clocks of payers")
	}
	acct, err := NormalizeAccountID(payer)
	if err != nil {
		return TestClock{}, FieldProblem(CodeValidationFailed, "payerManagementAccountId", "not a 12-digit AWS account id",
			"payerManagementAccountId must be a 12-digit AWS account id")
	}
	if strings.TrimSpace(customerID) == "" {
		return TestClock{}, FieldProblem(CodeValidationFailed, "customerId", "empty", "customerId names the customer whose users may move the clock")
	}
	if err := s.servesOnly(ctx, acct, customerID); err != nil {
		return TestClock{}, err
	}
	return s.world.Clocks.CreateTestClock(ctx, acct, customerID)
}

// TestClock returns a payer's own clock: to platform administrators and to its customer's users; to anyone else
// it answers as if there were none.
func (s *Sandbox) TestClock(ctx context.Context, p Principal, payer string) (TestClock, error) {
	if s.world.Clocks == nil {
		return TestClock{}, Errorf(CodeSandboxOnly, "this sandbox keeps no test clocks of payers")
	}
	c, err := s.world.Clocks.TestClock(ctx, payer)
	if err == nil && !p.IsPlatformAdmin() && c.CustomerID != p.CustomerID {
		err = Errorf(CodeNotFound, "payer %s has no test clock of its own", payer)
	}
	return c, err
}

// AdvanceTestClock moves a payer's own clock forward, as AdvanceClock moves the shared one, and runs the work that
// came due for that payer only: no other partner's invites move.
func (s *Sandbox) AdvanceTestClock(ctx context.Context, p Principal, payer string, advance time.Duration, to time.Time) (ClockReport, error) {
	c, err := s.TestClock(ctx, p, payer)
	if err != nil {
		return ClockReport{}, err
	}
	if !p.IsPlatformAdmin() && !p.HasPermission(PermissionLicensesManager) {
		return ClockReport{}, Errorf(CodeForbidden, "moving a test clock needs the %q permission", PermissionLicensesManager)
	}
	if err := s.servesOnly(ctx, c.Payer, c.CustomerID); err != nil {
		return ClockReport{}, err // a billing profile of another customer was put on the payer since
	}
	to, err = advanceTarget(c.Now, advance, to)
	if err != nil {
		return ClockReport{}, err
	}
	moved, err := s.world.Clocks.AdvanceTestClock(ctx, c.Payer, to)
	if err != nil {
		return ClockReport{}, err
	}
	return s.runDue(ctx, moved, func(payer string) bool { return payer == c.Payer })
}

// servesOnly checks that every billing profile of a payer is the customer's.
func (s *Sandbox) servesOnly(ctx context.Context, payer, customerID string) error {
	profiles, err := s.store.ProfilesOfPayer(ctx, payer)
	if err != nil {
		return err
	}
	for _, bp := range profiles {
		if bp.CustomerID != customerID {
			return Errorf(CodePayerOfOtherCustomers,
				"payer %s also serves billing profile %s of another customer: a test clock there would move that customer's time", payer, bp.ID)
		}
	}
	return nil
}

// advanceTarget checks an advance (a positive duration, or a time) and returns the time to move to.
func advanceTarget(now time.Time, advance time.Duration, to time.Time) (time.Time, error) {
	switch {
	case advance < 0 || (advance == 0 && to.IsZero()):
		return time.Time{}, FieldProblem(CodeValidationFailed, "advance", "not a positive duration",
			"advance must be a positive duration such as 72h (a sandbox clock only moves forward)")
	case advance > 0 && !to.IsZero():
		return time.Time{}, FieldProblem(CodeValidationFailed, "to", "given with advance", "give either advance or to, not both")
	case advance > 0:
		return now.Add(advance), nil
	}
	return to, nil
}

// runDue runs the periodic work of the payers a clock's move concerns.
func (s *Sandbox) runDue(ctx context.Context, moved time.Time, payers func(string) bool) (ClockReport, error) {
	rep := ClockReport{Now: moved}
	due, err := s.world.Jobs.RunDue(ctx, payers)
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
	_, inv, err := s.inviteFor(ctx, p, billingProfileID, inviteID, write)
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
	// The background work may write the invite meanwhile (a reconciliation pass seeing the same answer): the answer
	// is applied to the invite as it is now, so the caller never sees that race as a conflict.
	actor := Actor{Kind: ActorSandbox, Subject: p.Subject, Email: p.Email}
	return s.viewOrErr(s.applyToCurrent(ctx, inv, func(inv Invite) (Invite, error) { return s.observe(ctx, inv, h, actor) }))
}

// SetCloudHealth sets the account's status in the simulated CloudHealth and applies it to the invite at once. The
// account stays under the invite's payer unless payer names another one ("N/A" for none).
func (s *Sandbox) SetCloudHealth(ctx context.Context, p Principal, billingProfileID, inviteID, level, payer string) (View, error) {
	_, inv, err := s.inviteFor(ctx, p, billingProfileID, inviteID, write)
	if err != nil {
		return View{}, err
	}
	if payer == "" {
		payer = inv.Payer
	}
	if err := s.world.CloudHealth.SetStatus(ctx, inv.AccountID, level, payer); err != nil {
		return View{}, err
	}
	// As in Answer: applied to the invite as it is now, whatever the background work wrote meanwhile.
	return s.viewOrErr(s.applyToCurrent(ctx, inv, func(inv Invite) (Invite, error) { return s.cloudHealth.refreshOne(ctx, inv) }))
}

// DeliverCUR writes a small real report with line items for the invite's account where the sandbox reads the
// payer's CUR, then scans it.
func (s *Sandbox) DeliverCUR(ctx context.Context, p Principal, billingProfileID, inviteID, unblendedCost string) (View, error) {
	bp, inv, err := s.inviteFor(ctx, p, billingProfileID, inviteID, write)
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
	now := s.now(bp.ManagementAccountID)
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

// Mail returns the email the sandbox sent about the billing profiles the caller may read, newest first (all of
// it to platform administrators): another customer's mail names its accounts, people and costs.
func (s *Sandbox) Mail(_ context.Context, p Principal) []SentMail {
	if s.world.Mail == nil {
		return nil
	}
	sent := slices.DeleteFunc(s.world.Mail.Sent(), func(m SentMail) bool {
		return !p.IsPlatformAdmin() && (m.CustomerID == "" || m.CustomerID != p.CustomerID || !p.AssignedTo(m.BillingProfileID))
	})
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
	Clock       SandboxClock  // the shared time
	Clocks      SandboxClocks // the payers' own
	Jobs        SandboxJobs
	Mail        SandboxMailbox
	// SharedClockCustomer is the one customer whose users may move the shared clock besides platform
	// administrators (the embedded default's demo customer); none when empty.
	SharedClockCustomer string
}

// SandboxJobs is the background work as the sandbox drives it when its clock moves.
type SandboxJobs interface {
	// RunDue runs the periodic work once, as the jobs run it (the reconciliation and CUR scan of the payers
	// the filter keeps, the CloudHealth sync); an error says it could not run at all (the database), a failure of
	// one piece of work is in DueWork.Failures. Webhook retries are not brought forward: they count real time.
	RunDue(ctx context.Context, payers func(payer string) bool) (DueWork, error)
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

// SentMail is one email the sandbox sent, with the billing profile (and its customer) it is about.
type SentMail struct {
	CustomerID       string
	BillingProfileID string
	ID               string
	At               time.Time
	From             string
	To               []string
	Subject          string
	Text             string
	HTML             string
}

// SandboxClock is the sandbox's shared test clock, which the service's rules, the simulators and the background
// work read for every payer without a clock of its own (it is the Deps' Clock in the sandbox).
type SandboxClock interface {
	Now() time.Time
	// AdvanceTo moves the time forward to t, for every process on the database; a t before now is refused.
	AdvanceTo(ctx context.Context, t time.Time) (time.Time, error)
}

// SandboxClocks are the payers' own test clocks (Clocks, the Deps' Clocks in the sandbox).
type SandboxClocks interface {
	Clocks
	// TestClock returns a payer's own clock, CodeNotFound when it has none.
	TestClock(ctx context.Context, payer string) (TestClock, error)
	// CreateTestClock gives a payer its own clock at the shared time; CodeTestClockExists when it has one.
	CreateTestClock(ctx context.Context, payer, customerID string) (TestClock, error)
	// AdvanceTestClock moves a payer's clock forward to t; a t before its time is refused.
	AdvanceTestClock(ctx context.Context, payer string, t time.Time) (time.Time, error)
}

// SandboxAccounts answers handshakes as the invited account, and tells which accounts an organization has.
type SandboxAccounts interface {
	AcceptHandshakeAs(ctx context.Context, accountID, handshakeID string) (Handshake, error)
	DeclineHandshakeAs(ctx context.Context, accountID, handshakeID string) (Handshake, error)
	// ListAccountsAs lists, as its management account, the accounts of an organization (itself included).
	ListAccountsAs(ctx context.Context, managementAccountID string) ([]Account, error)
	// CloseAccountAs closes a member account of the payer's organization as its management account.
	CloseAccountAs(ctx context.Context, payer Payer, accountID string) error
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
