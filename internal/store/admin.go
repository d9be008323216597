package store

import (
	"context"
	"time"
)

// RoleAssignment gives a principal (a user's object ID, or an app's client
// ID for app-only automation) a directory role, in Graph's
// unifiedRoleAssignment terms. DirectoryScopeID is "/" (the whole tenant).
type RoleAssignment struct {
	ID               string
	TenantID         string
	PrincipalID      string
	RoleDefinitionID string // the role template ID (rbac)
	DirectoryScopeID string
	CreatedAt        time.Time
}

// RoleAssignments stores role assignments.
type RoleAssignments interface {
	// CreateRoleAssignment stores a; ErrConflict when the principal already
	// holds the role at that scope.
	CreateRoleAssignment(ctx context.Context, a RoleAssignment) error
	// DeleteRoleAssignment removes one; ErrNotFound when it does not exist.
	DeleteRoleAssignment(ctx context.Context, tenantID, id string) error
	// ListRoleAssignments returns the tenant's assignments, oldest first;
	// principalID "" means every principal.
	ListRoleAssignments(ctx context.Context, tenantID, principalID string) ([]RoleAssignment, error)
}

// AuditRow is one directory audit record: indexed columns plus the whole
// Graph directoryAudit document in Body.
type AuditRow struct {
	ID            string
	TenantID      string
	CreatedAt     time.Time
	Category      string
	Activity      string // activityDisplayName
	Result        string // success, failure
	InitiatedBy   string // user object ID or app client ID
	TargetID      string // first target resource, "" when none
	CorrelationID string
	Body          []byte
}

// AuditQuery filters the audit log (newest first).
type AuditQuery struct {
	TenantID    string
	InitiatedBy string // "" = any
	TargetID    string // "" = any
	Activity    string // "" = any
	Since       time.Time
	Until       time.Time // zero = no upper bound
	Limit       int       // <= 0 means 100
	// After pages on: only records older than this one, in the newest-first
	// order (created_at, then ID), so records appended meanwhile never
	// shift a page.
	After *SignInCursor
}

// DirectoryAudits is the append-only audit log.
type DirectoryAudits interface {
	// AppendAudit appends the records in one transaction: all or none (an
	// ID already present is ErrConflict).
	AppendAudit(ctx context.Context, rows ...AuditRow) error
	QueryAudits(ctx context.Context, q AuditQuery) ([]AuditRow, error)
}
