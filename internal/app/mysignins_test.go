package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-idp/portcullis/internal/config"
	"github.com/portcullis-idp/portcullis/internal/rbac"
	"github.com/portcullis-idp/portcullis/internal/signinlog"
	"github.com/portcullis-idp/portcullis/internal/store"
)

// TestMySignIns: a signed-in user reads her own sign-ins of the last
// user_retention_days days, paged, without the admin-only protection
// detail and without anybody else's; administrators still see the whole
// retention period.
func TestMySignIns(t *testing.T) {
	ts := startServer(t, func(c *config.Config) { c.SignInLog.UserRetentionDays = 7 })
	_, reportsTok := ts.withRole("reports", rbac.ReportsReader)
	old := signinlog.Record{ID: "0190a0b0-0000-7000-8000-000000000001", CreatedDateTime: time.Now().Add(-10 * 24 * time.Hour).UTC(),
		TenantID: ts.tenant.ID, UserID: ts.alice.ID, UserPrincipalName: ts.alice.UserPrincipalName, IPAddress: "192.0.2.1"}
	row, err := old.Row()
	if err != nil {
		t.Fatal(err)
	}
	if err := ts.srv.Store().AppendSignIns(context.Background(), []store.SignInRow{row}); err != nil {
		t.Fatal(err)
	}
	ts.token(passwordForm("alice@contoso.test", "wrong password"))
	ok := ts.token(passwordForm("alice@contoso.test", alicePassword))
	tok, _ := ok.body["access_token"].(string)
	if tok == "" {
		t.Fatalf("alice's sign-in: %d %s", ok.status, ok.raw)
	}
	ts.token(passwordForm(ts.addUser("bob@contoso.test", "Bob", alicePassword, true).UserPrincipalName, "wrong"))

	var ids []string
	next := "/v1.0/portcullis/me/signIns?$top=1"
	for pages := 0; next != ""; pages++ {
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		r := ts.api("GET", next, tok, "")
		var page struct {
			Value    []map[string]any
			NextLink string `json:"@odata.nextLink"`
		}
		if r.status != http.StatusOK || json.Unmarshal([]byte(r.raw), &page) != nil {
			t.Fatalf("GET %s: %d %s", next, r.status, r.raw)
		}
		if strings.Contains(r.raw, "portcullisProtection") || strings.Contains(r.raw, "passwordCorrect") {
			t.Fatalf("the admin-only detail reached the user: %s", r.raw)
		}
		for _, rec := range page.Value {
			ids = append(ids, rec["id"].(string))
			if rec["createdDateTime"] == nil || rec["status"] == nil {
				t.Fatalf("a record without its time or status: %v", rec)
			}
		}
		next = strings.TrimPrefix(page.NextLink, ts.base)
	}
	if len(ids) != 2 || ids[0] == ids[1] {
		t.Fatalf("alice sees %v, want her two sign-ins of this week", ids)
	}
	all := ts.api("GET", "/v1.0/auditLogs/signIns?$filter=userId%20eq%20'"+ts.alice.ID+"'", reportsTok, "")
	if values, _ := all.body["value"].([]any); len(values) != 3 {
		t.Fatalf("a Reports Reader sees %d of alice's records, want 3 (the retention period): %s", len(values), all.raw)
	}
	if r := ts.api("GET", "/v1.0/portcullis/me/signIns?$filter=userId%20eq%20'x'", tok, ""); r.status != http.StatusBadRequest {
		t.Fatalf("a filter on the own view: %d %s", r.status, r.raw)
	}
}
