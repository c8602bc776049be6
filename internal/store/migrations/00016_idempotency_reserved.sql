-- An Idempotency-Key's reservation keeps when its first request reserved it (reserved_at), apart from created_at,
-- which a retry taking over a dead reservation re-stamps (and a request that died marks as old): the retry settles
-- the key from what was written since the first reservation, whatever the re-stamps say. Placeholders as in 00001.

-- +goose Up
ALTER TABLE idempotency_keys ADD COLUMN reserved_at {{.Time}};
UPDATE idempotency_keys SET reserved_at = created_at;

-- +goose Down
ALTER TABLE idempotency_keys DROP COLUMN reserved_at;
