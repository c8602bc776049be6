-- The list of a billing profile's invites, filtered by state, account or kind, reads one index range from the
-- cursor backwards and stops after the page (reads.go, pageQuery), instead of filtering the profile's whole
-- (billing_profile_id, id) range: at 100,000 invites a filter that matched few of them read all of them.
--
-- On PostgreSQL the ids of these indexes are ordered byte by byte (text_pattern_ops), and the list orders and
-- compares them so (~<~, USING ~>~), which no other index can provide: the primary key on id cannot serve a page
-- by scanning the whole table backwards and dropping other profiles' rows, a plan the planner otherwise picks for
-- a profile holding most of the table. Byte order is the order of UUIDv7 strings, as SQLite's default.

-- +goose Up
DROP INDEX invites_list_idx;
DROP INDEX invites_kind_idx;
CREATE INDEX invites_list_idx ON invites (billing_profile_id, id{{if .Postgres}} text_pattern_ops{{end}});
CREATE INDEX invites_kind_idx ON invites (billing_profile_id, kind, id{{if .Postgres}} text_pattern_ops{{end}});
CREATE INDEX invites_profile_state_idx ON invites (billing_profile_id, state, id{{if .Postgres}} text_pattern_ops{{end}});
CREATE INDEX invites_profile_account_idx ON invites (billing_profile_id, account_id, id{{if .Postgres}} text_pattern_ops{{end}});
CREATE INDEX invites_profile_kind_state_idx ON invites (billing_profile_id, kind, state, id{{if .Postgres}} text_pattern_ops{{end}});

-- +goose Down
DROP INDEX invites_profile_kind_state_idx;
DROP INDEX invites_profile_account_idx;
DROP INDEX invites_profile_state_idx;
DROP INDEX invites_kind_idx;
DROP INDEX invites_list_idx;
CREATE INDEX invites_list_idx ON invites (billing_profile_id, id);
CREATE INDEX invites_kind_idx ON invites (billing_profile_id, kind, id);
