package ical

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestEscape(t *testing.T) {
	if got, want := Escape("a,b;c\\d\ne\r\nf"), `a\,b\;c\\d\ne\nf`; got != want {
		t.Fatalf("Escape = %q, want %q", got, want)
	}
}

func TestLineFoldsAt75OctetsWithoutSplittingCharacters(t *testing.T) {
	s := "DESCRIPTION:" + strings.Repeat("è", 100)
	out := Line(s)
	if !strings.HasSuffix(out, "\r\n") {
		t.Fatal("no CRLF at the end")
	}
	for _, l := range strings.Split(strings.TrimSuffix(out, "\r\n"), "\r\n") {
		if len(l) > 75 || !utf8.ValidString(l) {
			t.Fatalf("line of %d octets, or a split character: %q", len(l), l)
		}
	}
	if got := strings.ReplaceAll(strings.TrimSuffix(out, "\r\n"), "\r\n ", ""); got != s {
		t.Fatal("unfolding does not give the line back")
	}
}
