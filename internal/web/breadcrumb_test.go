package web

import (
	"html/template"
	"strings"
	"testing"
)

// A breadcrumb written by Go code is the bytes the layout's "breadcrumb"
// template writes, in every language, for none, one step and several, with
// and without links, on labels and links full of what must be escaped
// (but a +, which html/template writes &#43;: the same character to the
// browser).
func TestBreadcrumbIsTheTemplate(t *testing.T) {
	i18n, err := NewI18n(Messages)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := template.Must(template.New("").Funcs(funcs).ParseFS(layoutFS, "templates/layout.html"))
	hostile := `<script>alert("x")</script> & 'y' +1`
	crumbs := [][]Crumb{
		nil,
		{{Label: "Profilo"}},
		{{Label: "Area personale", Href: "/area-personale"}, {Label: "Messaggi"}},
		{{Label: hostile, Href: "/cerca?q=" + hostile}, {Label: hostile, Href: "javascript:alert(1)"}, {Label: hostile}},
	}
	n := 0
	for _, lang := range Languages {
		for _, c := range crumbs {
			p := &Page{Lang: lang, Static: "/static", i18n: i18n, Breadcrumb: c}
			var want strings.Builder
			if err := tmpl.ExecuteTemplate(&want, "breadcrumb", p); err != nil {
				t.Fatal(err)
			}
			var m Markup
			m.Breadcrumb(p)
			if got := string(m.HTML()); got != strings.ReplaceAll(want.String(), "&#43;", "+") {
				t.Errorf("%s %v:\n got: %q\nwant: %q", lang, c, got, want.String())
			}
			n++
		}
	}
	if n != len(Languages)*len(crumbs) {
		t.Errorf("%d cases", n)
	}
}
