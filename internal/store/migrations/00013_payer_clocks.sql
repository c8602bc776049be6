-- A payer organization's own test clock in the sandbox, given to one partner (its customer) so that no other
-- customer moves its time: how far it runs ahead of the real time. Payers without one read sandbox_clock.
-- Placeholders as in 00001.

-- +goose Up
CREATE TABLE sandbox_payer_clocks (
    payer       TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL,
    offset_us   BIGINT NOT NULL,
    created_at  {{.Time}} NOT NULL,
    updated_at  {{.Time}} NOT NULL
);

-- +goose Down
DROP TABLE sandbox_payer_clocks;
