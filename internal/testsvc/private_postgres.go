package testsvc

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// PrivatePostgres is a PostgreSQL server of one test's own, on a free
// loopback port, which the test may stop and start without disturbing the
// others.
type PrivatePostgres struct {
	t    testing.TB
	bin  string // the server's bin directory
	dir  string // owned by the server's user
	port int
	// DSN connects to its postgres database.
	DSN string
}

// StartPrivatePostgres initialises a throwaway cluster (initdb) and starts
// it. As root, the server runs as the postgres user, since PostgreSQL
// refuses to run as root.
func StartPrivatePostgres(t testing.TB) *PrivatePostgres {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(bins) == 0 {
		unavailable(t, "PostgreSQL server binaries (initdb)", os.ErrNotExist)
	}
	slices.Sort(bins)
	dir, err := os.MkdirTemp("", "portcullis-pg")
	if err != nil {
		t.Fatal(err)
	}
	p := &PrivatePostgres{t: t, bin: filepath.Dir(bins[len(bins)-1]), dir: dir, port: freePort(t)}
	t.Cleanup(func() {
		_ = p.run("pg_ctl", "-D", p.data(), "-m", "immediate", "stop")
		_ = os.RemoveAll(dir)
	})
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root needs the postgres user for the server: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.run("initdb", "-D", p.data(), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale", "C", "--no-sync"); err != nil {
		t.Fatalf("initdb: %v", err)
	}
	p.DSN = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable&connect_timeout=5", p.port)
	p.Start()
	return p
}

func (p *PrivatePostgres) data() string { return filepath.Join(p.dir, "data") }

// run runs one of the server's programs, as the postgres user when root.
func (p *PrivatePostgres) run(prog string, args ...string) error {
	path := filepath.Join(p.bin, prog)
	var cmd *exec.Cmd
	if os.Geteuid() == 0 {
		cmd = exec.Command("runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	} else {
		cmd = exec.Command(path, args...)
	}
	cmd.Dir = p.dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %w\n%s", prog, err, out)
	}
	return nil
}

// Start starts the server and returns once it accepts connections.
func (p *PrivatePostgres) Start() {
	p.t.Helper()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=60",
		p.port, p.dir)
	if err := p.run("pg_ctl", "-D", p.data(), "-l", filepath.Join(p.dir, "server.log"), "-o", opts, "-w", "-t", "60", "start"); err != nil {
		p.t.Fatalf("start PostgreSQL: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, p.DSN)
	if err != nil {
		p.t.Fatalf("PostgreSQL started but does not answer: %v", err)
	}
	conn.Close(ctx)
}

// Stop stops the server (fast shutdown: connections are closed at once)
// and returns once it has stopped.
func (p *PrivatePostgres) Stop() {
	p.t.Helper()
	if err := p.run("pg_ctl", "-D", p.data(), "-m", "fast", "-w", "stop"); err != nil {
		p.t.Fatalf("stop PostgreSQL: %v", err)
	}
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
