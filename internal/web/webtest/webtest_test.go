package webtest

import (
	"fmt"
	"strings"
	"testing"
)

func TestDiff(t *testing.T) {
	long := strings.Repeat("a", 100)
	for _, c := range []struct{ got, want, diff string }{
		{"same", "same", ""},
		{"abXd", "abcd", "4 bytes, want 4; first difference at byte 2:\n got: \"abXd\"\nwant: \"abcd\""},
		{"abc", "abcd", "3 bytes, want 4; first difference at byte 3:\n got: \"abc\"\nwant: \"abcd\""},
		{long + "X" + long, long + "Y" + long, fmt.Sprintf("201 bytes, want 201; first difference at byte 100:\n got: …%q…\nwant: …%q…",
			strings.Repeat("a", 60)+"X"+strings.Repeat("a", 59), strings.Repeat("a", 60)+"Y"+strings.Repeat("a", 59))},
	} {
		if d := Diff(c.got, c.want); d != c.diff {
			t.Errorf("Diff(%q, %q) =\n%s\nwant\n%s", c.got, c.want, d, c.diff)
		}
	}
}

// recorder is a testing.TB that keeps the errors reported.
type recorder struct {
	testing.TB
	got []string
}

func (e *recorder) Helper()                      {}
func (e *recorder) Errorf(f string, args ...any) { e.got = append(e.got, fmt.Sprintf(f, args...)) }

func TestUndefined(t *testing.T) {
	app, x := NewApp(t)
	p := Page(app, "en", "/", "")
	for _, id := range []string{"layout.home", "no.such.id", "skipped.id", `<script>alert("x")</script>`} {
		p.T(id)
	}
	e := &recorder{TB: t}
	Undefined(e, x, func(id string) bool { return id == "skipped.id" })
	if len(e.got) != 1 || e.got[0] != "undefined message en no.such.id" {
		t.Errorf("reported %q, want the undefined no.such.id alone", e.got)
	}
}
