// Package store defines the storage contracts Portcullis depends on: one small
// interface per concern, the records they exchange and the sentinel errors every
// backend returns. Backends (sqlstore today; PostgreSQL and Redis later) must pass
// the exported conformance suites in package storetest, so the services above
// never care which backend is in use.
package store

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/portcullis-idp/portcullis/internal/odata"
)

// Sentinel errors. Backends wrap them so callers can use errors.Is.
var (
	// ErrNotFound means the record asked for does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict means a uniqueness rule would be broken (duplicate UPN, client ID...).
	ErrConflict = errors.New("conflict")
)

// Tenant is a directory: its users and apps, and the domains it owns.
type Tenant struct {
	ID          string // GUID
	DisplayName string
	Domains     []string // verified domains, normalised (lower-case); Domains[0] is the default
	// BannedPasswordTerms are the tenant's custom banned password terms,
	// sorted, as entered (matching normalises them).
	BannedPasswordTerms []string
	CreatedAt           time.Time
}

// User is a member of a tenant. LoginKey and MailKey are the normalised
// identifiers used for lookups, so every variant of a name reaches one account.
type User struct {
	ID                            string // GUID, Graph's id / the token's oid
	TenantID                      string
	UserPrincipalName             string // as entered, NFKC-normalised
	LoginKey                      string // case-folded UPN: unique per tenant
	DisplayName                   string
	Mail                          string
	MailKey                       string // case-folded mail: unique per tenant when set
	AccountEnabled                bool
	PasswordHash                  string // PHC string (argon2id) or bcrypt; empty when no password is set
	LastPasswordChangeDateTime    time.Time
	ForceChangePasswordNextSignIn bool
	// SignInSessionsValidFrom is Graph's signInSessionsValidFromDateTime:
	// tokens issued before it are no longer accepted (revokeSignInSessions).
	SignInSessionsValidFrom time.Time
	CreatedAt               time.Time
	UpdatedAt               time.Time
}

// ClientSecret is a confidential app's credential. Only a hash is stored.
type ClientSecret struct {
	ID        string // GUID (Graph's keyId)
	Hash      string // hex SHA-256 of the secret: secrets are 256-bit random, so a slow hash adds nothing
	Hint      string // first characters, shown to admins to tell secrets apart
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Grant types an app may be allowed to use.
const (
	GrantPassword          = "password"
	GrantClientCredentials = "client_credentials"
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
)

// App is an application registration (and its service principal, merged).
type App struct {
	ClientID      string // GUID, Graph's appId
	TenantID      string
	DisplayName   string
	Public        bool // public clients hold no secret
	Secrets       []ClientSecret
	RedirectURIs  []string
	AllowedGrants []string
	CreatedAt     time.Time
}

// Allows reports whether the app may use the grant type. Registering a
// redirect URI is what asks for browser sign-in, as in Entra: such an app
// may use the authorization code grant, and any app that signs users in
// may redeem refresh tokens.
func (a App) Allows(grant string) bool {
	switch {
	case slices.Contains(a.AllowedGrants, grant):
		return true
	case grant == GrantAuthorizationCode:
		return len(a.RedirectURIs) > 0
	case grant == GrantRefreshToken:
		return len(a.RedirectURIs) > 0 || slices.Contains(a.AllowedGrants, GrantPassword)
	}
	return false
}

// SigningKey is a token-signing key. A retired key no longer signs but stays
// published until PublishUntil, so tokens it signed still verify.
type SigningKey struct {
	ID           string // kid
	Algorithm    string // RS256 or ES256
	PrivateKey   []byte // PKCS#8 DER
	CreatedAt    time.Time
	RetiredAt    time.Time // zero while active
	PublishUntil time.Time // zero while active
}

// RefreshToken is an issued refresh token; only its hash is stored.
type RefreshToken struct {
	ID        string
	Hash      string // hex SHA-256 of the opaque token
	FamilyID  string // every rotation of one grant shares a family
	TenantID  string
	UserID    string
	ClientID  string
	Scopes    string
	CreatedAt time.Time
	ExpiresAt time.Time
	RevokedAt time.Time // zero while valid
	UsedAt    time.Time // zero until redeemed (rotated into a new token)
}

// SignInRow is one sign-in log record: indexed columns plus the full record as
// JSON (the Graph signIn shape owned by package signinlog).
type SignInRow struct {
	ID            string
	CreatedAt     time.Time
	TenantID      string
	UserID        string
	UPN           string
	AppID         string
	IPAddress     string
	ErrorCode     int
	CorrelationID string // scans the time index (no index of its own): bound it with Since on large logs
	Body          []byte
}

// SignInQuery selects sign-in rows, newest first.
type SignInQuery struct {
	TenantID      string
	UserID        string // "" = any
	UPN           string // "" = any; matched exactly against the normalised UPN
	ErrorCode     *int
	CorrelationID string // scans the time index (no index of its own): bound it with Since on large logs
	Since         time.Time
	Limit         int // <= 0 means 100
}

// Tenants stores tenants and their domains.
type Tenants interface {
	CreateTenant(ctx context.Context, t Tenant) error
	GetTenant(ctx context.Context, id string) (Tenant, error)
	TenantByDomain(ctx context.Context, domain string) (Tenant, error)
	ListTenants(ctx context.Context) ([]Tenant, error)
	// UpdateBannedPasswordTerms replaces the tenant's banned password terms
	// with update(current) atomically: no other change to them can fall
	// between the read and the write, so a caller comparing versions (an
	// If-Match) inside update cannot lose a concurrent change. An error from
	// update aborts and is returned as is. before and after are sorted and
	// without duplicates.
	UpdateBannedPasswordTerms(ctx context.Context, tenantID string,
		update func(current []string) ([]string, error)) (before, after []string, err error)
}

// Users stores users. CreateUsers is atomic: all are created or none.
type Users interface {
	CreateUsers(ctx context.Context, users ...User) error
	GetUser(ctx context.Context, tenantID, id string) (User, error)
	// UserByLogin finds a user by normalised UPN or mail.
	UserByLogin(ctx context.Context, tenantID, key string) (User, error)
	// ListUsers returns users ordered by LoginKey, after the given key (paging).
	ListUsers(ctx context.Context, tenantID, afterKey string, limit int) ([]User, error)
	UpdateUser(ctx context.Context, u User) error
	// UpdateUserIfUnchanged is UpdateUser only if the stored UpdatedAt still
	// equals prev (to the microsecond); otherwise ErrConflict. u.UpdatedAt
	// must be later than prev.
	UpdateUserIfUnchanged(ctx context.Context, u User, prev time.Time) error
	// DeleteUser removes a user with its sign-in names, role assignments,
	// familiar networks and refresh tokens; ErrNotFound when absent. The
	// sign-in and audit logs keep their records.
	DeleteUser(ctx context.Context, tenantID, id string) error
}

// Apps stores application registrations.
type Apps interface {
	CreateApp(ctx context.Context, a App) error
	// GetApp finds an app by client ID in any tenant.
	GetApp(ctx context.Context, clientID string) (App, error)
	ListApps(ctx context.Context, tenantID string) ([]App, error)
	UpdateApp(ctx context.Context, a App) error
	// DeleteApp removes the app of the tenant with its secrets, its role
	// assignments (an app is a principal too) and its refresh tokens, in one
	// transaction. ErrNotFound when the tenant has no such app.
	DeleteApp(ctx context.Context, tenantID, clientID string) error
}

// Keys stores signing keys.
type Keys interface {
	CreateKey(ctx context.Context, k SigningKey) error
	ListKeys(ctx context.Context) ([]SigningKey, error) // active keys first, then newest first
	// RotateKeys atomically retires every active key of next's algorithm
	// (publishing it until publishUntil) and stores next as that
	// algorithm's only active key. Keys of other algorithms are untouched.
	RotateKeys(ctx context.Context, next SigningKey, publishUntil time.Time) error
}

// RefreshTokens stores refresh token hashes.
type RefreshTokens interface {
	CreateRefreshToken(ctx context.Context, t RefreshToken) error
	RefreshTokenByHash(ctx context.Context, hash string) (RefreshToken, error)
	RevokeRefreshFamily(ctx context.Context, familyID string, at time.Time) error
	// RotateRefreshToken marks the token oldID used and stores next, in one
	// transaction; ErrConflict when oldID was already used or revoked (a
	// concurrent redemption of the same token), and then nothing changes.
	RotateRefreshToken(ctx context.Context, oldID string, next RefreshToken, at time.Time) error
}

// SignInLogs stores the sign-in log. AppendSignIns is one durable transaction.
type SignInLogs interface {
	AppendSignIns(ctx context.Context, rows []SignInRow) error
	GetSignIn(ctx context.Context, tenantID, id string) (SignInRow, error)
	QuerySignIns(ctx context.Context, q SignInQuery) ([]SignInRow, error)
}

// Secrets stores server-side secret material (HMAC keys and the like).
type Secrets interface {
	// Secret returns the named secret, creating it with gen on first use.
	Secret(ctx context.Context, name string, gen func() ([]byte, error)) ([]byte, error)
}

// Store is everything a backend provides.
type Store interface {
	AuthCodes
	Sessions
	Tenants
	Users
	Apps
	Keys
	RefreshTokens
	SignInLogs
	Secrets
	Budgets
	Lockouts
	LockoutPolicies
	FamiliarNetworks
	IPBlocks
	NamedLocations
	RoleAssignments
	DirectoryAudits
	SignInSearch
	Close() error
}

// SignInFilter selects sign-in rows for the query API: a parsed $filter
// (nil = everything), keyset paging and a direction.
type SignInFilter struct {
	TenantID  string
	Where     odata.Expr
	Ascending bool          // oldest first; the default is newest first
	After     *SignInCursor // continue after this row (exclusive)
	Limit     int
}

// SignInCursor is the position of a row in (created, id) order.
type SignInCursor struct {
	CreatedAt time.Time
	ID        string
}

// SignInSchema is what $filter may name on sign-ins, with the types the
// backends translate (Graph's property names).
var SignInSchema = odata.Schema{
	"createdDateTime": odata.DateTime, "userPrincipalName": odata.String, "userId": odata.String,
	"userDisplayName": odata.String, "appId": odata.String, "appDisplayName": odata.String,
	"ipAddress": odata.String, "clientAppUsed": odata.String, "correlationId": odata.String,
	"status/errorCode": odata.Int, "location/countryOrRegion": odata.String, "location/city": odata.String,
	"conditionalAccessStatus": odata.String, "riskLevelDuringSignIn": odata.String, "isInteractive": odata.Bool,
}

// SignInSearch is the query API's view of the sign-in log.
type SignInSearch interface {
	FindSignIns(ctx context.Context, f SignInFilter) ([]SignInRow, error)
	CountSignIns(ctx context.Context, tenantID string, where odata.Expr) (int64, error)
	// PruneSignIns deletes at most limit of a tenant's sign-in records
	// created before cutoff, oldest first, and returns how many it deleted;
	// PruneAudits does the same for audit records. Small batches keep each
	// transaction short, so the log writer never waits long.
	PruneSignIns(ctx context.Context, tenantID string, cutoff time.Time, limit int) (int, error)
	PruneAudits(ctx context.Context, tenantID string, cutoff time.Time, limit int) (int, error)
	// SummarizeSignIns aggregates a span of the log in one pass: counts per
	// time bucket, per error code, and the addresses with the most
	// failures. It is what a dashboard draws, at the cost of one scan of
	// the span rather than a count per bar.
	SummarizeSignIns(ctx context.Context, q SignInSummaryQuery) (SignInSummary, error)
}

// SignInSummaryQuery is a span of one tenant's log to summarise.
type SignInSummaryQuery struct {
	TenantID     string
	Since, Until time.Time     // [Since, Until)
	Bucket       time.Duration // the width of a bucket (an hour, say)
	TopAddresses int           // how many failing addresses to rank
	// Interrupted are the error codes counted as interrupted, neither
	// success nor failure (Entra's sign-in log status).
	Interrupted []int
}

// SignInSummary is a span of the log aggregated.
type SignInSummary struct {
	// Buckets cover the span from Since, each Bucket wide, in order (empty
	// ones included).
	Buckets []SignInBucket
	// Codes counts records per error code over the span (0 is success).
	Codes map[int]int64
	// Addresses are those with the most failed records (error code neither
	// 0 nor interrupted), most first, then by address.
	Addresses []AddressFailures
}

// SignInBucket is one bucket of a summary.
type SignInBucket struct {
	Start                        time.Time
	Total, Failures, Interrupted int64
}

// AddressFailures is one failing address of a summary: its failed records
// and the distinct user names they tried.
type AddressFailures struct {
	IPAddress          string
	Failures, Accounts int64
}
