package adminapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

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

type collect struct{ ids []string }

func (c *collect) write(record []byte) error {
	var r struct{ ID string }
	if err := json.Unmarshal(record, &r); err != nil {
		return err
	}
	c.ids = append(c.ids, r.ID)
	return nil
}
func (c *collect) close() error { return nil }

// TestExportJoinsPages: an export walks the store page by page with the
// keyset cursor and emits every record once, newest first.
func TestExportJoinsPages(t *testing.T) {
	f := newAuthFixture(t)
	var rows []store.SignInRow
	for i := range 5 {
		id := fmt.Sprintf("00000000-0000-7000-8000-%012d", i)
		rows = append(rows, store.SignInRow{ID: id, TenantID: f.tenant, CreatedAt: time.Unix(int64(1000+i), 0),
			Body: []byte(`{"id":"` + id + `"}`)})
	}
	if err := f.db.AppendSignIns(context.Background(), rows); err != nil {
		t.Fatal(err)
	}
	a := New(Config{Store: f.db, Keys: f.keys, PublicURL: testPublicURL})
	var c collect
	req := httptest.NewRequest("GET", "/", nil)
	if err := a.streamSignIns(req, store.SignInFilter{TenantID: f.tenant, Limit: 2}, &c); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(c.ids) != fmt.Sprint([]string{rows[4].ID, rows[3].ID, rows[2].ID, rows[1].ID, rows[0].ID}) {
		t.Fatalf("exported %v", c.ids)
	}
}
