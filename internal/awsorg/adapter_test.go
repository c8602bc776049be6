package awsorg_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/organizations/types"

	"github.com/cloudreseller/aws-invites/internal/awsorg"
	"github.com/cloudreseller/aws-invites/internal/awsorg/orgsim"
	"github.com/cloudreseller/aws-invites/internal/invite"
)

func TestInviteDescribeCancel(t *testing.T) {
	e := newEnv(t, orgsim.Options{})
	ctx := context.Background()

	h, adopted, err := e.client.InviteAccount(ctx, payer, target, "please join")
	if err != nil {
		t.Fatal(err)
	}
	// The handshake says who invites: the payer organization, its management account, email and name.
	org := h.Organization
	if org == nil || !strings.HasPrefix(org.ID, "o-") || org.ManagementAccountID != mgmt || org.ManagementEmail == "" || org.ManagementName == "" {
		t.Fatalf("organization = %+v", org)
	}
	want := invite.Handshake{ID: h.ID, Action: invite.ActionInvite, AccountID: target, State: invite.HandshakeOpen, RequestedAt: start,
		ExpiresAt: start.Add(invite.HandshakeLifetime), Organization: org}
	if adopted || !reflect.DeepEqual(h, want) || !strings.HasPrefix(h.ID, "h-") {
		t.Fatalf("invite = %+v adopted=%v, want %+v", h, adopted, want)
	}
	got, err := e.client.DescribeHandshake(ctx, payer, h.ID)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("describe = %+v, %v", got, err)
	}
	canceled, err := e.client.CancelHandshake(ctx, payer, h.ID)
	if err != nil || canceled.State != invite.HandshakeCanceled {
		t.Fatalf("cancel = %+v, %v", canceled, err)
	}
	// Canceling again (a retried cancel) returns the canceled handshake.
	again, err := e.client.CancelHandshake(ctx, payer, h.ID)
	if err != nil || again.State != invite.HandshakeCanceled || again.ID != h.ID {
		t.Fatalf("second cancel = %+v, %v", again, err)
	}
	// A new invitation after the cancel is a new handshake.
	h2, adopted, err := e.client.InviteAccount(ctx, payer, target, "")
	if err != nil || adopted || h2.ID == h.ID {
		t.Fatalf("re-invite = %+v adopted=%v, %v", h2, adopted, err)
	}
}

func TestAcceptDeclineAndDescribeAccount(t *testing.T) {
	e := newEnv(t, orgsim.Options{})
	ctx := context.Background()

	_, err := e.client.DescribeAccount(ctx, payer, target)
	wantDomain(t, err, invite.CodeNotFound)

	h, _, err := e.client.InviteAccount(ctx, payer, target, "")
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(2 * time.Hour)
	acc, err := e.client.AcceptHandshakeAs(ctx, target, h.ID)
	if err != nil || acc.State != invite.HandshakeAccepted {
		t.Fatalf("accept = %+v, %v", acc, err)
	}
	a, err := e.client.DescribeAccount(ctx, payer, target)
	if err != nil {
		t.Fatal(err)
	}
	if want := (invite.Account{ID: target, State: "ACTIVE", JoinedMethod: "INVITED", JoinedAt: start.Add(2 * time.Hour)}); a != want {
		t.Fatalf("account = %+v, want %+v", a, want)
	}
	_, err = e.client.CancelHandshake(ctx, payer, h.ID)
	wantDomain(t, err, invite.CodeHandshakeFinalized)

	// Inviting a member again says it already joined.
	_, _, err = e.client.InviteAccount(ctx, payer, target, "")
	wantDomain(t, err, invite.CodeAlreadyJoined)

	h2, _, err := e.client.InviteAccount(ctx, payer, target2, "")
	if err != nil {
		t.Fatal(err)
	}
	d, err := e.client.DeclineHandshakeAs(ctx, target2, h2.ID)
	if err != nil || d.State != invite.HandshakeDeclined {
		t.Fatalf("decline = %+v, %v", d, err)
	}
	_, err = e.client.DescribeAccount(ctx, payer, target2)
	wantDomain(t, err, invite.CodeNotFound)
	_, err = e.client.DescribeAccount(ctx, payer, "12-34")
	wantDomain(t, err, invite.CodeInvalidAccountID)
}

func TestListInviteHandshakesPages(t *testing.T) {
	e := newEnv(t, orgsim.Options{MaxAccounts: 100, MaxInvitesPerDay: 100})
	ctx := context.Background()
	var want []string
	for i := range 47 {
		h, _, err := e.client.InviteAccount(ctx, payer, fmt.Sprintf("7000000000%02d", i), "")
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, h.ID)
	}
	var got []string
	if err := e.client.ListInviteHandshakes(ctx, payer, func(h invite.Handshake) error {
		got = append(got, h.ID)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("listed %d handshakes, want the %d sent in order", len(got), len(want))
	}
	if n := e.sim.Calls("ListHandshakesForOrganization"); n != 3 {
		t.Errorf("%d list calls, want 3 pages of 20", n)
	}
	// fn's error stops the listing and comes back as is.
	stop := errors.New("stop")
	calls := 0
	err := e.client.ListInviteHandshakes(ctx, payer, func(invite.Handshake) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Fatalf("err %v after %d calls", err, calls)
	}
}

func TestDuplicateAdoption(t *testing.T) {
	e := newEnv(t, orgsim.Options{MaxAccounts: 100, MaxInvitesPerDay: 100})
	ctx := context.Background()
	// Push the account's handshake onto the second page so that adoption has to page.
	for i := range 25 {
		if _, _, err := e.client.InviteAccount(ctx, payer, fmt.Sprintf("7100000000%02d", i), ""); err != nil {
			t.Fatal(err)
		}
	}
	first, _, err := e.client.InviteAccount(ctx, payer, target, "")
	if err != nil {
		t.Fatal(err)
	}
	again, adopted, err := e.client.InviteAccount(ctx, payer, target, "")
	if err != nil || !adopted || !reflect.DeepEqual(again, first) {
		t.Fatalf("second invite = %+v adopted=%v %v, want %+v adopted", again, adopted, err, first)
	}

	t.Run("lost answer", func(t *testing.T) {
		// AWS creates the handshake but the connection drops before the answer: the retry meets the duplicate
		// and adopts it, so there is exactly one handshake.
		e.sim.Inject(orgsim.Fault{Op: "InviteAccountToOrganization", Times: 1, Drop: true, Applied: true})
		before := e.sim.Calls("InviteAccountToOrganization")
		h, adopted, err := e.client.InviteAccount(ctx, payer, target2, "")
		if err != nil || !adopted {
			t.Fatalf("invite after lost answer = %+v adopted=%v %v", h, adopted, err)
		}
		if n := e.sim.Calls("InviteAccountToOrganization") - before; n != 2 {
			t.Errorf("%d invite calls, want 2", n)
		}
		open := 0
		_ = e.client.ListInviteHandshakes(ctx, payer, func(x invite.Handshake) error {
			if x.AccountID == target2 {
				open++
				if x.ID != h.ID {
					t.Errorf("listed %s, adopted %s", x.ID, h.ID)
				}
			}
			return nil
		})
		if open != 1 {
			t.Errorf("%d handshakes for the account, want 1", open)
		}
	})

	t.Run("duplicate not listed", func(t *testing.T) {
		e.sim.Inject(orgsim.Fault{Op: "InviteAccountToOrganization", Times: 1, Code: "DuplicateHandshakeException"})
		_, _, err := e.client.InviteAccount(ctx, payer, "555555555555", "")
		de := wantDomain(t, err, invite.CodeSendInProgress)
		if de.RetryAfter <= 0 {
			t.Error("no RetryAfter")
		}
	})
}

func TestExpiryAndPurge(t *testing.T) {
	e := newEnv(t, orgsim.Options{})
	ctx := context.Background()
	h, _, err := e.client.InviteAccount(ctx, payer, target, "")
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(15 * 24 * time.Hour)
	got, err := e.client.DescribeHandshake(ctx, payer, h.ID)
	if err != nil || got.State != invite.HandshakeExpired {
		t.Fatalf("after 15 days = %+v, %v", got, err)
	}
	_, err = e.client.AcceptHandshakeAs(ctx, target, h.ID)
	wantDomain(t, err, invite.CodeHandshakeFinalized)
	e.clock.Advance(30 * 24 * time.Hour)
	_, err = e.client.DescribeHandshake(ctx, payer, h.ID)
	wantDomain(t, err, invite.CodeHandshakeNotFound)
	n := 0
	if err := e.client.ListInviteHandshakes(ctx, payer, func(invite.Handshake) error { n++; return nil }); err != nil || n != 0 {
		t.Fatalf("listed %d after purge, %v", n, err)
	}
}

func TestQuotas(t *testing.T) {
	ctx := context.Background()
	t.Run("accounts", func(t *testing.T) {
		e := newEnv(t, orgsim.Options{MaxAccounts: 3})
		for _, a := range []string{target, target2} {
			if _, _, err := e.client.InviteAccount(ctx, payer, a, ""); err != nil {
				t.Fatal(err)
			}
		}
		_, _, err := e.client.InviteAccount(ctx, payer, other, "")
		de := wantDomain(t, err, invite.CodeAccountLimit)
		if !strings.Contains(de.Detail, "quota") {
			t.Errorf("detail %q does not say to raise the quota", de.Detail)
		}
	})
	t.Run("daily", func(t *testing.T) {
		e := newEnv(t, orgsim.Options{MaxInvitesPerDay: 2})
		for _, a := range []string{target, target2} {
			if _, _, err := e.client.InviteAccount(ctx, payer, a, ""); err != nil {
				t.Fatal(err)
			}
		}
		_, _, err := e.client.InviteAccount(ctx, payer, other, "")
		de := wantDomain(t, err, invite.CodeDailyInviteLimit)
		if de.RetryAfter < time.Hour || !strings.Contains(de.Detail, "tomorrow") {
			t.Errorf("RetryAfter %v, detail %q", de.RetryAfter, de.Detail)
		}
		e.clock.Advance(24 * time.Hour)
		if _, _, err := e.client.InviteAccount(ctx, payer, other, ""); err != nil {
			t.Fatalf("next day: %v", err)
		}
	})
}

func TestRuleErrors(t *testing.T) {
	e := newEnv(t, orgsim.Options{Conventions: true})
	ctx := context.Background()
	tests := []struct {
		name         string
		payer        invite.Payer
		account      string
		notes        string
		want         invite.Code
		detailSaying string
	}{
		{"invalid account id", payer, "1234", "", invite.CodeInvalidAccountID, "12 digits"},
		{"notes too long", payer, target, strings.Repeat("x", 1025), invite.CodeNotesTooLong, "1024"},
		{"member of another organization AWS will not move", payer, "999600000000", "", invite.CodeInOtherOrg, "leave"},
		{"payment instrument", payer, "999300000000", "", invite.CodePaymentInstrument, "payment method"},
		{"different seller", payer, "999400000000", "", invite.CodeDifferentSeller, "seller of record"},
		{"unverified payer", invite.Payer{ManagementAccountID: "999500000000"}, target, "", invite.CodeEmailNotVerified, "verif"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := e.client.InviteAccount(ctx, tt.payer, tt.account, tt.notes)
			de := wantDomain(t, err, tt.want)
			if !strings.Contains(de.Detail, tt.detailSaying) {
				t.Errorf("detail %q does not say %q", de.Detail, tt.detailSaying)
			}
			if de.Err == nil || !strings.Contains(de.Err.Error(), "RequestID") {
				t.Errorf("Err %v lacks the AWS request id", de.Err)
			}
		})
	}

	t.Run("member of another organization moves on accepting", func(t *testing.T) {
		h, _, err := e.client.InviteAccount(ctx, payer, "999100000000", "")
		if err != nil {
			t.Fatalf("AWS sends the invitation to a member of another organization: %v", err)
		}
		if _, err := e.client.AcceptHandshakeAs(ctx, "999100000000", h.ID); err != nil {
			t.Fatal(err)
		}
		a, err := e.client.DescribeAccount(ctx, payer, "999100000000")
		if err != nil || a.JoinedMethod != "INVITED" {
			t.Fatalf("after accepting: %+v, %v", a, err)
		}
	})

	t.Run("management account accepting", func(t *testing.T) {
		h, _, err := e.client.InviteAccount(ctx, payer, "999200000000", "")
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.client.AcceptHandshakeAs(ctx, "999200000000", h.ID)
		de := wantDomain(t, err, invite.CodeIsManagementAcct)
		for _, step := range []string{"remove each member account", "delete the organization", "accept"} {
			if !strings.Contains(de.Detail, step) {
				t.Errorf("detail %q lacks %q", de.Detail, step)
			}
		}
	})
}

// TestErrorTable drives every error of the contract, and every constraint reason, through the SDK and the
// adapter with the simulator's fault injection.
func TestErrorTable(t *testing.T) {
	e := newEnv(t, orgsim.Options{}, func(o *awsorg.Options) { o.MaxAttempts = 2 })
	ctx := context.Background()
	h, _, err := e.client.InviteAccount(ctx, payer, target, "")
	if err != nil {
		t.Fatal(err)
	}
	ops := map[string]func() error{
		"InviteAccountToOrganization": func() error {
			_, _, err := e.client.InviteAccount(ctx, payer, target2, "")
			return err
		},
		"DescribeHandshake": func() error {
			_, err := e.client.DescribeHandshake(ctx, payer, h.ID)
			return err
		},
		"CancelHandshake": func() error {
			_, err := e.client.CancelHandshake(ctx, payer, h.ID)
			return err
		},
		"ListHandshakesForOrganization": func() error {
			return e.client.ListInviteHandshakes(ctx, payer, func(invite.Handshake) error { return nil })
		},
		"DescribeAccount": func() error {
			_, err := e.client.DescribeAccount(ctx, payer, target)
			return err
		},
	}
	type row struct {
		op, code, reason string
		status           int
		want             invite.Code
		retryAfter       bool
	}
	rows := []row{
		{"InviteAccountToOrganization", "AccountOwnerNotVerifiedException", "", 0, invite.CodeEmailNotVerified, false},
		{"InviteAccountToOrganization", "AccessDeniedException", "", 0, invite.CodeAWSAccessDenied, false},
		{"ListHandshakesForOrganization", "AccessDeniedException", "", 0, invite.CodeAWSAccessDenied, false},
		{"InviteAccountToOrganization", "AWSOrganizationsNotInUseException", "", 0, invite.CodeAWSOrgNotInUse, false},
		{"InviteAccountToOrganization", "FinalizingOrganizationException", "", 0, invite.CodeAWSOrgFinalizing, true},
		{"InviteAccountToOrganization", "ConcurrentModificationException", "", 0, invite.CodeAWSUnavailable, true},
		{"CancelHandshake", "ConcurrentModificationException", "", 409, invite.CodeAWSUnavailable, true},
		{"InviteAccountToOrganization", "TooManyRequestsException", "", 0, invite.CodeAWSUnavailable, true},
		{"DescribeHandshake", "TooManyRequestsException", "", 429, invite.CodeAWSUnavailable, true},
		{"InviteAccountToOrganization", "InvalidInputException", "INVALID_PATTERN", 0, invite.CodeInvalidAccountID, false},
		{"InviteAccountToOrganization", "InvalidInputException", "INVALID_PATTERN_TARGET_ID", 0, invite.CodeInvalidAccountID, false},
		{"InviteAccountToOrganization", "InvalidInputException", "MAX_LENGTH_EXCEEDED", 0, invite.CodeNotesTooLong, false},
		{"ListHandshakesForOrganization", "InvalidInputException", "INVALID_NEXT_TOKEN", 0, invite.CodeAWSInvalidInput, false},
		{"DescribeHandshake", "InvalidInputException", "INVALID_PATTERN", 0, invite.CodeAWSInvalidInput, false},
		{"DescribeHandshake", "HandshakeNotFoundException", "", 0, invite.CodeHandshakeNotFound, false},
		{"DescribeHandshake", "HandshakeAlreadyInStateException", "", 0, invite.CodeHandshakeFinalized, false},
		{"CancelHandshake", "HandshakeNotFoundException", "", 0, invite.CodeHandshakeNotFound, false},
		{"CancelHandshake", "InvalidHandshakeTransitionException", "", 0, invite.CodeHandshakeFinalized, false},
		{"DescribeAccount", "AccountNotFoundException", "", 0, invite.CodeNotFound, false},
		{"DescribeHandshake", "ServiceException", "", 0, invite.CodeAWSUnavailable, true},
		{"DescribeHandshake", "SomethingNewException", "", 503, invite.CodeAWSUnavailable, true},
		{"DescribeHandshake", "SomethingNewException", "", 400, invite.CodeInternal, false},
		{"InviteAccountToOrganization", "ConstraintViolationException", "ACCOUNT_NUMBER_LIMIT_EXCEEDED", 0, invite.CodeAccountLimit, false},
		{"InviteAccountToOrganization", "ConstraintViolationException", "HANDSHAKE_RATE_LIMIT_EXCEEDED", 0, invite.CodeDailyInviteLimit, true},
	}
	// Limits that lift with time tell when to try again.
	liftsWithTime := func(reason string) bool {
		return reason == "HANDSHAKE_RATE_LIMIT_EXCEEDED" || reason == "ORGANIZATION_MEMBERSHIP_CHANGE_RATE_LIMIT_EXCEEDED" ||
			reason == "INVITE_DISABLED_DURING_ENABLE_ALL_FEATURES"
	}
	// The constraint reasons that matter, each with its own code.
	specific := map[string]invite.Code{
		"ALREADY_IN_AN_ORGANIZATION":                         invite.CodeInOtherOrg,
		"ACCOUNT_NUMBER_LIMIT_EXCEEDED":                      invite.CodeAccountLimit,
		"HANDSHAKE_RATE_LIMIT_EXCEEDED":                      invite.CodeDailyInviteLimit,
		"ORGANIZATION_FROM_DIFFERENT_SELLER_OF_RECORD":       invite.CodeDifferentSeller,
		"PAYMENT_INSTRUMENT_REQUIRED":                        invite.CodePaymentInstrument,
		"ORGANIZATION_MEMBERSHIP_CHANGE_RATE_LIMIT_EXCEEDED": invite.CodeMembershipRate,
		"INVITE_DISABLED_DURING_ENABLE_ALL_FEATURES":         invite.CodeEnableAllFeatures,
		"MANAGEMENT_ACCOUNT_EMAIL_NOT_VERIFIED":              invite.CodeEmailNotVerified,
		"UNUSED_PREPAYMENT_BALANCE":                          invite.CodeUnusedPrepayment,
		"TARGET_ACCOUNT_VALIDATION_FAILURE":                  invite.CodeAccountNotValidated,
		"MASTER_ACCOUNT_MISSING_CONTACT_INFO":                invite.CodePayerSetupIncomplete,
		"MASTER_ACCOUNT_MISSING_BUSINESS_LICENSE":            invite.CodePayerSetupIncomplete,
		"MASTER_ACCOUNT_ADDRESS_DOES_NOT_MATCH_MARKETPLACE":  invite.CodePayerSetupIncomplete,
	}
	for _, r := range types.HandshakeConstraintViolationExceptionReason("").Values() {
		want, ok := specific[string(r)]
		if !ok {
			want = "" // any domain code but internal, with an actionable detail
		}
		rows = append(rows, row{"InviteAccountToOrganization", "HandshakeConstraintViolationException", string(r), 0, want, liftsWithTime(string(r))})
	}
	for _, r := range types.ConstraintViolationExceptionReason("").Values() {
		rows = append(rows, row{"InviteAccountToOrganization", "ConstraintViolationException", string(r), 0, specific[string(r)], liftsWithTime(string(r))})
	}

	for _, r := range rows {
		t.Run(r.op+"/"+r.code+"/"+r.reason, func(t *testing.T) {
			defer e.sim.ClearFaults()
			e.sim.Inject(orgsim.Fault{Op: r.op, Code: r.code, Reason: r.reason, Status: r.status})
			err := ops[r.op]()
			de := domainError(t, err)
			if r.want == "" {
				if de.Code == invite.CodeInternal {
					t.Fatalf("reason %s mapped to internal", r.reason)
				}
			} else {
				wantDomain(t, err, r.want)
			}
			if r.want != "" && (de.RetryAfter > 0) != r.retryAfter {
				t.Errorf("RetryAfter = %v, want set: %v", de.RetryAfter, r.retryAfter)
			}
			if de.Err == nil || !strings.Contains(de.Err.Error(), "injected") || !strings.Contains(de.Err.Error(), "RequestID") {
				t.Errorf("Err %v lacks the AWS message or request id", de.Err)
			}
			if strings.Contains(de.Detail, "injected") || strings.Contains(de.Detail, "RequestID") {
				t.Errorf("detail %q leaks AWS internals", de.Detail)
			}
		})
	}
}

func TestRetries(t *testing.T) {
	ctx := context.Background()
	t.Run("throttling storm at 400 then success", func(t *testing.T) {
		e := newEnv(t, orgsim.Options{})
		e.sim.Inject(orgsim.Fault{Op: "InviteAccountToOrganization", Times: 4, Code: "TooManyRequestsException"})
		h, _, err := e.client.InviteAccount(ctx, payer, target, "")
		if err != nil || h.State != invite.HandshakeOpen {
			t.Fatalf("invite = %+v, %v", h, err)
		}
		if n := e.sim.Calls("InviteAccountToOrganization"); n != 5 {
			t.Errorf("%d attempts, want 5", n)
		}
	})
	t.Run("throttling persists", func(t *testing.T) {
		e := newEnv(t, orgsim.Options{})
		e.sim.Inject(orgsim.Fault{Code: "TooManyRequestsException"})
		_, _, err := e.client.InviteAccount(ctx, payer, target, "")
		de := wantDomain(t, err, invite.CodeAWSUnavailable)
		if de.RetryAfter != 30*time.Second {
			t.Errorf("RetryAfter %v, want 30s", de.RetryAfter)
		}
		if n := e.sim.TotalCalls(); n != 5 {
			t.Errorf("%d attempts, want 5", n)
		}
		// Nothing was left behind.
		e.sim.ClearFaults()
		n := 0
		_ = e.client.ListInviteHandshakes(ctx, payer, func(invite.Handshake) error { n++; return nil })
		if n != 0 {
			t.Errorf("%d handshakes after a failed invite", n)
		}
	})
	t.Run("concurrent modification at 400 retried", func(t *testing.T) {
		e := newEnv(t, orgsim.Options{})
		h, _, err := e.client.InviteAccount(ctx, payer, target, "")
		if err != nil {
			t.Fatal(err)
		}
		e.sim.Inject(orgsim.Fault{Op: "CancelHandshake", Times: 2, Code: "ConcurrentModificationException"})
		c, err := e.client.CancelHandshake(ctx, payer, h.ID)
		if err != nil || c.State != invite.HandshakeCanceled || e.sim.Calls("CancelHandshake") != 3 {
			t.Fatalf("cancel = %+v, %v after %d calls", c, err, e.sim.Calls("CancelHandshake"))
		}
	})
	t.Run("5xx retried", func(t *testing.T) {
		e := newEnv(t, orgsim.Options{})
		e.sim.Inject(orgsim.Fault{Times: 1, Code: "ServiceException"})
		e.sim.Inject(orgsim.Fault{Times: 1, Code: "InternalFailure", Status: 503})
		if _, _, err := e.client.InviteAccount(ctx, payer, target, ""); err != nil {
			t.Fatal(err)
		}
		if n := e.sim.TotalCalls(); n != 3 {
			t.Errorf("%d attempts, want 3", n)
		}
	})
	t.Run("not retried", func(t *testing.T) {
		e := newEnv(t, orgsim.Options{})
		e.sim.Inject(orgsim.Fault{Code: "FinalizingOrganizationException"})
		_, err := e.client.DescribeAccount(ctx, payer, target)
		wantDomain(t, err, invite.CodeAWSOrgFinalizing)
		if n := e.sim.TotalCalls(); n != 1 {
			t.Errorf("%d attempts, want 1", n)
		}
	})
	t.Run("default backoff stays under ten seconds", func(t *testing.T) {
		// The production defaults, measured on a storm that never ends.
		e := newEnv(t, orgsim.Options{}, func(o *awsorg.Options) { o.BaseBackoff, o.MaxBackoff = 0, 0 })
		e.sim.Inject(orgsim.Fault{Code: "TooManyRequestsException"})
		began := time.Now()
		_, err := e.client.DescribeHandshake(ctx, payer, "h-0123456789")
		wantDomain(t, err, invite.CodeAWSUnavailable)
		if d := time.Since(began); d > 10*time.Second || d < time.Second {
			t.Errorf("gave up after %v", d)
		}
		t.Logf("default retries gave up after %v and %d attempts", time.Since(began).Round(time.Millisecond), e.sim.TotalCalls())
	})
}

func TestTimeoutsAndDrops(t *testing.T) {
	ctx := context.Background()
	t.Run("caller deadline", func(t *testing.T) {
		e := newEnv(t, orgsim.Options{})
		e.sim.Inject(orgsim.Fault{Latency: 3 * time.Second})
		dctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		began := time.Now()
		_, _, err := e.client.InviteAccount(dctx, payer, target, "")
		de := wantDomain(t, err, invite.CodeAWSUnavailable)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("error %v does not wrap the deadline", err)
		}
		if d := time.Since(began); d > time.Second {
			t.Errorf("returned after %v", d)
		}
		if de.RetryAfter <= 0 {
			t.Error("no RetryAfter")
		}
	})
	t.Run("slow attempt retried", func(t *testing.T) {
		e := newEnv(t, orgsim.Options{}, func(o *awsorg.Options) { o.AttemptTimeout = 100 * time.Millisecond })
		e.sim.Inject(orgsim.Fault{Times: 1, Latency: time.Second})
		h, _, err := e.client.InviteAccount(ctx, payer, target, "")
		if err != nil || h.ID == "" {
			t.Fatalf("invite = %+v, %v", h, err)
		}
		if n := e.sim.TotalCalls(); n != 2 {
			t.Errorf("%d attempts, want 2", n)
		}
	})
	t.Run("dropped connection retried", func(t *testing.T) {
		e := newEnv(t, orgsim.Options{})
		e.sim.Inject(orgsim.Fault{Times: 2, Drop: true})
		h, adopted, err := e.client.InviteAccount(ctx, payer, target, "")
		if err != nil || adopted || h.ID == "" {
			t.Fatalf("invite = %+v adopted=%v, %v", h, adopted, err)
		}
	})
	t.Run("connection keeps dropping", func(t *testing.T) {
		e := newEnv(t, orgsim.Options{})
		e.sim.Inject(orgsim.Fault{Drop: true})
		_, err := e.client.DescribeHandshake(ctx, payer, "h-0123456789")
		wantDomain(t, err, invite.CodeAWSUnavailable)
		if n := e.sim.TotalCalls(); n != 5 {
			t.Errorf("%d attempts, want 5", n)
		}
	})
}

func TestConcurrentCalls(t *testing.T) {
	e := newEnv(t, orgsim.Options{MaxAccounts: 100, MaxInvitesPerDay: 100})
	ctx := context.Background()
	// Some throttling on the way, as under real load.
	e.sim.Inject(orgsim.Fault{Op: "InviteAccountToOrganization", Times: 10, Code: "TooManyRequestsException"})
	const n = 40
	var wg sync.WaitGroup
	ids := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			// Two payers at once, and each account invited twice by each payer: one call sends, the other adopts.
			p := payer
			if i%2 == 1 {
				p = invite.Payer{ManagementAccountID: other}
			}
			h, _, err := e.client.InviteAccount(ctx, p, fmt.Sprintf("8000000000%02d", i/4), "")
			ids[i], errs[i] = h.ID, err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if i%4 < 2 && ids[i] != ids[i+2] {
			t.Errorf("calls %d and %d got handshakes %s and %s", i, i+2, ids[i], ids[i+2])
		}
	}
	for _, p := range []invite.Payer{payer, {ManagementAccountID: other}} {
		count := 0
		if err := e.client.ListInviteHandshakes(ctx, p, func(invite.Handshake) error { count++; return nil }); err != nil {
			t.Fatal(err)
		}
		if count != n/4 {
			t.Errorf("payer %s has %d handshakes, want %d", p.ManagementAccountID, count, n/4)
		}
	}
}

func TestRateLimitPerPayer(t *testing.T) {
	e := newEnv(t, orgsim.Options{}, func(o *awsorg.Options) { o.RatePerSecond = 20 })
	ctx := context.Background()
	began := time.Now()
	for range 8 {
		if _, err := e.client.DescribeAccount(ctx, payer, mgmt); err != nil {
			t.Fatal(err)
		}
	}
	// 8 requests at 20 a second with a burst of 1: at least 7 intervals of 50ms.
	if d := time.Since(began); d < 340*time.Millisecond {
		t.Errorf("8 calls took %v, want at least 350ms", d)
	}
	// Another payer has its own budget.
	began = time.Now()
	if _, err := e.client.DescribeAccount(ctx, invite.Payer{ManagementAccountID: other}, other); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(began); d > 45*time.Millisecond {
		t.Errorf("another payer waited %v", d)
	}
}
