package db

import "unicode/utf8"

// Clip is s cut to at most n bytes, at the start of a character: what a
// bounded column keeps of a free text (an error's message, an uploaded
// file's name, a search). A cut inside a character would leave bytes that
// are not UTF-8, which PostgreSQL refuses in a text column (and in a LIKE's
// pattern), so the write or the search would fail for a long Italian name
// where an ASCII one passes.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	n = max(n, 0)
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
