package content

import (
	"embed"
	"io/fs"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations are the tables of package content (see db.Source).
var Migrations, _ = fs.Sub(migrationFiles, "migrations")
