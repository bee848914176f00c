package db

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

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

// CleanText is a name a client chose (an uploaded file's) as a bounded
// column keeps it: bytes that are not UTF-8 and control characters (NUL
// among them, which PostgreSQL refuses) dropped, then Clip to n bytes.
func CleanText(s string, n int) string {
	if utf8.ValidString(s) && !strings.ContainsFunc(s, unicode.IsControl) {
		return Clip(s, n)
	}
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, ""))
	return Clip(s, n)
}

// likeEscaper escapes LIKE's wildcards and its escape character.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// Containing is a LIKE pattern matching text that contains s as typed: its
// % and _ are not wildcards. Use it with LikeEscape after the parameter
// (`col LIKE $1` + LikeEscape), which both engines read the same way.
func Containing(s string) string { return "%" + likeEscaper.Replace(s) + "%" }

// LikeEscape names the escape character Containing uses.
const LikeEscape = ` ESCAPE '\'`
