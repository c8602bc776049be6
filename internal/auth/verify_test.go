package auth_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/cloudreseller/aws-invites/internal/auth"
	"github.com/cloudreseller/aws-invites/internal/invite"
)

func errorsIsInvalidToken(err error) bool { return errors.Is(err, auth.ErrInvalidToken) }

func TestVerifyHS256(t *testing.T) {
	secret := testSecret(t)
	v, err := auth.NewVerifier(t.Context(), auth.Config{
		HS256Secret: secret,
		Issuer:      auth.DevIssuer,
		Audience:    auth.DevAudience,
		Leeway:      30 * time.Second,
		Now:         clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	good := claims(auth.DevIssuer, auth.DevAudience)
	hs := func(c jwt.MapClaims) func(t *testing.T) string {
		return func(t *testing.T) string { return sign(t, jwt.SigningMethodHS256, secret, "", c) }
	}
	full := invite.Principal{
		Subject:         "user-42",
		Email:           "ada@example.com",
		CustomerID:      "cust-1",
		Permissions:     []string{"licenses_manager"},
		BillingProfiles: []string{"bp-1", "bp-2"},
		Roles:           []string{"viewer"},
	}

	tests := []struct {
		name  string
		token func(t *testing.T) string
		want  invite.Principal // checked when refused is empty
		// refused is the reason the error must name; empty means the token must be accepted.
		refused string
	}{
		{name: "valid", token: hs(good), want: full},
		{
			name:    "a single string instead of an array",
			token:   hs(with(good, "roles", "platform_admin")),
			refused: "claim roles must be an array of strings",
		},
		{
			name:  "empty lists",
			token: hs(with(good, "permissions", []string{}, "billing_profiles", []string{}, "roles", []string{})),
			want:  invite.Principal{Subject: "user-42", Email: "ada@example.com", CustomerID: "cust-1"},
		},
		{
			name:  "machine client without email or lists",
			token: hs(with(good, "email", nil, "permissions", nil, "billing_profiles", nil, "roles", nil)),
			want:  invite.Principal{Subject: "user-42", CustomerID: "cust-1"},
		},
		{
			name:  "audience list containing ours",
			token: hs(with(good, "aud", []string{"other-api", auth.DevAudience})),
			want:  full,
		},
		{name: "expired", token: hs(with(good, "exp", now.Add(-time.Minute).Unix())), refused: "expired"},
		{name: "expired within leeway", token: hs(with(good, "exp", now.Add(-10*time.Second).Unix())), want: full},
		{name: "not yet valid", token: hs(with(good, "nbf", now.Add(5*time.Minute).Unix())), refused: "not yet valid"},
		{
			name:    "issued in the future",
			token:   hs(with(good, "iat", now.Add(5*time.Minute).Unix(), "nbf", nil)),
			refused: "issued in the future",
		},
		{name: "wrong issuer", token: hs(with(good, "iss", "https://evil.example")), refused: "wrong issuer"},
		{name: "missing issuer", token: hs(with(good, "iss", nil)), refused: "missing iss"},
		{name: "wrong audience", token: hs(with(good, "aud", "another-service")), refused: "wrong audience"},
		{name: "missing audience", token: hs(with(good, "aud", nil)), refused: "missing aud"},
		{name: "missing exp", token: hs(with(good, "exp", nil)), refused: "missing exp"},
		{name: "missing sub", token: hs(with(good, "sub", nil)), refused: "missing sub"},
		{name: "blank sub", token: hs(with(good, "sub", "  ")), refused: "missing sub"},
		{name: "missing customer_id", token: hs(with(good, "customer_id", nil)), refused: "missing customer_id"},
		{name: "permissions of the wrong type", token: hs(with(good, "permissions", 7)), refused: "claim permissions must be an array of strings"},
		{
			name: "alg none",
			token: func(t *testing.T) string {
				return sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "", good)
			},
			refused: "signing algorithm not accepted",
		},
		{
			name:    "HS384 with the right secret",
			token:   func(t *testing.T) string { return sign(t, jwt.SigningMethodHS384, secret, "", good) },
			refused: "signing algorithm not accepted",
		},
		{
			name:    "alg unknown to the library",
			token:   func(t *testing.T) string { return tamperHeader(t, hs(good)(t), `{"alg":"HS999","typ":"JWT"}`) },
			refused: "signing algorithm not accepted",
		},
		{
			name:    "another secret",
			token:   func(t *testing.T) string { return sign(t, jwt.SigningMethodHS256, testSecret(t), "", good) },
			refused: "bad signature",
		},
		{
			name: "tampered payload",
			token: func(t *testing.T) string {
				return tamper(t, hs(good)(t), with(good, "roles", []string{"platform_admin"}))
			},
			refused: "bad signature",
		},
		{name: "empty", token: func(*testing.T) string { return "" }, refused: "missing"},
		{name: "not a jwt", token: func(*testing.T) string { return "opaque-token" }, refused: "malformed"},
		{name: "garbage segments", token: func(*testing.T) string { return "a.b.c" }, refused: "malformed"},
		{
			name:    "oversized",
			token:   hs(with(good, "roles", []string{strings.Repeat("r", 20000)})),
			refused: "too large",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := v.Verify(t.Context(), tt.token(t))
			if tt.refused != "" {
				wantRefused(t, err, tt.refused)
				return
			}
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("principal\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// tamperHeader replaces the token's header, keeping payload and signature.
func tamperHeader(t *testing.T, token, header string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	parts[0] = b64.EncodeToString([]byte(header))
	return strings.Join(parts, ".")
}

func TestNewVerifierConfig(t *testing.T) {
	closed := newJWKSServer(t)
	closed.Close()
	tests := []struct {
		name string
		cfg  auth.Config
		want string
	}{
		{name: "nothing configured", cfg: auth.Config{Issuer: "x", Audience: "y"}, want: "secret, a JWKS URL or both"},
		// Without issuer and audience, a token minted for any other service would be accepted.
		{name: "secret without issuer", cfg: auth.Config{HS256Secret: testSecret(t), Audience: "y"}, want: "an issuer is required"},
		{name: "secret with a blank issuer", cfg: auth.Config{HS256Secret: testSecret(t), Issuer: " ", Audience: "y"}, want: "an issuer is required"},
		{name: "secret without audience", cfg: auth.Config{HS256Secret: testSecret(t), Issuer: "x"}, want: "an audience is required"},
		{name: "JWKS without issuer", cfg: auth.Config{JWKSURL: closed.URL, Audience: "y"}, want: "an issuer is required"},
		{name: "JWKS without audience", cfg: auth.Config{JWKSURL: closed.URL, Issuer: "x"}, want: "an audience is required"},
		{name: "short secret", cfg: auth.Config{HS256Secret: []byte("hunter2"), Issuer: "x", Audience: "y"}, want: "at least 32"},
		{name: "negative leeway", cfg: auth.Config{HS256Secret: testSecret(t), Issuer: "x", Audience: "y", Leeway: -time.Second}, want: "negative leeway"},
		{name: "unreachable JWKS", cfg: auth.Config{JWKSURL: closed.URL, Issuer: "x", Audience: "y"}, want: "load JWKS"},
		{name: "JWKS URL that is no URL", cfg: auth.Config{JWKSURL: "::not a url", Issuer: "x", Audience: "y"}, want: "load JWKS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := auth.NewVerifier(t.Context(), tt.cfg)
			if err == nil {
				t.Fatalf("NewVerifier accepted %+v", tt.cfg)
			}
			if v != nil {
				t.Error("NewVerifier returned a verifier with its error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to mention %q", err, tt.want)
			}
		})
	}
}

// A token accepted once is remembered (a client sends the same one with every request), but only as itself and
// only while it is valid: a changed byte is checked in full, and the remembered token is refused at its exp and
// before its nbf like any other. (A JWKS key withdrawn after its token was remembered: TestJWKSRotationOnUnknownKID.)
func TestRememberedTokensStayExact(t *testing.T) {
	secret := testSecret(t)
	at := now
	v, err := auth.NewVerifier(t.Context(), auth.Config{HS256Secret: secret, Issuer: auth.DevIssuer, Audience: auth.DevAudience,
		Now: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}
	c := with(claims(auth.DevIssuer, auth.DevAudience), "exp", now.Add(10*time.Second).Unix())
	token := sign(t, jwt.SigningMethodHS256, secret, "", c)
	for range 2 {
		if _, err := v.Verify(t.Context(), token); err != nil {
			t.Fatalf("token refused: %v", err)
		}
	}
	// A character inside the signature (the last one also carries padding bits).
	i := len(token) - 5
	flip := byte('A')
	if token[i] == 'A' {
		flip = 'B'
	}
	flipped := token[:i] + string(flip) + token[i+1:]
	_, err = v.Verify(t.Context(), flipped)
	wantRefused(t, err, "bad signature")
	_, err = v.Verify(t.Context(), tamper(t, token, with(c, "customer_id", "cust-2")))
	wantRefused(t, err, "bad signature")

	at = now.Add(10 * time.Second)
	_, err = v.Verify(t.Context(), token)
	wantRefused(t, err, "expired")
	at = now.Add(-2 * time.Minute)
	_, err = v.Verify(t.Context(), token)
	wantRefused(t, err, "not yet valid")
}
