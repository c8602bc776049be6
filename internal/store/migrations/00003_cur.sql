-- Cost and Usage Report detection: where each payer's report lives, what each scan found per usage account, and
-- the invite's view of it. Placeholders as in 00001.

-- +goose Up
ALTER TABLE billing_profiles ADD COLUMN cur_bucket TEXT NOT NULL DEFAULT '';
ALTER TABLE billing_profiles ADD COLUMN cur_prefix TEXT NOT NULL DEFAULT '';
ALTER TABLE billing_profiles ADD COLUMN cur_report TEXT NOT NULL DEFAULT '';
ALTER TABLE billing_profiles ADD COLUMN cur_format TEXT NOT NULL DEFAULT '';

ALTER TABLE invites ADD COLUMN cur_period TEXT NOT NULL DEFAULT '';
ALTER TABLE invites ADD COLUMN cur_line_items BIGINT NOT NULL DEFAULT 0;
ALTER TABLE invites ADD COLUMN cur_cost TEXT NOT NULL DEFAULT '';
ALTER TABLE invites ADD COLUMN cur_first_usage {{.Time}};
ALTER TABLE invites ADD COLUMN cur_last_usage {{.Time}};
ALTER TABLE invites ADD COLUMN cur_period_first_seen {{.Time}};

-- The newest report version scanned per payer and billing period: a version already scanned is not read again.
CREATE TABLE cur_scans (
    payer          TEXT NOT NULL,
    billing_period TEXT NOT NULL,
    version_id     TEXT NOT NULL,
    accounts       INTEGER NOT NULL,
    line_items     BIGINT NOT NULL,
    scanned_at     {{.Time}} NOT NULL,
    PRIMARY KEY (payer, billing_period)
);

-- Per payer, billing period and usage account: what the newest scan found, and when the account was first seen.
CREATE TABLE cur_account_usage (
    payer             TEXT NOT NULL,
    billing_period    TEXT NOT NULL,
    account_id        TEXT NOT NULL,
    line_items        BIGINT NOT NULL,
    unblended_cost    TEXT NOT NULL,
    first_usage_start {{.Time}},
    last_usage_start  {{.Time}},
    first_seen_at     {{.Time}} NOT NULL,
    updated_at        {{.Time}} NOT NULL,
    PRIMARY KEY (payer, billing_period, account_id)
);

-- +goose Down
DROP TABLE cur_account_usage;
DROP TABLE cur_scans;
ALTER TABLE invites DROP COLUMN cur_period_first_seen;
ALTER TABLE invites DROP COLUMN cur_last_usage;
ALTER TABLE invites DROP COLUMN cur_first_usage;
ALTER TABLE invites DROP COLUMN cur_cost;
ALTER TABLE invites DROP COLUMN cur_line_items;
ALTER TABLE invites DROP COLUMN cur_period;
ALTER TABLE billing_profiles DROP COLUMN cur_format;
ALTER TABLE billing_profiles DROP COLUMN cur_report;
ALTER TABLE billing_profiles DROP COLUMN cur_prefix;
ALTER TABLE billing_profiles DROP COLUMN cur_bucket;
