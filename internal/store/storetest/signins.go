package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/portcullis-idp/portcullis/internal/store"
)

func signInRow(tenantID string, i int, code int) store.SignInRow {
	return store.SignInRow{
		ID: newID(), CreatedAt: base.Add(time.Duration(i) * time.Second), TenantID: tenantID,
		UserID: fmt.Sprintf("user-%d", i%2), UPN: fmt.Sprintf("u%d@contoso.test", i%2), AppID: "app",
		IPAddress: "203.0.113.7", ErrorCode: code, CorrelationID: fmt.Sprintf("corr-%d", i),
		Body: []byte(fmt.Sprintf(`{"n":%d}`, i)),
	}
}

// SignInLogs checks appends, lookups and the typed query.
func SignInLogs(t *testing.T, newStore Factory) {
	ctx := context.Background()
	s := newStore(t)
	var rows []store.SignInRow
	for i := range 10 {
		code := 0
		if i%3 == 0 {
			code = 50126
		}
		rows = append(rows, signInRow("t1", i, code))
	}
	must(t, s.AppendSignIns(ctx, rows), "AppendSignIns")
	must(t, s.AppendSignIns(ctx, []store.SignInRow{signInRow("t2", 0, 0)}), "AppendSignIns other tenant")
	got, err := s.GetSignIn(ctx, "t1", rows[4].ID)
	must(t, err, "GetSignIn")
	if got.CorrelationID != "corr-4" || string(got.Body) != `{"n":4}` || !got.CreatedAt.Equal(rows[4].CreatedAt) {
		t.Fatalf("GetSignIn = %+v, want %+v", got, rows[4])
	}
	_, err = s.GetSignIn(ctx, "t2", rows[4].ID)
	wantErr(t, err, store.ErrNotFound, "sign-in read through another tenant")

	code := 50126
	failed, err := s.QuerySignIns(ctx, store.SignInQuery{TenantID: "t1", ErrorCode: &code})
	must(t, err, "QuerySignIns by code")
	if len(failed) != 4 || failed[0].CorrelationID != "corr-9" || failed[3].CorrelationID != "corr-0" {
		t.Fatalf("query by error code: %d rows, first %+v", len(failed), failed)
	}
	byUser, err := s.QuerySignIns(ctx, store.SignInQuery{TenantID: "t1", UPN: "u1@contoso.test", Since: base.Add(5 * time.Second), Limit: 2})
	must(t, err, "QuerySignIns by user")
	if len(byUser) != 2 || byUser[0].CorrelationID != "corr-9" || byUser[1].CorrelationID != "corr-7" {
		t.Fatalf("query by UPN since, limit 2: %+v", byUser)
	}
	byCorr, err := s.QuerySignIns(ctx, store.SignInQuery{TenantID: "t1", CorrelationID: "corr-2", UserID: "user-0"})
	must(t, err, "QuerySignIns by correlation")
	if len(byCorr) != 1 || byCorr[0].ID != rows[2].ID {
		t.Fatalf("query by correlation ID: %+v", byCorr)
	}
	// A batch with a duplicate ID fails as a whole.
	dup := []store.SignInRow{signInRow("t1", 20, 0), rows[0]}
	wantErr(t, s.AppendSignIns(ctx, dup), store.ErrConflict, "batch with a duplicate ID")
	all, err := s.QuerySignIns(ctx, store.SignInQuery{TenantID: "t1", Limit: 100})
	must(t, err, "QuerySignIns all")
	if len(all) != 10 {
		t.Fatalf("after failed batch: %d rows, want 10", len(all))
	}
}

// Concurrency checks that concurrent writers neither lose rows nor break
// uniqueness.
func Concurrency(t *testing.T, newStore Factory) {
	ctx := context.Background()
	s := newStore(t)
	tn := seedTenant(t, s, "contoso.test")
	const writers, perWriter = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers*2)
	created := make(chan string, writers)
	for w := range writers {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := range perWriter {
				if err := s.AppendSignIns(ctx, []store.SignInRow{signInRow(tn.ID, w*perWriter+i, 0)}); err != nil {
					errs <- err
					return
				}
			}
		}()
		go func() {
			defer wg.Done()
			u := newUser(tn.ID, "same@contoso.test")
			u.ID = fmt.Sprintf("10000000-0000-4000-8000-%012d", w)
			if err := s.CreateUsers(ctx, u); err == nil {
				created <- u.ID
			}
		}()
	}
	wg.Wait()
	close(errs)
	close(created)
	for err := range errs {
		t.Fatalf("concurrent append: %v", err)
	}
	if n := len(created); n != 1 {
		t.Fatalf("%d concurrent creates of one UPN succeeded, want exactly 1", n)
	}
	all, err := s.QuerySignIns(ctx, store.SignInQuery{TenantID: tn.ID, Limit: writers * perWriter * 2})
	must(t, err, "QuerySignIns")
	if len(all) != writers*perWriter {
		t.Fatalf("concurrent appends stored %d rows, want %d", len(all), writers*perWriter)
	}
}
