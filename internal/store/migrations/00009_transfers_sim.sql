-- The Organizations simulator learns billing transfers (orgsim.NewSQLStore owns these tables): handshakes get an
-- action (INVITE or TRANSFER_RESPONSIBILITY), their own expiry (a transfer invitation expires at the earlier of 15
-- days and 24 hours before the transfer starts) and the transfer they propose; the transfers themselves get a table.
-- Existing rows are invitations that expire after 15 days, which is what the defaults and a NULL expires_at mean.
-- Placeholders as in 00001.

-- +goose Up
ALTER TABLE orgsim_handshakes ADD COLUMN action TEXT NOT NULL DEFAULT 'INVITE';
ALTER TABLE orgsim_handshakes ADD COLUMN expires_at {{.Time}};
ALTER TABLE orgsim_handshakes ADD COLUMN transfer_id TEXT NOT NULL DEFAULT '';
ALTER TABLE orgsim_handshakes ADD COLUMN transfer_start {{.Time}};

-- One OPEN handshake per organization, action and invited account: an open invitation to join and an open
-- transfer invitation to the same account may coexist.
DROP INDEX orgsim_handshakes_open_key;
CREATE UNIQUE INDEX orgsim_handshakes_open_key ON orgsim_handshakes (mgmt_id, action, account_id) WHERE state = 'OPEN';
-- ListHandshakesForOrganization filtered by action type.
CREATE INDEX orgsim_handshakes_action_idx ON orgsim_handshakes (mgmt_id, action, seq);
-- ListAccounts pages through an organization's members by account id.
CREATE INDEX orgsim_members_list_idx ON orgsim_members (mgmt_id, account_id);

-- Responsibility transfers in creation order (seq), listed by either side. Status is what was last written: a
-- REQUESTED row past expires_at is read as EXPIRED.
CREATE TABLE orgsim_transfers (
    seq          {{.ID}},
    id           TEXT NOT NULL UNIQUE,
    name         TEXT NOT NULL,
    type         TEXT NOT NULL,
    source_id    TEXT NOT NULL,
    target_id    TEXT NOT NULL,
    status       TEXT NOT NULL,
    handshake_id TEXT NOT NULL,
    start_at     {{.Time}} NOT NULL,
    end_at       {{.Time}},
    expires_at   {{.Time}} NOT NULL,
    created_at   {{.Time}} NOT NULL
);
CREATE INDEX orgsim_transfers_source_idx ON orgsim_transfers (source_id, seq);
CREATE INDEX orgsim_transfers_target_idx ON orgsim_transfers (target_id, seq);

-- +goose Down
DROP TABLE orgsim_transfers;
DROP INDEX orgsim_members_list_idx;
DROP INDEX orgsim_handshakes_action_idx;
DROP INDEX orgsim_handshakes_open_key;
DELETE FROM orgsim_handshakes WHERE action <> 'INVITE';
CREATE UNIQUE INDEX orgsim_handshakes_open_key ON orgsim_handshakes (mgmt_id, account_id) WHERE state = 'OPEN';
ALTER TABLE orgsim_handshakes DROP COLUMN transfer_start;
ALTER TABLE orgsim_handshakes DROP COLUMN transfer_id;
ALTER TABLE orgsim_handshakes DROP COLUMN expires_at;
ALTER TABLE orgsim_handshakes DROP COLUMN action;
