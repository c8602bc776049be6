package orgsim

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// NewSQLStore keeps the world in the orgsim_* tables of the service's migrations, so that several processes on one
// database (or a restarted one) share it. The same statements run on PostgreSQL (pgx's database/sql driver) and
// on SQLite (the glebarez driver binds $n to the n-th argument as PostgreSQL does; internal/store TestPlaceholdersBindByNumber). On PostgreSQL an operation locks the row of
// each organization it changes; SQLite has one writer at a time, so db must begin its transactions with BEGIN
// IMMEDIATE (so that one that reads, then writes, waits instead of failing) and, to wait in Go rather than in
// SQLite's busy loop, hold a single connection, never used by anything else while a transaction is open.
func NewSQLStore(db *sql.DB) Store { return &sqlStore{db: db} }

type sqlStore struct{ db *sql.DB }

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

// An upsert that rewrites the row with itself takes the row's lock on PostgreSQL, creating the row if needed, in
// one statement that cannot miss a row being created or deleted by another transaction.
const lockOrgSQL = `INSERT INTO orgsim_organizations (mgmt_id, org_id, created_at) VALUES ($1, $2, $3)
ON CONFLICT (mgmt_id) DO UPDATE SET org_id = orgsim_organizations.org_id RETURNING created_at`

func (t *sqlTx) lockOrg(mgmt string, now time.Time) (org, error) {
	o := org{MgmtID: mgmt, ID: orgIDFor(mgmt)}
	_, err := t.one(lockOrgSQL, []any{mgmt, o.ID, now}, (*dbTime)(&o.CreatedAt))
	return o, err
}

func (t *sqlTx) org(mgmt string, now time.Time) (org, error) {
	o := org{MgmtID: mgmt, ID: orgIDFor(mgmt)}
	err := t.exec(`INSERT INTO orgsim_organizations (mgmt_id, org_id, created_at) VALUES ($1, $2, $3)
ON CONFLICT (mgmt_id) DO NOTHING`, mgmt, o.ID, now)
	if err != nil {
		return o, err
	}
	ok, err := t.one(`SELECT created_at FROM orgsim_organizations WHERE mgmt_id = $1`, []any{mgmt}, (*dbTime)(&o.CreatedAt))
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

func (t *sqlTx) member(account string) (member, bool, error) {
	m := member{AccountID: account}
	ok, err := t.one(`SELECT mgmt_id, joined_method, joined_at FROM orgsim_members WHERE account_id = $1`,
		[]any{account}, &m.MgmtID, &m.JoinedMethod, (*dbTime)(&m.JoinedAt))
	return m, ok, err
}

func (t *sqlTx) putMember(m member) error {
	return t.exec(`INSERT INTO orgsim_members (account_id, mgmt_id, joined_method, joined_at) VALUES ($1, $2, $3, $4)
ON CONFLICT (account_id) DO UPDATE SET mgmt_id = EXCLUDED.mgmt_id, joined_method = EXCLUDED.joined_method,
joined_at = EXCLUDED.joined_at`, m.AccountID, m.MgmtID, m.JoinedMethod, m.JoinedAt)
}

func (t *sqlTx) deleteMember(mgmt, account string) error {
	return t.exec(`DELETE FROM orgsim_members WHERE account_id = $1 AND mgmt_id = $2`, account, mgmt)
}

func (t *sqlTx) countMembers(mgmt string, limit int) (int, error) {
	return t.count(`SELECT count(*) FROM (SELECT 1 FROM orgsim_members WHERE mgmt_id = $1 LIMIT $2) AS m`, mgmt, limit)
}

func (t *sqlTx) account(id string) (Account, bool, error) {
	var a Account
	ok, err := t.one(`SELECT name, email, state, email_unverified, invite_refusal FROM orgsim_accounts
WHERE account_id = $1`, []any{id}, &a.Name, &a.Email, &a.State, &a.EmailUnverified, &a.InviteRefusal)
	return a, ok, err
}

const accountColumns = `(account_id, name, email, state, email_unverified, invite_refusal) VALUES ($1, $2, $3, $4, $5, $6)`

func (t *sqlTx) putAccount(id string, a Account) error {
	return t.exec(`INSERT INTO orgsim_accounts `+accountColumns+` ON CONFLICT (account_id) DO UPDATE SET
name = EXCLUDED.name, email = EXCLUDED.email, state = EXCLUDED.state, email_unverified = EXCLUDED.email_unverified,
invite_refusal = EXCLUDED.invite_refusal`, id, a.Name, a.Email, a.State, a.EmailUnverified, a.InviteRefusal)
}

func (t *sqlTx) addAccount(id string, a Account) (bool, error) {
	res, err := t.tx.ExecContext(t.ctx, `INSERT INTO orgsim_accounts `+accountColumns+` ON CONFLICT (account_id) DO NOTHING`,
		id, a.Name, a.Email, a.State, a.EmailUnverified, a.InviteRefusal)
	if err != nil {
		return false, fmt.Errorf("orgsim: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (t *sqlTx) listMembers(mgmt, afterAccount string, limit int) ([]member, error) {
	rows, err := t.tx.QueryContext(t.ctx, `SELECT account_id, mgmt_id, joined_method, joined_at FROM orgsim_members
WHERE mgmt_id = $1 AND account_id > $2 ORDER BY mgmt_id, account_id LIMIT $3`, mgmt, afterAccount, limit)
	if err != nil {
		return nil, fmt.Errorf("orgsim: %w", err)
	}
	defer rows.Close()
	var out []member
	for rows.Next() {
		var m member
		if err := rows.Scan(&m.AccountID, &m.MgmtID, &m.JoinedMethod, (*dbTime)(&m.JoinedAt)); err != nil {
			return nil, fmt.Errorf("orgsim: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("orgsim: %w", err)
	}
	return out, nil
}

const handshakeColumns = `seq, id, action, mgmt_id, org_id, account_id, notes, state, requested_at, ended_at, expires_at,
transfer_id, transfer_start`

func scanHandshake(sc interface{ Scan(...any) error }, h *handshake) error {
	return sc.Scan(&h.Seq, &h.ID, &h.Action, &h.MgmtID, &h.OrgID, &h.AccountID, &h.Notes, &h.State,
		(*dbTime)(&h.RequestedAt), (*dbTime)(&h.EndedAt), (*dbTime)(&h.Expires), &h.TransferID, (*dbTime)(&h.TransferStart))
}

func (t *sqlTx) oneHandshake(where string, args ...any) (handshake, bool, error) {
	var h handshake
	err := scanHandshake(t.tx.QueryRowContext(t.ctx, `SELECT `+handshakeColumns+` FROM orgsim_handshakes WHERE `+where, args...), &h)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return h, false, nil
	case err != nil:
		return h, false, fmt.Errorf("orgsim: %w", err)
	}
	return h, true, nil
}

func (t *sqlTx) handshake(id string) (handshake, bool, error) {
	return t.oneHandshake(`id = $1`, id)
}

func (t *sqlTx) openHandshake(mgmt, action, account string) (handshake, bool, error) {
	return t.oneHandshake(`mgmt_id = $1 AND action = $2 AND account_id = $3 AND state = 'OPEN'`, mgmt, action, account)
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
	query := `SELECT ` + handshakeColumns + ` FROM orgsim_handshakes
WHERE mgmt_id = $1 AND seq > $2 AND purge_at > $3 ORDER BY mgmt_id, seq LIMIT $4`
	args := []any{mgmt, afterSeq, now, limit}
	if action != "" {
		query = `SELECT ` + handshakeColumns + ` FROM orgsim_handshakes
WHERE mgmt_id = $1 AND action = $2 AND seq > $3 AND purge_at > $4 ORDER BY mgmt_id, action, seq LIMIT $5`
		args = []any{mgmt, action, afterSeq, now, limit}
	}
	rows, err := t.tx.QueryContext(t.ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("orgsim: %w", err)
	}
	defer rows.Close()
	var out []handshake
	for rows.Next() {
		var h handshake
		if err := scanHandshake(rows, &h); err != nil {
			return nil, fmt.Errorf("orgsim: %w", err)
		}
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("orgsim: %w", err)
	}
	return out, nil
}

func (t *sqlTx) insertHandshake(h *handshake) error {
	_, err := t.one(`INSERT INTO orgsim_handshakes (id, action, mgmt_id, org_id, account_id, notes, state, requested_at,
ended_at, purge_at, expires_at, transfer_id, transfer_start) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
RETURNING seq`,
		[]any{h.ID, h.Action, h.MgmtID, h.OrgID, h.AccountID, h.Notes, h.State, h.RequestedAt, nullTime(h.EndedAt), h.purgeAt(),
			h.expiresAt(), h.TransferID, nullTime(h.TransferStart)}, &h.Seq)
	return err
}

func (t *sqlTx) updateHandshake(h handshake) error {
	return t.exec(`UPDATE orgsim_handshakes SET state = $1, ended_at = $2, purge_at = $3 WHERE id = $4`,
		h.State, nullTime(h.EndedAt), h.purgeAt(), h.ID)
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

const transferColumns = `seq, id, name, type, source_id, target_id, status, handshake_id, start_at, end_at, expires_at,
created_at`

func scanTransfer(sc interface{ Scan(...any) error }, r *transfer) error {
	return sc.Scan(&r.Seq, &r.ID, &r.Name, &r.Type, &r.SourceID, &r.TargetID, &r.Status, &r.HandshakeID,
		(*dbTime)(&r.StartAt), (*dbTime)(&r.EndAt), (*dbTime)(&r.ExpiresAt), (*dbTime)(&r.CreatedAt))
}

func (t *sqlTx) transfers(query string, args ...any) ([]transfer, error) {
	rows, err := t.tx.QueryContext(t.ctx, `SELECT `+transferColumns+` FROM orgsim_transfers WHERE `+query, args...)
	if err != nil {
		return nil, fmt.Errorf("orgsim: %w", err)
	}
	defer rows.Close()
	var out []transfer
	for rows.Next() {
		var r transfer
		if err := scanTransfer(rows, &r); err != nil {
			return nil, fmt.Errorf("orgsim: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("orgsim: %w", err)
	}
	return out, nil
}

func (t *sqlTx) transfer(id string) (transfer, bool, error) {
	rs, err := t.transfers(`id = $1`, id)
	if err != nil || len(rs) == 0 {
		return transfer{}, false, err
	}
	return rs[0], true, nil
}

func (t *sqlTx) insertTransfer(r *transfer) error {
	_, err := t.one(`INSERT INTO orgsim_transfers (id, name, type, source_id, target_id, status, handshake_id, start_at,
end_at, expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING seq`,
		[]any{r.ID, r.Name, r.Type, r.SourceID, r.TargetID, r.Status, r.HandshakeID, r.StartAt, nullTime(r.EndAt), r.ExpiresAt,
			r.CreatedAt}, &r.Seq)
	return err
}

func (t *sqlTx) updateTransfer(r transfer) error {
	return t.exec(`UPDATE orgsim_transfers SET status = $1, end_at = $2 WHERE id = $3`, r.Status, nullTime(r.EndAt), r.ID)
}

func (t *sqlTx) liveTransfers(source string, since time.Time) ([]transfer, error) {
	return t.transfers(`source_id = $1 AND (status IN ('REQUESTED', 'ACCEPTED') OR (status = 'WITHDRAWN' AND end_at > $2))
ORDER BY source_id, seq`, source, since)
}

func (t *sqlTx) listTransfers(side, account string, afterSeq int64, limit int) ([]transfer, error) {
	if side == "target" {
		return t.transfers(`target_id = $1 AND seq > $2 ORDER BY target_id, seq LIMIT $3`, account, afterSeq, limit)
	}
	return t.transfers(`source_id = $1 AND seq > $2 ORDER BY source_id, seq LIMIT $3`, account, afterSeq, limit)
}

func nullTime(t time.Time) sql.NullTime { return sql.NullTime{Time: t, Valid: !t.IsZero()} }

// dbTime scans a timestamp column on both drivers: pgx gives a time.Time in the session's zone, SQLite gives a
// time.Time where it knows the column's declared type and text elsewhere (a RETURNING clause). NULL is zero.
type dbTime time.Time

func (d *dbTime) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		*d = dbTime{}
	case time.Time:
		*d = dbTime(v.UTC())
	case string:
		return d.parse(v)
	case []byte:
		return d.parse(string(v))
	default:
		return fmt.Errorf("orgsim: cannot read a time from %T", v)
	}
	return nil
}

// sqliteTime is how the SQLite driver writes a time.Time.
const sqliteTime = "2006-01-02 15:04:05.999999999-07:00"

func (d *dbTime) parse(s string) error {
	t, err := time.Parse(sqliteTime, s)
	if err != nil {
		return fmt.Errorf("orgsim: read a time: %w", err)
	}
	*d = dbTime(t.UTC())
	return nil
}
