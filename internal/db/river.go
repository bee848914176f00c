package db

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
)

// River is the driver of the job queue (river, package jobs) for this
// database: which one is a dialect difference, so it is chosen here.
//
// Both work on the transactions features already hold (*sql.Tx), so a
// job inserted in a feature's transaction commits with it or not at all.
//
//   - SQLite: riversqlite over the one writer connection. River runs many
//     small statements from several goroutines; through the writer they
//     queue in Go behind the features' writes instead of failing with
//     SQLITE_BUSY, and every river transaction is BEGIN IMMEDIATE like
//     theirs. (river's own advice for SQLite is a pool of one connection:
//     the writer is that.) Another process on the same file waits on
//     busy_timeout like any writer.
//   - PostgreSQL: riverdatabasesql over the same pool as everything else
//     (pgx's database/sql driver), with river's listener on a pgx pool
//     opened from the same URL: LISTEN/NOTIFY wakes a process's workers
//     as soon as another inserts a job, and elects a new leader as soon as
//     one resigns, instead of at the next poll. riverpgxv5 would take only
//     pgx's own transactions (pgx.Tx), which civico's database/sql
//     transactions are not.
func (d *DB) River() (riverdriver.Driver[*sql.Tx], error) {
	if d.Dialect == SQLite {
		return riversqlite.New(d.write), nil
	}
	d.listenOnce.Do(func() {
		cfg, err := pgxpool.ParseConfig(d.target.URL)
		if err != nil {
			d.listenErr = fmt.Errorf("PostgreSQL URL: %w", err)
			return
		}
		// Each river client takes one connection for LISTEN and keeps it
		// (river hijacks it from the pool); nothing else uses the pool.
		cfg.MinConns, cfg.MaxConns = 0, 2
		d.listen, d.listenErr = pgxpool.NewWithConfig(context.Background(), cfg)
	})
	if d.listenErr != nil {
		return nil, d.listenErr
	}
	return riverdatabasesql.NewWithPgxListener(d.write, d.listen), nil
}

// MigrateRiver brings river's schema up to version, as a step of Migrate
// (tx is the migration's transaction, which holds the migration lock).
//
// On SQLite river's migrations run in tx, so they commit with civico's or
// not at all. On PostgreSQL they cannot: river adds a value to an enum in
// one version and uses it in a later one, which PostgreSQL allows only
// once the first has committed. There river's migrator runs each version
// in a transaction of its own, on another connection, while tx holds the
// lock: no other process migrates meanwhile, and should civico's
// transaction then fail, river's versions stay applied and are recorded by
// river (river_migration), so the next run finds nothing left to do.
func (d *DB) MigrateRiver(ctx context.Context, tx *sql.Tx, version int) error {
	drv, err := d.River()
	if err != nil {
		return err
	}
	m, err := rivermigrate.New(drv, &rivermigrate.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	opts := &rivermigrate.MigrateOpts{TargetVersion: version}
	if d.Dialect == SQLite {
		//lint:ignore SA1019 MigrateTx is deprecated for PostgreSQL's sake (above); on SQLite one transaction is right
		_, err = m.MigrateTx(ctx, tx, rivermigrate.DirectionUp, opts)
		return err
	}
	_, err = m.Migrate(ctx, rivermigrate.DirectionUp, opts)
	return err
}
