// Package auth turns the bearer token of a request into an invite.Principal: it verifies JWTs signed with an HS256
// shared secret (development and tests) or with RS256, ES256 or EdDSA keys published at a JWKS URL (production), and
// mints development tokens.
package auth

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"

	"github.com/cloudreseller/aws-invites/internal/invite"
)

// The signing algorithms the service knows; anything else (none, HS384, PS256, ...) is refused.
const (
	algHS256 = "HS256"
	algRS256 = "RS256"
	algES256 = "ES256"
	algEdDSA = "EdDSA"
)

// MinSecretBytes is the shortest HS256 secret accepted: RFC 7518 §3.2 asks for a key at least as long as the hash.
const MinSecretBytes = 32

// maxTokenBytes bounds the work an unauthenticated caller can make the parser do; real tokens are far smaller.
const maxTokenBytes = 16 << 10

// Config says which tokens a Verifier accepts.
type Config struct {
	// HS256Secret enables HS256 tokens signed with this shared secret (at least MinSecretBytes long).
	HS256Secret []byte
	// JWKSURL enables RS256, ES256 and EdDSA tokens signed with keys published at this URL.
	JWKSURL string
	// Issuer is required and must equal the token's iss.
	Issuer string
	// Audience is required and must be one of the token's aud.
	Audience string
	// Leeway tolerates this much clock skew on exp, nbf and iat.
	Leeway time.Duration

	// JWKSRefreshInterval is how often the JWKS is fetched in the background; zero means one hour.
	JWKSRefreshInterval time.Duration
	// HTTPClient fetches the JWKS; nil means a client with a 10-second timeout.
	HTTPClient *http.Client
	// Logger receives JWKS refresh failures; nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock used for exp, nbf and iat; nil means time.Now.
	Now func() time.Time
}

// ErrInvalidToken is wrapped by every error Verify returns; the rest of the message says what was wrong and is safe
// to show to the caller.
var ErrInvalidToken = errors.New("invalid token")

// The reasons a token is refused; their text ends up in the 401 response, so it names no key, URL or internal cause.
var (
	errMissing         = errors.New("missing")
	errTooLarge        = errors.New("too large")
	errMalformed       = errors.New("malformed")
	errAlgNotAccepted  = errors.New("signing algorithm not accepted")
	errUnknownKey      = errors.New("unknown signing key")
	errKeyMismatch     = errors.New("signing key does not match the algorithm")
	errBadSignature    = errors.New("bad signature")
	errExpired         = errors.New("expired")
	errNotYetValid     = errors.New("not yet valid")
	errIssuedInFuture  = errors.New("issued in the future")
	errWrongIssuer     = errors.New("wrong issuer")
	errWrongAudience   = errors.New("wrong audience")
	errMissingExp      = errors.New("missing exp")
	errMissingIss      = errors.New("missing iss")
	errMissingAud      = errors.New("missing aud")
	errMissingSub      = errors.New("missing sub")
	errMissingCustomer = errors.New("missing customer_id")
	errUnverifiable    = errors.New("cannot be verified")
)

// Verifier checks bearer tokens; it is safe for concurrent use.
type Verifier struct {
	secret  []byte
	jwks    keyfunc.Keyfunc // nil when no JWKS URL is configured
	allowed map[string]bool
	parser  *jwt.Parser
	cfg     Config
	cache   tokenCache
}

// NewVerifier builds a Verifier; with a JWKS URL it fetches the key set once (failing if it cannot, so a wrong URL
// shows at start-up instead of as every token refused) and then refreshes it in the background until ctx ends.
func NewVerifier(ctx context.Context, cfg Config) (*Verifier, error) {
	if len(cfg.HS256Secret) == 0 && cfg.JWKSURL == "" {
		return nil, errors.New("auth: configure an HS256 secret, a JWKS URL or both")
	}
	// Without both, a token signed for another service or by another tenant of the same identity provider would
	// be accepted here.
	if strings.TrimSpace(cfg.Issuer) == "" {
		return nil, errors.New("auth: an issuer is required, so that tokens of other issuers are refused")
	}
	if strings.TrimSpace(cfg.Audience) == "" {
		return nil, errors.New("auth: an audience is required, so that tokens meant for other services are refused")
	}
	if len(cfg.HS256Secret) > 0 && len(cfg.HS256Secret) < MinSecretBytes {
		return nil, fmt.Errorf("auth: the HS256 secret has %d bytes, at least %d are required", len(cfg.HS256Secret), MinSecretBytes)
	}
	if cfg.Leeway < 0 {
		return nil, fmt.Errorf("auth: negative leeway %s", cfg.Leeway)
	}
	v := &Verifier{allowed: map[string]bool{}, cfg: cfg}
	if len(cfg.HS256Secret) > 0 {
		v.secret = append([]byte(nil), cfg.HS256Secret...)
		v.allowed[algHS256] = true
	}
	if cfg.JWKSURL != "" {
		kf, err := newJWKS(ctx, cfg)
		if err != nil {
			return nil, err
		}
		v.jwks = kf
		v.allowed[algRS256] = true
		v.allowed[algES256] = true
		v.allowed[algEdDSA] = true
	}
	methods := make([]string, 0, len(v.allowed))
	for _, alg := range []string{algHS256, algRS256, algES256, algEdDSA} {
		if v.allowed[alg] {
			methods = append(methods, alg)
		}
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(methods),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(cfg.Leeway),
		jwt.WithIssuer(cfg.Issuer),
		jwt.WithAudience(cfg.Audience),
	}
	if cfg.Now != nil {
		opts = append(opts, jwt.WithTimeFunc(cfg.Now))
	}
	v.parser = jwt.NewParser(opts...)
	return v, nil
}

// Verify checks the token's signature and claims and returns the caller it names; ctx bounds a JWKS refresh that an
// unknown key id may trigger. Every error wraps ErrInvalidToken.
func (v *Verifier) Verify(ctx context.Context, rawToken string) (invite.Principal, error) {
	if rawToken == "" {
		return invite.Principal{}, refuse(errMissing)
	}
	if len(rawToken) > maxTokenBytes {
		return invite.Principal{}, refuse(errTooLarge)
	}
	now := v.now()
	key := sha256.Sum256([]byte(rawToken))
	if p, ok := v.remembered(ctx, key, now); ok {
		return p, nil
	}
	var c tokenClaims
	tok, err := v.parser.ParseWithClaims(rawToken, &c, v.keyFor(ctx))
	if err != nil {
		return invite.Principal{}, refuse(v.reason(err, tok, &c))
	}
	p := invite.Principal{
		Subject:         c.Subject,
		Email:           c.Email,
		CustomerID:      c.CustomerID,
		Permissions:     nonEmpty(c.Permissions),
		BillingProfiles: nonEmpty(c.BillingProfiles),
		Roles:           nonEmpty(c.Roles),
	}
	// Remembered until the earlier of cacheFor and the moment the parser would refuse it as expired, and only for
	// the times at which the parser accepts it (a clock set back sees it checked again).
	until := now.Add(cacheFor)
	if c.ExpiresAt != nil {
		until = minTime(until, c.ExpiresAt.Add(v.cfg.Leeway))
	}
	var from time.Time
	for _, t := range []*jwt.NumericDate{c.NotBefore, c.IssuedAt} {
		if t != nil && t.Add(-v.cfg.Leeway).After(from) {
			from = t.Add(-v.cfg.Leeway)
		}
	}
	v.remember(ctx, key, tok, p, from, until)
	return p, nil
}

func (v *Verifier) now() time.Time {
	if v.cfg.Now != nil {
		return v.cfg.Now()
	}
	return time.Now()
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// keyFor returns the jwt.Keyfunc that picks the key by algorithm: the shared secret for HS256, the JWKS otherwise,
// so a token can never get its HS256 signature checked against a public key.
func (v *Verifier) keyFor(ctx context.Context) jwt.Keyfunc {
	return func(t *jwt.Token) (any, error) {
		alg := t.Method.Alg()
		if !v.allowed[alg] {
			return nil, errAlgNotAccepted
		}
		if alg == algHS256 {
			return v.secret, nil
		}
		return v.jwksKey(ctx, t, alg)
	}
}

// reason turns the parser's error into the one short reason the caller sees.
func (v *Verifier) reason(err error, tok *jwt.Token, c *tokenClaims) error {
	for _, own := range []error{errAlgNotAccepted, errUnknownKey, errKeyMismatch} {
		if errors.Is(err, own) {
			return own
		}
	}
	// A claim of the wrong type also leaves its field empty (exp as a string looks missing): name the real cause.
	var typeErr *claimTypeError
	if errors.As(err, &typeErr) {
		return typeErr
	}
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return errMalformed
	case tok == nil || tok.Method == nil:
		// An alg the library does not know at all (for example "HS999") leaves the method unset.
		return errAlgNotAccepted
	case !v.allowed[tok.Method.Alg()]:
		return errAlgNotAccepted
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return errBadSignature
	case errors.Is(err, jwt.ErrTokenExpired):
		return errExpired
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return errNotYetValid
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return errIssuedInFuture
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return errWrongIssuer
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return errWrongAudience
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		switch {
		case c.ExpiresAt == nil:
			return errMissingExp
		case c.Issuer == "":
			return errMissingIss
		case len(c.Audience) == 0:
			return errMissingAud
		}
	}
	for _, own := range []error{errMissingSub, errMissingCustomer} {
		if errors.Is(err, own) {
			return own
		}
	}
	if errors.Is(err, jwt.ErrInvalidType) {
		return errMalformed
	}
	return errUnverifiable
}

func refuse(reason error) error { return fmt.Errorf("%w: %w", ErrInvalidToken, reason) }

// tokenClaims is the payload the service reads (README "API in short"). It decodes itself (claims.go) so that a claim of
// the wrong type is refused instead of coerced.
type tokenClaims struct {
	jwt.RegisteredClaims
	Email           string   `json:"email,omitempty"`
	CustomerID      string   `json:"customer_id,omitempty"`
	Permissions     []string `json:"permissions,omitempty"`
	BillingProfiles []string `json:"billing_profiles,omitempty"`
	Roles           []string `json:"roles,omitempty"`

	// typeErr is the first claim found with the wrong type; Validate reports it, which the parser calls only once
	// the signature is good, so a forged token learns nothing about how its payload was read.
	typeErr *claimTypeError
}

// Validate adds the service's own checks to the library's; the parser calls it after the signature.
func (c *tokenClaims) Validate() error {
	if c.typeErr != nil {
		return c.typeErr
	}
	var errs []error
	if strings.TrimSpace(c.Subject) == "" {
		errs = append(errs, errMissingSub)
	}
	if strings.TrimSpace(c.CustomerID) == "" {
		errs = append(errs, errMissingCustomer)
	}
	return errors.Join(errs...)
}

// nonEmpty drops empty strings, which a token may carry but which name nothing.
func nonEmpty(list []string) []string {
	var out []string
	for _, s := range list {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}
