package app_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/portcullis-idp/portcullis/internal/config"
	"github.com/portcullis-idp/portcullis/internal/directory/password"
)

func benchServer(b *testing.B) *testServer {
	params := password.DefaultParams()
	ts := startServer(b, func(c *config.Config) {
		c.Passwords.Argon2 = config.Argon2{MemoryKiB: params.MemoryKiB, Iterations: params.Iterations, Parallelism: params.Parallelism}
		c.Passwords.HashQueue = 4096
	})
	u, err := ts.dir.FindUser(b.Context(), ts.tenant, "alice@contoso.test")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := ts.dir.SetPassword(b.Context(), u, alicePassword, false); err != nil {
		b.Fatal(err)
	}
	return ts
}

// BenchmarkPasswordGrant measures successful password-grant sign-ins per
// second over HTTP with the default argon2id parameters (tokens signed, the
// sign-in record durable before each response). Compare with
// BenchmarkVerifyDefault in internal/directory/password: the ratio is how
// close the endpoint gets to the hashing ceiling.
func BenchmarkPasswordGrant(b *testing.B) {
	benchGrant(b, alicePassword, http.StatusOK)
}

// BenchmarkUnknownUser measures refusals of unknown users (one dummy hash each).
func BenchmarkUnknownUser(b *testing.B) {
	benchGrant(b, "wrong", http.StatusBadRequest)
}

func benchGrant(b *testing.B, pw string, want int) {
	ts := benchServer(b)
	body := passwordForm("alice@contoso.test", pw)
	if want == http.StatusBadRequest {
		body = passwordForm("nobody@contoso.test", pw)
	}
	postParallel(b, ts.tokenURL(), body.Encode(), 4, want, "signins/s")
}

// postParallel posts body from parallelism×GOMAXPROCS goroutines until the
// benchmark ends, checks every status and reports the rate as metric.
func postParallel(b *testing.B, url, body string, parallelism, want int, metric string) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	b.SetParallelism(parallelism)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Post(url, "application/x-www-form-urlencoded", strings.NewReader(body))
			if err != nil {
				b.Error(err)
				return
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != want {
				b.Errorf("status %d, want %d: %s", resp.StatusCode, want, got)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), metric)
}

// BenchmarkLockedRefusal measures refusals of a locked account over HTTP,
// each with its sign-in record committed before the response. The client
// shares the two cores with the server, so this understates the server.
func BenchmarkLockedRefusal(b *testing.B) {
	ts := startServer(b, func(c *config.Config) { c.Lockout.Threshold = 1 })
	ts.token(passwordForm("alice@contoso.test", "wrong-once"))
	postParallel(b, ts.tokenURL(), passwordForm("alice@contoso.test", "wrong-again").Encode(), 32,
		http.StatusBadRequest, "refusals/s")
}
