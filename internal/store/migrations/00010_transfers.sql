-- Billing transfers: an invite has a kind (join, or billing_transfer: a customer's organization hands its
-- consolidated bill to the payer), and a transfer invite keeps AWS's responsibility transfer. The CUR keeps, per
-- usage account, the payer accounts its line items name, so the accounts of a transferred organization are known.
-- Placeholders as in 00001.

-- +goose Up
ALTER TABLE invites ADD COLUMN kind TEXT NOT NULL DEFAULT 'join';
ALTER TABLE invites ADD COLUMN transfer_id TEXT NOT NULL DEFAULT '';
ALTER TABLE invites ADD COLUMN transfer_status TEXT NOT NULL DEFAULT '';
ALTER TABLE invites ADD COLUMN transfer_name TEXT NOT NULL DEFAULT '';
ALTER TABLE invites ADD COLUMN transfer_start {{.Time}};
ALTER TABLE invites ADD COLUMN transfer_end {{.Time}};
CREATE INDEX invites_kind_idx ON invites (billing_profile_id, kind, id);
ALTER TABLE cur_account_usage ADD COLUMN bill_payers TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE cur_account_usage DROP COLUMN bill_payers;
DROP INDEX invites_kind_idx;
ALTER TABLE invites DROP COLUMN transfer_end;
ALTER TABLE invites DROP COLUMN transfer_start;
ALTER TABLE invites DROP COLUMN transfer_name;
ALTER TABLE invites DROP COLUMN transfer_status;
ALTER TABLE invites DROP COLUMN transfer_id;
ALTER TABLE invites DROP COLUMN kind;
