package store

import (
	"context"
	"time"
)

// BudgetKey names one lockout budget: an account (or, for unknown names, an
// HMAC of the name) and a source class with its scope.
type BudgetKey struct {
	TenantID string
	// Subject is the user's object ID, or "x:" + HMAC of an unknown name.
	Subject string
	// Class is unfamiliar, trustedLocation, familiarNetwork or deviceCookie.
	Class string
	// Scope narrows the class: the network prefix, or the device cookie ID.
	Scope string
}

// String is the key's canonical form (storage primary key).
func (k BudgetKey) String() string {
	return k.TenantID + "|" + k.Subject + "|" + k.Class + "|" + k.Scope
}

// Typo is a remembered wrong password: a keyed hash, never the password.
type Typo struct {
	MAC string // hex HMAC-SHA256(server secret, subject|password)
	At  time.Time
}

// BudgetState is the durable state of one budget. Version implements
// optimistic concurrency: PutBudget succeeds only if the stored version is
// still the one read.
type BudgetState struct {
	Key      BudgetKey
	Version  int64 // 0 = never stored
	Failures []time.Time
	// LockedUntil is the end of the current (or last) lock; zero if never locked.
	LockedUntil time.Time
	// LockedAt is when the current (or last) lock started.
	LockedAt time.Time
	// Lockouts counts consecutive lockouts, for escalation.
	Lockouts int
	// LockoutID is the audit record of the current (or last) lock.
	LockoutID string
	Typos     []Typo
	UpdatedAt time.Time
	// Reservations are the slots of attempts being verified right now, on
	// any instance: a guard whose state is shared with other instances
	// (guard.Config.Shared) keeps them here so the budget's limit holds
	// across instances. Only shared state backends (Redis) store them; a
	// single process keeps its slots in memory.
	Reservations []Reservation
	// ExpiresAt, when set, is when the state stops mattering: nothing in
	// it counts any more and it would normalise to a fresh budget. A
	// shared store may forget it then, so that budgets of names an attack
	// made up do not pile up; zero keeps it. Not stored itself.
	ExpiresAt time.Time `json:"-"`
}

// Reservation is one admitted attempt's slot, until it is settled or, if
// its instance died, until Until.
type Reservation struct {
	ID    string
	Until time.Time
}

// Budgets stores lockout budgets with compare-and-swap updates.
type Budgets interface {
	// GetBudget returns the stored state, or a zero state (Version 0) with
	// the key set when none is stored.
	GetBudget(ctx context.Context, key BudgetKey) (BudgetState, error)
	// PutBudget stores st if the stored version equals st.Version (0 = must
	// not exist yet), and returns the new version. A mismatch is ErrConflict.
	PutBudget(ctx context.Context, st BudgetState) (int64, error)
	// ListBudgets returns every budget of a subject, any class.
	ListBudgets(ctx context.Context, tenantID, subject string) ([]BudgetState, error)
}

// Lockout is the audit record of one lock.
type Lockout struct {
	ID           string    `json:"id"`
	TenantID     string    `json:"tenantId"`
	Subject      string    `json:"subject"` // user object ID
	Class        string    `json:"class"`
	Scope        string    `json:"scope"`
	StartedAt    time.Time `json:"startedAt"`
	ExpiresAt    time.Time `json:"expiresAt"`
	FailureCount int       `json:"failureCount"`
	Reason       string    `json:"reason"`
	ClearedAt    time.Time `json:"clearedAt,omitzero"` // zero unless cleared early
	ClearedBy    string    `json:"clearedBy"`
	ClearedHow   string    `json:"clearedHow"` // "admin-unlock", "password-reset", ...
	ClearReason  string    `json:"clearReason"`
}

// Lockouts stores lockout audit records. Nothing is deleted.
type Lockouts interface {
	CreateLockout(ctx context.Context, l Lockout) error
	// ListLockouts returns a subject's lockouts, newest first.
	ListLockouts(ctx context.Context, tenantID, subject string, limit int) ([]Lockout, error)
	// ClearLockout marks one lockout cleared (if not already).
	ClearLockout(ctx context.Context, tenantID, id string, at time.Time, by, how, reason string) error
}

// LockoutPolicy is a tenant's smart lockout policy.
type LockoutPolicy struct {
	Threshold             int
	Duration              time.Duration
	MaxDuration           time.Duration
	ObservationWindow     time.Duration
	FamiliarNetworkDays   int
	DeviceCookieThreshold int
}

// LockoutPolicies stores per-tenant policy overrides.
type LockoutPolicies interface {
	// GetLockoutPolicy returns the tenant's stored policy, or ErrNotFound
	// when the tenant uses the configured defaults.
	GetLockoutPolicy(ctx context.Context, tenantID string) (LockoutPolicy, error)
	SetLockoutPolicy(ctx context.Context, tenantID string, p LockoutPolicy) error
	// UpdateLockoutPolicy stores update(current, found) as the tenant's
	// policy, atomically: no other write can fall between the read and the
	// write, so an If-Match compared inside update cannot lose a concurrent
	// change. found is false when the tenant has no stored policy. An error
	// from update aborts and is returned as is.
	UpdateLockoutPolicy(ctx context.Context, tenantID string,
		update func(current LockoutPolicy, found bool) (LockoutPolicy, error)) (LockoutPolicy, error)
}

// FamiliarNetworks remembers where users signed in successfully.
type FamiliarNetworks interface {
	// TouchNetwork records a successful sign-in of the user from prefix.
	TouchNetwork(ctx context.Context, tenantID, userID, prefix string, at time.Time) error
	// NetworkLastSuccess returns the last success from prefix, or zero.
	NetworkLastSuccess(ctx context.Context, tenantID, userID, prefix string) (time.Time, error)
	// RecentNetworks returns up to limit of the user's networks with a
	// success at or after since, most recent first.
	RecentNetworks(ctx context.Context, tenantID, userID string, since time.Time, limit int) ([]NetworkUse, error)
}

// NetworkUse is one network a user signed in from successfully.
type NetworkUse struct {
	Prefix      string
	LastSuccess time.Time
}
