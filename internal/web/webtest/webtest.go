// Package webtest helps the tests that check a page, or a piece of one,
// written by Go code (web.Markup) against the html/template it replaced,
// kept in the test as it was: the application and its pages in both
// languages, the template functions the kept copies call, and a
// comparison that shows where the bytes part. Only tests import it.
package webtest

import (
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/town"
	"github.com/civico-pa/civico/internal/web"
)

// Languages are the languages the pages are compared in.
var Languages = []string{"it", "en"}

// NewApp is an application with web's messages and those of messages (a
// package's), a town profile on a new SQLite database, the static files
// under /static and a log that writes nothing. It returns the messages
// too, to ask which were undefined (Undefined).
func NewApp(t testing.TB, messages ...fs.FS) (*web.App, *web.I18n) {
	t.Helper()
	x, err := web.NewI18n(append([]fs.FS{web.Messages}, messages...)...)
	if err != nil {
		t.Fatal(err)
	}
	return &web.App{I18n: x, Town: town.NewStore(dbtest.SQLite(t), 0), Static: &web.Static{Prefix: "/static"},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, x
}

// Page is the page of a GET of path asked in lang, titled title.
func Page(app *web.App, lang, path, title string) *web.Page {
	req := httptest.NewRequest("GET", path, nil)
	req.Header.Set("Accept-Language", lang)
	return app.NewPage(req, title)
}

// Funcs are the template functions the kept templates call, as the
// layout defined them.
var Funcs = template.FuncMap{
	"dict": func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	},
	"list":       func(items ...string) []string { return items },
	"localtime":  web.LocalTime,
	"paragraphs": web.Paragraphs,
}

// Pager is the shared "pager" template as internal/web/templates holds it
// now: the kept copies of pages that call it parse it beside them, so a
// change to the pager is compared against the change, not an old copy.
func Pager(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("webtest: cannot find its own source")
	}
	b, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "templates", "pager.html"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Parse parses the kept templates, with Funcs.
func Parse(t testing.TB, text string) *template.Template {
	t.Helper()
	tmpl, err := template.New("").Funcs(Funcs).Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	return tmpl
}

// Execute is what the template name of tmpl writes for data.
func Execute(t testing.TB, tmpl *template.Template, name string, data any) string {
	t.Helper()
	var b strings.Builder
	if err := tmpl.ExecuteTemplate(&b, name, data); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// PlusAsIs is s with the + that html/template writes as &#43; written as
// it is, as web.Markup writes it: the same character to the browser.
func PlusAsIs(s string) string { return strings.ReplaceAll(s, "&#43;", "+") }

// Same reports, as an error of t, that got is not want, and where they
// part (Diff).
func Same(t testing.TB, what, got, want string) bool {
	t.Helper()
	if got == want {
		return true
	}
	t.Errorf("%s: %s", what, Diff(got, want))
	return false
}

// diffContext is how many bytes Diff shows each side of the first that
// differs.
const diffContext = 60

// Diff says where got and want part: the first byte that differs, with
// the bytes around it in each ("" when they are the same).
func Diff(got, want string) string {
	if got == want {
		return ""
	}
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	around := func(s string) string {
		from, to := max(0, i-diffContext), min(len(s), i+diffContext)
		out := fmt.Sprintf("%q", s[from:to])
		if from > 0 {
			out = "…" + out
		}
		if to < len(s) {
			out += "…"
		}
		return out
	}
	return fmt.Sprintf("%d bytes, want %d; first difference at byte %d:\n got: %s\nwant: %s", len(got), len(want), i, around(got), around(want))
}

// Undefined reports, as errors of t, the messages asked for through x
// that are undefined (an undefined one shows as its id, in a template's
// bytes as in Go code's): but for those whose id contains "<script>" (a
// test's hostile value used as an id) and those skip, when not nil,
// accepts.
func Undefined(t testing.TB, x *web.I18n, skip func(id string) bool) {
	t.Helper()
	for _, m := range x.Missing() {
		_, id, _ := strings.Cut(m, " ")
		if !strings.Contains(id, "<script>") && (skip == nil || !skip(id)) {
			t.Errorf("undefined message %s", m)
		}
	}
}
