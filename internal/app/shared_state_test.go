package app_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/portcullis-idp/portcullis/internal/app"
	"github.com/portcullis-idp/portcullis/internal/config"
	"github.com/portcullis-idp/portcullis/internal/rbac"
	"github.com/portcullis-idp/portcullis/internal/signinlog"
	"github.com/portcullis-idp/portcullis/internal/store"
)

// redisURL is the test Redis (skips without one; CI=true fails instead).
func redisURL(t *testing.T) string {
	t.Helper()
	url := os.Getenv("TEST_REDIS_URL")
	if url == "" {
		url = "redis://127.0.0.1:6379/0"
	}
	opts, _ := redis.ParseURL(url)
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Redis at %s: %v (CI=true: .ci/run starts it)", url, err)
		}
		t.Skipf("no Redis at %s: %v", url, err)
	}
	return url
}

// TestTwoInstancesShareLockout: two servers on one directory with
// state.type redis are two instances behind a load balancer. 60 concurrent
// wrong passwords for one account, alternating between them, are verified
// at most threshold times; the lock taken is enforced by both at once; an
// administrator's unlock on one clears it on both; every attempt is in the
// sign-in log once.
func TestTwoInstancesShareLockout(t *testing.T) {
	url := redisURL(t)
	shared := func(c *config.Config) {
		c.TrustedProxies = []string{"127.0.0.1"}
		c.Lockout.Threshold = 3
		c.State = config.State{Type: "redis", URL: url}
	}
	a := startServer(t, shared)
	cfg := fastConfig(t)
	shared(&cfg)
	cfg.DataDir = a.srv.DataDir()
	second, err := app.Start(context.Background(), cfg, io.Discard, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { second.Shutdown(context.Background()) })
	b := &testServer{t: t, srv: second, base: second.BaseURL(), tenant: a.tenant, dir: a.dir, alice: a.alice}
	bob := a.addUser("bob@contoso.test", "Bob", alicePassword, true)

	var wg sync.WaitGroup
	for i := range 60 {
		wg.Go(func() {
			inst := []*testServer{a, b}[i%2]
			inst.token(passwordForm("bob@contoso.test", fmt.Sprint("guess-", i)), "X-Forwarded-For", fmt.Sprintf("203.0.113.%d", i+1))
		})
	}
	wg.Wait()
	rows, err := a.srv.Store().FindSignIns(context.Background(), store.SignInFilter{TenantID: a.tenant.ID, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	verified, attempts := 0, 0
	for _, row := range rows {
		rec, err := signinlog.FromRow(row)
		if err != nil || rec.UserID != bob.ID {
			continue
		}
		attempts++
		if rec.Protection != nil && rec.Protection.PasswordCorrect != nil {
			verified++
		}
	}
	if attempts != 60 || verified > 3 || verified == 0 {
		t.Fatalf("%d attempts logged (want 60), %d verified (want 1 to 3)", attempts, verified)
	}
	for _, inst := range []*testServer{a, b} {
		if r := inst.token(passwordForm("bob@contoso.test", alicePassword), "X-Forwarded-For", "198.51.100.9"); r.errorCode() != 50053 {
			t.Fatalf("the right password during the lock on %s: %s", inst.base, r.raw)
		}
	}
	_, tok := a.withRole("helpdesk", rbac.HelpdeskAdministrator)
	if r := a.api("POST", "/v1.0/portcullis/users/"+bob.ID+"/lockout/unlock", tok, ""); r.status != http.StatusNoContent {
		t.Fatalf("unlock on the first instance: %d %s", r.status, r.raw)
	}
	if r := b.token(passwordForm("bob@contoso.test", alicePassword), "X-Forwarded-For", "198.51.100.9"); r.status != http.StatusOK {
		t.Fatalf("the second instance after the unlock on the first: %s", r.raw)
	}
}

// privateRedis runs a redis-server of the test's own on a free port, so it
// can be stopped and started without disturbing other tests.
type privateRedis struct {
	t    *testing.T
	port string
	cmd  *exec.Cmd
}

func startPrivateRedis(t *testing.T, port string) *privateRedis {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("redis-server is not installed (CI=true: .ci/run installs it)")
		}
		t.Skip("redis-server is not installed")
	}
	if port == "" {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		_, port, _ = net.SplitHostPort(ln.Addr().String())
		ln.Close()
	}
	r := &privateRedis{t: t, port: port, cmd: exec.Command(bin, "--port", port, "--bind", "127.0.0.1", "--save", "",
		"--appendonly", "no")}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.stop)
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + port})
	defer rdb.Close()
	for range 200 { // until it accepts connections (a process starting, not a race)
		if rdb.Ping(context.Background()).Err() == nil {
			return r
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("redis-server on port %s did not start", port)
	return nil
}

func (r *privateRedis) stop() {
	if r.cmd.Process != nil && r.cmd.ProcessState == nil {
		_ = r.cmd.Process.Kill()
		_ = r.cmd.Wait()
	}
}

// TestRedisOutage: with Redis stopped, an unfamiliar source is refused
// with AADSTS90055 and Retry-After (fail closed), a familiar network still
// signs in against a local budget, and everything recovers when Redis is
// back, without a restart.
func TestRedisOutage(t *testing.T) {
	r := startPrivateRedis(t, "")
	ts := startServer(t, func(c *config.Config) {
		c.TrustedProxies = []string{"127.0.0.1"}
		c.State = config.State{Type: "redis", URL: "redis://127.0.0.1:" + r.port + "/0", OnUnavailable: "default"}
	})
	signIn := func(from string) response {
		return ts.token(passwordForm("alice@contoso.test", alicePassword), "X-Forwarded-For", from)
	}
	if res := signIn("198.51.100.7"); res.status != http.StatusOK {
		t.Fatalf("sign-in with Redis up: %s", res.raw)
	}
	r.stop()
	res := signIn("203.0.113.5")
	if res.status != http.StatusTooManyRequests || res.errorCode() != 90055 || res.header.Get("Retry-After") == "" {
		t.Fatalf("an unfamiliar source with Redis down: %d %s", res.status, res.raw)
	}
	if res := signIn("198.51.100.8"); res.status != http.StatusOK {
		t.Fatalf("a familiar network with Redis down: %s", res.raw)
	}
	m := metrics(t, ts)
	if !strings.Contains(m, `portcullis_shared_state_unavailable_total{outcome="refused"} 1`) ||
		!strings.Contains(m, `portcullis_shared_state_unavailable_total{outcome="local"} 1`) {
		t.Fatalf("outage metrics:\n%s", m)
	}
	startPrivateRedis(t, r.port)
	if res := signIn("203.0.113.5"); res.status != http.StatusOK {
		t.Fatalf("an unfamiliar source after Redis came back: %s", res.raw)
	}
}
