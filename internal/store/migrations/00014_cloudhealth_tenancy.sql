-- CloudHealth as CloudHealth publishes it (issue 19). A billing profile may name the CloudHealth tenant of its
-- customer (a partner key's client_api_id); the invite keeps the documented parts of CloudHealth's last word (the
-- payer's name, why there is no payer, the status's last_update); the last on-demand validation of an invite's
-- CloudHealth setup is kept whole, as the JSON the API answers. Placeholders as in 00001.

-- The list of invites across every billing profile (platform administrators, GET /aws-invites) reads one index
-- range from its cursor, as the per-profile list does (00011): by id, by state and id, by account and id, with ids
-- ordered byte by byte on PostgreSQL.

-- +goose Up
ALTER TABLE billing_profiles ADD COLUMN cloudhealth_client_api_id TEXT NOT NULL DEFAULT '';
ALTER TABLE invites ADD COLUMN cloudhealth_payer_name TEXT NOT NULL DEFAULT '';
ALTER TABLE invites ADD COLUMN cloudhealth_payer_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE invites ADD COLUMN cloudhealth_last_update {{.Time}};
CREATE INDEX invites_id_list_idx ON invites (id{{if .Postgres}} text_pattern_ops{{end}});
CREATE INDEX invites_state_list_idx ON invites (state, id{{if .Postgres}} text_pattern_ops{{end}});
CREATE INDEX invites_account_list_idx ON invites (account_id, id{{if .Postgres}} text_pattern_ops{{end}});
CREATE TABLE cloudhealth_validations (
    invite_id  TEXT PRIMARY KEY,
    ran_at     {{.Time}} NOT NULL,
    checks     TEXT NOT NULL
);

-- +goose Down
DROP TABLE cloudhealth_validations;
DROP INDEX invites_account_list_idx;
DROP INDEX invites_state_list_idx;
DROP INDEX invites_id_list_idx;
ALTER TABLE invites DROP COLUMN cloudhealth_last_update;
ALTER TABLE invites DROP COLUMN cloudhealth_payer_reason;
ALTER TABLE invites DROP COLUMN cloudhealth_payer_name;
ALTER TABLE billing_profiles DROP COLUMN cloudhealth_client_api_id;
