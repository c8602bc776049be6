package cloudhealth_test

import (
	"testing"
	"time"

	"github.com/cloudreseller/aws-invites/internal/cloudhealth"
)

func TestEvaluate(t *testing.T) {
	const grace = 72 * time.Hour
	const payer = "999988887777"
	listed := func(level cloudhealth.Level, payer string) cloudhealth.Observation {
		return cloudhealth.Account{Status: cloudhealth.Status{Level: level}, PayerAccountID: payer}.Observe()
	}
	tests := []struct {
		name   string
		obs    cloudhealth.Observation
		since  time.Duration
		want   cloudhealth.Health
		reason cloudhealth.Reason
		left   time.Duration
	}{
		{"green with payer", listed(cloudhealth.LevelGreen, payer), time.Hour, cloudhealth.HealthHealthy, cloudhealth.ReasonNone, 0},
		{"yellow with payer", listed(cloudhealth.LevelYellow, payer), 30 * 24 * time.Hour, cloudhealth.HealthHealthy, cloudhealth.ReasonNone, 0},
		{"red at once", listed(cloudhealth.LevelRed, payer), 0, cloudhealth.HealthCritical, cloudhealth.ReasonRed, 0},
		{"red without payer", listed(cloudhealth.LevelRed, ""), time.Minute, cloudhealth.HealthCritical, cloudhealth.ReasonRed, 0},
		{"unknown within grace", listed(cloudhealth.LevelUnknown, payer), 24 * time.Hour, cloudhealth.HealthGrace, cloudhealth.ReasonUnknown, 48 * time.Hour},
		{"unknown at grace", listed(cloudhealth.LevelUnknown, payer), grace, cloudhealth.HealthCritical, cloudhealth.ReasonUnknown, 0},
		{"unknown after grace", listed(cloudhealth.LevelUnknown, payer), grace + time.Second, cloudhealth.HealthCritical, cloudhealth.ReasonUnknown, 0},
		{"green without payer within grace", listed(cloudhealth.LevelGreen, ""), time.Hour, cloudhealth.HealthGrace, cloudhealth.ReasonNoPayer, 71 * time.Hour},
		{"green without payer after grace", listed(cloudhealth.LevelGreen, ""), 4 * 24 * time.Hour, cloudhealth.HealthCritical, cloudhealth.ReasonNoPayer, 0},
		{"yellow without payer after grace", listed(cloudhealth.LevelYellow, ""), grace, cloudhealth.HealthCritical, cloudhealth.ReasonNoPayer, 0},
		{"unknown without payer: unknown first", listed(cloudhealth.LevelUnknown, ""), grace, cloudhealth.HealthCritical, cloudhealth.ReasonUnknown, 0},
		{"a level we do not know counts as unknown", listed("purple", payer), grace, cloudhealth.HealthCritical, cloudhealth.ReasonUnknown, 0},
		{"not listed within grace", cloudhealth.Observation{}, time.Hour, cloudhealth.HealthGrace, cloudhealth.ReasonNotListed, 71 * time.Hour},
		{"not listed after grace", cloudhealth.Observation{}, grace, cloudhealth.HealthCritical, cloudhealth.ReasonNotListed, 0},
		{"not listed ignores a stale level", cloudhealth.Observation{Level: cloudhealth.LevelRed}, time.Hour, cloudhealth.HealthGrace, cloudhealth.ReasonNotListed, 71 * time.Hour},
		{"join in the future (clock skew)", listed(cloudhealth.LevelUnknown, payer), -time.Hour, cloudhealth.HealthGrace, cloudhealth.ReasonUnknown, grace},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := cloudhealth.Evaluate(tc.obs, tc.since, grace)
			want := cloudhealth.Verdict{Health: tc.want, Reason: tc.reason, GraceLeft: tc.left}
			if got != want {
				t.Fatalf("Evaluate = %+v, want %+v", got, want)
			}
		})
	}
}

func TestEvaluateZeroGrace(t *testing.T) {
	// With no grace an unknown account is critical at once.
	got := cloudhealth.Evaluate(cloudhealth.Observation{Listed: true, Level: cloudhealth.LevelUnknown, PayerAccountID: "999988887777"}, 0, 0)
	if got.Health != cloudhealth.HealthCritical {
		t.Fatalf("got %+v", got)
	}
}
