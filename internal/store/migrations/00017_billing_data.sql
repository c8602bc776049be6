-- Billing data status (issue 20): what the last look at each payer's Cost and Usage Report found of it as a whole
-- (when its newest version read was delivered, how far its line items reach, why it cannot be read), and each
-- joined invite's billing data state with its times. Placeholders as in 00001.

-- +goose Up
CREATE TABLE cur_feeds (
    payer          TEXT PRIMARY KEY,
    checked_at     {{.Time}} NOT NULL,
    billing_period TEXT NOT NULL DEFAULT '',
    version_id     TEXT NOT NULL DEFAULT '',
    delivered_at   {{.Time}},
    data_through   {{.Time}},
    problem        TEXT NOT NULL DEFAULT ''
);
ALTER TABLE invites ADD COLUMN billing_data_state TEXT NOT NULL DEFAULT '';
ALTER TABLE invites ADD COLUMN billing_data_last_report {{.Time}};
ALTER TABLE invites ADD COLUMN billing_data_through {{.Time}};
ALTER TABLE invites ADD COLUMN billing_data_expected_by {{.Time}};

-- +goose Down
ALTER TABLE invites DROP COLUMN billing_data_expected_by;
ALTER TABLE invites DROP COLUMN billing_data_through;
ALTER TABLE invites DROP COLUMN billing_data_last_report;
ALTER TABLE invites DROP COLUMN billing_data_state;
DROP TABLE cur_feeds;
