package store

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"testing/fstest"
	"text/template"

	"github.com/pressly/goose/v3"

	"github.com/cloudreseller/aws-invites/internal/pglock"
)

// migrationFiles are written once for both dialects; the few types that differ are template placeholders.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// sqlTypes fills the placeholders of the migration files for one dialect.
type sqlTypes struct {
	Time     string // a timestamp; SQLite's declared type must be TIMESTAMP for the driver to read back time.Time
	ID       string // an auto-increment primary key column type
	Bytes    string
	Postgres bool // for the rare statement only one dialect needs ({{if .Postgres}} ... {{end}})
}

// MigrationLockID keys the PostgreSQL advisory lock Migrate holds (visible in pg_locks while it runs). Advisory
// locks are per database, so other databases on the server are unaffected.
const MigrationLockID int64 = 0x6177_7369_6e76 // "awsinv"

// Migrate brings the schema up to date. On PostgreSQL it holds an advisory lock for the whole run, so replicas
// that start together on an empty database apply each migration exactly once; the others wait and then find
// nothing to do. (goose's own session locker is not enough: Up first checks for pending migrations without the
// lock, and its replicas race to create the version table.)
func (s *Store) Migrate(ctx context.Context) (err error) {
	fsys, err := renderMigrations(s.dialect)
	if err != nil {
		return err
	}
	if s.pool != nil {
		unlock, lerr := pglock.Hold(ctx, s.pool, pglock.ID(MigrationLockID))
		if lerr != nil {
			return fmt.Errorf("store: migration lock: %w", lerr)
		}
		defer func() { err = errors.Join(err, unlock()) }()
	}
	p, err := goose.NewProvider(s.dialect.goose, s.sqlDB, fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("store: prepare migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("store: migrate %s: %w", s.dialect.name, err)
	}
	return nil
}

// MigrationVersion returns the newest applied migration version (0 on an empty database).
func (s *Store) MigrationVersion(ctx context.Context) (int64, error) {
	fsys, err := renderMigrations(s.dialect)
	if err != nil {
		return 0, err
	}
	p, err := goose.NewProvider(s.dialect.goose, s.sqlDB, fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return 0, fmt.Errorf("store: prepare migrations: %w", err)
	}
	v, err := p.GetDBVersion(ctx)
	if err != nil {
		return 0, fmt.Errorf("store: read migration version: %w", err)
	}
	return v, nil
}

// renderMigrations returns the migration files with the dialect's types filled in, as goose reads them.
func renderMigrations(dialect sqlDialect) (fs.FS, error) {
	types := dialect.types
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return nil, fmt.Errorf("store: list migrations: %w", err)
	}
	out := fstest.MapFS{}
	for _, name := range names {
		src, err := fs.ReadFile(migrationFiles, name)
		if err != nil {
			return nil, fmt.Errorf("store: read migration %s: %w", name, err)
		}
		tmpl, err := template.New(name).Option("missingkey=error").Parse(string(src))
		if err != nil {
			return nil, fmt.Errorf("store: parse migration %s: %w", name, err)
		}
		var buf bytes.Buffer
		if err := tmpl.Execute(&buf, types); err != nil {
			return nil, fmt.Errorf("store: render migration %s: %w", name, err)
		}
		out[name[len("migrations/"):]] = &fstest.MapFile{Data: buf.Bytes(), Mode: 0o444}
	}
	return out, nil
}
