package web

import (
	"embed"
	"io/fs"
)

// Messages are the translations of the shell itself (layout, error pages).
//
//go:embed locales
var Messages embed.FS

// Layout exposes the shared templates, for checks over every template.
func Layout() fs.FS { return layoutFS }
