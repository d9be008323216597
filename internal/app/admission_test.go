package app_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis-idp/portcullis/internal/config"
	"github.com/portcullis-idp/portcullis/internal/directory/password"
)

// TestFamiliarUserGetsInDuringFlood: one hash worker, its unfamiliar queue
// full of attack traffic; alice, from the network she signed in from before,
// is served next and gets in, while the flood's excess is shed with 429.
func TestFamiliarUserGetsInDuringFlood(t *testing.T) {
	params := password.DefaultParams()
	ts := startServer(t, func(c *config.Config) {
		c.TrustedProxies = []string{"127.0.0.1"}
		c.Passwords.Argon2 = config.Argon2{MemoryKiB: params.MemoryKiB, Iterations: params.Iterations, Parallelism: params.Parallelism}
		c.Passwords.HashConcurrency, c.Passwords.HashQueue, c.Passwords.HashQueuePerSource = 1, 8, 0
		c.Passwords.HashQueueTimeout = 30 * time.Second
	})
	if _, err := ts.dir.SetPassword(t.Context(), ts.alice, alicePassword, false); err != nil {
		t.Fatal(err)
	}
	if r := ts.token(passwordForm("alice@contoso.test", alicePassword), "X-Forwarded-For", "203.0.113.10"); r.status != 200 {
		t.Fatalf("alice's first sign-in: %s", r.raw)
	}
	// The flood keeps coming until alice is through, so the queue stays full
	// however the scheduler orders the goroutines on a busy machine.
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for i := range 30 {
		wg.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				ts.token(passwordForm(fmt.Sprintf("nobody%d-%d@contoso.test", i, n), "guess"), "X-Forwarded-For", fmt.Sprintf("198.51.100.%d", i+1))
			}
		})
	}
	defer wg.Wait()
	defer close(stop)
	// Wait (bounded) until the attack has filled the unfamiliar queue.
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(metrics(t, ts), `portcullis_hash_pool_queue_length{class="unfamiliar"} 8`) {
		if time.Now().After(deadline) {
			t.Fatal("the flood never filled the unfamiliar queue")
		}
		time.Sleep(5 * time.Millisecond) // polling a metric, not synchronising the server
	}
	start := time.Now()
	r := ts.token(passwordForm("alice@contoso.test", alicePassword), "X-Forwarded-For", "203.0.113.77", "client-request-id", corr(4000))
	if r.status != 200 {
		t.Fatalf("alice during the flood: %d %s", r.status, r.raw)
	}
	// Served ahead of 8 queued attempts: at most one hash in progress before hers.
	if p := ts.signInByCorrelation(corr(4000)).Protection; p.SourceClass != "familiarNetwork" {
		t.Fatalf("alice's source class: %+v", p)
	}
	t.Logf("alice got in after %v with 8 unfamiliar attempts queued", time.Since(start))
}

func metrics(t *testing.T, ts *testServer) string {
	t.Helper()
	resp, err := http.Get(ts.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
