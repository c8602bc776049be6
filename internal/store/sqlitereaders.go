package store

import (
	"context"
	"database/sql"
	"strings"

	"gorm.io/gorm"
)

// sqliteReaders is how many connections serve SQLite reads beside the single writing connection.
const sqliteReaders = 4

// readRouter is GORM's connection pool on SQLite: a SELECT outside a transaction goes to reader, a pool of
// read-only connections, and everything else (writes, transactions, and so every read inside one) to writer, the
// single connection. In WAL mode SQLite lets readers proceed while a writer works, and each reader sees what was
// committed when its statement began; with one connection for everything a GET waited behind every write
// transaction of the process (a create's, the simulator's, a job's), which put a mixed load's read p99 at half a
// second.
type readRouter struct {
	writer, reader *sql.DB
}

var (
	_ gorm.ConnPool       = readRouter{}
	_ gorm.TxBeginner     = readRouter{}
	_ gorm.GetDBConnector = readRouter{}
)

// isSelect reports whether query is a plain SELECT, which a read-only connection can answer. Anything else (a
// WITH that might write, an INSERT ... RETURNING, a PRAGMA) goes to the writer.
func isSelect(query string) bool {
	q := strings.TrimLeft(query, " \t\r\n(")
	return len(q) >= 6 && strings.EqualFold(q[:6], "select")
}

func (r readRouter) pick(query string) *sql.DB {
	if isSelect(query) {
		return r.reader
	}
	return r.writer
}

func (r readRouter) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	return r.writer.PrepareContext(ctx, query)
}

func (r readRouter) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return r.writer.ExecContext(ctx, query, args...)
}

func (r readRouter) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return r.pick(query).QueryContext(ctx, query, args...)
}

func (r readRouter) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return r.pick(query).QueryRowContext(ctx, query, args...)
}

func (r readRouter) BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error) {
	return r.writer.BeginTx(ctx, opts)
}

// GetDBConn makes gorm.DB.DB() return the writer, the handle the rest of the store (migrations, Ping, SQLDB) uses.
func (r readRouter) GetDBConn() (*sql.DB, error) { return r.writer, nil }
