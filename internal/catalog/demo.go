package catalog

import (
	_ "embed"

	"github.com/civico-pa/civico/internal/hours"
)

//go:embed demo/catalog.json
var demoCatalog []byte

// Demo returns the demo town's offices and services.
func Demo() (*Catalog, error) { return ParseJSON(demoCatalog, hours.Holidays{}) }
