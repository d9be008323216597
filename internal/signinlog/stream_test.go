package signinlog_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/portcullis-idp/portcullis/internal/signinlog"
	"github.com/portcullis-idp/portcullis/internal/store"
)

// TestFileStreamThroughWriter: every committed record reaches the JSON
// lines file, in commit order, and the file rotates with the keep limit.
func TestFileStreamThroughWriter(t *testing.T) {
	db := openDB(t)
	path := filepath.Join(t.TempDir(), "signins.jsonl")
	fs, err := signinlog.NewFileStream(path, 1000, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	out := signinlog.NewOutbox("file", 1000, fs.Deliver, nil)
	done := make(chan struct{})
	go func() { out.Run(context.Background()); close(done) }()
	w := signinlog.NewWriter(db, 4, 64, nil)
	w.Subscribe(out.Offer)
	for i := range 12 {
		if err := w.Write(context.Background(), record(i)); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()   // every record committed and offered
	out.Close() // Run delivers what is buffered, then returns
	<-done
	if delivered, dropped, _ := out.Stats(); delivered != 12 || dropped != 0 {
		t.Fatalf("delivered %d, dropped %d", delivered, dropped)
	}
	seen := map[string]bool{}
	for _, name := range []string{path + ".2", path + ".1", path} {
		f, err := os.Open(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var r struct{ ID string }
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				t.Fatalf("%s: a line is not a JSON record: %q", name, sc.Text())
			}
			seen[r.ID] = true
		}
		f.Close()
		if fi, _ := os.Stat(name); fi.Size() > 1000 {
			t.Fatalf("%s is %d bytes, over the rotation size", name, fi.Size())
		}
	}
	if _, err := os.Stat(path + ".3"); !os.IsNotExist(err) {
		t.Fatalf("more files kept than asked: %v", err)
	}
	if len(seen) == 0 {
		t.Fatal("no records streamed")
	}
	for id := range seen {
		if _, err := fmt.Sscanf(id, "00000000-0000-4000-8000-%d", new(int)); err != nil {
			t.Fatalf("unexpected id %q", id)
		}
	}
}

// TestOutboxNeverBlocksAndRetries: a failing webhook is retried with
// backoff until it answers; while it fails, a full buffer drops batches
// instead of blocking the caller.
func TestOutboxNeverBlocksAndRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int64
		var mu sync.Mutex
		var got []int
		deliver := func(_ context.Context, recs [][]byte) error {
			if calls.Add(1) <= 3 {
				return fmt.Errorf("down")
			}
			mu.Lock()
			got = append(got, len(recs))
			mu.Unlock()
			return nil
		}
		out := signinlog.NewOutbox("webhook", 2, deliver, nil)
		ctx, cancel := context.WithCancel(context.Background())
		go out.Run(ctx)
		synctest.Wait() // Run waits for a batch: the first Offer hands it over
		rows := []store.SignInRow{{Body: []byte(`{}`)}}
		for range 10 { // the first is taken by Run, two wait, the rest are dropped
			out.Offer(rows)
		}
		synctest.Wait()
		time.Sleep(time.Minute) // fake time: lets the backoff (0.1+0.2+0.4 s) elapse
		synctest.Wait()
		delivered, dropped, failures := out.Stats()
		if failures != 3 || delivered != 3 || dropped != 7 {
			t.Fatalf("delivered %d, dropped %d, failed attempts %d", delivered, dropped, failures)
		}
		cancel()
	})
}

// TestWebhookDeliver posts a JSON array and treats non-2xx as failure.
func TestWebhookDeliver(t *testing.T) {
	var received [][]map[string]any
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var batch []map[string]any
		if err := json.NewDecoder(r.Body).Decode(&batch); err != nil {
			t.Errorf("webhook body: %v", err)
		}
		received = append(received, batch)
		w.WriteHeader(status)
	}))
	defer srv.Close()
	h := &signinlog.Webhook{URL: srv.URL, Client: srv.Client()}
	if err := h.Deliver(context.Background(), [][]byte{[]byte(`{"id":"a"}`), []byte(`{"id":"b"}`)}); err != nil {
		t.Fatal(err)
	}
	if len(received) != 1 || len(received[0]) != 2 || received[0][1]["id"] != "b" {
		t.Fatalf("received %v", received)
	}
	status = http.StatusServiceUnavailable
	if err := h.Deliver(context.Background(), [][]byte{[]byte(`{}`)}); err == nil {
		t.Fatal("a 503 counted as delivered")
	}
	// A transport failure is logged by the outbox: the error must not quote
	// the URL, whose query may hold the receiver's token.
	srv.Close()
	h.URL = srv.URL + "/hook?token=s3cret-token"
	err := h.Deliver(context.Background(), [][]byte{[]byte(`{}`)})
	if err == nil || strings.Contains(err.Error(), "s3cret-token") {
		t.Fatalf("delivery to a closed server: %v", err)
	}
}
