package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivermigrate"
)

// Migrate applies River's own schema (river_job, river_leader, ...) up to this River version. On PostgreSQL it
// holds an advisory lock for the whole run: rivermigrate alone fails when several replicas start together on an
// empty database, each trying to create the same tables.
func (r *Runner) Migrate(ctx context.Context) error {
	if err := r.migrate(ctx); err != nil {
		return fmt.Errorf("jobs: migrate River schema: %w", err)
	}
	return nil
}

func migrateUp[TTx any](ctx context.Context, driver riverdriver.Driver[TTx], log *slog.Logger) error {
	// An explicit logger: without one rivermigrate prints every step to stdout.
	m, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: log})
	if err != nil {
		return err
	}
	_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	return err
}

// migratePostgres takes the session advisory lock on a connection of its own, waiting (not polling) for the
// replica that holds it, and migrates through the pool's other connections.
func migratePostgres[TTx any](ctx context.Context, pool *pgxpool.Pool, driver riverdriver.Driver[TTx], log *slog.Logger) (err error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("connection for the migration lock: %w", err)
	}
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", MigrationLockID); err != nil {
		conn.Release()
		return fmt.Errorf("take migration lock: %w", err)
	}
	defer func() {
		var released bool
		uerr := conn.QueryRow(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", MigrationLockID).Scan(&released)
		if uerr == nil && !released {
			uerr = errors.New("the lock was not held")
		}
		if uerr != nil {
			// Never return a connection that may still hold the lock to the pool: closing the session frees it.
			_ = conn.Conn().Close(context.WithoutCancel(ctx))
			err = errors.Join(err, fmt.Errorf("release migration lock: %w", uerr))
		}
		conn.Release()
	}()
	return migrateUp(ctx, driver, log)
}
