package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// Monthly partitions of the PostgreSQL sign-in and audit logs. A partition
// is created before the first record of its month is written (and the
// current and next month's at start and on every retention pass, so the
// month boundary normally finds its partition waiting); retention drops the
// partitions wholly past the cutoff, which costs a catalogue update instead
// of deleting millions of rows.

// partitionedTables are the partitioned logs; only these names ever reach
// the SQL built below.
var partitionedTables = []string{"signins", "directory_audits"}

var partitionName = regexp.MustCompile(`^(signins|directory_audits)_p([0-9]{4})([0-9]{2})$`)

// monthStart is the first instant of t's month (UTC).
func monthStart(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

func partitionFor(table string, month time.Time) string {
	return fmt.Sprintf("%s_p%04d%02d", table, month.Year(), int(month.Month()))
}

// ensurePartitions creates this month's and next month's partitions of
// both logs.
func (db *DB) ensurePartitions(ctx context.Context, now time.Time) error {
	for _, table := range partitionedTables {
		if err := db.ensureMonths(ctx, table, now, monthStart(now).AddDate(0, 1, 0)); err != nil {
			return err
		}
	}
	return nil
}

// ensureMonths makes sure table has a partition for each of the times.
// Known partitions are remembered, so the common case costs a map lookup.
func (db *DB) ensureMonths(ctx context.Context, table string, times ...time.Time) error {
	var missing []time.Time
	for _, t := range times {
		m := monthStart(t)
		if _, ok := db.partitions.Load(partitionFor(table, m)); !ok && !slices.Contains(missing, m) {
			missing = append(missing, m)
		}
	}
	for _, m := range missing {
		if err := db.createPartition(ctx, table, m); err != nil {
			return err
		}
		db.partitions.Store(partitionFor(table, m), struct{}{})
	}
	return nil
}

// createPartition creates one month's partition unless it exists. The
// advisory lock makes instances that reach a new month together take
// turns: CREATE TABLE IF NOT EXISTS alone can still collide.
func (db *DB) createPartition(ctx context.Context, table string, month time.Time) error {
	name := partitionFor(table, month)
	err := db.attemptTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext('portcullis partitions'))`); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s PARTITION OF %s FOR VALUES FROM (%d) TO (%d)`,
			pgx.Identifier{name}.Sanitize(), pgx.Identifier{table}.Sanitize(),
			month.UnixMicro(), month.AddDate(0, 1, 0).UnixMicro()))
		return err
	})
	if err != nil {
		return fmt.Errorf("create partition %s: %w", name, err)
	}
	return nil
}

// withPartitions runs write, which inserts rows at times into table, after
// making sure their partitions exist. If another instance's retention
// dropped a partition this one remembered, the insert fails with "no
// partition for the row" (23514); the memory is then cleared and the write
// retried once.
func (db *DB) withPartitions(ctx context.Context, table string, times []time.Time, write func() error) error {
	if err := db.ensureMonths(ctx, table, times...); err != nil {
		return err
	}
	err := write()
	if pgErrorCode(err) != "23514" {
		return err
	}
	for _, t := range times {
		db.partitions.Delete(partitionFor(table, monthStart(t)))
	}
	if err := db.ensureMonths(ctx, table, times...); err != nil {
		return err
	}
	return write()
}

// DropPartitionsBefore drops the partitions of table ("signins" or
// "directory_audits") that hold only records older than cutoff, for every
// tenant, and reports how many records went with them. Retention calls it
// with the one cutoff every tenant shares before deleting the rest of the
// expired records in small batches. On SQLite it does nothing.
func (db *DB) DropPartitionsBefore(ctx context.Context, table string, cutoff time.Time) (int, error) {
	if !db.pg {
		return 0, nil
	}
	if !slices.Contains(partitionedTables, table) {
		return 0, fmt.Errorf("drop partitions: %q is not a partitioned log", table)
	}
	if err := db.ensurePartitions(ctx, time.Now()); err != nil {
		return 0, err
	}
	names, err := db.partitionsOf(ctx, table)
	if err != nil {
		return 0, err
	}
	dropped := 0
	for _, name := range names {
		m := partitionName.FindStringSubmatch(name)
		year, _ := strconv.Atoi(m[2])
		month, _ := strconv.Atoi(m[3])
		end := time.Date(year, time.Month(month), 1, 0, 0, 0, 0, time.UTC).AddDate(0, 1, 0)
		if end.After(cutoff) {
			continue
		}
		var n int
		err := db.attemptTx(ctx, func(tx *sql.Tx) error {
			ident := pgx.Identifier{name}.Sanitize()
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM `+ident).Scan(&n); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `DROP TABLE `+ident)
			return err
		})
		if err != nil {
			return dropped, fmt.Errorf("drop partition %s: %w", name, err)
		}
		db.partitions.Delete(name)
		dropped += n
	}
	return dropped, nil
}

// Partitions lists table's monthly partitions by name, oldest first
// (operators and tests; nothing on SQLite).
func (db *DB) Partitions(ctx context.Context, table string) ([]string, error) {
	if !db.pg {
		return nil, nil
	}
	return db.partitionsOf(ctx, table)
}

// partitionsOf lists table's partitions in the current schema whose names
// follow partitionFor's pattern; anything else an operator attached is
// left alone.
func (db *DB) partitionsOf(ctx context.Context, table string) ([]string, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT c.relname FROM pg_inherits i
		JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = to_regclass(?) ORDER BY c.relname`, table)
	if err != nil {
		return nil, fmt.Errorf("list partitions of %s: %w", table, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("list partitions of %s: %w", table, err)
		}
		if m := partitionName.FindStringSubmatch(name); m != nil && m[1] == table {
			out = append(out, name)
		}
	}
	return out, rows.Err()
}
