package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cloudreseller/aws-invites/internal/invite"
)

// The daily invitation quota as the service keeps it (invite.QuotaRules). The limit is configuration rather than
// an API-settable value: AWS raises a payer's quota only through a support case, rarely, and the raised value
// must hold on every replica at once; the operators who filed the case set it here, per payer.

// QuotaRules are the domain's quota rules, as configured.
type QuotaRules = invite.QuotaRules

// DefaultInviteSendPace is the pause between two sends of one payer's queue in one pass.
const DefaultInviteSendPace = 200 * time.Millisecond

var quotaEnv = []Var{
	{"INVITE_DAILY_LIMIT", fmt.Sprintf("invitations each payer organization may send in any 24 hours, accepted ones excepted, as the service's ledger counts them before calling AWS (default %d, AWS's quota; in the sandbox SANDBOX_INVITES_PER_DAY)", invite.DefaultDailyInviteLimit)},
	{"INVITE_DAILY_LIMITS", "per payer overrides of INVITE_DAILY_LIMIT once AWS Support raised a payer's quota: comma-separated managementAccountId=limit (default none)"},
	{"INVITE_RESERVED_SLOTS", fmt.Sprintf("slots of each payer's daily quota kept for single invites and re-sends; queued work (batches) never uses them; 0 reserves none (default %d)", invite.DefaultReservedInvites)},
	{"ORGANIZATION_ACCOUNT_LIMIT", "the payer organizations' account quota (management account, members and open invitations) checked before a queued invite is sent; 0 checks none, AWS's ACCOUNT_NUMBER_LIMIT_EXCEEDED then queues the invite (default 0)"},
	{"INVITE_SEND_PACE", fmt.Sprintf("pause between two sends of one payer's queue in one pass, with jitter (default %s)", short(DefaultInviteSendPace))},
}

// readQuota reads the quota's settings; it runs after readSandbox, whose simulated quota is the sandbox's default.
func readQuota(e env, c *Config) error {
	q := invite.QuotaRules{DailyLimit: invite.DefaultDailyInviteLimit}
	if c.Mode == ModeSandbox && c.SandboxInvitesPerDay > 0 {
		q.DailyLimit = c.SandboxInvitesPerDay
	}
	count := func(name string, min int) (int, bool, error) {
		s := e.trimmed(name)
		if s == "" {
			return 0, false, nil
		}
		v, err := strconv.Atoi(s)
		if err != nil || v < min || v > 1_000_000 {
			return 0, false, fmt.Errorf("%s %q is not a whole number like 20", name, s)
		}
		return v, true, nil
	}
	if v, ok, err := count("INVITE_DAILY_LIMIT", 1); err != nil {
		return err
	} else if ok {
		q.DailyLimit = v
	}
	if s := e.trimmed("INVITE_DAILY_LIMITS"); s != "" {
		q.PerPayer = map[string]int{}
		for pair := range strings.SplitSeq(s, ",") {
			id, n, ok := strings.Cut(strings.TrimSpace(pair), "=")
			v, err := strconv.Atoi(strings.TrimSpace(n))
			acct, aerr := invite.NormalizeAccountID(strings.TrimSpace(id))
			if !ok || err != nil || aerr != nil || v < 1 {
				return fmt.Errorf("INVITE_DAILY_LIMITS %q is not managementAccountId=limit pairs like 111111111111=50", s)
			}
			q.PerPayer[acct] = v
		}
	}
	q.Reserved = invite.DefaultReservedInvites
	if v, ok, err := count("INVITE_RESERVED_SLOTS", 0); err != nil {
		return err
	} else if ok {
		q.Reserved = v
		if v == 0 {
			q.Reserved = -1 // QuotaRules' zero is the default; none is negative
		}
	}
	if v, ok, err := count("ORGANIZATION_ACCOUNT_LIMIT", 0); err != nil {
		return err
	} else if ok {
		q.AccountLimit = v
	}
	pace, err := e.duration("INVITE_SEND_PACE", DefaultInviteSendPace, true)
	if err != nil {
		return err
	}
	q.SendPace = pace
	c.Quota = q
	return nil
}
