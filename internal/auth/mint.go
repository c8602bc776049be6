package auth

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// The issuer and audience of development tokens, used by default by both `serve` (to verify) and `token` (to mint).
const (
	DevIssuer   = "aws-invites-dev"
	DevAudience = "aws-invites"
)

// Claims is what a development token says about its holder.
type Claims struct {
	Subject         string
	Email           string
	CustomerID      string
	BillingProfiles []string
	Permissions     []string
	Roles           []string
	Issuer          string // omitted from the token when empty
	Audience        string // omitted from the token when empty
}

// Mint signs an HS256 token for c, valid from now for ttl; it refuses claims that Verify would refuse anyway.
func Mint(secret []byte, c Claims, ttl time.Duration, now time.Time) (string, error) {
	if len(secret) < MinSecretBytes {
		return "", fmt.Errorf("auth: mint: the secret has %d bytes, at least %d are required", len(secret), MinSecretBytes)
	}
	if ttl <= 0 {
		return "", fmt.Errorf("auth: mint: ttl must be positive, got %s", ttl)
	}
	if strings.TrimSpace(c.Subject) == "" {
		return "", errors.New("auth: mint: subject is required")
	}
	if strings.TrimSpace(c.CustomerID) == "" {
		return "", errors.New("auth: mint: customer id is required")
	}
	// NumericDate keeps whole seconds, so truncating here makes exp exactly now+ttl as a reader would compute it.
	now = now.UTC().Truncate(time.Second)
	tc := tokenClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    c.Issuer,
			Subject:   c.Subject,
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
			NotBefore: jwt.NewNumericDate(now),
			IssuedAt:  jwt.NewNumericDate(now),
		},
		Email:           c.Email,
		CustomerID:      c.CustomerID,
		Permissions:     c.Permissions,
		BillingProfiles: c.BillingProfiles,
		Roles:           c.Roles,
	}
	if c.Audience != "" {
		tc.Audience = jwt.ClaimStrings{c.Audience}
	}
	signed, err := jwt.NewWithClaims(jwt.SigningMethodHS256, tc).SignedString(secret)
	if err != nil {
		return "", fmt.Errorf("auth: mint: sign: %w", err)
	}
	return signed, nil
}
