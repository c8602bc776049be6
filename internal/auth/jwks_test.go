package auth_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/cloudreseller/aws-invites/internal/auth"
)

const (
	idpIssuer   = "https://idp.example.com/"
	apiAudience = "aws-invites"
)

func TestVerifyJWKS(t *testing.T) {
	k := newKeys(t)
	srv := newJWKSServer(t,
		jwk(t, "rsa1", "RS256", "sig", &k.rsa.PublicKey),
		jwk(t, "ec1", "ES256", "sig", &k.ec.PublicKey),
		jwk(t, "ed1", "", "", k.ed.Public()), // many providers omit alg and use
		jwk(t, "rsa-small", "RS256", "sig", &k.rsaSmall.PublicKey),
		jwk(t, "ec-p384", "", "sig", &k.ecP384.PublicKey),
		jwk(t, "rsa-enc", "", "enc", &k.rsaOther.PublicKey),
	)
	secret := testSecret(t)
	base := auth.Config{JWKSURL: srv.URL, Issuer: idpIssuer, Audience: apiAudience, Now: clock}
	jwksOnly, err := auth.NewVerifier(t.Context(), base)
	if err != nil {
		t.Fatal(err)
	}
	withSecret := base
	withSecret.HS256Secret = secret
	both, err := auth.NewVerifier(t.Context(), withSecret)
	if err != nil {
		t.Fatal(err)
	}

	// The algorithm-confusion attack: the RSA public key, which anyone can fetch, used as an HMAC secret.
	der, err := x509.MarshalPKIXPublicKey(&k.rsa.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	publicPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})

	good := claims(idpIssuer, apiAudience)
	tests := []struct {
		name     string
		verifier *auth.Verifier
		method   jwt.SigningMethod
		key      any
		kid      string
		claims   jwt.MapClaims
		refused  string // empty: must be accepted
	}{
		{name: "RS256", verifier: jwksOnly, method: jwt.SigningMethodRS256, key: k.rsa, kid: "rsa1"},
		{name: "ES256", verifier: jwksOnly, method: jwt.SigningMethodES256, key: k.ec, kid: "ec1"},
		{name: "EdDSA", verifier: jwksOnly, method: jwt.SigningMethodEdDSA, key: k.ed, kid: "ed1"},
		{name: "EdDSA without kid", verifier: jwksOnly, method: jwt.SigningMethodEdDSA, key: k.ed},
		{name: "RS256 with the secret also configured", verifier: both, method: jwt.SigningMethodRS256, key: k.rsa, kid: "rsa1"},
		{name: "HS256 with the secret also configured", verifier: both, method: jwt.SigningMethodHS256, key: secret},
		{
			name: "RS256 expired", verifier: jwksOnly, method: jwt.SigningMethodRS256, key: k.rsa, kid: "rsa1",
			claims: with(good, "exp", now.Add(-time.Hour).Unix()), refused: "expired",
		},
		{
			name: "ES256 wrong issuer", verifier: jwksOnly, method: jwt.SigningMethodES256, key: k.ec, kid: "ec1",
			claims: with(good, "iss", "https://other-idp.example.com/"), refused: "wrong issuer",
		},
		{
			name: "EdDSA missing customer_id", verifier: jwksOnly, method: jwt.SigningMethodEdDSA, key: k.ed, kid: "ed1",
			claims: with(good, "customer_id", nil), refused: "missing customer_id",
		},
		{
			name: "RS256 signed by a key that merely claims a published kid", verifier: jwksOnly,
			method: jwt.SigningMethodRS256, key: k.rsaOther, kid: "rsa1", refused: "bad signature",
		},
		{
			name: "ES256 without kid signed by an unpublished key", verifier: jwksOnly,
			method: jwt.SigningMethodES256, key: newEC(t), refused: "bad signature",
		},
		{
			name: "ES256 naming the kid of an RSA key", verifier: jwksOnly,
			method: jwt.SigningMethodES256, key: k.ec, kid: "rsa1", refused: "signing key does not match",
		},
		{
			name: "RS256 with a 1024-bit key", verifier: jwksOnly,
			method: jwt.SigningMethodRS256, key: k.rsaSmall, kid: "rsa-small", refused: "signing key does not match",
		},
		{
			name: "ES256 naming a P-384 key", verifier: jwksOnly,
			method: jwt.SigningMethodES256, key: k.ec, kid: "ec-p384", refused: "signing key does not match",
		},
		{
			name: "RS256 with an encryption key", verifier: jwksOnly,
			method: jwt.SigningMethodRS256, key: k.rsaOther, kid: "rsa-enc", refused: "signing key does not match",
		},
		{
			name: "HS256 signed with the RSA public key, JWKS only", verifier: jwksOnly,
			method: jwt.SigningMethodHS256, key: publicPEM, kid: "rsa1", refused: "signing algorithm not accepted",
		},
		{
			name: "HS256 signed with the RSA public key, secret also configured", verifier: both,
			method: jwt.SigningMethodHS256, key: publicPEM, kid: "rsa1", refused: "bad signature",
		},
		{
			name: "HS256 signed with the RSA public key DER, secret also configured", verifier: both,
			method: jwt.SigningMethodHS256, key: der, kid: "rsa1", refused: "bad signature",
		},
		{
			name: "alg none", verifier: both,
			method: jwt.SigningMethodNone, key: jwt.UnsafeAllowNoneSignatureType, kid: "rsa1",
			refused: "signing algorithm not accepted",
		},
		{
			name: "PS256 with a published RSA key", verifier: jwksOnly,
			method: jwt.SigningMethodPS256, key: k.rsa, kid: "rsa1", refused: "signing algorithm not accepted",
		},
		{
			name: "RS512 with a published RSA key", verifier: jwksOnly,
			method: jwt.SigningMethodRS512, key: k.rsa, kid: "rsa1", refused: "signing algorithm not accepted",
		},
		// Last: an unknown kid spends the verifier's one immediate JWKS refresh.
		{
			name: "unknown kid", verifier: jwksOnly,
			method: jwt.SigningMethodRS256, key: k.rsaOther, kid: "not-published", refused: "unknown signing key",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.claims
			if c == nil {
				c = good
			}
			p, err := tt.verifier.Verify(t.Context(), sign(t, tt.method, tt.key, tt.kid, c))
			if tt.refused != "" {
				wantRefused(t, err, tt.refused)
				return
			}
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if p.Subject != "user-42" || p.CustomerID != "cust-1" || len(p.BillingProfiles) != 2 {
				t.Errorf("principal %+v does not carry the token's claims", p)
			}
		})
	}

	t.Run("tampered payload", func(t *testing.T) {
		for _, tok := range []string{
			sign(t, jwt.SigningMethodRS256, k.rsa, "rsa1", good),
			sign(t, jwt.SigningMethodES256, k.ec, "ec1", good),
			sign(t, jwt.SigningMethodEdDSA, k.ed, "ed1", good),
		} {
			_, err := jwksOnly.Verify(t.Context(), tamper(t, tok, with(good, "customer_id", "cust-2")))
			wantRefused(t, err, "bad signature")
		}
	})
}

// A rotation at the identity provider is picked up as soon as a token names the new kid, and the old key stops
// working once the refreshed set no longer has it.
func TestJWKSRotationOnUnknownKID(t *testing.T) {
	oldKey, newKey := newEC(t), newEC(t)
	srv := newJWKSServer(t, jwk(t, "2026-10", "ES256", "sig", &oldKey.PublicKey))
	v, err := auth.NewVerifier(t.Context(), auth.Config{JWKSURL: srv.URL, Issuer: idpIssuer, Audience: apiAudience, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	good := claims(idpIssuer, apiAudience)
	oldToken := sign(t, jwt.SigningMethodES256, oldKey, "2026-10", good)
	newToken := sign(t, jwt.SigningMethodES256, newKey, "2026-11", good)

	if _, err := v.Verify(t.Context(), oldToken); err != nil {
		t.Fatalf("token of the published key refused: %v", err)
	}
	if got := srv.fetch.Load(); got != 1 {
		t.Errorf("JWKS fetched %d times after start-up, want 1 (cached keys should not cause fetches)", got)
	}

	srv.publish(t, jwk(t, "2026-11", "ES256", "sig", &newKey.PublicKey))
	if _, err := v.Verify(t.Context(), newToken); err != nil {
		t.Fatalf("token of the rotated-in key refused: %v", err)
	}
	if got := srv.fetch.Load(); got != 2 {
		t.Errorf("JWKS fetched %d times, want 2 (one refresh for the new kid)", got)
	}

	// The refresh replaced the set, so the old kid is now unknown; the rate limit allows no second refresh yet, and
	// the refusal must come at once rather than after waiting for the limiter.
	start := time.Now()
	_, err = v.Verify(t.Context(), oldToken)
	wantRefused(t, err, "unknown signing key")
	if d := time.Since(start); d > time.Second {
		t.Errorf("refusing an unknown kid took %s; it must not wait for the refresh rate limit", d)
	}
	if got := srv.fetch.Load(); got != 2 {
		t.Errorf("JWKS fetched %d times, want still 2 (unknown kids are rate limited)", got)
	}
}

// The background refresh picks up a rotation without any token asking for it, and stops with the context.
func TestJWKSBackgroundRefresh(t *testing.T) {
	first, second := newEd(t), newEd(t)
	srv := newJWKSServer(t, jwk(t, "a", "EdDSA", "sig", first.Public()))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	v, err := auth.NewVerifier(ctx, auth.Config{
		JWKSURL: srv.URL, Issuer: idpIssuer, Audience: apiAudience, Now: clock,
		JWKSRefreshInterval: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	good := claims(idpIssuer, apiAudience)

	// Spend the one immediate unknown-kid refresh, so that only the background refresh can find the next key.
	_, err = v.Verify(t.Context(), sign(t, jwt.SigningMethodEdDSA, second, "nobody", good))
	wantRefused(t, err, "unknown signing key")

	srv.publish(t, jwk(t, "b", "EdDSA", "sig", second.Public()))
	token := sign(t, jwt.SigningMethodEdDSA, second, "b", good)
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := v.Verify(t.Context(), token)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("rotated key still refused after 5s of 50ms refreshes: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}

	cancel()
	time.Sleep(100 * time.Millisecond) // let a refresh already in flight finish
	stopped := srv.fetch.Load()
	time.Sleep(300 * time.Millisecond)
	if got := srv.fetch.Load(); got != stopped {
		t.Errorf("JWKS fetched %d more times after the context ended", got-stopped)
	}
}
