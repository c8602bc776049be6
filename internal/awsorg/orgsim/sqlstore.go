package orgsim

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

// NewSQLStore keeps the world in the orgsim_* tables of the service's migrations, so that several processes on one
// database (or a restarted one) share it. The same statements run on PostgreSQL (pgx's database/sql driver) and
// on SQLite (the glebarez driver binds $n to the n-th argument as PostgreSQL does; internal/store TestPlaceholdersBindByNumber). On PostgreSQL an operation locks the row of
// each organization it changes; SQLite has one writer at a time, so db must begin its transactions with BEGIN
// IMMEDIATE (so that one that reads, then writes, waits instead of failing) and, to wait in Go rather than in
// SQLite's busy loop, hold a single connection, never used by anything else while a transaction is open.
func NewSQLStore(db *sql.DB) World { return &sqlStore{db: db} }

type sqlStore struct{ db *sql.DB }

// The row types are the one declaration of their tables' columns: the statements below take their column lists,
// placeholders, scan targets and update sets from them (internal/sqlcols explains the tags). Each has the fields
// of the domain type it stores, with the same names and types in the same order, so that Go converts one into the
// other and a field added to the domain type does not compile until its column is declared; only orgsim_accounts,
// whose key Account does not hold, is converted field by field.

type orgRow struct {
	MgmtID    string    `gorm:"column:mgmt_id"`
	ID        string    `gorm:"column:org_id"`
	CreatedAt time.Time `gorm:"column:created_at"`
}

type memberRow struct {
	AccountID    string    `gorm:"column:account_id;<-:create"`
	MgmtID       string    `gorm:"column:mgmt_id"`
	JoinedMethod string    `gorm:"column:joined_method"`
	JoinedAt     time.Time `gorm:"column:joined_at"`
}

type accountRow struct {
	AccountID       string `gorm:"column:account_id;<-:create"`
	Name            string `gorm:"column:name"`
	Email           string `gorm:"column:email"`
	State           string `gorm:"column:state"`
	EmailUnverified bool   `gorm:"column:email_unverified"`
	InviteRefusal   string `gorm:"column:invite_refusal"`
}

// handshakeRow is a handshake and when it is purged: purge_at is written for the purge and the listings' filter,
// and never read back (purgeAt derives it).
type handshakeRow struct {
	H       handshakeColumns `gorm:"embedded"`
	PurgeAt time.Time        `gorm:"column:purge_at;->:false;<-"`
}

// handshakeColumns hold a handshake's fields. An update writes only its state and end (and purge_at).
type handshakeColumns struct {
	Seq           int64     `gorm:"column:seq;<-:false"`
	ID            string    `gorm:"column:id;<-:create"`
	Action        string    `gorm:"column:action;<-:create"`
	MgmtID        string    `gorm:"column:mgmt_id;<-:create"`
	OrgID         string    `gorm:"column:org_id;<-:create"`
	AccountID     string    `gorm:"column:account_id;<-:create"`
	Notes         string    `gorm:"column:notes;<-:create"`
	State         string    `gorm:"column:state"`
	RequestedAt   time.Time `gorm:"column:requested_at;<-:create"`
	EndedAt       time.Time `gorm:"column:ended_at;default:null"`
	Expires       time.Time `gorm:"column:expires_at;<-:create;default:null"`
	TransferID    string    `gorm:"column:transfer_id;<-:create"`
	TransferStart time.Time `gorm:"column:transfer_start;<-:create;default:null"`
}

// transferRow is a responsibility transfer. An update writes its status and end.
type transferRow struct {
	Seq         int64     `gorm:"column:seq;<-:false"`
	ID          string    `gorm:"column:id;<-:create"`
	Name        string    `gorm:"column:name;<-:create"`
	Type        string    `gorm:"column:type;<-:create"`
	SourceID    string    `gorm:"column:source_id;<-:create"`
	TargetID    string    `gorm:"column:target_id;<-:create"`
	Status      string    `gorm:"column:status"`
	HandshakeID string    `gorm:"column:handshake_id;<-:create"`
	StartAt     time.Time `gorm:"column:start_at;<-:create"`
	EndAt       time.Time `gorm:"column:end_at;default:null"`
	ExpiresAt   time.Time `gorm:"column:expires_at;<-:create"`
	CreatedAt   time.Time `gorm:"column:created_at;<-:create"`
}

var (
	orgTable       = sqlcols.Of[orgRow]()
	memberTable    = sqlcols.Of[memberRow]()
	accountTable   = sqlcols.Of[accountRow]()
	handshakeTable = sqlcols.Of[handshakeRow]()
	transferTable  = sqlcols.Of[transferRow]()
)

func (r orgRow) domain() org             { return org(r) }
func (r memberRow) domain() member       { return member(r) }
func (r handshakeRow) domain() handshake { return handshake(r.H) }
func (r transferRow) domain() transfer   { return transfer(r) }

func accountRowOf(id string, a Account) accountRow {
	return accountRow{AccountID: id, Name: a.Name, Email: a.Email, State: a.State, EmailUnverified: a.EmailUnverified,
		InviteRefusal: a.InviteRefusal}
}

func (r accountRow) domain() Account {
	return Account{Name: r.Name, Email: r.Email, State: r.State, EmailUnverified: r.EmailUnverified, InviteRefusal: r.InviteRefusal}
}

// handshakeRowOf is the row that stores h: with its expiry as expiresAt tells it, and its purge.
func handshakeRowOf(h handshake) handshakeRow {
	c := handshakeColumns(h)
	c.Expires = h.expiresAt()
	return handshakeRow{H: c, PurgeAt: h.purgeAt()}
}

func (s *sqlStore) transact(ctx context.Context, fn func(tx) error) (err error) {
	t, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("orgsim: begin: %w", err)
	}
	if err := fn(&sqlTx{ctx: ctx, tx: t}); err != nil {
		return errors.Join(err, t.Rollback())
	}
	if err := t.Commit(); err != nil {
		return fmt.Errorf("orgsim: commit: %w", err)
	}
	return nil
}

// sqlTx runs each step as one statement of the transaction; its context is the call's.
type sqlTx struct {
	ctx context.Context
	tx  *sql.Tx
}

func (t *sqlTx) exec(query string, args ...any) error {
	if _, err := t.tx.ExecContext(t.ctx, query, args...); err != nil {
		return fmt.Errorf("orgsim: %w", err)
	}
	return nil
}

// one scans the single row of a query; ok is false when there is none.
func (t *sqlTx) one(query string, args []any, dest ...any) (bool, error) {
	err := t.tx.QueryRowContext(t.ctx, query, args...).Scan(dest...)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("orgsim: %w", err)
	}
	return true, nil
}

func (t *sqlTx) count(query string, args ...any) (int, error) {
	var n int
	_, err := t.one(query, args, &n)
	return n, err
}

// queryOne reads the row of a query of c's columns as its domain value; found is false when there is none.
func queryOne[R interface{ domain() T }, T any](t *sqlTx, c sqlcols.Columns[R], query string, args ...any) (T, bool, error) {
	r, found, err := c.ScanOne(t.tx.QueryRowContext(t.ctx, query, args...))
	if err != nil {
		return r.domain(), false, fmt.Errorf("orgsim: %w", err)
	}
	return r.domain(), found, nil
}

// queryAll reads every row of a query of c's columns as its domain value.
func queryAll[R interface{ domain() T }, T any](t *sqlTx, c sqlcols.Columns[R], query string, args ...any) ([]T, error) {
	rows, err := c.ScanAll(t.tx.QueryContext(t.ctx, query, args...))
	if err != nil {
		return nil, fmt.Errorf("orgsim: %w", err)
	}
	var out []T
	for _, r := range rows {
		out = append(out, r.domain())
	}
	return out, nil
}

// An upsert that rewrites the row with itself takes the row's lock on PostgreSQL, creating the row if needed, in
// one statement that cannot miss a row being created or deleted by another transaction.
var lockOrgSQL = orgTable.Insert("orgsim_organizations") +
	" ON CONFLICT (mgmt_id) DO UPDATE SET org_id = orgsim_organizations.org_id RETURNING " + orgTable.List

var (
	addOrgSQL = orgTable.Insert("orgsim_organizations") + " ON CONFLICT (mgmt_id) DO NOTHING"
	orgSQL    = orgTable.Select("orgsim_organizations") + " WHERE mgmt_id = $1"
)

// newOrgArgs are the values of the organization managed by mgmt as a call at now creates it.
func newOrgArgs(mgmt string, now time.Time) []any {
	return orgTable.InsertArgs(orgRow(org{MgmtID: mgmt, ID: orgIDFor(mgmt), CreatedAt: now}))
}

func (t *sqlTx) lockOrg(mgmt string, now time.Time) (org, error) {
	o, _, err := queryOne(t, orgTable, lockOrgSQL, newOrgArgs(mgmt, now)...)
	return o, err
}

func (t *sqlTx) org(mgmt string, now time.Time) (org, error) {
	if err := t.exec(addOrgSQL, newOrgArgs(mgmt, now)...); err != nil {
		return org{}, err
	}
	o, ok, err := queryOne(t, orgTable, orgSQL, mgmt)
	if err == nil && !ok {
		// Deleted by a transaction that committed in between: locking waits for that one instead.
		return t.lockOrg(mgmt, now)
	}
	return o, err
}

func (t *sqlTx) deleteOrg(mgmt string) error {
	if err := t.exec(`DELETE FROM orgsim_members WHERE mgmt_id = $1`, mgmt); err != nil {
		return err
	}
	return t.exec(`DELETE FROM orgsim_organizations WHERE mgmt_id = $1`, mgmt)
}

var (
	memberSQL      = memberTable.Select("orgsim_members") + " WHERE account_id = $1"
	putMemberSQL   = memberTable.Insert("orgsim_members") + sqlcols.OnConflictUpdate("account_id", memberTable.Updatable...)
	listMembersSQL = memberTable.Select("orgsim_members") +
		" WHERE mgmt_id = $1 AND account_id > $2 ORDER BY mgmt_id, account_id LIMIT $3"
)

func (t *sqlTx) member(account string) (member, bool, error) {
	return queryOne(t, memberTable, memberSQL, account)
}

func (t *sqlTx) putMember(m member) error {
	return t.exec(putMemberSQL, memberTable.InsertArgs(memberRow(m))...)
}

func (t *sqlTx) deleteMember(mgmt, account string) error {
	return t.exec(`DELETE FROM orgsim_members WHERE account_id = $1 AND mgmt_id = $2`, account, mgmt)
}

func (t *sqlTx) countMembers(mgmt string, limit int) (int, error) {
	return t.count(`SELECT count(*) FROM (SELECT 1 FROM orgsim_members WHERE mgmt_id = $1 LIMIT $2) AS m`, mgmt, limit)
}

func (t *sqlTx) listMembers(mgmt, afterAccount string, limit int) ([]member, error) {
	return queryAll(t, memberTable, listMembersSQL, mgmt, afterAccount, limit)
}

var (
	accountSQL    = accountTable.Select("orgsim_accounts") + " WHERE account_id = $1"
	putAccountSQL = accountTable.Insert("orgsim_accounts") + sqlcols.OnConflictUpdate("account_id", accountTable.Updatable...)
	addAccountSQL = accountTable.Insert("orgsim_accounts") + " ON CONFLICT (account_id) DO NOTHING"
)

func (t *sqlTx) account(id string) (Account, bool, error) {
	return queryOne(t, accountTable, accountSQL, id)
}

func (t *sqlTx) putAccount(id string, a Account) error {
	return t.exec(putAccountSQL, accountTable.InsertArgs(accountRowOf(id, a))...)
}

func (t *sqlTx) addAccount(id string, a Account) (bool, error) {
	res, err := t.tx.ExecContext(t.ctx, addAccountSQL, accountTable.InsertArgs(accountRowOf(id, a))...)
	if err != nil {
		return false, fmt.Errorf("orgsim: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

var (
	selectHandshakes   = handshakeTable.Select("orgsim_handshakes") + " WHERE "
	insertHandshakeSQL = handshakeTable.Insert("orgsim_handshakes") + " RETURNING seq"
	updateHandshakeSQL = handshakeTable.Update("orgsim_handshakes", "id")
)

func (t *sqlTx) handshake(id string) (handshake, bool, error) {
	return queryOne(t, handshakeTable, selectHandshakes+`id = $1`, id)
}

func (t *sqlTx) openHandshake(mgmt, action, account string) (handshake, bool, error) {
	return queryOne(t, handshakeTable, selectHandshakes+`mgmt_id = $1 AND action = $2 AND account_id = $3 AND state = 'OPEN'`,
		mgmt, action, account)
}

// The statements below are planned once and run with many values (the PostgreSQL driver prepares them, and the
// server may settle on a generic plan). Each therefore orders by what its index holds, so that walking that index
// from one end, and stopping at the limit, is the plan even when the values are unknown: without the ORDER BY, a
// generic plan of the counts scans the whole table. The quotas count invitations only; the few transfer
// handshakes among the rows of their indexes are filtered out on the way.

func (t *sqlTx) countOpen(mgmt string, since time.Time, limit int) (int, error) {
	return t.count(`SELECT count(*) FROM (SELECT 1 FROM orgsim_handshakes
WHERE mgmt_id = $1 AND state = 'OPEN' AND requested_at > $2 AND action = 'INVITE' ORDER BY requested_at DESC LIMIT $3) AS h`,
		mgmt, since, limit)
}

func (t *sqlTx) countUnaccepted(mgmt string, since time.Time, limit int) (int, error) {
	return t.count(`SELECT count(*) FROM (SELECT 1 FROM orgsim_handshakes
WHERE mgmt_id = $1 AND state <> 'ACCEPTED' AND requested_at > $2 AND action = 'INVITE' ORDER BY requested_at DESC LIMIT $3) AS h`,
		mgmt, since, limit)
}

func (t *sqlTx) listHandshakes(mgmt, action string, afterSeq int64, now time.Time, limit int) ([]handshake, error) {
	if action != "" {
		return queryAll(t, handshakeTable, selectHandshakes+`mgmt_id = $1 AND action = $2 AND seq > $3 AND purge_at > $4
ORDER BY mgmt_id, action, seq LIMIT $5`, mgmt, action, afterSeq, now, limit)
	}
	return queryAll(t, handshakeTable, selectHandshakes+`mgmt_id = $1 AND seq > $2 AND purge_at > $3
ORDER BY mgmt_id, seq LIMIT $4`, mgmt, afterSeq, now, limit)
}

func (t *sqlTx) insertHandshake(h *handshake) error {
	_, err := t.one(insertHandshakeSQL, handshakeTable.InsertArgs(handshakeRowOf(*h)), &h.Seq)
	return err
}

func (t *sqlTx) updateHandshake(h handshake) error {
	return t.exec(updateHandshakeSQL, append(handshakeTable.UpdateArgs(handshakeRowOf(h)), h.ID)...)
}

// purge finds the rows first and deletes them by key: a DELETE with the same subquery gets a generic plan that
// scans the table to join with it.
func (t *sqlTx) purge(mgmt string, now time.Time, limit int) error {
	rows, err := t.tx.QueryContext(t.ctx, `SELECT seq FROM orgsim_handshakes WHERE mgmt_id = $1 AND purge_at <= $2
ORDER BY purge_at LIMIT $3`, mgmt, now, limit)
	if err != nil {
		return fmt.Errorf("orgsim: %w", err)
	}
	var seqs []any
	var marks []string
	for rows.Next() {
		var seq int64
		if err := rows.Scan(&seq); err != nil {
			rows.Close()
			return fmt.Errorf("orgsim: %w", err)
		}
		seqs = append(seqs, seq)
		marks = append(marks, "$"+strconv.Itoa(len(seqs)))
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return fmt.Errorf("orgsim: %w", err)
	}
	if len(seqs) == 0 {
		return nil
	}
	return t.exec(`DELETE FROM orgsim_handshakes WHERE seq IN (`+strings.Join(marks, ", ")+`)`, seqs...)
}

var (
	selectTransfers   = transferTable.Select("orgsim_transfers") + " WHERE "
	insertTransferSQL = transferTable.Insert("orgsim_transfers") + " RETURNING seq"
	updateTransferSQL = transferTable.Update("orgsim_transfers", "id")
)

func (t *sqlTx) transfer(id string) (transfer, bool, error) {
	return queryOne(t, transferTable, selectTransfers+`id = $1`, id)
}

func (t *sqlTx) insertTransfer(r *transfer) error {
	_, err := t.one(insertTransferSQL, transferTable.InsertArgs(transferRow(*r)), &r.Seq)
	return err
}

func (t *sqlTx) updateTransfer(r transfer) error {
	return t.exec(updateTransferSQL, append(transferTable.UpdateArgs(transferRow(r)), r.ID)...)
}

func (t *sqlTx) liveTransfers(source string, since time.Time) ([]transfer, error) {
	return queryAll(t, transferTable, selectTransfers+`source_id = $1 AND (status IN ('REQUESTED', 'ACCEPTED')
OR (status = 'WITHDRAWN' AND end_at > $2)) ORDER BY source_id, seq`, source, since)
}

func (t *sqlTx) listTransfers(side, account string, afterSeq int64, limit int) ([]transfer, error) {
	if side == "target" {
		return queryAll(t, transferTable, selectTransfers+`target_id = $1 AND seq > $2 ORDER BY target_id, seq LIMIT $3`,
			account, afterSeq, limit)
	}
	return queryAll(t, transferTable, selectTransfers+`source_id = $1 AND seq > $2 ORDER BY source_id, seq LIMIT $3`,
		account, afterSeq, limit)
}
