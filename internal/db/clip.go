package db

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Clip is s as a bounded text column keeps it: cut to at most n bytes at
// the start of a character, and text (bytes that are not UTF-8 become
// U+FFFD, a NUL is dropped) whatever s was. PostgreSQL refuses a value
// that is not UTF-8 or holds a NUL (SQLite keeps it), so a cut inside a
// character, or a remote server's message with such bytes, would fail
// the write there: an error kept for a retry, an uploaded file's name, a
// search.
func Clip(s string, n int) string {
	if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
	}
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
// column keeps it: Clip, after dropping bytes that are not UTF-8 and
// control characters.
func CleanText(s string, n int) string {
	if !utf8.ValidString(s) || strings.ContainsFunc(s, unicode.IsControl) {
		s = strings.Map(func(r rune) rune {
			if unicode.IsControl(r) {
				return -1
			}
			return r
		}, strings.ToValidUTF8(s, ""))
	}
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
