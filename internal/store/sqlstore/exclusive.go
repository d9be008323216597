package sqlstore

import (
	"context"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Exclusive runs fn while holding a lock every process on the same
// database respects: a PostgreSQL advisory lock (instances on several
// machines), or an flock on a file beside the SQLite database. It is for
// rare check-then-act steps that span several transactions, such as
// initialising an empty directory when instances start together.
func (db *DB) Exclusive(ctx context.Context, name string, fn func() error) error {
	if db.pg {
		return db.exclusivePostgres(ctx, name, fn)
	}
	f, err := os.OpenFile(db.path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("lock %s: %w", name, err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		return fmt.Errorf("lock %s: %w", name, err)
	}
	defer unix.Flock(int(f.Fd()), unix.LOCK_UN)
	return fn()
}

func (db *DB) exclusivePostgres(ctx context.Context, name string, fn func() error) error {
	conn, err := db.write.Conn(ctx) // the session that holds the lock
	if err != nil {
		return fmt.Errorf("lock %s: %w", name, err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(hashtext(?))`, "portcullis "+name); err != nil {
		return fmt.Errorf("lock %s: %w", name, err)
	}
	defer conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock(hashtext(?))`, "portcullis "+name)
	return fn()
}
