-- Departures (issue 20): a joined account that is no longer a member of the payer's organization ends its invite
-- in the terminal state departed, which no longer holds the account (a new invite for it is allowed); the invite
-- keeps AWS's last state of the account (ACTIVE, SUSPENDED, PENDING_CLOSURE, CLOSED) and, once departed, when the
-- departure was noticed, how (where AWS says it) and the account's state when last listed. Placeholders as in
-- 00001.

-- +goose Up
DROP INDEX invites_open_account_key;
CREATE UNIQUE INDEX invites_open_account_key ON invites (payer, account_id)
    WHERE state NOT IN ('canceled', 'declined', 'expired', 'departed');
ALTER TABLE invites ADD COLUMN account_state TEXT NOT NULL DEFAULT '';
ALTER TABLE invites ADD COLUMN departed_at {{.Time}};
ALTER TABLE invites ADD COLUMN departure_method TEXT NOT NULL DEFAULT '';
ALTER TABLE invites ADD COLUMN departure_account_state TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE invites DROP COLUMN departure_account_state;
ALTER TABLE invites DROP COLUMN departure_method;
ALTER TABLE invites DROP COLUMN departed_at;
ALTER TABLE invites DROP COLUMN account_state;
DROP INDEX invites_open_account_key;
-- Departed invites would hold their accounts again under the old predicate: they are canceled first.
UPDATE invites SET state = 'canceled' WHERE state = 'departed';
CREATE UNIQUE INDEX invites_open_account_key ON invites (payer, account_id)
    WHERE state NOT IN ('canceled', 'declined', 'expired');
