package sqlstore_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/portcullis-idp/portcullis/internal/signinlog"
	"github.com/portcullis-idp/portcullis/internal/store"
	"github.com/portcullis-idp/portcullis/internal/store/sqlstore"
	"github.com/portcullis-idp/portcullis/internal/store/storetest"
	"github.com/portcullis-idp/portcullis/internal/testsvc"
)

func openPostgres(t *testing.T) *sqlstore.DB {
	t.Helper()
	db, err := sqlstore.OpenPostgres(context.Background(), testsvc.Postgres(t))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestPostgresConformance runs the suites SQLite passes, unchanged.
func TestPostgresConformance(t *testing.T) {
	testsvc.PostgresServer(t)
	storetest.RunAll(t, func(t *testing.T) store.Store { return openPostgres(t) })
}

// TestPostgresMigratesOnceWhenInstancesStartTogether: four stores opened
// at once on an empty database all succeed, and each migration is
// recorded once (goose's advisory lock).
func TestPostgresMigratesOnceWhenInstancesStartTogether(t *testing.T) {
	dsn := testsvc.Postgres(t)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			db, err := sqlstore.OpenPostgres(context.Background(), dsn)
			if err == nil {
				db.Close()
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("open: %v", err)
		}
	}
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var applied, distinct int
	if err := conn.QueryRow(context.Background(), `SELECT count(*), count(DISTINCT version_id)
		FROM goose_db_version WHERE version_id > 0`).Scan(&applied, &distinct); err != nil {
		t.Fatal(err)
	}
	if applied != distinct || applied == 0 {
		t.Fatalf("%d migration records for %d migrations", applied, distinct)
	}
}

// TestPostgresBatchIsAllOrNothing: a batch with one record the log already
// holds fails as a whole and leaves none of its records behind.
func TestPostgresBatchIsAllOrNothing(t *testing.T) {
	db := openPostgres(t)
	ctx := context.Background()
	at := time.Date(2026, 11, 3, 9, 0, 0, 0, time.UTC)
	row := func(id string) store.SignInRow {
		return store.SignInRow{ID: id, TenantID: "t1", CreatedAt: at, IPAddress: "192.0.2.1", Body: []byte(`{}`)}
	}
	if err := db.AppendSignIns(ctx, []store.SignInRow{row("a")}); err != nil {
		t.Fatal(err)
	}
	err := db.AppendSignIns(ctx, []store.SignInRow{row("b"), row("c"), row("a")})
	if err == nil {
		t.Fatal("a batch repeating a logged record was accepted")
	}
	n, err := db.CountSignIns(ctx, "t1", nil)
	if err != nil || n != 1 {
		t.Fatalf("after the failed batch the log holds %d records (%v), want the 1 from before", n, err)
	}
}

// TestPostgresRetentionDropsPartitions: records of past months live in
// monthly partitions; retention drops the months wholly past the cutoff
// (for every tenant at once), deletes the rest of the expired records in
// batches, and keeps everything newer.
func TestPostgresRetentionDropsPartitions(t *testing.T) {
	db := openPostgres(t)
	ctx := context.Background()
	now := time.Date(2026, 4, 15, 12, 0, 0, 0, time.UTC)
	for _, tn := range []string{"t1", "t2"} {
		if err := db.CreateTenant(ctx, store.Tenant{ID: tn, DisplayName: tn, Domains: []string{tn + ".test"}, CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	var rows []store.SignInRow
	for day := range 100 { // 2026-01-05 to 2026-04-14
		at := now.AddDate(0, 0, -100+day)
		for _, tn := range []string{"t1", "t2"} {
			rows = append(rows, store.SignInRow{ID: fmt.Sprintf("%s-%03d", tn, day), TenantID: tn, CreatedAt: at, Body: []byte(`{}`)})
			if err := db.AppendAudit(ctx, store.AuditRow{ID: fmt.Sprintf("%s-%03d", tn, day), TenantID: tn, CreatedAt: at,
				Category: "c", Activity: "a", Result: "success", Body: []byte(`{}`)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := db.AppendSignIns(ctx, rows); err != nil {
		t.Fatal(err)
	}
	wantParts := []string{"signins_p202601", "signins_p202602", "signins_p202603", "signins_p202604"}
	if got := partitions(t, db, "signins"); !containsAll(got, wantParts) {
		t.Fatalf("partitions %v, want at least %v", got, wantParts)
	}

	r := &signinlog.Retention{Store: db, SignInDays: 45, AuditDays: 45, Batch: 7, Now: func() time.Time { return now }}
	signIns, audits, err := r.RunOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cutoff := now.AddDate(0, 0, -45) // 2026-03-01 12:00: January and February go whole
	expired := 0
	for _, row := range rows {
		if row.CreatedAt.Before(cutoff) {
			expired++
		}
	}
	if signIns != expired || audits != expired {
		t.Fatalf("retention deleted %d sign-ins and %d audits, want %d of each", signIns, audits, expired)
	}
	got := partitions(t, db, "signins")
	if slices.Contains(got, "signins_p202601") || slices.Contains(got, "signins_p202602") || !slices.Contains(got, "signins_p202603") {
		t.Fatalf("partitions after retention: %v", got)
	}
	if got := partitions(t, db, "directory_audits"); slices.Contains(got, "directory_audits_p202602") {
		t.Fatalf("audit partitions after retention: %v", got)
	}
	for _, tn := range []string{"t1", "t2"} {
		left, err := db.CountSignIns(ctx, tn, nil)
		if err != nil || int(left) != (len(rows)-expired)/2 {
			t.Fatalf("%s keeps %d records (%v), want %d", tn, left, err, (len(rows)-expired)/2)
		}
		oldest, err := db.FindSignIns(ctx, store.SignInFilter{TenantID: tn, Ascending: true, Limit: 1})
		if err != nil || len(oldest) != 1 || oldest[0].CreatedAt.Before(cutoff) {
			t.Fatalf("%s's oldest record after retention: %+v %v", tn, oldest, err)
		}
	}
	// A record for a month whose partition retention dropped is still
	// accepted: its partition is made again.
	if err := db.AppendSignIns(ctx, []store.SignInRow{{ID: "late", TenantID: "t1", CreatedAt: now.AddDate(0, -3, 0), Body: []byte(`{}`)}}); err != nil {
		t.Fatalf("append to a dropped month: %v", err)
	}
}

func partitions(t *testing.T, db *sqlstore.DB, table string) []string {
	t.Helper()
	got, err := db.Partitions(context.Background(), table)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func containsAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}
