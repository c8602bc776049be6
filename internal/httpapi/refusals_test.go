package httpapi_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cloudreseller/aws-invites/internal/awsorg/orgsim"
)

// AWS refusals the invited account's owner can act on are conflicts (409) or invalid input (422) with codes of
// their own; 502 is left to what only the reseller can fix. None of them leaves an invite, and the activity feed
// keeps the attempt with its code.
func TestAWSRefusalsTheCustomerCanActOn(t *testing.T) {
	e := newEnv(t, envOptions{sandbox: true})
	tok := e.token()
	for _, tc := range []struct {
		fault   string
		reason  string
		status  int
		code    string
		mention string
	}{
		{"HandshakeConstraintViolationException", "UNUSED_PREPAYMENT_BALANCE", 409, "unused_prepayment_balance", "prepayment"},
		{"HandshakeConstraintViolationException", "TARGET_ACCOUNT_VALIDATION_FAILURE", 422, "account_validation_failed", "check the account id"},
		{"ConstraintViolationException", "MASTER_ACCOUNT_MISSING_CONTACT_INFO", 502, "payer_setup_incomplete", "reseller"},
		{"AccessDeniedException", "", 502, "aws_access_denied", "reseller"},
		{"HandshakeConstraintViolationException", "LEGACY_PERMISSIONS_STILL_IN_USE", 502, "payer_legacy_billing_permissions", "reseller"},
		{"ConstraintViolationException", "UNMET_BILLING_PREREQUISITE", 502, "billing_prerequisite_unmet", "reseller"},
	} {
		t.Run(tc.code, func(t *testing.T) {
			e := e.with(t)
			defer e.sim.ClearFaults()
			e.sim.Inject(orgsim.Fault{Op: "InviteAccountToOrganization", Code: tc.fault, Reason: tc.reason})
			p := e.problem(e.do("POST", invitesPath(profile), tok, map[string]any{"accountId": "123456789012"}), tc.status, tc.code)
			if !strings.Contains(strings.ToLower(p["detail"].(string)), tc.mention) {
				t.Errorf("detail %q does not mention %q", p["detail"], tc.mention)
			}
		})
	}
	if inv, ev := e.counts(); inv != 0 || ev != 0 {
		t.Errorf("refused invitations left %d invites, %d events", inv, ev)
	}
	feed := e.do("GET", "/billing-profiles/"+profile+"/events?type=invite.refused", tok, nil).json(t)["items"].([]any)
	var codes []string
	for _, it := range feed {
		codes = append(codes, it.(map[string]any)["code"].(string))
	}
	if got := strings.Join(codes, " "); got != "billing_prerequisite_unmet payer_legacy_billing_permissions aws_access_denied payer_setup_incomplete account_validation_failed unused_prepayment_balance" {
		t.Errorf("the feed's refusals: %s", got)
	}

	// The same refusals meet a re-send, and the account's acceptance.
	id := e.create("123456789012")["id"].(string)
	e.clock.Advance(5 * time.Minute)
	e.sim.Inject(orgsim.Fault{Op: "InviteAccountToOrganization", Code: "HandshakeConstraintViolationException", Reason: "TARGET_ACCOUNT_VALIDATION_FAILURE"})
	e.problem(e.do("POST", invitesPath(profile)+"/"+id+"/resend", tok, nil), 422, "account_validation_failed")
	e.sim.ClearFaults()
	e.sim.Inject(orgsim.Fault{Op: "AcceptHandshake", Code: "HandshakeConstraintViolationException", Reason: "UNUSED_PREPAYMENT_BALANCE"})
	e.problem(e.do("POST", invitesPath(profile)+"/"+id+"/sandbox/accept", tok, nil), 409, "unused_prepayment_balance")
	e.sim.ClearFaults()
	e.sim.Inject(orgsim.Fault{Op: "AcceptHandshake", Code: "HandshakeConstraintViolationException", Reason: "TARGET_ACCOUNT_VALIDATION_FAILURE"})
	e.problem(e.do("POST", invitesPath(profile)+"/"+id+"/sandbox/accept", tok, nil), 422, "account_validation_failed")
	e.sim.ClearFaults()
}

// Every operation that calls AWS Organizations answers 502 aws_access_denied when the service's role may not act
// there, except refresh, which shows the invite as it stands and leaves the rest to the next pass.
func TestGatewayFailuresOfEveryAWSOperation(t *testing.T) {
	e := newEnv(t, envOptions{sandbox: true})
	tok := e.token()
	admin := adminToken(e)
	n := 200000000000
	newAccount := func() string { n++; return strconv.Itoa(n) }
	fresh := func() string { return e.create(newAccount())["id"].(string) }
	for _, tc := range []struct {
		name, method string
		path         func() string
		token        string
		status       int
	}{
		{"create", "POST", func() string { return invitesPath(profile) }, tok, 502},
		{"cancel", "DELETE", func() string { return invitesPath(profile) + "/" + fresh() }, tok, 502},
		{"resend", "POST", func() string {
			id := fresh()
			e.clock.Advance(5 * time.Minute)
			return invitesPath(profile) + "/" + id + "/resend"
		}, tok, 502},
		{"accept in the sandbox", "POST", func() string { return invitesPath(profile) + "/" + fresh() + "/sandbox/accept" }, tok, 502},
		{"decline in the sandbox", "POST", func() string { return invitesPath(profile) + "/" + fresh() + "/sandbox/decline" }, tok, 502},
		{"the payer's handshakes", "GET", func() string { return "/payers/" + management + "/handshakes" }, admin, 502},
		{"refresh", "POST", func() string { return invitesPath(profile) + "/" + fresh() + "/refresh" }, tok, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := e.with(t)
			path := tc.path()
			e.sim.Inject(orgsim.Fault{Code: "AccessDeniedException"})
			defer e.sim.ClearFaults()
			var body any
			if tc.name == "create" {
				body = map[string]any{"accountId": newAccount()}
			}
			r := e.do(tc.method, path, tc.token, body)
			if tc.status == http.StatusOK {
				if r.status != 200 {
					t.Errorf("%d %s", r.status, r.body)
				}
				return
			}
			e.problem(r, tc.status, "aws_access_denied")
		})
	}
}

// The conflicts of the operations that other tests do not reach: the sandbox's answers and CUR deliveries, and a
// billing profile that cannot change payer.
func TestConflicts(t *testing.T) {
	e := newEnv(t, envOptions{sandbox: true})
	tok, admin := e.token(), adminToken(e)
	id := e.create("123456789012")["id"].(string)
	inv := invitesPath(profile) + "/" + id
	if r := e.do("POST", inv+"/sandbox/accept", tok, nil); r.status != 200 {
		t.Fatalf("accept: %d %s", r.status, r.body)
	}
	e.problem(e.do("POST", inv+"/sandbox/accept", tok, nil), 409, "invalid_state")
	e.problem(e.do("POST", inv+"/sandbox/decline", tok, nil), 409, "invalid_state")
	e.problem(e.do("POST", inv+"/sandbox/cur", tok, map[string]any{"unblendedCost": "1.00"}), 409, "invalid_state")
	p := e.problem(e.do("PUT", "/billing-profiles/"+profile, admin,
		map[string]any{"customerId": customer, "name": "Acme main", "managementAccountId": "999988887777"}), 409, "payer_change_with_open_invites")
	if !strings.Contains(p["detail"].(string), "reassign") {
		t.Errorf("detail does not say what to do: %v", p["detail"])
	}
}

// AWS screens free text against cross-site scripting patterns (INVALID_PATTERN). The account id was checked before
// it was sent, so the refusal names the notes, with its own code: the customer rewords them. Nothing is left
// behind, and ordinary notes pass.
func TestNotesRefusedByAWSScreening(t *testing.T) {
	e := newEnv(t, envOptions{sandbox: true})
	tok := e.token()
	p := e.problem(e.do("POST", invitesPath(profile), tok, map[string]any{"accountId": "123456789012",
		"notes": `Welcome! <script>alert("hi")</script>`}), 422, "notes_refused")
	if d := p["detail"].(string); !strings.Contains(d, "notes") || strings.Contains(d, "12 digits") {
		t.Errorf("detail %q should name the notes, not the account id", d)
	}
	if inv, _ := e.counts(); inv != 0 {
		t.Errorf("a refused invitation left %d invites", inv)
	}
	if r := e.do("POST", invitesPath(profile), tok, map[string]any{"accountId": "123456789012",
		"notes": "Welcome aboard; see <the onboarding page> for what comes next"}); r.status != 201 {
		t.Errorf("ordinary notes: %d %s", r.status, r.body)
	}
}
