-- +goose Up
-- An index on the sign-in log's addresses, written in bulk rather than per
-- record. Addresses under attack are random, so a plain index on them costs
-- a random page per record: measured, it halved the durable write rate
-- (61,000-67,000 to 30,000-31,000 records/s), and so would have cut the
-- refusals a server can log under attack. Keyed by the address's first
-- octet (a "bucket") and then by time, this index is appended to at 256
-- tails when it is brought up to date every few thousand records, inside a
-- sign-in log commit; the records not yet indexed (rowid above
-- indexed_upto) are few and read directly. See signinip.go.
CREATE TABLE signin_ip_index (
    ix_bucket  INTEGER NOT NULL,
    ix_created INTEGER NOT NULL,
    ix_rowid   INTEGER NOT NULL,
    ix_ip      TEXT NOT NULL,
    PRIMARY KEY (ix_bucket, ix_created, ix_rowid)
) WITHOUT ROWID;
CREATE TABLE signin_ip_index_state (
    singleton    INTEGER PRIMARY KEY CHECK (singleton = 1),
    indexed_upto INTEGER NOT NULL
);
INSERT INTO signin_ip_index_state(singleton, indexed_upto) VALUES (1, 0);

-- +goose Down
DROP TABLE signin_ip_index_state;
DROP TABLE signin_ip_index;
