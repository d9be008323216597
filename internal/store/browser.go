package store

import (
	"context"
	"time"
)

// AuthCode is an authorization code; only the hash of its value is stored.
type AuthCode struct {
	Hash          string // hex SHA-256 of the code
	TenantID      string
	ClientID      string
	UserID        string
	RedirectURI   string
	Scopes        string
	Nonce         string
	CodeChallenge string // S256 challenge, "" when the client sent none
	SessionID     string // the SSO session it was issued in
	AuthTime      time.Time
	CreatedAt     time.Time
	ExpiresAt     time.Time
	RedeemedAt    time.Time // zero until redeemed
	FamilyID      string    // the refresh token family issued for it, if any
}

// Session is a browser SSO session; ID is the hash of the cookie value.
type Session struct {
	ID         string
	TenantID   string
	UserID     string
	CreatedAt  time.Time // when the user authenticated
	ExpiresAt  time.Time
	Persistent bool      // "stay signed in"
	RevokedAt  time.Time // zero while valid
}

// DeviceCookie is a device cookie issued to a user in one browser.
type DeviceCookie struct {
	ID        string
	TenantID  string
	UserID    string
	CreatedAt time.Time
	RevokedAt time.Time // zero while valid
}

// AuthCodes stores authorization codes.
type AuthCodes interface {
	CreateAuthCode(ctx context.Context, c AuthCode) error
	// RedeemAuthCode marks the code redeemed and returns it. A code redeemed
	// before is returned with ErrConflict (a replay); an unknown one is
	// ErrNotFound.
	RedeemAuthCode(ctx context.Context, hash string, at time.Time) (AuthCode, error)
	// SetAuthCodeFamily records the refresh token family issued for a code,
	// so that a replay of the code can revoke it.
	SetAuthCodeFamily(ctx context.Context, hash, familyID string) error
	// PruneGrants deletes what can no longer be used since before cutoff:
	// codes and refresh tokens expired or revoked, sessions expired or
	// revoked, revoked device cookies. It reports how many rows went.
	PruneGrants(ctx context.Context, cutoff time.Time) (int, error)
}

// Sessions stores SSO sessions and device cookies.
type Sessions interface {
	CreateSession(ctx context.Context, s Session) error
	GetSession(ctx context.Context, id string) (Session, error)
	RevokeSession(ctx context.Context, id string, at time.Time) error
	CreateDeviceCookie(ctx context.Context, d DeviceCookie) error
	GetDeviceCookie(ctx context.Context, id string) (DeviceCookie, error)
	// RevokeDeviceCookies revokes every device cookie of a user.
	RevokeDeviceCookies(ctx context.Context, tenantID, userID string, at time.Time) (int, error)
}
