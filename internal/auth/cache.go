package auth

import (
	"context"
	"crypto"
	"crypto/sha256"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/cloudreseller/aws-invites/internal/invite"
)

// A client sends the same token with every request until it expires; checking it again each time (decoding its
// JSON twice, the signature, seven claims) was a tenth of the CPU of a GET under load (docs/read-path.md).
// Verify remembers the callers of the tokens it accepted, keyed by a SHA-256 of the whole token (so one changed
// byte is another token, checked in full), for at most cacheFor and never past the token's exp. What it changes:
// a JWKS key withdrawn by the identity provider stops being accepted within cacheFor of the key set's refresh,
// not at the refresh (the refresh is hourly by default, so this adds little). Refused tokens are never
// remembered, so every refusal is as precise as before.
const (
	cacheFor        = 30 * time.Second
	cacheMaxEntries = 10_000 // about 3 MB at most; a full cache is emptied, then refills
)

type verified struct {
	p           invite.Principal
	from, until time.Time // the token is valid from (its nbf and iat) until (its exp), leeway included
	// For a JWKS token: the kid and algorithm it named and the key that verified it.
	kid, alg string
	key      crypto.PublicKey
}

type tokenCache struct {
	mu      sync.RWMutex
	entries map[[sha256.Size]byte]verified
}

func (c *tokenCache) get(key [sha256.Size]byte, now time.Time) (verified, bool) {
	c.mu.RLock()
	e, ok := c.entries[key]
	c.mu.RUnlock()
	if !ok || now.Before(e.from) || !now.Before(e.until) {
		return verified{}, false
	}
	return e, true
}

func (c *tokenCache) put(key [sha256.Size]byte, e verified) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil || len(c.entries) >= cacheMaxEntries {
		c.entries = make(map[[sha256.Size]byte]verified)
	}
	c.entries[key] = e
}

// remembered returns the caller of a token accepted within cacheFor, when its JWKS key (if any) is still published.
func (v *Verifier) remembered(ctx context.Context, key [sha256.Size]byte, now time.Time) (invite.Principal, bool) {
	e, ok := v.cache.get(key, now)
	if !ok {
		return invite.Principal{}, false
	}
	if e.kid != "" {
		k, err := v.jwks.Storage().KeyRead(ctx, e.kid)
		if err != nil {
			return invite.Principal{}, false
		}
		pub, ok := usableKey(k, e.alg)
		same, comparable := pub.(interface{ Equal(crypto.PublicKey) bool })
		if !ok || !comparable || !same.Equal(e.key) {
			return invite.Principal{}, false
		}
	}
	return e.p, true
}

// remember keeps the caller of a token just accepted. A JWKS token without a kid (checked against every key of
// the set) is not remembered.
func (v *Verifier) remember(ctx context.Context, key [sha256.Size]byte, tok *jwt.Token, p invite.Principal, from, until time.Time) {
	e := verified{p: p, from: from, until: until}
	if alg := tok.Method.Alg(); alg != algHS256 {
		kid, _ := tok.Header["kid"].(string)
		if kid == "" {
			return
		}
		pub, err := v.jwksKey(ctx, tok, alg)
		if err != nil {
			return
		}
		e.kid, e.alg, e.key = kid, alg, pub
	}
	v.cache.put(key, e)
}
