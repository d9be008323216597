package signinlog_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/portcullis-idp/portcullis/internal/signinlog"
	"github.com/portcullis-idp/portcullis/internal/store"
	"github.com/portcullis-idp/portcullis/internal/store/sqlstore"
)

func openDB(t *testing.T) *sqlstore.DB {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), filepath.Join(t.TempDir(), "log.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func record(i int) signinlog.Record {
	return signinlog.Record{
		ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i), CreatedDateTime: time.Now().UTC(), TenantID: "t",
		UserPrincipalName: "alice@contoso.test", CorrelationID: fmt.Sprint(i),
		Status: signinlog.Status{ErrorCode: 50126, FailureReason: "Invalid username or password."},
	}
}

func TestWriterEveryAcknowledgedRecordIsStored(t *testing.T) {
	db := openDB(t)
	w := signinlog.NewWriter(db, 64, 1024, nil)
	const n = 500
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if err := w.Write(context.Background(), record(i)); err != nil {
				t.Errorf("Write %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	rows, err := db.QuerySignIns(context.Background(), store.SignInQuery{TenantID: "t", Limit: 2 * n})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != n {
		t.Fatalf("%d records stored, want %d", len(rows), n)
	}
	got, err := signinlog.FromRow(rows[0])
	if err != nil || got.Status.ErrorCode != 50126 || got.UserPrincipalName != "alice@contoso.test" {
		t.Fatalf("decoded record = %+v, %v", got, err)
	}
	w.Close()
	if err := w.Write(context.Background(), record(n+1)); !errors.Is(err, signinlog.ErrClosed) {
		t.Fatalf("Write after Close = %v, want ErrClosed", err)
	}
}

type failingSink struct{ store.SignInLogs }

func (failingSink) AppendSignIns(context.Context, []store.SignInRow) error {
	return errors.New("disk full")
}

func TestWriterReportsCommitFailure(t *testing.T) {
	w := signinlog.NewWriter(failingSink{}, 8, 8, nil)
	defer w.Close()
	if err := w.Write(context.Background(), record(1)); err == nil {
		t.Fatal("Write succeeded although the commit failed")
	}
}

// BenchmarkWriterParallel measures durable sign-in records per second with
// many concurrent writers (group commit amortises the fsync), each record
// with its own random correlation ID and address.
func BenchmarkWriterParallel(b *testing.B) {
	// PORTCULLIS_BENCH_WRITER_DB writes into an existing database (a copy
	// of a loaded log), to measure ingestion into a large log.
	path := os.Getenv("PORTCULLIS_BENCH_WRITER_DB")
	if path == "" {
		path = filepath.Join(b.TempDir(), "log.db")
	}
	db, err := sqlstore.Open(context.Background(), path)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	w := signinlog.NewWriter(db, 512, 8192, nil)
	defer w.Close()
	var seq atomic.Int64
	b.SetParallelism(64) // many handlers waiting at once, as under load
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := record(int(seq.Add(1)))
			r.ID = uuid.Must(uuid.NewV7()).String() // as the server's: unique across runs into one database
			r.CorrelationID = uuid.NewString()      // random, as MSAL sends: the realistic worst case
			n := uint32(seq.Load() * 2654435761)    // addresses scattered as in a spray from a botnet
			r.IPAddress = fmt.Sprintf("%d.%d.%d.%d", byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
			if err := w.Write(context.Background(), r); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
