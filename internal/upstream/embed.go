package upstream

import (
	"embed"
	"io/fs"
)

// Templates and Messages are the feature's pages and texts.
//
//go:embed templates
var Templates embed.FS

//go:embed locales
var Messages embed.FS

//go:embed migrations
var migrationFiles embed.FS

// Migrations are the feature's tables (see db.Source).
var Migrations, _ = fs.Sub(migrationFiles, "migrations")
