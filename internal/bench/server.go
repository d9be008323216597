package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// modulePath is built with `go build`, so the harness works from any
// directory inside the module (the repository root or a test's directory).
const modulePath = "github.com/portcullis-idp/portcullis/cmd/portcullis"

var listening = regexp.MustCompile(`listening on (http://127\.0\.0\.1:\d+)`)

// buildBinary compiles cmd/portcullis into dir.
func buildBinary(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "portcullis")
	out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, modulePath).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build %s: %v\n%s", modulePath, err, out)
	}
	return bin, nil
}

// childEnv is this process's environment without PORTCULLIS_* (so a stray
// setting cannot change the results), plus the harness's settings.
func childEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PORTCULLIS_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// portcullis runs one offline CLI command to completion.
func (e *Env) portcullis(ctx context.Context, args ...string) error {
	return e.portcullisEnv(ctx, nil, args...)
}

// portcullisEnv is portcullis with settings in the environment (the
// storage of a scale-out run).
func (e *Env) portcullisEnv(ctx context.Context, env []string, args ...string) error {
	cmd := exec.CommandContext(ctx, e.Bin, args...)
	cmd.Env = childEnv(env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("portcullis %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// newDataDir initialises a fresh directory for tenant bench.test and imports
// `users` users (user0..userN-1) sharing the precomputed hash of UserPassword.
func (e *Env) newDataDir(ctx context.Context, name string, users int) (string, error) {
	return e.newDirectory(ctx, name, users)
}

// newDirectory is newDataDir with settings in the environment: with
// storage.type postgres the directory lives in the database and the data
// directory is left nearly empty.
func (e *Env) newDirectory(ctx context.Context, name string, users int, env ...string) (string, error) {
	dir := filepath.Join(e.Tmp, name)
	pwFile := filepath.Join(e.Tmp, name+"-admin-password")
	if err := os.WriteFile(pwFile, []byte(adminPassword+"\n"), 0o600); err != nil {
		return "", err
	}
	if err := e.portcullisEnv(ctx, env, "init", "--data", dir, "--domain", Domain, "--admin-password-file", pwFile); err != nil {
		return "", err
	}
	if users == 0 {
		return dir, nil
	}
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf) // quotes the PHC hash, which contains commas
	_ = cw.Write([]string{"userPrincipalName", "displayName", "passwordHash"})
	for i := range users {
		_ = cw.Write([]string{userName(i), "Bench User " + strconv.Itoa(i), e.Hash})
	}
	cw.Flush()
	csvFile := filepath.Join(e.Tmp, name+"-users.csv")
	if err := os.WriteFile(csvFile, buf.Bytes(), 0o600); err != nil {
		return "", err
	}
	return dir, e.portcullisEnv(ctx, env, "users", "import", "--data", dir, csvFile)
}

func userName(i int) string { return "user" + strconv.Itoa(i) + "@" + Domain }

// Server is a running `portcullis serve` process.
type Server struct {
	cmd     *exec.Cmd
	DataDir string
	Base    string // http://127.0.0.1:PORT
	Addr    string // 127.0.0.1:PORT
	stderr  *tail
	exited  chan struct{} // closed once the process has been waited for
	waitErr error         // valid after exited is closed
}

// TokenPath is the token endpoint of the bench tenant.
const TokenPath = "/" + Domain + "/oauth2/v2.0/token"

// startServer runs serve on dataDir with the base settings plus env, and
// returns once it prints its URL. The caller must Stop it.
func (e *Env) startServer(ctx context.Context, dataDir string, env ...string) (*Server, error) {
	cmd := exec.CommandContext(ctx, e.Bin, "serve", "--data-dir", dataDir, "--listen", "127.0.0.1:0")
	cmd.Env = childEnv(append([]string{"PORTCULLIS_TRUSTED_PROXIES=127.0.0.1", "PORTCULLIS_LOG__LEVEL=error"}, env...)...)
	cmd.SysProcAttr = sysProcAttr()
	cmd.WaitDelay = 5 * time.Second
	s := &Server{cmd: cmd, DataDir: dataDir, stderr: &tail{max: 64 << 10}, exited: make(chan struct{})}
	cmd.Stderr = s.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		s.waitErr = cmd.Wait()
		close(s.exited)
	}()
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() { // keeps draining after the URL so the server never blocks on stdout
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
		close(found)
	}()
	select {
	case base, ok := <-found:
		if !ok {
			s.Stop()
			return nil, fmt.Errorf("portcullis serve exited before listening:\n%s", s.stderr.String())
		}
		u, _ := url.Parse(base)
		s.Base, s.Addr = base, u.Host
		return s, nil
	case <-time.After(60 * time.Second): // a read with a deadline, not a sleep
		s.Stop()
		return nil, fmt.Errorf("portcullis serve did not listen within 60s:\n%s", s.stderr.String())
	}
}

// Stop kills the server (SIGKILL: the harness does not measure shutdown).
// It is safe to call after Shutdown.
func (s *Server) Stop() {
	_ = s.cmd.Process.Kill()
	<-s.exited
}

// Alive reports whether the server process is still running.
func (s *Server) Alive() bool {
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// Shutdown asks the server to stop (SIGTERM: finish in-flight requests,
// flush the sign-in log, close the database) and waits up to timeout, then
// kills it. It returns an error when the server had to be killed or exited
// with a failure.
func (s *Server) Shutdown(timeout time.Duration) error {
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil && s.Alive() {
		return fmt.Errorf("signal server: %w", err)
	}
	select {
	case <-s.exited:
		if s.waitErr != nil {
			return fmt.Errorf("server exited with %v:\n%s", s.waitErr, s.stderr.String())
		}
		return nil
	case <-time.After(timeout): // a bounded wait for the exit, not a sleep
		s.Stop()
		return fmt.Errorf("server did not shut down within %s", timeout)
	}
}

// RSSKiB reads the server's resident set size (VmRSS) from /proc.
func (s *Server) RSSKiB() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", s.cmd.Process.Pid)
}

// tail keeps the last max bytes written to it (the server's stderr).
type tail struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.max:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

var _ io.Writer = (*tail)(nil)

// Metric reads one unlabelled sample (for example go_memstats_heap_inuse_bytes)
// from the server's /metrics.
func (s *Server) Metric(name string) (float64, error) {
	resp, err := http.Get(s.Base + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			return strconv.ParseFloat(strings.TrimSpace(rest), 64)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("metric %s not exported", name)
}

// CPUSeconds is the server's user plus system CPU time so far, read from
// /proc (0 where /proc is missing). Differences over a phase show how many
// cores the server kept busy.
func (s *Server) CPUSeconds() float64 {
	return procCPUSeconds(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
}

// selfCPUSeconds is the harness's own CPU time, for the same comparison:
// load generation shares the cores with the server.
func selfCPUSeconds() float64 { return procCPUSeconds("/proc/self/stat") }

// procCPUSeconds parses utime and stime (fields 14 and 15, in clock ticks of
// 1/100 s on Linux) from a /proc stat file.
func procCPUSeconds(path string) float64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	// The command name (field 2) may contain spaces; fields after it
	// start behind the last ')'.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / clockTicksPerSecond
}

// clockTicksPerSecond is USER_HZ, 100 on every Linux architecture Go runs on.
const clockTicksPerSecond = 100
