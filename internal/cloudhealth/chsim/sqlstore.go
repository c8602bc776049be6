package chsim

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cloudreseller/aws-invites/internal/sqlcols"
)

// NewSQLStore keeps the accounts in the chsim_accounts table of the service's migrations, so that several processes
// on one database (or a restarted one) share them. The same statements run on PostgreSQL and SQLite (whose driver
// binds $n to the n-th argument as PostgreSQL does); every change is one transaction of upserts, atomic on its rows.
func NewSQLStore(db *sql.DB) World { return &sqlStore{db: db} }

type sqlStore struct{ db *sql.DB }

// accountRow is the one declaration of chsim_accounts' columns: the statements below take their column lists,
// placeholders and scan targets from it (internal/sqlcols explains the tags). It has Account's fields, with the
// same names and types in the same order, so that Go converts one into the other and a field added to Account does
// not compile until its column is declared. payer_account_id is the simulator's own truth of the account's bill,
// never sent on the wire.
type accountRow struct {
	ID             int64     `gorm:"column:seq;<-:false"` // the row's sequence number: the API's id less idOffset
	Name           string    `gorm:"column:name"`
	OwnerID        string    `gorm:"column:owner_id"`
	PayerAccountID string    `gorm:"column:payer_account_id"`
	Level          string    `gorm:"column:level"`
	LastUpdate     time.Time `gorm:"column:last_update"`
	ExternalID     string    `gorm:"column:external_id"`
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

// putSQL creates an account or, for an owner CloudHealth knows, updates its status, payer and update times; it
// keeps the name and creation time, and the role and external id unless it has none yet.
var putSQL = accountTable.Insert("chsim_accounts") +
	sqlcols.OnConflictUpdate("owner_id", "payer_account_id", "level", "last_update", "updated_at") +
	", role_arn = CASE WHEN chsim_accounts.role_arn = '' THEN EXCLUDED.role_arn ELSE chsim_accounts.role_arn END" +
	", external_id = CASE WHEN chsim_accounts.external_id = '' THEN EXCLUDED.external_id ELSE chsim_accounts.external_id END"

// ensurePayerSQL creates a payer's own record, or makes an existing account with no payer its own payer.
var ensurePayerSQL = accountTable.Insert("chsim_accounts") +
	" ON CONFLICT (owner_id) DO UPDATE SET payer_account_id = CASE WHEN chsim_accounts.payer_account_id = '' " +
	"THEN EXCLUDED.payer_account_id ELSE chsim_accounts.payer_account_id END"

func (s *sqlStore) put(ctx context.Context, accounts, payers []Account) (err error) {
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
	for _, p := range payers {
		if _, err := tx.ExecContext(ctx, ensurePayerSQL, accountTable.InsertArgs(accountRow(p))...); err != nil {
			return fmt.Errorf("chsim: put payer %s: %w", p.OwnerID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("chsim: commit: %w", err)
	}
	return nil
}

var (
	pageSQL  = accountTable.Select("chsim_accounts") + " ORDER BY seq LIMIT $1 OFFSET $2"
	getSQL   = accountTable.Select("chsim_accounts") + " WHERE seq = $1"
	countSQL = "SELECT COUNT(*) FROM chsim_accounts"
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

func (s *sqlStore) count(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, countSQL).Scan(&n); err != nil {
		return 0, fmt.Errorf("chsim: count accounts: %w", err)
	}
	return n, nil
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

// byOwner reads the named accounts and which of them head a bill, in two statements over at most one page's
// payers.
func (s *sqlStore) byOwner(ctx context.Context, owners []string) (map[string]Account, map[string]bool, error) {
	accounts, heads := map[string]Account{}, map[string]bool{}
	if len(owners) == 0 {
		return accounts, heads, nil
	}
	marks := make([]string, len(owners))
	args := make([]any, len(owners))
	for i, o := range owners {
		marks[i], args[i] = "$"+strconv.Itoa(i+1), o
	}
	in := "(" + strings.Join(marks, ", ") + ")"
	rows, err := accountTable.ScanAll(s.db.QueryContext(ctx, accountTable.Select("chsim_accounts")+" WHERE owner_id IN "+in, args...))
	if err != nil {
		return nil, nil, fmt.Errorf("chsim: read payers: %w", err)
	}
	for _, r := range rows {
		accounts[r.OwnerID] = r.domain()
	}
	hr, err := s.db.QueryContext(ctx, "SELECT DISTINCT payer_account_id FROM chsim_accounts WHERE payer_account_id IN "+in+
		" AND payer_account_id <> owner_id", args...)
	if err != nil {
		return nil, nil, fmt.Errorf("chsim: read payers' members: %w", err)
	}
	defer func() { _ = hr.Close() }()
	for hr.Next() {
		var p string
		if err := hr.Scan(&p); err != nil {
			return nil, nil, fmt.Errorf("chsim: read payers' members: %w", err)
		}
		heads[p] = true
	}
	if err := hr.Err(); err != nil {
		return nil, nil, fmt.Errorf("chsim: read payers' members: %w", err)
	}
	return accounts, heads, nil
}
