package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/cloudreseller/aws-invites/internal/pglock"
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

// migratePostgres holds the migration lock (waiting, not polling, for the replica that holds it) while it
// migrates through the pool's other connections.
func migratePostgres[TTx any](ctx context.Context, pool *pgxpool.Pool, driver riverdriver.Driver[TTx], log *slog.Logger) (err error) {
	release, err := pglock.Hold(ctx, pool, pglock.ID(MigrationLockID))
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, release()) }()
	return migrateUp(ctx, driver, log)
}
