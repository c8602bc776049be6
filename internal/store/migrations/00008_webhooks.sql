-- Telling systems and people: webhook endpoints (of a billing profile, or reseller-wide with an empty billing
-- profile), each event's delivery to each endpoint with every attempt, and a billing profile's email recipients.
-- Placeholders as in 00001.

-- +goose Up
CREATE TABLE webhook_endpoints (
    id                  TEXT PRIMARY KEY,
    billing_profile_id  TEXT NOT NULL DEFAULT '',
    url                 TEXT NOT NULL,
    description         TEXT NOT NULL DEFAULT '',
    events              TEXT NOT NULL DEFAULT '',
    enabled             BOOLEAN NOT NULL,
    disabled_reason     TEXT NOT NULL DEFAULT '',
    secret              TEXT NOT NULL,
    previous_secret     TEXT NOT NULL DEFAULT '',
    previous_until      {{.Time}},
    failing_since       {{.Time}},
    created_by_kind     TEXT NOT NULL DEFAULT '',
    created_by_subject  TEXT NOT NULL DEFAULT '',
    created_by_email    TEXT NOT NULL DEFAULT '',
    created_at          {{.Time}} NOT NULL,
    updated_at          {{.Time}} NOT NULL
);
CREATE INDEX webhook_endpoints_profile_idx ON webhook_endpoints (billing_profile_id);

CREATE TABLE webhook_deliveries (
    id          TEXT PRIMARY KEY,
    endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_seq   BIGINT NOT NULL REFERENCES events (id),
    invite_id   TEXT NOT NULL DEFAULT '',
    state       TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    created_at  {{.Time}} NOT NULL,
    updated_at  {{.Time}} NOT NULL
);
CREATE UNIQUE INDEX webhook_deliveries_event_key ON webhook_deliveries (endpoint_id, event_seq);
-- "Is an earlier event of this invite still on its way to this endpoint?" is one index range.
CREATE INDEX webhook_deliveries_order_idx ON webhook_deliveries (endpoint_id, invite_id, state, event_seq);

CREATE TABLE webhook_attempts (
    id               {{.ID}},
    delivery_id      TEXT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    at               {{.Time}} NOT NULL,
    status_code      INTEGER NOT NULL DEFAULT 0,
    latency_us       BIGINT NOT NULL DEFAULT 0,
    error            TEXT NOT NULL DEFAULT '',
    response_snippet TEXT NOT NULL DEFAULT ''
);
CREATE INDEX webhook_attempts_delivery_idx ON webhook_attempts (delivery_id, id);

CREATE TABLE notification_settings (
    billing_profile_id TEXT PRIMARY KEY REFERENCES billing_profiles (id),
    recipients         TEXT NOT NULL DEFAULT '',
    events             TEXT NOT NULL DEFAULT '',
    updated_at         {{.Time}} NOT NULL
);

-- +goose Down
DROP TABLE notification_settings;
DROP TABLE webhook_attempts;
DROP TABLE webhook_deliveries;
DROP TABLE webhook_endpoints;
