package auth_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// now is the fixed instant the tests' verifiers live at; tokens are dated relative to it.
var now = time.Date(2026, 11, 26, 7, 0, 0, 0, time.UTC)

func clock() time.Time { return now }

// testSecret returns a 32-byte HS256 secret that differs between calls.
func testSecret(tb testing.TB) []byte {
	tb.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		tb.Fatalf("random secret: %v", err)
	}
	return b
}

// claims returns a complete, currently valid payload; cases change or delete what they test.
func claims(iss, aud string) jwt.MapClaims {
	return jwt.MapClaims{
		"iss":              iss,
		"aud":              aud,
		"sub":              "user-42",
		"email":            "ada@example.com",
		"customer_id":      "cust-1",
		"permissions":      []string{"licenses_manager"},
		"billing_profiles": []string{"bp-1", "bp-2"},
		"roles":            []string{"viewer"},
		"iat":              now.Add(-time.Minute).Unix(),
		"nbf":              now.Add(-time.Minute).Unix(),
		"exp":              now.Add(time.Hour).Unix(),
	}
}

// with returns a copy of c with the given claims set, or deleted when the value is nil.
func with(c jwt.MapClaims, kv ...any) jwt.MapClaims {
	out := jwt.MapClaims{}
	for k, v := range c {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
			continue
		}
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

// sign signs c with method and key, putting kid in the header when it is not empty.
func sign(tb testing.TB, method jwt.SigningMethod, key any, kid string, c jwt.MapClaims) string {
	tb.Helper()
	tok := jwt.NewWithClaims(method, c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		tb.Fatalf("sign %s token: %v", method.Alg(), err)
	}
	return s
}

// keys holds the key pairs the JWKS tests sign with; generated once per test because RSA generation is slow.
type keys struct {
	rsa      *rsa.PrivateKey
	rsaOther *rsa.PrivateKey // same size, never published
	rsaSmall *rsa.PrivateKey // 1024 bits: published but too short to trust
	ec       *ecdsa.PrivateKey
	ecP384   *ecdsa.PrivateKey
	ed       ed25519.PrivateKey
}

func newKeys(tb testing.TB) keys {
	tb.Helper()
	var k keys
	var err error
	if k.rsa, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		tb.Fatal(err)
	}
	if k.rsaOther, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		tb.Fatal(err)
	}
	if k.rsaSmall, err = rsa.GenerateKey(rand.Reader, 1024); err != nil {
		tb.Fatal(err)
	}
	if k.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		tb.Fatal(err)
	}
	if k.ecP384, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader); err != nil {
		tb.Fatal(err)
	}
	if _, k.ed, err = ed25519.GenerateKey(rand.Reader); err != nil {
		tb.Fatal(err)
	}
	return k
}

func newEC(tb testing.TB) *ecdsa.PrivateKey {
	tb.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

func newEd(tb testing.TB) ed25519.PrivateKey {
	tb.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

var b64 = base64.RawURLEncoding

// jwk writes the public JWK (RFC 7517/7518/8037) of key by hand, as an identity provider would publish it.
func jwk(tb testing.TB, kid, alg, use string, key crypto.PublicKey) map[string]string {
	tb.Helper()
	m := map[string]string{"kid": kid}
	if alg != "" {
		m["alg"] = alg
	}
	if use != "" {
		m["use"] = use
	}
	switch pub := key.(type) {
	case *rsa.PublicKey:
		m["kty"] = "RSA"
		m["n"] = b64.EncodeToString(pub.N.Bytes())
		m["e"] = b64.EncodeToString(big.NewInt(int64(pub.E)).Bytes())
	case *ecdsa.PublicKey:
		point, err := pub.ECDH()
		if err != nil {
			tb.Fatal(err)
		}
		raw := point.Bytes() // 0x04 || X || Y, each coordinate padded to the curve size
		size := (len(raw) - 1) / 2
		m["kty"] = "EC"
		m["crv"] = pub.Curve.Params().Name
		m["x"] = b64.EncodeToString(raw[1 : 1+size])
		m["y"] = b64.EncodeToString(raw[1+size:])
	case ed25519.PublicKey:
		m["kty"] = "OKP"
		m["crv"] = "Ed25519"
		m["x"] = b64.EncodeToString(pub)
	default:
		tb.Fatalf("jwk: unsupported key %T", key)
	}
	return m
}

// jwksServer serves a JWK Set that the test can replace, and counts the fetches.
type jwksServer struct {
	*httptest.Server
	mu    sync.Mutex
	body  []byte
	fetch atomic.Int64
}

func newJWKSServer(tb testing.TB, set ...map[string]string) *jwksServer {
	tb.Helper()
	s := &jwksServer{}
	s.publish(tb, set...)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fetch.Add(1)
		s.mu.Lock()
		body := s.body
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	tb.Cleanup(s.Close)
	return s
}

// publish replaces the served set, as an identity provider does when it rotates keys.
func (s *jwksServer) publish(tb testing.TB, set ...map[string]string) {
	tb.Helper()
	body, err := json.Marshal(map[string]any{"keys": set})
	if err != nil {
		tb.Fatal(err)
	}
	s.mu.Lock()
	s.body = body
	s.mu.Unlock()
}

// tamper replaces the token's payload with c, keeping the original header and signature.
func tamper(tb testing.TB, token string, c jwt.MapClaims) string {
	tb.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		tb.Fatalf("token has %d parts", len(parts))
	}
	payload, err := json.Marshal(c)
	if err != nil {
		tb.Fatal(err)
	}
	parts[1] = b64.EncodeToString(payload)
	return strings.Join(parts, ".")
}

// wantRefused checks that err is a refusal whose message contains reason.
func wantRefused(tb testing.TB, err error, reason string) {
	tb.Helper()
	if err == nil {
		tb.Fatalf("token accepted, want refusal %q", reason)
	}
	if !errorsIsInvalidToken(err) {
		tb.Errorf("error %q does not wrap auth.ErrInvalidToken", err)
	}
	if !strings.Contains(err.Error(), reason) {
		tb.Errorf("error %q, want it to say %q", err, reason)
	}
}
