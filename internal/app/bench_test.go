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
	enc := body.Encode()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Post(ts.tokenURL(), "application/x-www-form-urlencoded", strings.NewReader(enc))
			if err != nil {
				b.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != want {
				b.Errorf("status %d, want %d", resp.StatusCode, want)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "signins/s")
}

// BenchmarkLockedRefusal measures refusals of a locked account over HTTP,
// each with its sign-in record committed before the response. The client
// shares the two cores with the server, so this understates the server.
func BenchmarkLockedRefusal(b *testing.B) {
	ts := startServer(b, func(c *config.Config) { c.Lockout.Threshold = 1 })
	ts.token(passwordForm("alice@contoso.test", "wrong-once"))
	enc := passwordForm("alice@contoso.test", "wrong-again").Encode()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Post(ts.tokenURL(), "application/x-www-form-urlencoded", strings.NewReader(enc))
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "refusals/s")
}
