-- The list of a billing profile's invites, filtered by state or by account, reads one index range from the
-- cursor backwards and stops after the page (reads.go, pageQuery), instead of filtering the profile's whole
-- (billing_profile_id, id) range: at 100,000 invites a filter that matched few of them read all of them.

-- +goose Up
CREATE INDEX invites_profile_state_idx ON invites (billing_profile_id, state, id);
CREATE INDEX invites_profile_account_idx ON invites (billing_profile_id, account_id, id);
CREATE INDEX invites_profile_kind_state_idx ON invites (billing_profile_id, kind, state, id);

-- +goose Down
DROP INDEX invites_profile_kind_state_idx;
DROP INDEX invites_profile_account_idx;
DROP INDEX invites_profile_state_idx;
