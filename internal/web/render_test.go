package web

import (
	"net/http/httptest"
	"strconv"
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

// A localized renderer writes the same bytes as the plain one, in every
// language and in every context html/template escapes differently (text,
// attribute, URL, script, style), for messages full of what each context
// must escape; actions that are not a bare literal translation (with
// arguments, in a pipeline, of a computed id) are left to T.
func TestLocalizedRendererWritesTheSamePage(t *testing.T) {
	page := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	hostile := `<b>"Tom" & 'Jerry'</b> </script> javascript:alert(1) {{.X}}`
	msgs := fstest.MapFS{
		"locales/it.json": page(`{"t.hostile": ` + strconv.Quote(hostile) + `, "t.args": "Ciao {{.Name}}", "t.plain": "Ciao"}`),
		"locales/en.json": page(`{"t.hostile": ` + strconv.Quote(hostile+" en") + `, "t.args": "Hello {{.Name}}", "t.plain": "Hello"}`),
	}
	src := `{{define "content"}}<p>{{.T "t.hostile"}}</p><p title="{{.T "t.hostile"}}">{{- .T "t.plain" -}}</p>` +
		`<a href="/x?q={{.T "t.hostile"}}">{{$.T "t.plain"}}</a><a href="{{.T "t.hostile"}}">u</a>` +
		`<script>var s = {{.T "t.hostile"}};</script><div style="content: '{{.T "t.hostile"}}'"></div>` +
		`<p>{{.T "t.args" "Name" "<i>Ada</i>"}} {{.T "t.plain" | printf "%s!"}} {{.T (printf "t.%s" "plain")}} {{.T "t.missing"}}</p>` +
		`{{range $i, $x := .Breadcrumb}}<p>{{$.T "t.plain"}}</p>{{end}}{{end}}`
	pages := fstest.MapFS{"templates/pages/alpha.html": page(src)}
	i18n, err := NewI18n(Messages, msgs)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := NewRenderer(pages)
	if err != nil {
		t.Fatal(err)
	}
	localized, err := NewLocalizedRenderer(i18n, pages)
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range Languages {
		render := func(r *Renderer) string {
			w := httptest.NewRecorder()
			p := &Page{Lang: lang, Title: "Titolo", Chrome: &Chrome{}, i18n: i18n, Breadcrumb: []Crumb{{Label: "a"}, {Label: "b"}}}
			if err := r.Render(w, 200, "alpha", p); err != nil {
				t.Fatalf("%s: %v", lang, err)
			}
			return w.Body.String()
		}
		want, got := render(plain), render(localized)
		if got != want {
			t.Errorf("%s: the localized page differs\n got: %s\nwant: %s", lang, got, want)
		}
		if !strings.Contains(got, "&lt;b&gt;&#34;Tom&#34; &amp; &#39;Jerry&#39;&lt;/b&gt;") {
			t.Errorf("%s: the message is not escaped as text:\n%s", lang, got)
		}
	}
	if n := len(literalAction.FindAllString(src, -1)); n != 10 {
		t.Errorf("%d literal translations found in the page, want 10", n)
	}
}
