package adminapi

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"

	"github.com/portcullis-idp/portcullis/internal/store"
)

// OfflineChange is a change made on the data directory by the offline CLI
// (setup and break-glass), for the same audit log the API writes.
type OfflineChange struct {
	TenantID   string
	Category   string // UserManagement, RoleManagement
	Activity   string // Graph-style activityDisplayName
	Operation  string // Add, Update, Delete, Assign, Unassign
	TargetID   string
	TargetName string
	TargetType string // User, Role
	TargetUPN  string
	Property   string // the modified property, "" when none
	OldValue   string
	NewValue   string
	Reason     string
}

// RecordOffline appends the audit records of offline changes, in one write
// sharing one correlation ID. The initiator is the CLI with the
// operating-system user who ran it: the person who needed filesystem access
// to the data directory.
func RecordOffline(ctx context.Context, s store.DirectoryAudits, osUser string, changes ...OfflineChange) error {
	now := time.Now().UTC()
	correlation := uuid.NewString()
	rows := make([]store.AuditRow, 0, len(changes))
	for _, c := range changes {
		target := auditTarget{ID: c.TargetID, DisplayName: c.TargetName, Type: c.TargetType, UserPrincipalName: c.TargetUPN,
			ModifiedProperties: []modifiedProperty{}}
		if c.Property != "" {
			target.ModifiedProperties = []modifiedProperty{{DisplayName: c.Property, OldValue: c.OldValue, NewValue: c.NewValue}}
		}
		rec := DirectoryAudit{ID: uuid.NewString(), Category: c.Category, CorrelationID: correlation, Result: "success",
			ActivityDisplayName: c.Activity, ActivityDateTime: now.Format(time.RFC3339Nano), LoggedByService: "Core Directory",
			OperationType: c.Operation, TargetResources: []auditTarget{target},
			InitiatedBy:       initiatedBy{App: &auditApp{DisplayName: "portcullis CLI (offline, on the data directory) run by " + osUser}},
			AdditionalDetails: []keyValue{{Key: "reason", Value: c.Reason}, {Key: "osUser", Value: osUser}}}
		body, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		rows = append(rows, store.AuditRow{ID: rec.ID, TenantID: c.TenantID, CreatedAt: now, Category: c.Category,
			Activity: c.Activity, Result: "success", InitiatedBy: "cli:" + osUser, TargetID: c.TargetID,
			CorrelationID: correlation, Body: body})
	}
	return s.AppendAudit(ctx, rows...)
}
