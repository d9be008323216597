package oidc

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// AccessClaims are the claims of an access token for Portcullis's own API
// (Graph audience) that its consumers check.
type AccessClaims struct {
	jwt.Claims
	TenantID string `json:"tid"`
	ObjectID string `json:"oid"`
	IDType   string `json:"idtyp"`
	AZP      string `json:"azp"`
	TokenID  string `json:"uti"`
}

// TokenFailure is why a bearer token was refused, worded as Graph words it.
type TokenFailure string

func (f TokenFailure) Error() string { return string(f) }

// ClockSkew tolerates small clock differences between instances.
const ClockSkew = time.Minute

// VerifyAccessToken checks a bearer token for Portcullis's own API: a JWT
// signed by a published key with that key's own algorithm, issued by this
// server for the token's tenant, with the Graph audience, within its time
// window. It returns the claims once the signature verified (nil before),
// so a caller can tell a genuine but expired token from a forged one.
func VerifyAccessToken(ctx context.Context, keys *KeySet, publicURL, raw string, now time.Time) (*AccessClaims, error) {
	tok, err := jwt.ParseSigned(strings.TrimSpace(raw), []jose.SignatureAlgorithm{jose.ES256, jose.RS256})
	if err != nil || len(tok.Headers) != 1 {
		return nil, TokenFailure("Access token is not a valid JWT.")
	}
	jwks, err := keys.JWKS(ctx)
	if err != nil {
		return nil, TokenFailure("Signing keys are unavailable.")
	}
	found := jwks.Key(tok.Headers[0].KeyID)
	// The header's algorithm must be the key's own, never one the token
	// picked for it.
	if len(found) == 0 || found[0].Algorithm != tok.Headers[0].Algorithm {
		return nil, TokenFailure("Access token signature is invalid.")
	}
	var c AccessClaims
	if err := tok.Claims(found[0].Public().Key, &c); err != nil {
		return nil, TokenFailure("Access token signature is invalid.")
	}
	if err := c.ValidateWithLeeway(jwt.Expected{Issuer: strings.TrimSuffix(publicURL, "/") + "/" + c.TenantID + "/v2.0",
		AnyAudience: jwt.Audience{GraphAppID}, Time: now}, ClockSkew); err != nil || c.TenantID == "" {
		return &c, tokenProblem(err)
	}
	return &c, nil
}

func tokenProblem(err error) error {
	switch {
	case errors.Is(err, jwt.ErrExpired):
		return TokenFailure("Lifetime validation failed, the token is expired.")
	case errors.Is(err, jwt.ErrNotValidYet), errors.Is(err, jwt.ErrIssuedInTheFuture):
		return TokenFailure("Lifetime validation failed, the token is not yet valid.")
	case errors.Is(err, jwt.ErrInvalidAudience):
		return TokenFailure("Invalid audience.")
	case errors.Is(err, jwt.ErrInvalidIssuer):
		return TokenFailure("Invalid issuer.")
	}
	return TokenFailure("Access token validation failure.")
}
