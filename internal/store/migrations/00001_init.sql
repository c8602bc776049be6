-- Placeholders (rendered per dialect by migrate.go): {{.Time}} a UTC timestamp with microseconds, {{.ID}} an
-- auto-increment primary key, {{.Bytes}} raw bytes.

-- +goose Up
CREATE TABLE billing_profiles (
    id                    TEXT PRIMARY KEY,
    customer_id           TEXT NOT NULL,
    name                  TEXT NOT NULL,
    management_account_id TEXT NOT NULL,
    role_arn              TEXT NOT NULL DEFAULT '',
    external_id           TEXT NOT NULL DEFAULT '',
    created_at            {{.Time}} NOT NULL,
    updated_at            {{.Time}} NOT NULL
);

CREATE TABLE invites (
    id                     TEXT PRIMARY KEY,
    billing_profile_id     TEXT NOT NULL REFERENCES billing_profiles (id),
    account_id             CHAR(12) NOT NULL CHECK (length(account_id) = 12),
    notes                  TEXT NOT NULL DEFAULT '',
    state                  TEXT NOT NULL,
    handshake_id           TEXT,
    handshake_state        TEXT,
    handshake_requested_at {{.Time}},
    handshake_expires_at   {{.Time}},
    invited_by_kind        TEXT NOT NULL DEFAULT '',
    invited_by_subject     TEXT NOT NULL DEFAULT '',
    invited_by_email       TEXT NOT NULL DEFAULT '',
    created_at             {{.Time}} NOT NULL,
    updated_at             {{.Time}} NOT NULL,
    last_sent_at           {{.Time}},
    joined_at              {{.Time}},
    version                BIGINT NOT NULL
);

-- The database, not the application, guarantees at most one open invite per (billing profile, account): two
-- replicas racing to invite the same account cannot both succeed. (Migration 00004 replaced this index with one
-- per payer; its predicate follows the lifecycle table, internal/invite/lifecycle.go, as a store test checks.)
CREATE UNIQUE INDEX invites_open_account_key ON invites (billing_profile_id, account_id)
    WHERE state NOT IN ('canceled', 'declined', 'expired');
CREATE INDEX invites_list_idx ON invites (billing_profile_id, id);
CREATE INDEX invites_handshake_idx ON invites (handshake_id);

CREATE TABLE invite_events (
    id            {{.ID}},
    invite_id     TEXT NOT NULL REFERENCES invites (id),
    at            {{.Time}} NOT NULL,
    actor_kind    TEXT NOT NULL,
    actor_subject TEXT NOT NULL DEFAULT '',
    actor_email   TEXT NOT NULL DEFAULT '',
    from_state    TEXT NOT NULL DEFAULT '',
    to_state      TEXT NOT NULL,
    reason        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX invite_events_invite_idx ON invite_events (invite_id, id);

CREATE TABLE idempotency_keys (
    scope        TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status       INTEGER NOT NULL DEFAULT 0,
    location     TEXT NOT NULL DEFAULT '',
    body         {{.Bytes}},
    created_at   {{.Time}} NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

CREATE TABLE sandbox_state (
    name       TEXT PRIMARY KEY,
    data       TEXT,
    updated_at {{.Time}} NOT NULL
);

-- +goose Down
DROP TABLE sandbox_state;
DROP TABLE idempotency_keys;
DROP TABLE invite_events;
DROP TABLE invites;
DROP TABLE billing_profiles;
