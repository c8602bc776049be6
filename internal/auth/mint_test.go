package auth_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/cloudreseller/aws-invites/internal/auth"
	"github.com/cloudreseller/aws-invites/internal/invite"
)

func TestMintVerifyRoundTrip(t *testing.T) {
	secret, err := auth.LoadOrCreateDevSecret(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c := auth.Claims{
		Subject:         "dev-user",
		Email:           "dev@example.com",
		CustomerID:      "demo-customer",
		BillingProfiles: []string{"bp-demo"},
		Permissions:     []string{invite.PermissionLicensesManager},
		Roles:           []string{invite.RolePlatformAdmin},
		Issuer:          auth.DevIssuer,
		Audience:        auth.DevAudience,
	}
	minted := now.Add(-time.Hour)
	token, err := auth.Mint(secret, c, 2*time.Hour, minted)
	if err != nil {
		t.Fatal(err)
	}

	var at time.Time
	v, err := auth.NewVerifier(t.Context(), auth.Config{
		HS256Secret: secret, Issuer: auth.DevIssuer, Audience: auth.DevAudience,
		Now: func() time.Time { return at },
	})
	if err != nil {
		t.Fatal(err)
	}
	want := invite.Principal{
		Subject: c.Subject, Email: c.Email, CustomerID: c.CustomerID,
		BillingProfiles: c.BillingProfiles, Permissions: c.Permissions, Roles: c.Roles,
	}
	tests := []struct {
		name    string
		at      time.Time
		refused string
	}{
		{name: "when minted", at: minted},
		{name: "an hour later", at: minted.Add(time.Hour)},
		{name: "a second before exp", at: minted.Add(2*time.Hour - time.Second)},
		{name: "at exp", at: minted.Add(2 * time.Hour), refused: "expired"},
		{name: "a second before it was minted", at: minted.Add(-time.Second), refused: "not yet valid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at = tt.at
			got, err := v.Verify(t.Context(), token)
			if tt.refused != "" {
				wantRefused(t, err, tt.refused)
				return
			}
			if err != nil {
				t.Fatalf("minted token refused: %v", err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("principal\n got %+v\nwant %+v", got, want)
			}
		})
	}

	t.Run("registered claims", func(t *testing.T) {
		var rc jwt.RegisteredClaims
		tok, _, err := jwt.NewParser().ParseUnverified(token, &rc)
		if err != nil {
			t.Fatal(err)
		}
		if tok.Method.Alg() != "HS256" {
			t.Errorf("alg %s, want HS256", tok.Method.Alg())
		}
		if !rc.IssuedAt.Equal(minted) || !rc.NotBefore.Equal(minted) || !rc.ExpiresAt.Equal(minted.Add(2*time.Hour)) {
			t.Errorf("iat %v nbf %v exp %v, want iat = nbf = %v and exp two hours later", rc.IssuedAt, rc.NotBefore, rc.ExpiresAt, minted)
		}
		if rc.Issuer != auth.DevIssuer || !reflect.DeepEqual([]string(rc.Audience), []string{auth.DevAudience}) {
			t.Errorf("iss %q aud %v", rc.Issuer, rc.Audience)
		}
	})

	t.Run("another verifier's secret", func(t *testing.T) {
		other, err := auth.NewVerifier(t.Context(), auth.Config{HS256Secret: testSecret(t), Issuer: auth.DevIssuer,
			Audience: auth.DevAudience, Now: func() time.Time { return minted }})
		if err != nil {
			t.Fatal(err)
		}
		_, err = other.Verify(t.Context(), token)
		wantRefused(t, err, "bad signature")
	})
}

func TestMintRefuses(t *testing.T) {
	secret := testSecret(t)
	ok := auth.Claims{Subject: "s", CustomerID: "c"}
	tests := []struct {
		name   string
		secret []byte
		claims auth.Claims
		ttl    time.Duration
		want   string
	}{
		{name: "short secret", secret: secret[:16], claims: ok, ttl: time.Hour, want: "at least 32"},
		{name: "no ttl", secret: secret, claims: ok, ttl: 0, want: "ttl must be positive"},
		{name: "negative ttl", secret: secret, claims: ok, ttl: -time.Minute, want: "ttl must be positive"},
		{name: "no subject", secret: secret, claims: auth.Claims{CustomerID: "c"}, ttl: time.Hour, want: "subject"},
		{name: "no customer", secret: secret, claims: auth.Claims{Subject: "s"}, ttl: time.Hour, want: "customer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := auth.Mint(tt.secret, tt.claims, tt.ttl, now)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Mint = %q, %v; want an error mentioning %q", tok, err, tt.want)
			}
		})
	}
}
