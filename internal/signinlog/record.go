// Package signinlog owns the sign-in log: the record in Microsoft Graph's
// signIn shape, and the group-commit writer that makes each record durable
// before the response it describes is sent.
//
// Group commit: handlers hand their record to the Writer and wait; a single
// goroutine gathers everything waiting into one transaction, commits it with
// fsync, and then releases every waiter at once. Under load one fsync covers
// hundreds of sign-ins, so durability costs little per request.
package signinlog

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/portcullis-idp/portcullis/internal/store"
)

// Record is one sign-in attempt, in Graph's signIn shape plus Portcullis's
// admin-only Protection details.
type Record struct {
	ID                           string       `json:"id"`
	CreatedDateTime              time.Time    `json:"createdDateTime"`
	UserPrincipalName            string       `json:"userPrincipalName"`
	UserID                       string       `json:"userId"`
	UserDisplayName              string       `json:"userDisplayName"`
	AppID                        string       `json:"appId"`
	AppDisplayName               string       `json:"appDisplayName"`
	ResourceID                   string       `json:"resourceId,omitempty"`
	IPAddress                    string       `json:"ipAddress"`
	ClientAppUsed                string       `json:"clientAppUsed"`
	CorrelationID                string       `json:"correlationId"`
	IsInteractive                bool         `json:"isInteractive"`
	Status                       Status       `json:"status"`
	Location                     Location     `json:"location"`
	DeviceDetail                 DeviceDetail `json:"deviceDetail"`
	UserAgent                    string       `json:"userAgent"`
	AuthenticationProtocol       string       `json:"authenticationProtocol"`
	ProcessingTimeInMilliseconds int64        `json:"processingTimeInMilliseconds"`
	ConditionalAccessStatus      string       `json:"conditionalAccessStatus"`
	RiskLevelDuringSignIn        string       `json:"riskLevelDuringSignIn"`
	TenantID                     string       `json:"-"`
	// Protection is admin-only: it says whether the password was right and
	// how the guard decided. It is never shown to the person signing in.
	Protection *Protection `json:"portcullisProtection,omitempty"`
}

// Status is Graph's signInStatus.
type Status struct {
	ErrorCode         int    `json:"errorCode"`
	FailureReason     string `json:"failureReason,omitempty"`
	AdditionalDetails string `json:"additionalDetails,omitempty"`
}

// Location is Graph's signInLocation.
type Location struct {
	City            string          `json:"city"`
	State           string          `json:"state"`
	CountryOrRegion string          `json:"countryOrRegion"`
	GeoCoordinates  *GeoCoordinates `json:"geoCoordinates,omitempty"`
}

// GeoCoordinates is Graph's geoCoordinates.
type GeoCoordinates struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
}

// IPMatch is one feed, block record or named location that matched the
// client address (admin-only).
type IPMatch struct {
	Kind     string `json:"kind"`
	Name     string `json:"name"`
	Category string `json:"category,omitempty"`
	Action   string `json:"action,omitempty"`
	Prefix   string `json:"prefix,omitempty"`
	Origin   string `json:"origin,omitempty"`
	Rule     string `json:"rule,omitempty"`
	Reason   string `json:"reason,omitempty"`
	Trusted  bool   `json:"trusted,omitempty"`
}

// DeviceDetail is Graph's deviceDetail.
type DeviceDetail struct {
	DeviceID        string `json:"deviceId"`
	DisplayName     string `json:"displayName"`
	OperatingSystem string `json:"operatingSystem"`
	Browser         string `json:"browser"`
	IsCompliant     bool   `json:"isCompliant"`
	IsManaged       bool   `json:"isManaged"`
	TrustType       string `json:"trustType"`
}

// Protection records the guard's view of the attempt, for administrators.
type Protection struct {
	// PasswordCorrect is nil when no password was verified (refused earlier).
	PasswordCorrect *bool  `json:"passwordCorrect,omitempty"`
	Decision        string `json:"decision"`              // e.g. "verified", "locked", "unknownUser", "hashPoolOverloaded"
	SourceClass     string `json:"sourceClass,omitempty"` // unfamiliar, familiarNetwork, deviceCookie, trustedLocation
	// SourceScope is the familiar network prefix or device cookie ID.
	SourceScope string `json:"sourceScope,omitempty"`
	// Failures and Threshold are the budget's counters after this attempt.
	Failures  int `json:"failures"`
	Threshold int `json:"threshold,omitempty"`
	// ConsecutiveLockouts drives the doubling of lock durations.
	ConsecutiveLockouts int `json:"consecutiveLockouts,omitempty"`
	// LockedUntil is when the budget's lock ends, if it is (or just got) locked.
	LockedUntil *time.Time `json:"lockedUntil,omitempty"`
	// HashQueueMilliseconds is the time spent waiting for a hash worker.
	HashQueueMilliseconds float64 `json:"hashQueueMilliseconds"`
	// PublicErrorCode is the code the client was shown when it differs from
	// status.errorCode (unknown users are told 50126, logged as 50034).
	PublicErrorCode int  `json:"publicErrorCode,omitempty"`
	PasswordRehash  bool `json:"passwordRehashed,omitempty"`
	// IPBlocked says the client address was refused; IPMatches says by what.
	IPBlocked bool      `json:"ipBlocked,omitempty"`
	IPMatches []IPMatch `json:"ipMatches,omitempty"`
	Detail    string    `json:"detail,omitempty"`
}

// Row converts the record to its storage form.
func (r Record) Row() (store.SignInRow, error) {
	body, err := json.Marshal(r)
	if err != nil {
		return store.SignInRow{}, fmt.Errorf("encode sign-in %s: %w", r.ID, err)
	}
	return store.SignInRow{
		ID: r.ID, CreatedAt: r.CreatedDateTime, TenantID: r.TenantID, UserID: r.UserID,
		UPN: r.UserPrincipalName, AppID: r.AppID, IPAddress: r.IPAddress, ErrorCode: r.Status.ErrorCode,
		CorrelationID: r.CorrelationID, Body: body,
	}, nil
}

// FromRow decodes a stored record.
func FromRow(row store.SignInRow) (Record, error) {
	var r Record
	if err := json.Unmarshal(row.Body, &r); err != nil {
		return r, fmt.Errorf("decode sign-in %s: %w", row.ID, err)
	}
	r.TenantID = row.TenantID
	return r, nil
}
