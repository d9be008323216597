package store

import (
	"context"
	"time"
)

// IPBlock is an auditable block of an address or prefix. Blocks are global:
// a malicious source is malicious for every tenant. Nothing is deleted;
// revoking records who and why.
type IPBlock struct {
	ID     string `json:"id"`
	Prefix string `json:"prefix"` // canonical CIDR; a single address is /32 or /128
	// Origin is "admin" or "detection".
	Origin string `json:"origin"`
	// Rule names the detection rule (spray, stuffing, velocity), empty for admin blocks.
	Rule   string `json:"rule,omitempty"`
	Reason string `json:"reason"`
	// Evidence is JSON: counts, window, sample accounts.
	Evidence string `json:"evidence,omitempty"`
	// ReportOnly records what a rule would have blocked, without enforcing.
	ReportOnly   bool      `json:"reportOnly"`
	CreatedAt    time.Time `json:"createdAt"`
	CreatedBy    string    `json:"createdBy"`
	ExpiresAt    time.Time `json:"expiresAt,omitzero"` // zero = until revoked
	RevokedAt    time.Time `json:"revokedAt,omitzero"`
	RevokedBy    string    `json:"revokedBy,omitempty"`
	RevokeReason string    `json:"revokeReason,omitempty"`
}

// Active reports whether the block is in force at now (report-only blocks
// are never in force).
func (b IPBlock) Active(now time.Time) bool {
	return !b.ReportOnly && b.RevokedAt.IsZero() && (b.ExpiresAt.IsZero() || now.Before(b.ExpiresAt))
}

// IPBlocks stores block records.
type IPBlocks interface {
	CreateIPBlock(ctx context.Context, b IPBlock) error
	GetIPBlock(ctx context.Context, id string) (IPBlock, error)
	// ListIPBlocks returns blocks newest first; with activeOnly, only those
	// neither revoked, expired nor report-only at now.
	ListIPBlocks(ctx context.Context, activeOnly bool, now time.Time) ([]IPBlock, error)
	// RevokeIPBlock revokes a block once (a second revoke keeps the first).
	RevokeIPBlock(ctx context.Context, id string, at time.Time, by, reason string) error
	// IPBlocksVersion changes whenever a block is created or revoked, so a
	// server can notice changes made by another process cheaply.
	IPBlocksVersion(ctx context.Context) (int64, error)
}

// NamedLocation is Entra's named location: IP ranges or countries, possibly
// trusted. Stored per tenant.
type NamedLocation struct {
	ID                      string    `json:"id"`
	TenantID                string    `json:"-"`
	DisplayName             string    `json:"displayName"`
	CIDRs                   []string  `json:"ipRanges,omitempty"`
	Countries               []string  `json:"countriesAndRegions,omitempty"`
	IncludeUnknownCountries bool      `json:"includeUnknownCountriesAndRegions"`
	Trusted                 bool      `json:"isTrusted"`
	CreatedAt               time.Time `json:"createdDateTime"`
}

// NamedLocations stores a tenant's named locations.
type NamedLocations interface {
	CreateNamedLocation(ctx context.Context, l NamedLocation) error
	ListNamedLocations(ctx context.Context, tenantID string) ([]NamedLocation, error)
	DeleteNamedLocation(ctx context.Context, tenantID, id string) error
}
