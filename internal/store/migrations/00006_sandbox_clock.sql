-- The sandbox's test clock: how far its time runs ahead of the real time. One row, shared by every process on the
-- database, so all of them see the same sandbox time. Placeholders as in 00001.

-- +goose Up
CREATE TABLE sandbox_clock (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    offset_us  BIGINT NOT NULL,
    updated_at {{.Time}} NOT NULL
);

-- +goose Down
DROP TABLE sandbox_clock;
