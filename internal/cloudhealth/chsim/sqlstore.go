package chsim

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/cloudreseller/aws-invites/internal/sqlcols"
)

// NewSQLStore keeps the accounts in the chsim_accounts table of the service's migrations, so that several processes
// on one database (or a restarted one) share them. The same statements run on PostgreSQL and SQLite (whose driver
// binds $n to the n-th argument as PostgreSQL does); every change is one upsert or one conditional update, atomic on its own row.
func NewSQLStore(db *sql.DB) World { return &sqlStore{db: db} }

type sqlStore struct{ db *sql.DB }

// accountRow is the one declaration of chsim_accounts' columns: the statements below take their column lists,
// placeholders and scan targets from it (internal/sqlcols explains the tags). It has Account's fields, with the
// same names and types in the same order, so that Go converts one into the other and a field added to Account does
// not compile until its column is declared.
type accountRow struct {
	ID             int64     `gorm:"column:seq;<-:false"` // the row's sequence number: the API's id less idOffset
	Name           string    `gorm:"column:name"`
	OwnerID        string    `gorm:"column:owner_id"`
	PayerAccountID string    `gorm:"column:payer_account_id"`
	Level          string    `gorm:"column:level"`
	LastUpdate     time.Time `gorm:"column:last_update"`
	ExternalID     string    `gorm:"column:external_id;<-:update"` // given by externalID, never by put
	RoleArn        string    `gorm:"column:role_arn"`
	CreatedAt      time.Time `gorm:"column:created_at"`
	UpdatedAt      time.Time `gorm:"column:updated_at"`
}

var accountTable = sqlcols.Of[accountRow]()

// The API's id is the row's sequence number moved to CloudHealth's range.
const idOffset = firstID - 1

func (r accountRow) domain() Account {
	r.ID += idOffset
	return Account(r)
}

// putSQL creates an account or, for an owner CloudHealth knows, updates its status and update times; it keeps the
// name and creation time, and the role unless it has none yet.
var putSQL = accountTable.Insert("chsim_accounts") +
	sqlcols.OnConflictUpdate("owner_id", "payer_account_id", "level", "last_update", "updated_at") +
	", role_arn = CASE WHEN chsim_accounts.role_arn = '' THEN EXCLUDED.role_arn ELSE chsim_accounts.role_arn END"

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
		if _, err := tx.ExecContext(ctx, putSQL, accountTable.InsertArgs(accountRow(a))...); err != nil {
			return fmt.Errorf("chsim: put account %s: %w", a.OwnerID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("chsim: commit: %w", err)
	}
	return nil
}

var (
	pageSQL = accountTable.Select("chsim_accounts") + " ORDER BY seq LIMIT $1 OFFSET $2"
	getSQL  = accountTable.Select("chsim_accounts") + " WHERE seq = $1"
)

func (s *sqlStore) page(ctx context.Context, offset, limit int) ([]Account, error) {
	rows, err := accountTable.ScanAll(s.db.QueryContext(ctx, pageSQL, limit, offset))
	if err != nil {
		return nil, fmt.Errorf("chsim: list accounts: %w", err)
	}
	var out []Account
	for _, r := range rows {
		out = append(out, r.domain())
	}
	return out, nil
}

func (s *sqlStore) get(ctx context.Context, id int64) (Account, bool, error) {
	r, found, err := accountTable.ScanOne(s.db.QueryRowContext(ctx, getSQL, id-idOffset))
	switch {
	case err != nil:
		return Account{}, false, fmt.Errorf("chsim: read account %d: %w", id, err)
	case !found:
		return Account{}, false, nil
	}
	return r.domain(), true, nil
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
