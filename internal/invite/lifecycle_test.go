package invite_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cloudreseller/aws-invites/internal/invite"
)

func TestTransitions(t *testing.T) {
	allowed := map[[2]invite.State]bool{
		{invite.StateInvited, invite.StateAccepted}: true,
		{invite.StateInvited, invite.StateDeclined}: true,
		{invite.StateInvited, invite.StateCanceled}: true,
		{invite.StateInvited, invite.StateExpired}:  true,
		// A queued invite is sent or canceled; a re-send refused for the quota after its cancel waits in the queue.
		{invite.StateQueued, invite.StateInvited}:                  true,
		{invite.StateQueued, invite.StateCanceled}:                 true,
		{invite.StateInvited, invite.StateQueued}:                  true,
		{invite.StateAccepted, invite.StateAwaitingCUR}:            true,
		{invite.StateAwaitingCUR, invite.StateActive}:              true,
		{invite.StateAwaitingCUR, invite.StateCloudHealthCritical}: true,
		{invite.StateActive, invite.StateCloudHealthCritical}:      true,
		{invite.StateCloudHealthCritical, invite.StateActive}:      true,
		{invite.StateCloudHealthCritical, invite.StateAwaitingCUR}: true,
		// A billing transfer ends after it was accepted.
		{invite.StateAccepted, invite.StateCanceled}:            true,
		{invite.StateAwaitingCUR, invite.StateCanceled}:         true,
		{invite.StateActive, invite.StateCanceled}:              true,
		{invite.StateCloudHealthCritical, invite.StateCanceled}: true,
		// A joined account departs the payer's organization.
		{invite.StateAwaitingCUR, invite.StateDeparted}:         true,
		{invite.StateActive, invite.StateDeparted}:              true,
		{invite.StateCloudHealthCritical, invite.StateDeparted}: true,
	}
	for _, from := range invite.States() {
		for _, to := range invite.States() {
			want := allowed[[2]invite.State{from, to}]
			if got := invite.CanTransition(from, to); got != want {
				t.Errorf("CanTransition(%s, %s) = %v, want %v", from, to, got, want)
			}
		}
	}
	if invite.State("pending").Valid() || invite.CanTransition("pending", invite.StateInvited) {
		t.Error("an unknown state is valid or may move")
	}
}

// TestStateProperties: every question about a state has one answer, from the lifecycle table.
func TestStateProperties(t *testing.T) {
	type props struct{ terminal, holds, joined, aws, cloudHealth, cur, membership bool }
	want := map[invite.State]props{
		invite.StateQueued:              {holds: true},
		invite.StateInvited:             {holds: true, aws: true},
		invite.StateAccepted:            {holds: true, aws: true},
		invite.StateAwaitingCUR:         {holds: true, joined: true, cloudHealth: true, cur: true, membership: true},
		invite.StateActive:              {holds: true, joined: true, cloudHealth: true, cur: true, membership: true},
		invite.StateCloudHealthCritical: {holds: true, joined: true, cloudHealth: true, cur: true, membership: true},
		invite.StateCanceled:            {terminal: true},
		invite.StateDeclined:            {terminal: true},
		invite.StateExpired:             {terminal: true},
		invite.StateDeparted:            {terminal: true},
	}
	states := invite.States()
	if len(states) != len(want) {
		t.Fatalf("States() = %v, want the %d states of the product", states, len(want))
	}
	for _, s := range states {
		w, ok := want[s]
		if !ok {
			t.Errorf("state %s is not in the product's lifecycle", s)
			continue
		}
		got := props{s.Terminal(), s.HoldsAccount(), s.Joined(), s.FollowsAWS(), s.FollowsCloudHealth(), s.FollowsCUR(), s.FollowsMembership()}
		if got != w {
			t.Errorf("%s: properties %+v, want %+v", s, got, w)
		}
		if !s.Valid() {
			t.Errorf("%s is not valid", s)
		}
	}
	unknown := invite.State("pending")
	if unknown.Terminal() == false && unknown.HoldsAccount() {
		t.Error("an unknown state holds an account")
	}
	if got := invite.StatesWhere(invite.State.Terminal); !slices.Equal(got, []invite.State{invite.StateCanceled, invite.StateDeclined, invite.StateExpired, invite.StateDeparted}) {
		t.Errorf("terminal states = %v", got)
	}
}

func TestNextSteps(t *testing.T) {
	sent := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	joined := sent.Add(time.Hour)
	hs := &invite.Handshake{ID: "h-abcdefgh", State: invite.HandshakeOpen, RequestedAt: sent}
	cases := []struct {
		name   string
		inv    invite.Invite
		now    time.Time
		want   []string
		absent []string
	}{
		{"invited, within five minutes", invite.Invite{State: invite.StateInvited, Handshake: hs, LastSentAt: sent}, sent.Add(4 * time.Minute),
			[]string{"check_email", "accept_in_console", "wait_for_email", "accept_from_another_organization", "management_account_cannot_join"}, []string{"resend"}},
		{"invited, after five minutes", invite.Invite{State: invite.StateInvited, Handshake: hs, LastSentAt: sent}, sent.Add(5 * time.Minute),
			[]string{"check_email", "accept_in_console", "resend", "accept_from_another_organization", "management_account_cannot_join"}, []string{"wait_for_email"}},
		{"invited, send in flight", invite.Invite{State: invite.StateInvited, LastSentAt: sent}, sent,
			[]string{"sending"}, []string{"resend"}},
		{"queued", invite.Invite{State: invite.StateQueued, Queue: &invite.QueueSlot{Position: 2, ScheduledFor: sent, Reason: invite.QueueDailyQuota}}, sent,
			[]string{"queued_for_quota"}, []string{"resend", "check_email"}},
		{"accepted", invite.Invite{State: invite.StateAccepted}, sent, []string{"membership_confirmation"}, nil},
		{"awaiting CUR, day one", invite.Invite{State: invite.StateAwaitingCUR, JoinedAt: &joined}, joined.Add(47 * time.Hour),
			[]string{"grant_cloudhealth_access", "wait_for_cur", "no_spend_no_data"}, []string{"open_support_ticket"}},
		{"awaiting CUR, 48 hours", invite.Invite{State: invite.StateAwaitingCUR, JoinedAt: &joined}, joined.Add(48 * time.Hour),
			[]string{"grant_cloudhealth_access", "open_support_ticket", "no_spend_no_data"}, []string{"wait_for_cur"}},
		{"active", invite.Invite{State: invite.StateActive}, sent, nil, nil},
		{"cloudhealth critical", invite.Invite{State: invite.StateCloudHealthCritical}, sent,
			[]string{"fix_cloudhealth_iam", "cloudhealth_consequences"}, nil},
		{"declined", invite.Invite{State: invite.StateDeclined}, sent, []string{"invite_again"}, nil},
		{"expired", invite.Invite{State: invite.StateExpired}, sent, []string{"invite_again"}, nil},
		{"canceled", invite.Invite{State: invite.StateCanceled}, sent, nil, nil},
		{"departed", invite.Invite{State: invite.StateDeparted, Departure: &invite.Departure{NoticedAt: joined}}, sent,
			[]string{"account_departed", "invite_again"}, nil},
		{"awaiting CUR, account closed", invite.Invite{State: invite.StateAwaitingCUR, JoinedAt: &joined, AccountState: invite.AccountSuspended},
			joined.Add(72 * time.Hour), []string{"account_closed"}, []string{"open_support_ticket", "wait_for_cur", "grant_cloudhealth_access", "no_spend_no_data"}},
		{"cloudhealth critical, account pending closure", invite.Invite{State: invite.StateCloudHealthCritical, AccountState: invite.AccountPendingClosure},
			sent, []string{"account_closed"}, []string{"fix_cloudhealth_iam"}},
	}
	covered := map[invite.State]bool{}
	for _, tc := range cases {
		covered[tc.inv.State] = true
	}
	for _, s := range invite.States() {
		if !covered[s] {
			t.Errorf("no next-steps case for state %s", s)
		}
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var codes []string
			for _, s := range invite.NextSteps(tc.inv, tc.now) {
				if s.Title == "" || s.Detail == "" {
					t.Errorf("step %s has no title or detail", s.Code)
				}
				if !slices.Contains(invite.StepCodes(), s.Code) {
					t.Errorf("step %s is not in StepCodes", s.Code)
				}
				codes = append(codes, string(s.Code))
			}
			if !slices.Equal(codes, tc.want) {
				t.Errorf("codes = %v, want %v", codes, tc.want)
			}
			for _, c := range tc.absent {
				if slices.Contains(codes, c) {
					t.Errorf("step %s shown", c)
				}
			}
		})
	}
}

func TestNormalizeAccountID(t *testing.T) {
	cases := []struct {
		in, want string
		ok       bool
	}{
		{"123456789012", "123456789012", true},
		{"1234-5678-9012", "123456789012", true},
		{"1234 5678 9012", "123456789012", true},
		{" 012345678901 ", "012345678901", true},
		{"12345678901", "", false},
		{"1234567890123", "", false},
		{"12345678901a", "", false},
		{"", "", false},
		{"1234_5678_9012", "", false},
		{"１２３４５６７８９０１２", "", false}, // full-width digits are not digits here
	}
	for _, tc := range cases {
		got, err := invite.NormalizeAccountID(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("NormalizeAccountID(%q) = %q, %v; want %q, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
		if err != nil && invite.ErrorCode(err) != invite.CodeInvalidAccountID {
			t.Errorf("NormalizeAccountID(%q) code = %s", tc.in, invite.ErrorCode(err))
		}
	}
}

func TestViewComputesNextStepsAtTheGivenTime(t *testing.T) {
	sent := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	inv := invite.Invite{State: invite.StateInvited, LastSentAt: sent,
		Handshake: &invite.Handshake{ID: "h-abcdefgh", State: invite.HandshakeOpen, RequestedAt: sent}}
	early, late := invite.ViewOf(inv, sent.Add(time.Minute)), invite.ViewOf(inv, sent.Add(invite.ResendAfter))
	has := func(v invite.View, c invite.StepCode) bool {
		return slices.ContainsFunc(v.NextSteps, func(s invite.Step) bool { return s.Code == c })
	}
	if !has(early, invite.StepWaitForEmail) || has(early, invite.StepResend) {
		t.Errorf("one minute after sending: %v", early.NextSteps)
	}
	if !has(late, invite.StepResend) || has(late, invite.StepWaitForEmail) {
		t.Errorf("five minutes after sending: %v", late.NextSteps)
	}
	if early.Invite.ID != inv.ID || !early.ResendAvailableAt().Equal(sent.Add(invite.ResendAfter)) {
		t.Error("the view does not carry the invite")
	}
}

func TestSendInFlight(t *testing.T) {
	sent := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	reserved := invite.Invite{State: invite.StateInvited, LastSentAt: sent}
	for _, tc := range []struct {
		name     string
		inv      invite.Invite
		at       time.Time
		inFlight bool
		wait     time.Duration
	}{
		{"just reserved", reserved, sent, true, invite.SendTimeout},
		{"half way", reserved, sent.Add(invite.SendTimeout / 2), true, invite.SendTimeout / 2},
		{"timed out", reserved, sent.Add(invite.SendTimeout), false, 0},
		{"sent", invite.Invite{State: invite.StateInvited, LastSentAt: sent, Handshake: &invite.Handshake{ID: "h-1"}}, sent, false, 0},
	} {
		wait, inFlight := tc.inv.SendInFlight(tc.at)
		if inFlight != tc.inFlight || (inFlight && wait != tc.wait) {
			t.Errorf("%s: SendInFlight = %s, %v; want %s, %v", tc.name, wait, inFlight, tc.wait, tc.inFlight)
		}
	}
}

func TestEvaluateCloudHealth(t *testing.T) {
	grace := invite.DefaultCloudHealthGrace
	green := invite.CloudHealthStatus{Level: invite.LevelGreen, PayerAccountID: "111111111111", Listed: true}
	for _, tc := range []struct {
		name   string
		st     invite.CloudHealthStatus
		joined time.Duration
		want   invite.Health
		left   time.Duration
	}{
		{"green with payer", green, time.Hour, invite.HealthHealthy, 0},
		{"yellow with payer", invite.CloudHealthStatus{Level: invite.LevelYellow, PayerAccountID: "111111111111", Listed: true}, 100 * time.Hour, invite.HealthHealthy, 0},
		{"red is critical at once", invite.CloudHealthStatus{Level: invite.LevelRed, PayerAccountID: "111111111111", Listed: true}, 0, invite.HealthCritical, 0},
		{"unknown within grace", invite.CloudHealthStatus{Level: invite.LevelUnknown, Listed: true, PayerAccountID: "111111111111"}, time.Hour, invite.HealthGrace, grace - time.Hour},
		{"unknown after grace", invite.CloudHealthStatus{Level: invite.LevelUnknown, Listed: true, PayerAccountID: "111111111111"}, grace, invite.HealthCritical, 0},
		{"not listed within grace", invite.CloudHealthStatus{}, 10 * time.Hour, invite.HealthGrace, grace - 10*time.Hour},
		{"not listed after grace", invite.CloudHealthStatus{}, grace + time.Hour, invite.HealthCritical, 0},
		{"green, payer N/A, within grace", invite.CloudHealthStatus{Level: invite.LevelGreen, Listed: true}, 0, invite.HealthGrace, grace},
		{"green, payer N/A, after grace", invite.CloudHealthStatus{Level: invite.LevelGreen, Listed: true}, grace, invite.HealthCritical, 0},
		{"join time in the future counts as just joined", invite.CloudHealthStatus{}, -time.Hour, invite.HealthGrace, grace},
		{"green under another payer, within grace", invite.CloudHealthStatus{Level: invite.LevelGreen, PayerAccountID: "999999999999", Listed: true}, time.Hour, invite.HealthGrace, grace - time.Hour},
		{"green under another payer, after grace", invite.CloudHealthStatus{Level: invite.LevelGreen, PayerAccountID: "999999999999", Listed: true}, grace, invite.HealthCritical, 0},
		{"red under another payer is critical at once", invite.CloudHealthStatus{Level: invite.LevelRed, PayerAccountID: "999999999999", Listed: true}, 0, invite.HealthCritical, 0},
	} {
		v := invite.EvaluateCloudHealth(tc.st, []string{"111111111111"}, tc.joined, grace)
		if v.Health != tc.want || v.Left != tc.left {
			t.Errorf("%s: %+v, want %s with %s left", tc.name, v, tc.want, tc.left)
		}
		if tc.st.PayerAccountID == "999999999999" && tc.st.Level == invite.LevelGreen && !strings.Contains(v.Reason, "999999999999") {
			t.Errorf("%s: the reason %q does not name the payer CloudHealth shows", tc.name, v.Reason)
		}
		if (v.Warning != "") != (v.Health == invite.HealthHealthy && tc.st.Level == invite.LevelYellow) {
			t.Errorf("%s: warning %q", tc.name, v.Warning)
		}
		if (v.Health == invite.HealthHealthy) != (v.Reason == "") {
			t.Errorf("%s: reason %q for %s", tc.name, v.Reason, v.Health)
		}
	}
}
