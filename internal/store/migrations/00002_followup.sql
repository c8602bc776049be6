-- What the service observes after an invite is sent: CloudHealth's view of the account and the first CUR data.
-- Placeholders as in 00001.

-- +goose Up
ALTER TABLE invites ADD COLUMN cloudhealth_level TEXT NOT NULL DEFAULT '';
ALTER TABLE invites ADD COLUMN cloudhealth_payer TEXT NOT NULL DEFAULT '';
ALTER TABLE invites ADD COLUMN cloudhealth_listed BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE invites ADD COLUMN cloudhealth_checked_at {{.Time}};
ALTER TABLE invites ADD COLUMN cur_seen_at {{.Time}};
CREATE INDEX invites_state_idx ON invites (state, billing_profile_id);
CREATE INDEX billing_profiles_payer_idx ON billing_profiles (management_account_id);

-- +goose Down
DROP INDEX billing_profiles_payer_idx;
DROP INDEX invites_state_idx;
ALTER TABLE invites DROP COLUMN cur_seen_at;
ALTER TABLE invites DROP COLUMN cloudhealth_checked_at;
ALTER TABLE invites DROP COLUMN cloudhealth_listed;
ALTER TABLE invites DROP COLUMN cloudhealth_payer;
ALTER TABLE invites DROP COLUMN cloudhealth_level;
