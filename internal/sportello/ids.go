package sportello

import "github.com/civico-pa/civico/internal/token"

// ValidID reports whether s has the shape of the ids civico makes
// (token.ID): anything else is refused before it reaches a query.
var ValidID = token.ValidID
