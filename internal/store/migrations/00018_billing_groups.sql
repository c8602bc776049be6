-- AWS Billing Conductor (issue 20): a billing profile may name a billing group of its payer (platform
-- administrators); each invite keeps its account's place in that group: the group, the state (pending, associated,
-- problem, removed), when AWS accepted the association, and the problem AWS answered, with since when.
-- Placeholders as in 00001.

-- +goose Up
ALTER TABLE billing_profiles ADD COLUMN billing_group_arn TEXT NOT NULL DEFAULT '';
ALTER TABLE invites ADD COLUMN billing_group_arn TEXT NOT NULL DEFAULT '';
ALTER TABLE invites ADD COLUMN billing_group_state TEXT NOT NULL DEFAULT '';
ALTER TABLE invites ADD COLUMN billing_group_associated_at {{.Time}};
ALTER TABLE invites ADD COLUMN billing_group_problem_code TEXT NOT NULL DEFAULT '';
ALTER TABLE invites ADD COLUMN billing_group_problem_detail TEXT NOT NULL DEFAULT '';
ALTER TABLE invites ADD COLUMN billing_group_problem_since {{.Time}};

-- +goose Down
ALTER TABLE invites DROP COLUMN billing_group_problem_since;
ALTER TABLE invites DROP COLUMN billing_group_problem_detail;
ALTER TABLE invites DROP COLUMN billing_group_problem_code;
ALTER TABLE invites DROP COLUMN billing_group_associated_at;
ALTER TABLE invites DROP COLUMN billing_group_state;
ALTER TABLE invites DROP COLUMN billing_group_arn;
ALTER TABLE billing_profiles DROP COLUMN billing_group_arn;
