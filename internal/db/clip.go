package db

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// IsText tells whether s is what PostgreSQL takes in a text column or a
// text parameter: UTF-8 without NUL (it refuses the rest; SQLite keeps it).
// It is also what a browser sends from a page's links and forms.
func IsText(s string) bool { return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 }

// Clip is s cut to at most n bytes at the start of a character, and UTF-8
// whatever s was (bytes that are not become U+FFFD). PostgreSQL refuses
// text that is not UTF-8 (SQLite keeps it), so a cut inside a character
// would fail the write there. A NUL is kept (the audit log keeps it,
// escaped in JSON): text from outside that goes to a text column as it
// is goes through CleanText.
func Clip(s string, n int) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
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

// CleanText is text from outside (an uploaded file's name, a remote
// server's error) as a bounded text column keeps it: Clip, after dropping
// bytes that are not UTF-8 and control characters (NUL among them, which
// PostgreSQL refuses in text).
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
