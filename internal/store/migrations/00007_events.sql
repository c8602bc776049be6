-- Events: every history line of an invite becomes an event with a stable type and public id, the billing profile
-- and payer it belongs to, and the invite as the API showed it then; attempts AWS refused are events too, although
-- no invite remains (so invite_id may be empty). The table is the activity feed, the invites' histories and the
-- source of webhook deliveries. SQLite cannot drop a NOT NULL, so the table is rebuilt as events. Placeholders as
-- in 00001, plus .Postgres for the one statement only PostgreSQL needs (its identity sequence).

-- +goose Up
CREATE TABLE events (
    id                 {{.ID}},
    event_id           TEXT NOT NULL,
    type               TEXT NOT NULL DEFAULT '',
    invite_id          TEXT REFERENCES invites (id),
    billing_profile_id TEXT NOT NULL,
    payer              TEXT NOT NULL DEFAULT '',
    account_id         TEXT NOT NULL DEFAULT '',
    at                 {{.Time}} NOT NULL,
    actor_kind         TEXT NOT NULL,
    actor_subject      TEXT NOT NULL DEFAULT '',
    actor_email        TEXT NOT NULL DEFAULT '',
    from_state         TEXT NOT NULL DEFAULT '',
    to_state           TEXT NOT NULL DEFAULT '',
    reason             TEXT NOT NULL DEFAULT '',
    code               TEXT NOT NULL DEFAULT '',
    snapshot           TEXT
);
INSERT INTO events (id, event_id, type, invite_id, billing_profile_id, payer, account_id, at, actor_kind, actor_subject,
                    actor_email, from_state, to_state, reason)
SELECT e.id, 'evt-migrated-' || e.id, '', e.invite_id, i.billing_profile_id, i.payer, i.account_id, e.at, e.actor_kind,
       e.actor_subject, e.actor_email, e.from_state, e.to_state, e.reason
FROM invite_events e JOIN invites i ON i.id = e.invite_id;
{{if .Postgres}}SELECT setval(pg_get_serial_sequence('events', 'id'), COALESCE((SELECT MAX(id) FROM events), 0) + 1, false);{{end}}
DROP TABLE invite_events;
CREATE UNIQUE INDEX events_event_id_key ON events (event_id);
CREATE INDEX events_invite_idx ON events (invite_id, id);
CREATE INDEX events_profile_idx ON events (billing_profile_id, id);

-- The expiry warning is sent once per handshake.
ALTER TABLE invites ADD COLUMN expiry_warned_for TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE invites DROP COLUMN expiry_warned_for;
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
INSERT INTO invite_events (id, invite_id, at, actor_kind, actor_subject, actor_email, from_state, to_state, reason)
SELECT id, invite_id, at, actor_kind, actor_subject, actor_email, from_state, to_state, reason FROM events WHERE invite_id IS NOT NULL;
CREATE INDEX invite_events_invite_idx ON invite_events (invite_id, id);
DROP TABLE events;
