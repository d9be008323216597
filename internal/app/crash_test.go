package app_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis-idp/portcullis/internal/app"
	"github.com/portcullis-idp/portcullis/internal/store"
	"github.com/portcullis-idp/portcullis/internal/store/sqlstore"
)

// buildBinary compiles cmd/portcullis once per test binary.
var buildBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "portcullis-bin")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "portcullis")
	out, err := exec.Command("go", "build", "-o", bin, "../../cmd/portcullis").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

var listening = regexp.MustCompile(`listening on (http://127\.0\.0\.1:\d+)`)

// startProcess runs `portcullis serve` on a data directory and returns its
// base URL once it is listening.
func startProcess(t *testing.T, dataDir string, env ...string) (*exec.Cmd, string) {
	t.Helper()
	cmd, wait := launchProcess(t, dataDir, env...)
	return cmd, wait()
}

// launchProcess starts `portcullis serve` and returns a function that
// waits (in the test's goroutine) for it to listen and returns its base URL.
// Launching several before waiting lets them start together.
func launchProcess(t *testing.T, dataDir string, env ...string) (*exec.Cmd, func() string) {
	t.Helper()
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "--data-dir", dataDir, "--listen", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "PORTCULLIS_PASSWORDS__ARGON2__MEMORY_KIB=1024", "PORTCULLIS_PASSWORDS__ARGON2__ITERATIONS=1",
		"PORTCULLIS_LOG__LEVEL=error", "PORTCULLIS_DETECTION__REPORT_ONLY=true")
	cmd.Env = append(cmd.Env, env...) // later entries win
	// If this test binary dies (a timeout), the server dies with it instead
	// of running on in the background.
	dieWithParent(cmd)
	stdout, _ := cmd.StdoutPipe()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
		close(found)
	}()
	return cmd, func() string {
		t.Helper()
		select {
		case base, ok := <-found:
			if !ok {
				_ = cmd.Wait()
				t.Fatalf("server exited before listening: %s", stderr.String())
			}
			return base
		case <-time.After(60 * time.Second):
			t.Fatal("server did not start within 60s")
		}
		return ""
	}
}

// TestKillDashNineLosesNoAnsweredSignIn hammers a real server process with
// sign-ins, kills it with SIGKILL mid-load, and checks that every attempt
// that received a response is in the sign-in log.
func TestKillDashNineLosesNoAnsweredSignIn(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills a real process")
	}
	dataDir := t.TempDir()
	proc, base := startProcess(t, dataDir)
	tenant := tenantOf(t, dataDir)
	load := startLoad(base+"/"+tenant.ID+"/oauth2/v2.0/token", tenant.Domains[0], 300)
	select {
	case <-load.enough:
	case <-time.After(2 * time.Minute): // bounded: a server that stops answering fails, not hangs
		load.stop()
		t.Fatalf("only %d answers before the deadline", load.count.Load())
	}
	if err := proc.Process.Kill(); err != nil { // SIGKILL: no shutdown hooks run
		t.Fatal(err)
	}
	_ = proc.Wait()
	load.stop()
	answered, count := &load.answered, &load.count

	db, err := sqlstore.Open(context.Background(), filepath.Join(dataDir, sqlstore.FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QuerySignIns(context.Background(), store.SignInQuery{TenantID: tenant.ID, Limit: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	logged := map[string]bool{}
	for _, r := range rows {
		logged[r.CorrelationID] = true
	}
	missing := 0
	answered.Range(func(k, _ any) bool {
		if !logged[k.(string)] {
			missing++
		}
		return true
	})
	t.Logf("answered %d attempts before SIGKILL, %d records in the log", count.Load(), len(rows))
	if missing > 0 {
		t.Fatalf("%d answered sign-ins are missing from the log after kill -9", missing)
	}
}

// signInLoad sends wrong-password attempts from 8 connections until stopped,
// remembering the correlation ID of every attempt that got a full answer.
type signInLoad struct {
	answered sync.Map // correlation ID -> true
	count    atomic.Int64
	enough   chan struct{} // closed after target answers
	halt     atomic.Bool
	wg       sync.WaitGroup
}

func startLoad(tokenURL, domain string, target int64) *signInLoad {
	l := &signInLoad{enough: make(chan struct{})}
	var seq atomic.Int64
	var once sync.Once
	client := &http.Client{Timeout: 10 * time.Second}
	for range 8 {
		l.wg.Go(func() {
			for !l.halt.Load() {
				n := seq.Add(1)
				id := fmt.Sprintf("d0000000-0000-4000-8000-%012d", n)
				form := url.Values{"grant_type": {"password"}, "client_id": {app.CLIClientID},
					"username": {fmt.Sprintf("user%d@%s", n%7, domain)}, "password": {"wrong"}}
				req, _ := http.NewRequest(http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("client-request-id", id)
				resp, err := client.Do(req)
				if err != nil {
					continue // the server died before answering: not a promise
				}
				var buf [4096]byte
				got, _ := resp.Body.Read(buf[:])
				resp.Body.Close()
				if resp.StatusCode == 400 && strings.Contains(string(buf[:got]), "AADSTS") {
					l.answered.Store(id, true)
					if l.count.Add(1) == target {
						once.Do(func() { close(l.enough) })
					}
				}
			}
		})
	}
	return l
}

func (l *signInLoad) stop() {
	l.halt.Store(true)
	l.wg.Wait()
}
