// Package store keeps the domain's billing profiles, invites and their histories, and idempotency records in
// PostgreSQL (production, several replicas) or SQLite (a single embedded process), through GORM. It implements
// invite.Store; its row types never leave the package. Its migrations also create the tables in which the
// sandbox's simulators keep their worlds; the simulators' own SQL stores use them through SQLDB, so that neither
// side imports the other.
package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"go.opentelemetry.io/otel/trace"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"

	"github.com/cloudreseller/aws-invites/internal/invite"
)

// The dialects Open understands, as returned by Dialect.
const (
	DialectPostgres = "postgres"
	DialectSQLite   = "sqlite"
)

// Options tune Open. The zero value is usable.
type Options struct {
	// Logger receives database errors and slow statements at warn level or above; nil discards them.
	// Statements are logged without their parameters.
	Logger *slog.Logger
	// Clock stamps rows whose times the caller left zero; nil means the system clock.
	Clock invite.Clock
	// SlowThreshold is how long a statement may take before it is logged as slow; zero means 500 ms.
	SlowThreshold time.Duration
	// MaxConns caps PostgreSQL connections of this process; zero keeps pgxpool's default (or pool_max_conns in
	// the URL). It is at least 2, because Migrate holds one connection for its lock and works on another.
	// SQLite always uses one connection.
	MaxConns int32
	// ConnectTimeout bounds opening one PostgreSQL connection unless DATABASE_URL sets connect_timeout; zero
	// means 5 s.
	ConnectTimeout time.Duration
	// PayerLeaseTTL is how long a payer's lease lasts without renewal (see LockPayer): how long a payer waits
	// after its holder died. Zero means 30 s; tests shorten it.
	PayerLeaseTTL time.Duration
}

// Store is the database behind the service. It is safe for concurrent use.
type Store struct {
	db      *gorm.DB
	sqlDB   *sql.DB
	readDB  *sql.DB       // SQLite only: the connections of reads outside transactions (see readRouter)
	pool    *pgxpool.Pool // nil on SQLite
	locks   *payerLocks   // this process's holders of payer leases; shared by the store's copies (WithEvents)
	dialect sqlDialect
	clock   invite.Clock
	log     *slog.Logger  // the read path's failed and slow statements (GORM logs its own)
	slow    time.Duration // Options.SlowThreshold
	tracer  trace.Tracer  // spans of the read path's statements (TraceReads); nil: none
	// leaseTTL is Options.PayerLeaseTTL, defaulted.
	leaseTTL time.Duration
	hook     EventHook   // see WithEvents
	encode   ViewEncoder // see WithEvents
}

var _ invite.Store = (*Store)(nil)

// Open connects to the database named by databaseURL: a postgres:// or postgresql:// URL selects PostgreSQL;
// anything else is the path of a SQLite file, created with its parent directory if missing. It does not migrate;
// call Migrate.
func Open(ctx context.Context, databaseURL string, opts Options) (*Store, error) {
	if opts.Clock == nil {
		opts.Clock = invite.SystemClock{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.SlowThreshold == 0 {
		opts.SlowThreshold = 500 * time.Millisecond
	}
	s := &Store{clock: opts.Clock, log: opts.Logger, slow: opts.SlowThreshold, locks: &payerLocks{}, leaseTTL: opts.PayerLeaseTTL}
	if s.leaseTTL <= 0 {
		s.leaseTTL = defaultLeaseTTL
	}
	cfg := &gorm.Config{
		Logger:                 newGormLogger(opts.Logger, opts.SlowThreshold),
		SkipDefaultTransaction: true, // every multi-statement write opens its own transaction explicitly
		NowFunc:                func() time.Time { return s.now() },
	}

	var err error
	if isPostgresURL(databaseURL) {
		err = s.openPostgres(ctx, databaseURL, opts, cfg)
	} else {
		err = s.openSQLite(databaseURL, cfg)
	}
	if err != nil {
		return nil, err
	}
	if err := s.Ping(ctx); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

func isPostgresURL(u string) bool {
	return strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://")
}

func (s *Store) openPostgres(ctx context.Context, databaseURL string, opts Options, cfg *gorm.Config) error {
	pcfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		// The parse error may quote the URL, password included: say only what kind of mistake it is.
		return errors.New("store: invalid PostgreSQL URL")
	}
	if opts.MaxConns > 0 {
		pcfg.MaxConns = opts.MaxConns
	}
	pcfg.MaxConns = max(pcfg.MaxConns, 2)
	if pcfg.ConnConfig.ConnectTimeout == 0 { // not set in the URL: without one a host that drops packets holds a connect for minutes
		pcfg.ConnConfig.ConnectTimeout = cmp.Or(opts.ConnectTimeout, 5*time.Second)
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return fmt.Errorf("store: connect to PostgreSQL: %w", err)
	}
	// GORM and a job engine can share this one pool (see PgxPool), so the process holds a single set of connections.
	sqlDB := stdlib.OpenDBFromPool(pool)
	db, err := gorm.Open(postgres.New(postgres.Config{Conn: sqlDB}), cfg)
	if err != nil {
		_ = sqlDB.Close()
		pool.Close()
		return fmt.Errorf("store: open PostgreSQL: %w", err)
	}
	s.db, s.sqlDB, s.pool, s.dialect = db, sqlDB, pool, postgresDialect
	return nil
}

func (s *Store) openSQLite(path string, cfg *gorm.Config) error {
	if path == "" {
		return errors.New("store: empty database URL")
	}
	if strings.ContainsRune(path, '?') {
		return errors.New("store: a SQLite path must not contain '?'")
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return fmt.Errorf("store: create directory for SQLite database: %w", err)
		}
	}
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	// BEGIN IMMEDIATE takes the write lock when a transaction starts, so a transaction that reads and then writes
	// waits (busy_timeout) instead of failing with SQLITE_BUSY when another process wrote in between.
	q.Set("_txlock", "immediate")
	db, err := gorm.Open(sqlite.Open(path+"?"+q.Encode()), cfg)
	if err != nil {
		return fmt.Errorf("store: open SQLite database %s: %w", path, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return fmt.Errorf("store: open SQLite database %s: %w", path, err)
	}
	// One writing connection: SQLite allows one writer at a time, and a single connection serialises this
	// process's writers in Go instead of in SQLite's busy loop. Nothing here may write through s.db, or read
	// through SQLDB, while holding a transaction.
	sqlDB.SetMaxOpenConns(1)
	sqlDB.SetMaxIdleConns(1)
	sqlDB.SetConnMaxLifetime(0)
	sqlDB.SetConnMaxIdleTime(0)
	s.db, s.sqlDB, s.dialect = db, sqlDB, sqliteDialect
	if path == ":memory:" {
		return nil // every connection would open a database of its own
	}
	// Reads outside transactions have connections of their own (see readRouter); query_only makes a write that
	// reached one fail instead of bypassing the single writer.
	r := url.Values{}
	r.Add("_pragma", "busy_timeout(10000)")
	r.Add("_pragma", "query_only(1)")
	rdb, err := gorm.Open(sqlite.Open(path+"?"+r.Encode()), &gorm.Config{Logger: cfg.Logger})
	if err == nil {
		s.readDB, err = rdb.DB()
	}
	if err != nil {
		_ = sqlDB.Close()
		return fmt.Errorf("store: open SQLite readers %s: %w", path, err)
	}
	s.readDB.SetMaxOpenConns(sqliteReaders)
	s.readDB.SetMaxIdleConns(sqliteReaders)
	s.readDB.SetConnMaxLifetime(0)
	s.readDB.SetConnMaxIdleTime(0)
	router := readRouter{writer: sqlDB, reader: s.readDB}
	db.ConnPool, db.Statement.ConnPool = router, router
	return nil
}

// Close releases the database connections.
func (s *Store) Close() error {
	err := s.sqlDB.Close()
	if s.readDB != nil {
		err = errors.Join(err, s.readDB.Close())
	}
	if s.pool != nil {
		s.pool.Close()
	}
	if err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	return nil
}

// Ping checks that the database answers (for readiness probes).
func (s *Store) Ping(ctx context.Context) error {
	if err := s.sqlDB.PingContext(ctx); err != nil {
		return fmt.Errorf("store: ping %s: %w", s.dialect.name, err)
	}
	return nil
}

// Dialect returns DialectPostgres or DialectSQLite.
func (s *Store) Dialect() string { return s.dialect.name }

// DB returns the GORM handle, for code that must write in the same transaction as the store (a job engine).
func (s *Store) DB() *gorm.DB { return s.db }

// SQLDB returns the database/sql handle under GORM. On SQLite it has a single connection: never use it while a
// transaction of the same Store is open, or both wait forever.
func (s *Store) SQLDB() *sql.DB { return s.sqlDB }

// PgxPool returns the pgx pool under the PostgreSQL handle, or nil on SQLite.
func (s *Store) PgxPool() *pgxpool.Pool { return s.pool }

// now returns the clock's time as stored: UTC, truncated to microseconds.
func (s *Store) now() time.Time { return dbTime(s.clock.Now()) }

// dbTime normalises a time to what both dialects store and read back unchanged: UTC with microsecond precision
// (PostgreSQL's resolution; SQLite keeps text, so it would keep more, but the two must agree).
func dbTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }
