package jobs

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"

	"github.com/riverqueue/river/rivermigrate"

	"github.com/civico-pa/civico/internal/db"
)

// Migrations are river's schema as steps of civico's migrations, in
// civico's one sequence of versions: `civico migrate` (and serve at
// start) builds it with everything else, under the same lock
// (db.DB.MigrateRiver says how on each engine). Each step takes river's
// schema to a version of river's own; when an upgrade of river brings new
// versions, a new step takes the schema there (TestRiverSchemaIsComplete
// fails until it does).
var Migrations = []db.Step{
	{Version: 50, Name: "river_schema", Apply: riverTo(8)},
}

// Tables are river's tables, which belong to this package.
var Tables = []string{"river_job", "river_leader", "river_queue", "river_migration", "river_notification"}

func riverTo(version int) func(ctx context.Context, d *db.DB, tx *sql.Tx) error {
	return func(ctx context.Context, d *db.DB, tx *sql.Tx) error { return d.MigrateRiver(ctx, tx, version) }
}

// Check says whether river's schema is complete for the river this civico
// is built with: Start refuses to work on one that is not.
func Check(ctx context.Context, d *db.DB) error {
	drv, err := d.River()
	if err != nil {
		return err
	}
	m, err := rivermigrate.New(drv, &rivermigrate.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	res, err := m.Validate(ctx, nil)
	if err != nil {
		return fmt.Errorf("job queue: check river's schema: %w", err)
	}
	if !res.OK {
		return fmt.Errorf("job queue: river's schema is not up to date (%v): run `civico migrate`; if it still is not, this civico lacks a migration step for its river (package jobs)", res.Messages)
	}
	return nil
}
