package signinlog_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/portcullis-idp/portcullis/internal/signinlog"
	"github.com/portcullis-idp/portcullis/internal/store"
)

// TestRetentionDeletesOnlyExpiredRecords: with 30 days for sign-ins and 365
// for audits, records of day -40 go, day -10 stays; audit records of day -40
// stay; batches smaller than the backlog still drain it.
func TestRetentionDeletesOnlyExpiredRecords(t *testing.T) {
	db := openDB(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	if err := db.CreateTenant(ctx, store.Tenant{ID: "t", DisplayName: "Contoso", Domains: []string{"contoso.test"}, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	var rows []store.SignInRow
	for i := range 25 {
		age := 40 * 24 * time.Hour
		if i >= 20 {
			age = 10 * 24 * time.Hour
		}
		rows = append(rows, store.SignInRow{ID: fmt.Sprintf("00000000-0000-7000-8000-%012d", i), TenantID: "t",
			CreatedAt: now.Add(-age).Add(time.Duration(i) * time.Second), Body: []byte(`{}`)})
	}
	if err := db.AppendSignIns(ctx, rows); err != nil {
		t.Fatal(err)
	}
	if err := db.AppendAudit(ctx, store.AuditRow{ID: "a1", TenantID: "t", CreatedAt: now.Add(-40 * 24 * time.Hour),
		Category: "c", Activity: "x", Result: "success", Body: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	r := &signinlog.Retention{Store: db, SignInDays: 30, AuditDays: 365, Batch: 7, Now: func() time.Time { return now }}
	signIns, audits, err := r.RunOnce(ctx)
	if err != nil || signIns != 20 || audits != 0 {
		t.Fatalf("RunOnce: %d sign-ins, %d audits, %v", signIns, audits, err)
	}
	left, err := db.FindSignIns(ctx, store.SignInFilter{TenantID: "t", Limit: 100})
	if err != nil || len(left) != 5 {
		t.Fatalf("%d records left, want the 5 recent ones (%v)", len(left), err)
	}
	if again, _, _ := r.RunOnce(ctx); again != 0 {
		t.Fatalf("second run deleted %d", again)
	}
}
