-- The daily invitation quota turned into a queue (issue 21). A queued invite (state queued) holds its account
-- without a handshake and keeps its place: why it waits, how it was queued (a batch never uses the reserved slots),
-- its place and when it is expected to go out. Each payer has a ledger of the invitations that count against AWS's
-- quota in the last 24 hours (from AWS's handshake list and the service's own sends since), and a hold written when
-- AWS refused an invitation the ledger expected to fit. Placeholders as in 00001.

-- +goose Up
ALTER TABLE invites ADD COLUMN queue_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE invites ADD COLUMN queue_mode TEXT NOT NULL DEFAULT '';
ALTER TABLE invites ADD COLUMN queue_position INTEGER NOT NULL DEFAULT 0;
ALTER TABLE invites ADD COLUMN queue_scheduled_for {{.Time}};
CREATE TABLE invite_quota_ledger (
    payer              TEXT NOT NULL,
    handshake_id       TEXT NOT NULL,
    billing_profile_id TEXT NOT NULL DEFAULT '',
    requested_at       {{.Time}} NOT NULL,
    PRIMARY KEY (payer, handshake_id)
);
CREATE INDEX invite_quota_ledger_time_idx ON invite_quota_ledger (payer, requested_at);
CREATE TABLE invite_quota_holds (
    payer        TEXT PRIMARY KEY,
    held_until   {{.Time}} NOT NULL,
    held_at_used INTEGER NOT NULL DEFAULT 0
);

-- +goose Down
DROP TABLE invite_quota_holds;
DROP INDEX invite_quota_ledger_time_idx;
DROP TABLE invite_quota_ledger;
ALTER TABLE invites DROP COLUMN queue_scheduled_for;
ALTER TABLE invites DROP COLUMN queue_position;
ALTER TABLE invites DROP COLUMN queue_mode;
ALTER TABLE invites DROP COLUMN queue_reason;
