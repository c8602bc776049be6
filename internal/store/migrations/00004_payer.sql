-- The payer organization is the unit of truth: an account is held by at most one invite per payer, whatever the
-- billing profile; every handshake an invite ever had is remembered, so handshakes no invite owns can be told
-- apart; the invite keeps what the handshake says about the payer organization. Placeholders as in 00001.

-- +goose Up
ALTER TABLE invites ADD COLUMN payer TEXT NOT NULL DEFAULT '';
UPDATE invites SET payer = (SELECT management_account_id FROM billing_profiles WHERE billing_profiles.id = invites.billing_profile_id);

-- Before this version two billing profiles of one payer could both hold an account. Keep the oldest holder; end the
-- others, with a history line saying why, so the new index can be built.
INSERT INTO invite_events (invite_id, at, actor_kind, from_state, to_state, reason)
SELECT i.id, CURRENT_TIMESTAMP, 'reconciliation', i.state, 'canceled',
       'canceled when the service moved to one invite per account and payer: an older invite of another billing profile holds this account'
FROM invites i
WHERE i.state NOT IN ('canceled', 'declined', 'expired')
  AND EXISTS (SELECT 1 FROM invites o WHERE o.payer = i.payer AND o.account_id = i.account_id
              AND o.state NOT IN ('canceled', 'declined', 'expired') AND o.id < i.id);
UPDATE invites SET state = 'canceled', version = version + 1
WHERE state NOT IN ('canceled', 'declined', 'expired')
  AND EXISTS (SELECT 1 FROM invites o WHERE o.payer = invites.payer AND o.account_id = invites.account_id
              AND o.state NOT IN ('canceled', 'declined', 'expired') AND o.id < invites.id);

-- The database, not the application, guarantees that at most one invite holds an account on a payer: two
-- replicas, or two customers of one payer, racing for one account cannot both succeed. The states listed are the
-- lifecycle's terminal states (a store test checks them against the domain's table).
DROP INDEX invites_open_account_key;
CREATE UNIQUE INDEX invites_open_account_key ON invites (payer, account_id)
    WHERE state NOT IN ('canceled', 'declined', 'expired');
CREATE INDEX invites_payer_state_idx ON invites (payer, state);

ALTER TABLE invites ADD COLUMN org_id TEXT NOT NULL DEFAULT '';
ALTER TABLE invites ADD COLUMN org_management_account_id TEXT NOT NULL DEFAULT '';
ALTER TABLE invites ADD COLUMN org_management_email TEXT NOT NULL DEFAULT '';
ALTER TABLE invites ADD COLUMN org_management_name TEXT NOT NULL DEFAULT '';

-- Every handshake an invite has had (re-sends cancel the old one), by handshake id.
CREATE TABLE invite_handshakes (
    handshake_id TEXT PRIMARY KEY,
    invite_id    TEXT NOT NULL REFERENCES invites (id),
    payer        TEXT NOT NULL,
    recorded_at  {{.Time}} NOT NULL
);
CREATE INDEX invite_handshakes_payer_idx ON invite_handshakes (payer);
-- A handshake two invites shared (one adopted the other's) belongs to the older one.
INSERT INTO invite_handshakes (handshake_id, invite_id, payer, recorded_at)
SELECT i.handshake_id, i.id, i.payer, i.updated_at FROM invites i
WHERE i.handshake_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM invites o WHERE o.handshake_id = i.handshake_id AND o.id < i.id);

-- +goose Down
DROP TABLE invite_handshakes;
ALTER TABLE invites DROP COLUMN org_management_name;
ALTER TABLE invites DROP COLUMN org_management_email;
ALTER TABLE invites DROP COLUMN org_management_account_id;
ALTER TABLE invites DROP COLUMN org_id;
DROP INDEX invites_payer_state_idx;
DROP INDEX invites_open_account_key;
CREATE UNIQUE INDEX invites_open_account_key ON invites (billing_profile_id, account_id)
    WHERE state NOT IN ('canceled', 'declined', 'expired');
ALTER TABLE invites DROP COLUMN payer;
