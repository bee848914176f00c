package web

import (
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

// Two pages of one set each render their own content, head and prose
// body around the one shared layout; a helper both define, or a page
// without content, fails the start with the names involved.
func TestRendererOneSet(t *testing.T) {
	page := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	pages := fstest.MapFS{
		"templates/pages/alpha.html":  page(`{{define "head"}}<meta name="alpha">{{end}}{{define "content"}}<p>alpha {{.Title}}</p>{{template "shared" .}}{{end}}`),
		"templates/pages/beta.html":   page(`{{define "content"}}{{template "prose" .}}{{end}}{{define "body"}}<p>beta body</p>{{end}}`),
		"templates/partials/one.html": page(`{{define "shared"}}<p>shared</p>{{end}}`),
	}
	r, err := NewRenderer(pages)
	if err != nil {
		t.Fatal(err)
	}
	i18n, err := NewI18n(Messages)
	if err != nil {
		t.Fatal(err)
	}
	render := func(name string) string {
		w := httptest.NewRecorder()
		p := &Page{Lang: "it", Title: "Titolo " + name, Chrome: &Chrome{}, i18n: i18n}
		if err := r.Render(w, 200, name, p); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return w.Body.String()
	}
	a, b := render("alpha"), render("beta")
	if !strings.Contains(a, `<meta name="alpha">`) || !strings.Contains(a, "<p>alpha Titolo alpha</p><p>shared</p>") || strings.Contains(a, "beta body") {
		t.Errorf("alpha:\n%s", a)
	}
	if !strings.Contains(b, "<h1>Titolo beta</h1>") || !strings.Contains(b, "<p>beta body</p>") || strings.Contains(b, "alpha") {
		t.Errorf("beta:\n%s", b)
	}
	if !r.Has("alpha") || r.Has("shared") || r.Has("content") {
		t.Error("Has names pages only")
	}
	for name, bad := range map[string]fstest.MapFS{
		"a helper in two pages": {
			"templates/pages/alpha.html": page(`{{define "content"}}{{end}}{{define "helper"}}a{{end}}`),
			"templates/pages/beta.html":  page(`{{define "content"}}{{end}}{{define "helper"}}b{{end}}`),
		},
		"a page redefining a partial": {
			"templates/pages/alpha.html":  page(`{{define "content"}}{{end}}{{define "shared"}}a{{end}}`),
			"templates/partials/one.html": page(`{{define "shared"}}<p>shared</p>{{end}}`),
		},
		"a page redefining the layout's": {
			"templates/pages/alpha.html": page(`{{define "content"}}{{end}}{{define "footer"}}a{{end}}`),
		},
		"no content": {
			"templates/pages/alpha.html": page(`{{define "body"}}a{{end}}`),
		},
	} {
		if _, err := NewRenderer(bad); err == nil {
			t.Errorf("%s: no error", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}
