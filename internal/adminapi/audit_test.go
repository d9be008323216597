package adminapi

import (
	"testing"

	"github.com/portcullis-idp/portcullis/internal/store"
)

func TestAuditFilter(t *testing.T) {
	var q store.AuditQuery
	err := applyAuditFilter(&q, "activityDisplayName eq 'Unlock user' and activityDateTime ge 2026-11-24T00:00:00Z and "+
		"targetResources/id eq 'it''s and more' and activityDateTime le 2026-11-25T00:00:00Z")
	if err != nil || q.Activity != "Unlock user" || q.TargetID != "it's and more" || q.Since.IsZero() || q.Until.IsZero() {
		t.Fatalf("parsed %+v, %v", q, err)
	}
	for _, bad := range []string{"activityDateTime gt 2026-11-24T00:00:00Z", "result eq 'failure'", "activityDateTime ge yesterday", "or"} {
		if err := applyAuditFilter(&store.AuditQuery{}, bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
