package segnala

import "embed"

// Templates, Messages and Migrations are the feature's pages, texts and
// table.
//
//go:embed templates
var Templates embed.FS

//go:embed locales
var Messages embed.FS

//go:embed migrations
var Migrations embed.FS
