package attachments

import (
	"embed"
	"io/fs"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations are the tables of package attachments (see db.Source).
var Migrations, _ = fs.Sub(migrationFiles, "migrations")

// Messages are the translations of the reasons an upload is refused.
//
//go:embed locales
var Messages embed.FS
