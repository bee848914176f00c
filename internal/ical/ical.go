// Package ical writes iCalendar (RFC 5545) text: the escaping of values
// and the folding of long lines, which every calendar feed civico serves
// needs.
package ical

import "strings"

// Escape escapes a TEXT value (RFC 5545, 3.3.11).
func Escape(s string) string {
	return strings.NewReplacer(`\`, `\\`, ";", `\;`, ",", `\,`, "\r\n", `\n`, "\n", `\n`, "\r", `\n`).Replace(s)
}

// Line ends a content line with CRLF, folding it at 75 octets without
// splitting a UTF-8 character.
func Line(s string) string {
	var b strings.Builder
	n := 0
	for _, r := range s {
		size := len(string(r))
		if n+size > 75 {
			b.WriteString("\r\n ")
			n = 1
		}
		b.WriteRune(r)
		n += size
	}
	b.WriteString("\r\n")
	return b.String()
}

// UTC is the form of an instant in a DTSTART, DTEND or DTSTAMP.
const UTC = "20060102T150405Z"
