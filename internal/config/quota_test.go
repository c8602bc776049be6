package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/cloudreseller/aws-invites/internal/config"
)

func TestQuotaSettings(t *testing.T) {
	read := func(kv ...string) (config.Config, error) {
		vars := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			vars[kv[i]] = kv[i+1]
		}
		return config.FromEnv(func(k string) string { return vars[k] })
	}
	c, err := read()
	if err != nil {
		t.Fatal(err)
	}
	if q := c.Quota; q.DailyLimit != 20 || q.Reserved != 2 || q.AccountLimit != 0 || q.SendPace != 200*time.Millisecond || q.PerPayer != nil {
		t.Errorf("defaults: %+v", q)
	}
	c, err = read("SANDBOX_INVITES_PER_DAY", "500")
	if err != nil || c.Quota.DailyLimit != 500 {
		t.Errorf("the sandbox's simulated quota is its ledger's: %+v %v", c.Quota, err)
	}
	c, err = read("INVITE_DAILY_LIMIT", "30", "INVITE_DAILY_LIMITS", "1111-1111-1111=50, 222222222222=40",
		"INVITE_RESERVED_SLOTS", "0", "ORGANIZATION_ACCOUNT_LIMIT", "10", "INVITE_SEND_PACE", "0s")
	if q := c.Quota; err != nil || q.DailyLimit != 30 || q.PerPayer["111111111111"] != 50 || q.PerPayer["222222222222"] != 40 ||
		q.Reserved != -1 || q.AccountLimit != 10 || q.SendPace != 0 {
		t.Errorf("settings: %+v %v", q, err)
	}
	for _, kv := range [][2]string{{"INVITE_DAILY_LIMIT", "0"}, {"INVITE_DAILY_LIMITS", "111111111111:50"},
		{"INVITE_RESERVED_SLOTS", "-1"}, {"ORGANIZATION_ACCOUNT_LIMIT", "many"}, {"INVITE_SEND_PACE", "fast"}} {
		if _, err := read(kv[0], kv[1]); err == nil || !strings.Contains(err.Error(), kv[0]) {
			t.Errorf("%s=%s: err = %v", kv[0], kv[1], err)
		}
	}
}
