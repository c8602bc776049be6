-- Per-payer leases (lock.go): who reconciles or scans a payer now, until when. A lease is taken, renewed and given
-- back with one short statement each, so that a pass waiting on AWS holds no database connection (the session
-- advisory lock it replaces pinned one pooled connection per payer in progress). The expiry is Unix milliseconds
-- of the holder's real clock, not a timestamp: the sandbox's clock moves days at a time, and SQLite compares
-- timestamps as text.

-- +goose Up
CREATE TABLE payer_leases (
    payer      TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE payer_leases;
