package diagnose

import "time"

// Causes a report can name.
const (
	CauseLocked            = "accountLocked"
	CauseIPBlocked         = "ipBlocked"
	CauseLockedAndBlocked  = "accountLockedAndIPBlocked"
	CauseDisabled          = "accountDisabled"
	CausePasswordChange    = "passwordChangeRequired"
	CauseWrongPassword     = "wrongPassword"
	CauseNoSuchUser        = "noSuchUser"
	CauseNoFailures        = "noFailures"
	CauseOther             = "other"
	PatternPasswordSpray   = "passwordSpray"
	PatternTargetedGuesses = "targetedGuessing"
)

// Report is a diagnosis.
type Report struct {
	Query QueryEcho `json:"query"`
	Now   time.Time `json:"now"`
	// User is nil when no user has the name: the administrator is told so
	// (the person signing in never was).
	User    *User  `json:"user"`
	Cause   string `json:"cause"`
	Summary string `json:"summary"`
	// InEffectNow says whether the cause still stops sign-ins right now.
	InEffectNow bool         `json:"inEffectNow"`
	Failures    FailureStats `json:"failures"`
	Lock        *LockInfo    `json:"lock,omitempty"`
	IPBlocks    []BlockInfo  `json:"ipBlocks"`
	Patterns    []Pattern    `json:"attackPatterns"`
	Checks      []Check      `json:"checks"`
	UserCanDo   []string     `json:"userCanDo"`
	AdminCanDo  []string     `json:"adminCanDo"`
}

// QueryEcho is what was diagnosed.
type QueryEcho struct {
	User          string    `json:"user,omitempty"`
	Since         time.Time `json:"since"`
	Until         time.Time `json:"until"`
	CorrelationID string    `json:"correlationId,omitempty"`
	RequestID     string    `json:"requestId,omitempty"`
}

// User is the account diagnosed.
type User struct {
	ID                 string `json:"id"`
	UserPrincipalName  string `json:"userPrincipalName"`
	DisplayName        string `json:"displayName"`
	AccountEnabled     bool   `json:"accountEnabled"`
	MustChangePassword bool   `json:"mustChangePassword"`
}

// FailureStats describe the failed sign-ins in the window.
type FailureStats struct {
	Total      int       `json:"total"`
	Truncated  bool      `json:"truncated,omitempty"` // more than were read
	First      time.Time `json:"first,omitzero"`
	Last       time.Time `json:"last,omitzero"`
	ByReason   []Count   `json:"byReason"`
	BySource   []Count   `json:"bySourceAddress"`
	ByLocation []Count   `json:"byLocation"`
	ByApp      []Count   `json:"byApp"`
	ByClass    []Count   `json:"bySourceClass"`
	// CorrectPassword counts failures whose password was verified and
	// right (refused for another reason: disabled, must change password).
	CorrectPassword int `json:"correctPassword"`
	// UncheckedWhileLocked counts attempts refused by a lock whose
	// password was not one of the remembered wrong ones: possibly the
	// right password (a lock refuses without checking).
	UncheckedWhileLocked int `json:"uncheckedWhileLocked"`
	// KnownWrongWhileLocked counts attempts refused by a lock that repeated
	// a password already counted wrong.
	KnownWrongWhileLocked int `json:"knownWrongWhileLocked"`
}

// Count is one group of failures.
type Count struct {
	Key   string `json:"key"`
	Count int    `json:"count"`
}

// LockInfo is the account's smart lockout state.
type LockInfo struct {
	LockedNow bool      `json:"lockedNow"`
	Class     string    `json:"sourceClass,omitempty"` // the budget locked (or last locked)
	Scope     string    `json:"scope,omitempty"`
	StartedAt time.Time `json:"startedAt,omitzero"`
	EndsAt    time.Time `json:"endsAt,omitzero"`
	ClearedAt time.Time `json:"clearedAt,omitzero"`
	ClearedBy string    `json:"clearedBy,omitempty"`
	Failures  int       `json:"failuresThatLocked,omitempty"`
	// UnlockedBudgets lists source classes that still let the user in
	// (familiar network, device cookie, trusted location).
	UnlockedBudgets []string `json:"unlockedBudgets,omitempty"`
}

// BlockInfo is an address the user's sign-ins were refused from.
type BlockInfo struct {
	Address     string `json:"address"`
	Attempts    int    `json:"attempts"`
	InEffectNow bool   `json:"inEffectNow"`
	Kind        string `json:"kind"` // feed, detection, admin
	Name        string `json:"name"` // feed name or block record ID
	Category    string `json:"category,omitempty"`
	Rule        string `json:"rule,omitempty"`
	Reason      string `json:"reason,omitempty"`
	Evidence    string `json:"evidence,omitempty"`
	Prefix      string `json:"prefix,omitempty"`
}

// Pattern is a recognised attack.
type Pattern struct {
	Kind      string   `json:"kind"`
	Detail    string   `json:"detail"`
	Addresses []string `json:"addresses,omitempty"`
	Accounts  int      `json:"accounts,omitempty"`
}

// Check is one of the guide's manual checks, done.
type Check struct {
	Name   string `json:"name"`
	Result string `json:"result"` // yes, no
	Detail string `json:"detail"`
}
