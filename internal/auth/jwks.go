package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"
)

const (
	defaultJWKSRefresh = time.Hour
	jwksFetchTimeout   = 10 * time.Second
	// unknownKIDRefreshEvery limits how often a token with an unknown kid may make us fetch the JWKS, so that
	// made-up kids cannot turn the service into a load generator against the identity provider.
	unknownKIDRefreshEvery = time.Minute
	// unknownKIDMaxWait bounds both the wait for the limiter and the fetch itself; a request that would have to wait
	// longer for its turn is refused at once rather than held.
	unknownKIDMaxWait = 5 * time.Second
	// minRSABits refuses keys too short to trust; 2048 is what every current identity provider publishes.
	minRSABits = 2048
)

// newJWKS starts keyfunc's JWKS client: one fetch now, then background refreshes until ctx ends, plus a rate-limited
// refresh when a token names a kid not in the cached set (which is how a key rotation is picked up early).
func newJWKS(ctx context.Context, cfg Config) (keyfunc.Keyfunc, error) {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: jwksFetchTimeout}
	}
	interval := cfg.JWKSRefreshInterval
	if interval <= 0 {
		interval = defaultJWKSRefresh
	}
	failFirst := false
	kf, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{cfg.JWKSURL}, keyfunc.Override{
		Client:                    client,
		HTTPTimeout:               jwksFetchTimeout,
		NoErrorReturnFirstHTTPReq: &failFirst,
		RateLimitWaitMax:          unknownKIDMaxWait,
		RefreshInterval:           interval,
		RefreshUnknownKID:         rate.NewLimiter(rate.Every(unknownKIDRefreshEvery), 1),
		RefreshErrorHandlerFunc: func(u string) func(context.Context, error) {
			return func(ctx context.Context, err error) {
				logger.WarnContext(ctx, "refreshing the JWKS failed; keeping the keys already known", "url", u, "error", err)
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("auth: load JWKS from %s: %w", cfg.JWKSURL, err)
	}
	return kf, nil
}

// jwksKey finds the public key for a token signed with alg: by kid when the token names one (refreshing the set once
// if the kid is unknown), otherwise every key in the set that fits alg.
func (v *Verifier) jwksKey(ctx context.Context, t *jwt.Token, alg string) (any, error) {
	kidValue, hasKID := t.Header["kid"]
	if !hasKID {
		all, err := v.jwks.Storage().KeyReadAll(ctx)
		if err != nil {
			return nil, errUnknownKey
		}
		var set jwt.VerificationKeySet
		for _, k := range all {
			if key, ok := usableKey(k, alg); ok {
				set.Keys = append(set.Keys, key)
			}
		}
		if len(set.Keys) == 0 {
			return nil, errUnknownKey
		}
		return set, nil
	}
	kid, ok := kidValue.(string)
	if !ok || kid == "" {
		return nil, errUnknownKey
	}
	k, err := v.jwks.Storage().KeyRead(ctx, kid)
	if err != nil {
		// Not found, refresh refused by the rate limit, or the fetch failed (logged by the refresh handler): to the
		// caller all of them mean the same thing.
		return nil, errUnknownKey
	}
	key, ok := usableKey(k, alg)
	if !ok {
		return nil, errKeyMismatch
	}
	return key, nil
}

// usableKey returns the JWK's public key if it may verify a signature made with alg: the JWK must not be an
// encryption key, must not declare another alg, and must be of the type and size alg needs.
func usableKey(k jwkset.JWK, alg string) (crypto.PublicKey, bool) {
	m := k.Marshal()
	if m.USE == jwkset.UseEnc {
		return nil, false
	}
	if a := m.ALG.String(); a != "" && a != alg {
		return nil, false
	}
	key := k.Key()
	// A JWKS should carry public keys only, but if it carries private ones, verify with their public half.
	if pk, ok := key.(interface{ Public() crypto.PublicKey }); ok {
		key = pk.Public()
	}
	switch alg {
	case algRS256:
		pub, ok := key.(*rsa.PublicKey)
		return pub, ok && pub.N.BitLen() >= minRSABits
	case algES256:
		pub, ok := key.(*ecdsa.PublicKey)
		return pub, ok && pub.Curve == elliptic.P256()
	case algEdDSA:
		pub, ok := key.(ed25519.PublicKey)
		return pub, ok
	}
	return nil, false
}
