package invite_test

import (
	"slices"
	"testing"
	"time"

	"github.com/cloudreseller/aws-invites/internal/invite"
)

func TestTransitions(t *testing.T) {
	allowed := map[[2]invite.State]bool{
		{invite.StateInvited, invite.StateAccepted}:                true,
		{invite.StateInvited, invite.StateDeclined}:                true,
		{invite.StateInvited, invite.StateCanceled}:                true,
		{invite.StateInvited, invite.StateExpired}:                 true,
		{invite.StateAccepted, invite.StateAwaitingCUR}:            true,
		{invite.StateAwaitingCUR, invite.StateActive}:              true,
		{invite.StateAwaitingCUR, invite.StateCloudHealthCritical}: true,
		{invite.StateActive, invite.StateCloudHealthCritical}:      true,
		{invite.StateCloudHealthCritical, invite.StateActive}:      true,
		{invite.StateCloudHealthCritical, invite.StateAwaitingCUR}: true,
	}
	for _, from := range invite.States() {
		for _, to := range invite.States() {
			want := allowed[[2]invite.State{from, to}]
			if got := invite.CanTransition(from, to); got != want {
				t.Errorf("CanTransition(%s, %s) = %v, want %v", from, to, got, want)
			}
		}
	}
	for _, s := range invite.States() {
		if !s.Valid() {
			t.Errorf("%s is not valid", s)
		}
		terminal := s == invite.StateCanceled || s == invite.StateDeclined || s == invite.StateExpired
		if s.Terminal() != terminal {
			t.Errorf("%s.Terminal() = %v", s, s.Terminal())
		}
	}
	if invite.State("pending").Valid() {
		t.Error("an unknown state is valid")
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
			[]string{"check_email", "accept_in_console", "wait_for_email", "leave_other_organization"}, []string{"resend"}},
		{"invited, after five minutes", invite.Invite{State: invite.StateInvited, Handshake: hs, LastSentAt: sent}, sent.Add(5 * time.Minute),
			[]string{"check_email", "accept_in_console", "resend", "leave_other_organization"}, []string{"wait_for_email"}},
		{"invited, send in flight", invite.Invite{State: invite.StateInvited, LastSentAt: sent}, sent,
			[]string{"sending"}, []string{"resend"}},
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
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var codes []string
			for _, s := range invite.NextSteps(tc.inv, tc.now) {
				if s.Title == "" || s.Detail == "" {
					t.Errorf("step %s has no title or detail", s.Code)
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
