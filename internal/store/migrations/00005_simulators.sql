-- The sandbox's simulators keep their worlds in rows (orgsim.NewSQLStore and chsim.NewSQLStore own these tables),
-- so that a call reads and writes a few indexed rows instead of rewriting one document: sandbox_state goes. Its
-- content is not carried over: it is sandbox data, and the simulators start an empty world. Placeholders as in
-- 00001.

-- +goose Up
-- One row per organization, keyed by its management account. Writers lock it (an upsert that touches the row) so
-- that calls on one organization from several processes apply one after the other.
CREATE TABLE orgsim_organizations (
    mgmt_id    TEXT PRIMARY KEY,
    org_id     TEXT NOT NULL,
    created_at {{.Time}} NOT NULL
);

-- An account belongs to one organization at most: the key makes a move one upsert.
CREATE TABLE orgsim_members (
    account_id    TEXT PRIMARY KEY,
    mgmt_id       TEXT NOT NULL,
    joined_method TEXT NOT NULL,
    joined_at     {{.Time}} NOT NULL
);
CREATE INDEX orgsim_members_org_idx ON orgsim_members (mgmt_id);

-- Accounts described through the simulator's Go API (names, emails, refusals).
CREATE TABLE orgsim_accounts (
    account_id       TEXT PRIMARY KEY,
    name             TEXT NOT NULL DEFAULT '',
    email            TEXT NOT NULL DEFAULT '',
    state            TEXT NOT NULL DEFAULT '',
    email_unverified BOOLEAN NOT NULL DEFAULT FALSE,
    invite_refusal   TEXT NOT NULL DEFAULT ''
);

-- Handshakes in creation order (seq). State is what was last written: an OPEN row older than 15 days is read as
-- EXPIRED, and purge_at (30 days after the end, the expiry counting as one) hides a row until it is deleted.
CREATE TABLE orgsim_handshakes (
    seq          {{.ID}},
    id           TEXT NOT NULL UNIQUE,
    mgmt_id      TEXT NOT NULL,
    org_id       TEXT NOT NULL,
    account_id   TEXT NOT NULL,
    notes        TEXT NOT NULL DEFAULT '',
    state        TEXT NOT NULL,
    requested_at {{.Time}} NOT NULL,
    ended_at     {{.Time}},
    purge_at     {{.Time}} NOT NULL
);
-- The database, not only the organization lock, keeps one OPEN invitation per organization and account.
CREATE UNIQUE INDEX orgsim_handshakes_open_key ON orgsim_handshakes (mgmt_id, account_id) WHERE state = 'OPEN';
CREATE INDEX orgsim_handshakes_list_idx ON orgsim_handshakes (mgmt_id, seq);
-- The quotas count recent rows only: open invitations, and invitations of the last day that were not accepted.
CREATE INDEX orgsim_handshakes_open_idx ON orgsim_handshakes (mgmt_id, requested_at) WHERE state = 'OPEN';
CREATE INDEX orgsim_handshakes_rate_idx ON orgsim_handshakes (mgmt_id, requested_at) WHERE state <> 'ACCEPTED';
CREATE INDEX orgsim_handshakes_purge_idx ON orgsim_handshakes (mgmt_id, purge_at);

-- CloudHealth's AWS accounts; the API's id is derived from seq, so ids only grow.
CREATE TABLE chsim_accounts (
    seq              {{.ID}},
    owner_id         TEXT NOT NULL UNIQUE,
    name             TEXT NOT NULL,
    payer_account_id TEXT NOT NULL DEFAULT '',
    level            TEXT NOT NULL,
    last_update      {{.Time}} NOT NULL,
    external_id      TEXT NOT NULL DEFAULT '',
    role_arn         TEXT NOT NULL DEFAULT '',
    created_at       {{.Time}} NOT NULL,
    updated_at       {{.Time}} NOT NULL
);

DROP TABLE sandbox_state;

-- +goose Down
CREATE TABLE sandbox_state (
    name       TEXT PRIMARY KEY,
    data       TEXT,
    updated_at {{.Time}} NOT NULL
);
DROP TABLE chsim_accounts;
DROP TABLE orgsim_handshakes;
DROP TABLE orgsim_accounts;
DROP TABLE orgsim_members;
DROP TABLE orgsim_organizations;
