-- Batches of invites (issue 21): one row per batch, its items kept whole as the JSON of their inputs and outcomes
-- (a batch holds at most 500; its runner rewrites them every 25 items, guarded by the version). A request's key
-- (its Idempotency-Key with the caller) finds the batch it made. Placeholders as in 00001.

-- +goose Up
CREATE TABLE invite_batches (
    id                 TEXT PRIMARY KEY,
    billing_profile_id TEXT NOT NULL,
    payer              TEXT NOT NULL,
    request_key        TEXT,
    dry_run            BOOLEAN NOT NULL,
    state              TEXT NOT NULL,
    created_by         TEXT NOT NULL,
    created_at         {{.Time}} NOT NULL,
    updated_at         {{.Time}} NOT NULL,
    completed_at       {{.Time}},
    items              TEXT NOT NULL,
    version            BIGINT NOT NULL
);
CREATE UNIQUE INDEX invite_batches_key_idx ON invite_batches (request_key);
CREATE INDEX invite_batches_running_idx ON invite_batches (payer, state, updated_at);

-- +goose Down
DROP TABLE invite_batches;
