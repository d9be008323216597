package signinlog

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-idp/portcullis/internal/store"
	"github.com/portcullis-idp/portcullis/internal/store/sqlstore"
)

// TestExportJoinsPages: an export walks the store page by page with the
// keyset cursor and emits every record once, newest first, in both formats.
func TestExportJoinsPages(t *testing.T) {
	defer func(n int) { exportPage = n }(exportPage)
	exportPage = 2
	db, err := sqlstore.Open(context.Background(), filepath.Join(t.TempDir(), "e.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var rows []store.SignInRow
	for i := range 5 {
		id := fmt.Sprintf("00000000-0000-7000-8000-%012d", i)
		rows = append(rows, store.SignInRow{ID: id, TenantID: "t", CreatedAt: time.Unix(int64(1000+i), 0),
			Body: []byte(`{"id":"` + id + `","status":{"errorCode":50126}}`)})
	}
	if err := db.AppendSignIns(context.Background(), rows); err != nil {
		t.Fatal(err)
	}
	var js bytes.Buffer
	if err := Export(context.Background(), db, store.SignInFilter{TenantID: "t"}, "json", &js); err != nil {
		t.Fatal(err)
	}
	var got []struct{ ID string }
	if err := json.Unmarshal(js.Bytes(), &got); err != nil {
		t.Fatalf("JSON export: %v\n%s", err, js.String())
	}
	var ids []string
	for _, g := range got {
		ids = append(ids, g.ID)
	}
	if fmt.Sprint(ids) != fmt.Sprint([]string{rows[4].ID, rows[3].ID, rows[2].ID, rows[1].ID, rows[0].ID}) {
		t.Fatalf("exported %v", ids)
	}
	var csv bytes.Buffer
	if err := Export(context.Background(), db, store.SignInFilter{TenantID: "t"}, "csv", &csv); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(csv.String()), "\n"); len(lines) != 6 || !strings.HasSuffix(lines[1], rows[4].ID) {
		t.Fatalf("CSV export:\n%s", csv.String())
	}
	if err := Export(context.Background(), db, store.SignInFilter{TenantID: "t"}, "xml", &csv); err == nil {
		t.Fatal("unknown format accepted")
	}
}
