package db

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestClip(t *testing.T) {
	for _, c := range []struct {
		s    string
		n    int
		want string
	}{
		{"", 3, ""},
		{"abc", 3, "abc"},
		{"abcd", 3, "abc"},
		{"abc", 0, ""},
		{"abc", -1, ""},
		{"città", 4, "citt"},
		{"città", 5, "citt"}, // "à" is two bytes: not half of it
		{"città", 6, "città"},
		{"€uro", 2, ""},
		{"€uro", 3, "€"},
		{"a😀b", 4, "a"},
		{"a😀b", 5, "a😀"},
		// Whatever the input, text comes out.
		{"500 \xff", 10, "500 \uFFFD"},
		{"a\x00b", 10, "a\x00b"},
		{"\xe2\x82", 10, "\uFFFD"},
		{"ab\xff", 3, "ab"},
	} {
		if got := Clip(c.s, c.n); got != c.want {
			t.Errorf("Clip(%q, %d) = %q, want %q", c.s, c.n, got, c.want)
		}
	}
	long := strings.Repeat("è", 300)
	for n := range 601 {
		got := Clip(long, n)
		if !utf8.ValidString(got) || len(got) > n || len(got) < n-1 {
			t.Fatalf("Clip(è×300, %d) is %d bytes, valid %v", n, len(got), utf8.ValidString(got))
		}
	}
}

func TestCleanText(t *testing.T) {
	for _, c := range []struct {
		s    string
		n    int
		want string
	}{
		{"ottobre.csv", 200, "ottobre.csv"},
		{"\xffottobre\xfe.csv", 200, "ottobre.csv"},
		{"otto\x00bre\r\n.csv", 200, "ottobre.csv"},
		{"città\x00.csv", 5, "citt"},
		{"\x00\x01", 10, ""},
		{"500 \xff\x00 errore", 200, "500  errore"},
	} {
		if got := CleanText(c.s, c.n); got != c.want {
			t.Errorf("CleanText(%q, %d) = %q, want %q", c.s, c.n, got, c.want)
		}
	}
}
