package area

import (
	"embed"
	"io/fs"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations are the tables of package area (see db.Source).
var Migrations, _ = fs.Sub(migrationFiles, "migrations")
