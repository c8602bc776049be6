package auth_test

import (
	"crypto/x509"
	"encoding/pem"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/cloudreseller/aws-invites/internal/auth"
)

// signer is one way the service accepts tokens: a verifier and a key that signs tokens it trusts.
type signer struct {
	name     string
	verifier *auth.Verifier
	method   jwt.SigningMethod
	key      any
	kid      string
}

// signers returns an HS256 verifier and a JWKS verifier (served over HTTP by httptest) with its RS256 and ES256
// keys, all expecting iss idpIssuer and aud apiAudience.
func signers(t *testing.T) []signer {
	t.Helper()
	k := newKeys(t)
	srv := newJWKSServer(t, jwk(t, "rsa1", "RS256", "sig", &k.rsa.PublicKey), jwk(t, "ec1", "ES256", "sig", &k.ec.PublicKey))
	jwksV, err := auth.NewVerifier(t.Context(), auth.Config{JWKSURL: srv.URL, Issuer: idpIssuer, Audience: apiAudience, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	secret := testSecret(t)
	hsV, err := auth.NewVerifier(t.Context(), auth.Config{HS256Secret: secret, Issuer: idpIssuer, Audience: apiAudience, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	return []signer{
		{name: "HS256", verifier: hsV, method: jwt.SigningMethodHS256, key: secret},
		{name: "RS256", verifier: jwksV, method: jwt.SigningMethodRS256, key: k.rsa, kid: "rsa1"},
		{name: "ES256", verifier: jwksV, method: jwt.SigningMethodES256, key: k.ec, kid: "ec1"},
	}
}

// Every claim the service reads has one JSON type; a genuinely signed token with any other type is refused with a
// reason that names the claim, never coerced (a single string is not a one-element list, "123" is not a date).
func TestVerifyRefusesHostileClaims(t *testing.T) {
	good := claims(idpIssuer, apiAudience)
	const (
		notStrings = "must be an array of strings"
		notString  = "must be a string"
		notNumber  = "must be a number"
	)
	tests := []struct {
		name    string
		claims  jwt.MapClaims
		refused string // empty: accepted
	}{
		{name: "valid", claims: good},
		{name: "empty lists", claims: with(good, "permissions", []any{}, "billing_profiles", []any{}, "roles", []any{})},
		{name: "exp as a fraction", claims: with(good, "exp", float64(now.Add(time.Hour).Unix())+0.5)},
		{name: "no nbf and no iat", claims: with(good, "nbf", nil, "iat", nil)},
		{name: "aud listing ours among others (RFC 7519 §4.1.3)", claims: with(good, "aud", []any{"billing-api", apiAudience})},

		{name: "billing_profiles a string", claims: with(good, "billing_profiles", "bp-1"), refused: "claim billing_profiles " + notStrings},
		{name: "billing_profiles a number", claims: with(good, "billing_profiles", 1), refused: "claim billing_profiles " + notStrings},
		{name: "billing_profiles with a number", claims: with(good, "billing_profiles", []any{"bp-1", 2}), refused: "claim billing_profiles " + notStrings},
		{name: "billing_profiles with a null", claims: with(good, "billing_profiles", []any{"bp-1", nil}), refused: "claim billing_profiles " + notStrings},
		{name: "billing_profiles with a nested list", claims: with(good, "billing_profiles", []any{[]any{"bp-1"}}), refused: "claim billing_profiles " + notStrings},
		{name: "billing_profiles an object", claims: with(good, "billing_profiles", map[string]any{"bp-1": true}), refused: "claim billing_profiles " + notStrings},
		{name: "billing_profiles null", claims: with(good, "billing_profiles", jsonNull{}), refused: "claim billing_profiles " + notStrings},
		{name: "permissions a string", claims: with(good, "permissions", "licenses_manager"), refused: "claim permissions " + notStrings},
		{name: "permissions a number", claims: with(good, "permissions", 7), refused: "claim permissions " + notStrings},
		{name: "permissions with a boolean", claims: with(good, "permissions", []any{"licenses_manager", true}), refused: "claim permissions " + notStrings},
		{name: "roles a string", claims: with(good, "roles", "platform_admin"), refused: "claim roles " + notStrings},
		{name: "roles a number", claims: with(good, "roles", 1), refused: "claim roles " + notStrings},
		{name: "roles with a number", claims: with(good, "roles", []any{"platform_admin", 0}), refused: "claim roles " + notStrings},
		{name: "sub a number", claims: with(good, "sub", 42), refused: "claim sub " + notString},
		{name: "sub a list", claims: with(good, "sub", []any{"user-42"}), refused: "claim sub " + notString},
		{name: "customer_id a number", claims: with(good, "customer_id", 1), refused: "claim customer_id " + notString},
		{name: "customer_id null", claims: with(good, "customer_id", jsonNull{}), refused: "claim customer_id " + notString},
		{name: "email a boolean", claims: with(good, "email", true), refused: "claim email " + notString},
		{name: "email a list", claims: with(good, "email", []any{"ada@example.com"}), refused: "claim email " + notString},
		{name: "iss a number", claims: with(good, "iss", 1), refused: "claim iss " + notString},
		{name: "aud a number", claims: with(good, "aud", 1), refused: "claim aud must be a string or an array of strings"},
		{name: "aud with a number", claims: with(good, "aud", []any{apiAudience, 1}), refused: "claim aud must be a string or an array of strings"},
		{name: "exp as a string", claims: with(good, "exp", "1893456000"), refused: "claim exp " + notNumber},
		{name: "exp null", claims: with(good, "exp", jsonNull{}), refused: "claim exp " + notNumber},
		{name: "exp too large for a date", claims: with(good, "exp", jsonRaw("1e400")), refused: "claim exp " + notNumber},
		{name: "nbf as a string", claims: with(good, "nbf", "0"), refused: "claim nbf " + notNumber},
		{name: "iat as a string", claims: with(good, "iat", "0"), refused: "claim iat " + notNumber},
		{name: "iat a boolean", claims: with(good, "iat", false), refused: "claim iat " + notNumber},

		{name: "missing exp", claims: with(good, "exp", nil), refused: "missing exp"},
		{name: "expired", claims: with(good, "exp", now.Add(-time.Minute).Unix()), refused: "expired"},
		{name: "nbf in the future", claims: with(good, "nbf", now.Add(time.Minute).Unix()), refused: "not yet valid"},
		{name: "iat in the future", claims: with(good, "iat", now.Add(time.Minute).Unix(), "nbf", nil), refused: "issued in the future"},
		{name: "wrong iss", claims: with(good, "iss", "https://evil.example/"), refused: "wrong issuer"},
		{name: "iss differing only in its trailing slash", claims: with(good, "iss", "https://idp.example.com"), refused: "wrong issuer"},
		{name: "missing iss", claims: with(good, "iss", nil), refused: "missing iss"},
		{name: "missing aud", claims: with(good, "aud", nil), refused: "missing aud"},
		{name: "empty aud list", claims: with(good, "aud", []any{}), refused: "missing aud"},
		{name: "aud of another service", claims: with(good, "aud", "billing-api"), refused: "wrong audience"},
		{name: "aud listing other services only", claims: with(good, "aud", []any{"billing-api", "aws-invites-admin"}), refused: "wrong audience"},
		{name: "missing customer_id", claims: with(good, "customer_id", nil), refused: "missing customer_id"},
		{name: "blank sub", claims: with(good, "sub", ""), refused: "missing sub"},
	}
	for _, s := range signers(t) {
		t.Run(s.name, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					p, err := s.verifier.Verify(t.Context(), sign(t, s.method, s.key, s.kid, tt.claims))
					if tt.refused != "" {
						wantRefused(t, err, tt.refused)
						return
					}
					if err != nil {
						t.Fatalf("refused: %v", err)
					}
					if p.Subject != "user-42" || p.CustomerID != "cust-1" {
						t.Errorf("principal %+v does not carry the token's claims", p)
					}
				})
			}
		})
	}
}

// A forged token is refused for its signature, whatever its payload holds: how the claims were read is told only to
// the holder of a genuine token.
func TestVerifyForgedTokenWithHostileClaims(t *testing.T) {
	for _, s := range signers(t) {
		t.Run(s.name, func(t *testing.T) {
			genuine := sign(t, s.method, s.key, s.kid, claims(idpIssuer, apiAudience))
			forged := tamper(t, genuine, with(claims(idpIssuer, apiAudience), "roles", "platform_admin", "exp", "9999999999"))
			_, err := s.verifier.Verify(t.Context(), forged)
			wantRefused(t, err, "bad signature")
		})
	}
}

// Tokens whose header is the attack: no algorithm, or HS256 against a verifier that trusts only public keys.
func TestVerifyRefusesHostileHeaders(t *testing.T) {
	k := newKeys(t)
	srv := newJWKSServer(t, jwk(t, "rsa1", "RS256", "sig", &k.rsa.PublicKey), jwk(t, "ec1", "ES256", "sig", &k.ec.PublicKey))
	jwksV, err := auth.NewVerifier(t.Context(), auth.Config{JWKSURL: srv.URL, Issuer: idpIssuer, Audience: apiAudience, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	rsaDER, err := x509.MarshalPKIXPublicKey(&k.rsa.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.MarshalPKIXPublicKey(&k.ec.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	good := claims(idpIssuer, apiAudience)
	tests := []struct {
		name  string
		token string
	}{
		{"alg none", sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "", good)},
		{"alg none naming a published kid", sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "rsa1", good)},
		{"alg None in another case", tamperHeader(t, sign(t, jwt.SigningMethodRS256, k.rsa, "rsa1", good), `{"alg":"None","typ":"JWT"}`)},
		{"HS256 keyed with the RSA public key PEM", sign(t, jwt.SigningMethodHS256, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: rsaDER}), "rsa1", good)},
		{"HS256 keyed with the RSA public key DER", sign(t, jwt.SigningMethodHS256, rsaDER, "rsa1", good)},
		{"HS256 keyed with the EC public key DER", sign(t, jwt.SigningMethodHS256, ecDER, "ec1", good)},
		{"HS256 keyed with any secret", sign(t, jwt.SigningMethodHS256, testSecret(t), "", good)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := jwksV.Verify(t.Context(), tt.token)
			wantRefused(t, err, "signing algorithm not accepted")
		})
	}
}

// jsonNull marshals as JSON null, which with() cannot set (a nil value deletes the claim).
type jsonNull struct{}

func (jsonNull) MarshalJSON() ([]byte, error) { return []byte("null"), nil }

// jsonRaw marshals as the given JSON text, for values Go cannot produce (1e400).
type jsonRaw string

func (r jsonRaw) MarshalJSON() ([]byte, error) { return []byte(r), nil }
