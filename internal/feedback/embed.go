package feedback

import "embed"

// Templates and Messages are the back-office results page and its texts.
//
//go:embed templates
var Templates embed.FS

//go:embed locales
var Messages embed.FS
