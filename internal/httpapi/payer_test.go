package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudreseller/aws-invites/internal/auth"
	"github.com/cloudreseller/aws-invites/internal/awsorg/orgsim"
	"github.com/cloudreseller/aws-invites/internal/invite"
	"github.com/cloudreseller/aws-invites/internal/store"
)

// The second customer of acme's payer organization.
const (
	globexShared = "globex-shared"
	sharedPayer  = management
)

// withSharedPayer adds a billing profile of another customer (globex) on acme-main's payer.
func withSharedPayer(t *testing.T, e *env) {
	t.Helper()
	if _, _, err := e.store.PutBillingProfile(context.Background(), invite.BillingProfile{ID: globexShared,
		CustomerID: "globex", Name: "Globex on the shared payer", ManagementAccountID: sharedPayer}); err != nil {
		t.Fatal(err)
	}
}

func (e *env) globexToken() string {
	return e.token(func(c *auth.Claims) {
		c.Subject, c.Email, c.CustomerID, c.BillingProfiles = "gina", "gina@globex.example", "globex", []string{globexShared}
	})
}

func (e *env) adminToken() string {
	return e.token(func(c *auth.Claims) { c.Subject, c.Roles = "staff", []string{invite.RolePlatformAdmin} })
}

// TestTwoCustomersRaceForOneAccount: 20 creates of one account, split between two customers whose billing profiles
// share a payer, make one invite and one handshake; the loser is refused without seeing anything of the winner.
func TestTwoCustomersRaceForOneAccount(t *testing.T) {
	for _, dialect := range []string{store.DialectPostgres, store.DialectSQLite} {
		t.Run(dialect, func(t *testing.T) {
			e := newEnv(t, envOptions{dialect: dialect, sandbox: true})
			withSharedPayer(t, e)
			acme, globex := e.token(), e.globexToken()
			const n = 20
			results := make([]response, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				tok, bp, notes := acme, profile, "acme's private notes"
				if i%2 == 1 {
					tok, bp, notes = globex, globexShared, "globex's private notes"
				}
				wg.Go(func() {
					<-start
					results[i] = e.with(t).do("POST", invitesPath(bp), tok, map[string]any{"accountId": "555566667777", "notes": notes})
				})
			}
			close(start)
			wg.Wait()

			created := 0
			var winner string
			for i, r := range results {
				if r.status == http.StatusCreated {
					created++
					winner = map[bool]string{true: "acme", false: "globex"}[i%2 == 0]
				}
			}
			if created != 1 {
				for _, r := range results {
					t.Logf("%d %s", r.status, r.body)
				}
				t.Fatalf("%d creates succeeded, want 1", created)
			}
			for i, r := range results {
				caller := map[bool]string{true: "acme", false: "globex"}[i%2 == 0]
				switch {
				case r.status == http.StatusCreated:
				case caller == winner:
					// The winner's own repeats meet its invite: too soon to re-send (or still being sent).
					if r.status != http.StatusConflict || (!strings.Contains(string(r.body), "resend_too_soon") && !strings.Contains(string(r.body), "send_in_progress")) {
						t.Errorf("%s's repeat: %d %s", caller, r.status, r.body)
					}
				default:
					p := e.with(t).problem(r, http.StatusConflict, "account_held_by_another_billing_profile")
					body := string(r.body)
					// Nothing of the winner: its notes, its billing profile, its customer, its invite or handshake.
					winnerBP := map[bool]string{true: profile, false: globexShared}[winner == "acme"]
					for _, leak := range []string{winner + "'s private notes", `"` + winnerBP + `"`, "/" + winnerBP + "/", winner + "-", "h-", "invite "} {
						if strings.Contains(body, leak) {
							t.Errorf("the loser (%s) learns %q: %s", caller, leak, body)
						}
					}
					if d, _ := p["detail"].(string); !strings.Contains(d, "support") {
						t.Errorf("the loser is not told what to do: %q", d)
					}
				}
			}
			if got := e.sim.Calls("InviteAccountToOrganization"); got != 1 {
				t.Errorf("InviteAccountToOrganization calls = %d, want 1", got)
			}
			// The loser's list is empty; the winner's holds one invite.
			for _, c := range []struct {
				tok, bp string
				want    int
			}{{acme, profile, map[bool]int{true: 1}[winner == "acme"]}, {globex, globexShared, map[bool]int{true: 1}[winner == "globex"]}} {
				r := e.do("GET", invitesPath(c.bp), c.tok, nil)
				if items := r.json(t)["items"].([]any); len(items) != c.want {
					t.Errorf("%s lists %d invites, want %d", c.bp, len(items), c.want)
				}
			}
			// A platform administrator is told which invite holds the account.
			admin := e.adminToken()
			loserBP := map[bool]string{true: globexShared, false: profile}[winner == "acme"]
			p := e.problem(e.do("POST", invitesPath(loserBP), admin, map[string]any{"accountId": "555566667777"}), 409, "account_held_by_another_billing_profile")
			if d := p["detail"].(string); !strings.Contains(d, map[bool]string{true: profile, false: globexShared}[winner == "acme"]) {
				t.Errorf("the admin is not told the holding profile: %q", d)
			}
		})
	}
}

// TestConsoleHandshakeAttachesToItsHolderOnly: an invite of acme holds an account whose send was interrupted; a
// handshake for the account sent from the console is adopted by that invite, never by globex's billing profile of
// the same payer.
func TestConsoleHandshakeAttachesToItsHolderOnly(t *testing.T) {
	e := newEnv(t, envOptions{sandbox: true})
	withSharedPayer(t, e)
	ctx := context.Background()
	now := e.clock.Now()
	reserved := invite.Invite{ID: "01937000-0000-7000-8000-00000000beef", BillingProfileID: profile, AccountID: "444455556666",
		Notes: "acme only", State: invite.StateInvited, InvitedBy: invite.Actor{Kind: invite.ActorUser, Subject: "alice"},
		CreatedAt: now, UpdatedAt: now, LastSentAt: now, Version: 1}
	if err := e.store.CreateInvite(ctx, reserved, invite.Event{At: now, Actor: reserved.InvitedBy, To: invite.StateInvited, Reason: "invite requested"}); err != nil {
		t.Fatal(err)
	}
	console, _, err := e.orgs.InviteAccount(ctx, invite.Payer{ManagementAccountID: sharedPayer}, reserved.AccountID, "sent by hand")
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(2 * invite.SendTimeout)

	e.problem(e.do("POST", invitesPath(globexShared), e.globexToken(), map[string]any{"accountId": reserved.AccountID}),
		409, "account_held_by_another_billing_profile")
	r := e.do("POST", invitesPath(profile)+"/"+reserved.ID+"/refresh", e.token(), nil)
	if r.status != 200 {
		t.Fatalf("refresh: %d %s", r.status, r.body)
	}
	if hs, _ := r.json(t)["handshake"].(map[string]any); hs == nil || hs["id"] != console.ID {
		t.Fatalf("the holder did not adopt the console handshake: %s", r.body)
	}
	if items := e.do("GET", invitesPath(globexShared), e.globexToken(), nil).json(t)["items"].([]any); len(items) != 0 {
		t.Errorf("globex has %d invites", len(items))
	}
}

func TestReassignInvite(t *testing.T) {
	e := newEnv(t, envOptions{sandbox: true})
	withSharedPayer(t, e)
	admin := e.adminToken()
	inv := e.create("123412341234")
	id := inv["id"].(string)
	path := invitesPath(profile) + "/" + id + "/reassign"

	e.problem(e.do("POST", path, e.token(), map[string]any{"billingProfileId": globexShared}), 403, "forbidden")
	e.problem(e.do("POST", path, admin, map[string]any{"billingProfileId": "acme-other"}), 409, "different_payer")
	e.problem(e.do("POST", path, admin, map[string]any{"billingProfileId": "nope"}), 422, "validation_failed")
	r := e.do("POST", path, admin, map[string]any{"billingProfileId": globexShared})
	if r.status != 200 || r.json(t)["billingProfileId"] != globexShared {
		t.Fatalf("reassign: %d %s", r.status, r.body)
	}
	moved := r.json(t)
	if moved["handshake"].(map[string]any)["id"] != inv["handshake"].(map[string]any)["id"] || moved["state"] != "invited" {
		t.Errorf("the handshake or state did not move with the invite: %s", r.body)
	}
	e.problem(e.do("GET", invitesPath(profile)+"/"+id, e.token(), nil), 404, "not_found")
	events := e.do("GET", invitesPath(globexShared)+"/"+id+"/events", e.globexToken(), nil)
	items := events.json(t)["items"].([]any)
	last := items[len(items)-1].(map[string]any)
	if len(items) < 3 || !strings.Contains(last["reason"].(string), "from billing profile "+profile+" to billing profile "+globexShared) ||
		last["actor"].(map[string]any)["subject"] != "staff" {
		t.Errorf("history after the move: %s", events.body)
	}
	// The account now belongs to globex's profile: acme is refused, globex's re-entry meets its invite.
	e.problem(e.do("POST", invitesPath(profile), e.token(), map[string]any{"accountId": "123412341234"}), 409, "account_held_by_another_billing_profile")
	e.problem(e.do("POST", invitesPath(globexShared), e.globexToken(), map[string]any{"accountId": "123412341234"}), 409, "resend_too_soon")
}

func TestUnclaimedHandshakesListedAndAdopted(t *testing.T) {
	e := newEnv(t, envOptions{sandbox: true})
	ctx := context.Background()
	admin := e.adminToken()
	ours := e.create("100000000001")
	payer := invite.Payer{ManagementAccountID: management}
	var console []string
	for i := range 3 {
		e.clock.Advance(time.Second)
		h, _, err := e.orgs.InviteAccount(ctx, payer, fmt.Sprintf("20000000000%d", i), "from the console")
		if err != nil {
			t.Fatal(err)
		}
		console = append(console, h.ID)
	}
	path := "/payers/" + management + "/handshakes"
	e.problem(e.do("GET", path+"?unclaimed=true", e.token(), nil), 403, "forbidden")

	// All handshakes: ours (with its invite) and the three from the console.
	all := e.do("GET", path, admin, nil)
	if all.status != 200 || len(all.json(t)["items"].([]any)) != 4 || !strings.Contains(string(all.body), ours["id"].(string)) {
		t.Fatalf("all handshakes: %d %s", all.status, all.body)
	}
	// Unclaimed, two a page, newest first.
	var seen []string
	cursor := ""
	for page := 0; page < 3; page++ {
		q := path + "?unclaimed=true&limit=2"
		if cursor != "" {
			q += "&cursor=" + cursor
		}
		r := e.do("GET", q, admin, nil)
		if r.status != 200 {
			t.Fatalf("page %d: %d %s", page, r.status, r.body)
		}
		for _, it := range r.json(t)["items"].([]any) {
			h := it.(map[string]any)
			if h["inviteId"] != nil || h["state"] != "OPEN" || h["accountId"] == "" {
				t.Errorf("unclaimed item: %v", h)
			}
			seen = append(seen, h["id"].(string))
		}
		next, _ := r.json(t)["nextCursor"].(string)
		if next == "" {
			break
		}
		cursor = next
	}
	if fmt.Sprint(seen) != fmt.Sprint([]string{console[2], console[1], console[0]}) {
		t.Errorf("unclaimed pages = %v, want %v (newest first)", seen, []string{console[2], console[1], console[0]})
	}
	e.problem(e.do("GET", path+"?unclaimed=false&cursor="+cursor, admin, nil), 400, "invalid_cursor")

	// Adopt one: a customer may not; an administrator creates the invite around it, without a new handshake.
	e.problem(e.do("POST", invitesPath(profile), e.token(), map[string]any{"adoptHandshakeId": console[0]}), 403, "forbidden")
	sends := e.sim.Calls("InviteAccountToOrganization")
	r := e.do("POST", invitesPath(profile), admin, map[string]any{"adoptHandshakeId": console[0], "notes": "adopted"})
	if r.status != 201 {
		t.Fatalf("adopt: %d %s", r.status, r.body)
	}
	adopted := r.json(t)
	if adopted["accountId"] != "200000000000" || adopted["handshake"].(map[string]any)["id"] != console[0] || adopted["state"] != "invited" {
		t.Errorf("adopted invite: %s", r.body)
	}
	if e.sim.Calls("InviteAccountToOrganization") != sends {
		t.Error("adopting sent an invitation")
	}
	e.problem(e.do("POST", invitesPath(profile), admin, map[string]any{"adoptHandshakeId": console[0]}), 409, "handshake_not_adoptable")
	e.problem(e.do("POST", invitesPath(profile), admin, map[string]any{"adoptHandshakeId": console[1], "accountId": "999999999999"}), 422, "validation_failed")
	e.problem(e.do("POST", invitesPath(profile), admin, map[string]any{"adoptHandshakeId": "h-doesnotexist1"}), 422, "validation_failed")
	left := e.do("GET", path+"?unclaimed=true", admin, nil)
	if items := left.json(t)["items"].([]any); len(items) != 2 || strings.Contains(string(left.body), console[0]) {
		t.Errorf("after adoption, unclaimed: %s", left.body)
	}
}

// TestDirectMoveAndManagementAccount: a member of another organization accepts directly and joins; the
// management account of an organization with members cannot, and is told what to do instead.
func TestDirectMoveAndManagementAccount(t *testing.T) {
	e := newEnv(t, envOptions{sandbox: true})
	tok := e.token()
	member := e.create("999100000001")
	if steps := stepCodes(member); !strings.Contains(steps, "accept_from_another_organization") || !strings.Contains(steps, "management_account_cannot_join") {
		t.Errorf("next steps of an invited account: %s", steps)
	}
	r := e.do("POST", invitesPath(profile)+"/"+member["id"].(string)+"/sandbox/accept", tok, nil)
	if r.status != 200 || r.json(t)["state"] != "awaiting_cur" {
		t.Fatalf("a member of another organization accepts: %d %s", r.status, r.body)
	}
	if org, _ := r.json(t)["organization"].(map[string]any); org == nil || org["managementAccountId"] != management || !strings.HasPrefix(org["id"].(string), "o-") {
		t.Errorf("organization overview: %s", r.body)
	}

	e.problem(e.do("POST", invitesPath(profile), tok, map[string]any{"accountId": "999600000001"}), 409, "account_in_another_organization")

	mgmt := e.create("999200000001")
	p := e.problem(e.do("POST", invitesPath(profile)+"/"+mgmt["id"].(string)+"/sandbox/accept", tok, nil), 409, "account_is_management_account")
	if d := p["detail"].(string); !strings.Contains(d, "member") {
		t.Errorf("detail for a management account: %q", d)
	}
	if got := e.do("GET", invitesPath(profile)+"/"+mgmt["id"].(string), tok, nil).json(t); got["state"] != "invited" {
		t.Errorf("after the refused accept the invite is %v", got["state"])
	}
}

// TestRefusedResendKeepsTheInvitation: a re-send AWS refuses (the daily quota, persistent throttling) leaves the
// invite as it was, with its handshake still open in AWS.
func TestRefusedResendKeepsTheInvitation(t *testing.T) {
	for _, tc := range []struct {
		name   string
		fault  orgsim.Fault
		status int
		code   string
	}{
		{"daily limit", orgsim.Fault{Op: "InviteAccountToOrganization", Code: "HandshakeConstraintViolationException", Reason: "HANDSHAKE_RATE_LIMIT_EXCEEDED"}, 429, "daily_invite_limit_exceeded"},
		{"persistent throttling", orgsim.Fault{Code: "TooManyRequestsException"}, 503, "aws_unavailable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOptions{sandbox: true})
			inv := e.create("300000000001")
			id, hs := inv["id"].(string), inv["handshake"].(map[string]any)["id"].(string)
			e.clock.Advance(invite.ResendAfter)
			e.sim.Inject(tc.fault)
			e.problem(e.do("POST", invitesPath(profile)+"/"+id+"/resend", e.token(), nil), tc.status, tc.code)
			e.problem(e.do("POST", invitesPath(profile), e.token(), map[string]any{"accountId": "300000000001"}), tc.status, tc.code)
			e.sim.ClearFaults()
			h, err := e.orgs.DescribeHandshake(context.Background(), invite.Payer{ManagementAccountID: management}, hs)
			if err != nil || h.State != invite.HandshakeOpen {
				t.Fatalf("the handshake at AWS: %+v %v", h, err)
			}
			got := e.do("GET", invitesPath(profile)+"/"+id, e.token(), nil).json(t)
			if got["state"] != "invited" || got["handshake"].(map[string]any)["id"] != hs || got["updatedAt"] != inv["updatedAt"] {
				t.Errorf("the invite after the refused re-send: %v", got)
			}
			if e.sim.Calls("CancelHandshake") != 0 {
				t.Errorf("CancelHandshake called %d times", e.sim.Calls("CancelHandshake"))
			}
		})
	}
}

// TestReentryWithNewNotes: re-entering an invited account with other notes re-sends them and says so; too soon, the
// refusal says the notes were kept.
func TestReentryWithNewNotes(t *testing.T) {
	e := newEnv(t, envOptions{sandbox: true})
	inv := e.create("300000000002")
	id := inv["id"].(string)
	p := e.problem(e.do("POST", invitesPath(profile), e.token(), map[string]any{"accountId": "300000000002", "notes": "new words"}), 409, "resend_too_soon")
	if d := p["detail"].(string); !strings.Contains(d, "keeps its notes") {
		t.Errorf("too-soon detail: %q", d)
	}
	e.clock.Advance(invite.ResendAfter)
	r := e.do("POST", invitesPath(profile), e.token(), map[string]any{"accountId": "300000000002", "notes": "new words"})
	if r.status != 200 || r.json(t)["notes"] != "new words" {
		t.Fatalf("re-entry with new notes: %d %s", r.status, r.body)
	}
	events := e.do("GET", invitesPath(profile)+"/"+id+"/events", e.token(), nil).json(t)["items"].([]any)
	if last := events[len(events)-1].(map[string]any)["reason"].(string); !strings.Contains(last, "new notes") {
		t.Errorf("history does not say the notes changed: %q", last)
	}
	// Without notes, a re-entry keeps them.
	e.clock.Advance(invite.ResendAfter)
	r = e.do("POST", invitesPath(profile), e.token(), map[string]any{"accountId": "300000000002"})
	if r.status != 200 || r.json(t)["notes"] != "new words" {
		t.Fatalf("re-entry without notes: %d %s", r.status, r.body)
	}
}
