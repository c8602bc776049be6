package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"

	gosqlite "github.com/glebarez/go-sqlite"
	"github.com/jackc/pgx/v5/pgconn"
)

// SQLite's primary result codes of a database another connection holds locked beyond busy_timeout.
const (
	sqliteBusy   = 5
	sqliteLocked = 6
)

// Unavailable reports whether err says that the database could not be reached or went away (no connection, a
// dropped one, a server shutting down, starting up or out of connections, a SQLite file locked beyond the busy
// timeout), rather than that it refused a statement. The request that met it changed nothing and may succeed when
// tried again, which is what a client is told (503), instead of an internal error.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	var connect *pgconn.ConnectError
	if errors.As(err, &connect) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case strings.HasPrefix(pgErr.Code, "08"): // connection exception
			return true
		case pgErr.Code == "57P01", pgErr.Code == "57P02", pgErr.Code == "57P03": // admin or crash shutdown, cannot connect now
			return true
		case pgErr.Code == "53300": // too many connections
			return true
		}
		return false
	}
	var sqErr *gosqlite.Error
	if errors.As(err, &sqErr) {
		code := sqErr.Code() & 0xff // the primary code of an extended one
		return code == sqliteBusy || code == sqliteLocked
	}
	var netErr net.Error
	// A statement still running at its request's deadline: the database did not answer in time (a hung server, or
	// one that is too slow), which the request meets as an unavailable database.
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &netErr) || errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.ErrUnexpectedEOF) ||
		pgconn.SafeToRetry(err)
}
