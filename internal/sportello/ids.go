package sportello

import "strings"

// ValidID reports whether s has the shape of the ids civico makes
// (token.ID: 32 lower-case hex characters): anything else is refused
// before it reaches a query.
func ValidID(s string) bool {
	return len(s) == 32 && strings.Trim(s, "0123456789abcdef") == ""
}
