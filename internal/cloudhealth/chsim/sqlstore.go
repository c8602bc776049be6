package chsim

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// NewSQLStore keeps the accounts in the chsim_accounts table of the service's migrations, so that several processes
// on one database (or a restarted one) share them. The same statements run on PostgreSQL and SQLite (whose driver
// binds $n to the n-th argument as PostgreSQL does); every change is one upsert or one conditional update, atomic on its own row.
func NewSQLStore(db *sql.DB) Store { return &sqlStore{db: db} }

type sqlStore struct{ db *sql.DB }

// The API's id is the row's sequence number moved to CloudHealth's range.
const idOffset = firstID - 1

const accountColumns = `seq, name, owner_id, payer_account_id, level, last_update, external_id, role_arn, created_at, updated_at`

func (s *sqlStore) put(ctx context.Context, accounts []Account) (err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("chsim: begin: %w", err)
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, tx.Rollback())
		}
	}()
	for _, a := range accounts {
		_, err := tx.ExecContext(ctx, `INSERT INTO chsim_accounts (name, owner_id, payer_account_id, level, last_update,
role_arn, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (owner_id) DO UPDATE SET
payer_account_id = EXCLUDED.payer_account_id, level = EXCLUDED.level, last_update = EXCLUDED.last_update,
updated_at = EXCLUDED.updated_at,
role_arn = CASE WHEN chsim_accounts.role_arn = '' THEN EXCLUDED.role_arn ELSE chsim_accounts.role_arn END`,
			a.Name, a.OwnerID, a.PayerAccountID, a.Level, a.LastUpdate, a.RoleArn, a.CreatedAt, a.UpdatedAt)
		if err != nil {
			return fmt.Errorf("chsim: put account %s: %w", a.OwnerID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("chsim: commit: %w", err)
	}
	return nil
}

func (s *sqlStore) page(ctx context.Context, offset, limit int) ([]Account, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+accountColumns+` FROM chsim_accounts ORDER BY seq LIMIT $1 OFFSET $2`,
		limit, offset)
	if err != nil {
		return nil, fmt.Errorf("chsim: list accounts: %w", err)
	}
	defer rows.Close()
	var out []Account
	for rows.Next() {
		var a Account
		if err := scanAccount(rows, &a); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("chsim: list accounts: %w", err)
	}
	return out, nil
}

func (s *sqlStore) get(ctx context.Context, id int64) (Account, bool, error) {
	var a Account
	err := scanAccount(s.db.QueryRowContext(ctx, `SELECT `+accountColumns+` FROM chsim_accounts WHERE seq = $1`, id-idOffset), &a)
	if errors.Is(err, sql.ErrNoRows) {
		return Account{}, false, nil
	}
	return a, err == nil, err
}

// externalID sets the id only where none is set, so that of two processes asking at once the second finds the
// first's, in the same statement.
func (s *sqlStore) externalID(ctx context.Context, id int64, fresh string) (string, bool, error) {
	var ext string
	err := s.db.QueryRowContext(ctx, `UPDATE chsim_accounts SET external_id = CASE WHEN external_id = '' THEN $1
ELSE external_id END WHERE seq = $2 RETURNING external_id`, fresh, id-idOffset).Scan(&ext)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "", false, nil
	case err != nil:
		return "", false, fmt.Errorf("chsim: external id of %d: %w", id, err)
	}
	return ext, true, nil
}

func scanAccount(sc interface{ Scan(...any) error }, a *Account) error {
	var seq int64
	err := sc.Scan(&seq, &a.Name, &a.OwnerID, &a.PayerAccountID, &a.Level, (*dbTime)(&a.LastUpdate), &a.ExternalID,
		&a.RoleArn, (*dbTime)(&a.CreatedAt), (*dbTime)(&a.UpdatedAt))
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return err
		}
		return fmt.Errorf("chsim: read account: %w", err)
	}
	a.ID = seq + idOffset
	return nil
}

// dbTime reads a timestamp column as UTC on both drivers (pgx gives the session's zone).
type dbTime time.Time

func (d *dbTime) Scan(v any) error {
	t, ok := v.(time.Time)
	if !ok {
		return fmt.Errorf("chsim: cannot read a time from %T", v)
	}
	*d = dbTime(t.UTC())
	return nil
}
