package web

import (
	"html/template"
	"net/url"
	"strings"
	"testing"
)

// A pager written by Go code is the bytes the shared "pager" template
// writes, in every language, on the first, a middle and the last page and
// a list of one page, with and without a label and classes, keeping
// filters full of what must be escaped (but a +, which html/template
// writes &#43;: the same character once the attribute is read).
func TestPagerWriteIsTheTemplate(t *testing.T) {
	i18n, err := NewI18n(Messages)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := template.Must(template.New("").Funcs(funcs).ParseFS(layoutFS, "templates/pager.html"))
	queries := []url.Values{nil, {"q": {`<script>"x" & 'y'`}, "anno": {"2026"}}}
	n := 0
	for _, lang := range Languages {
		p := &Page{Lang: lang, Static: "/static", i18n: i18n}
		for _, q := range queries {
			for _, total := range []int{0, 5, 25, 60} {
				for page := 1; page <= 3; page++ {
					for _, lc := range [][2]string{{"", ""}, {"payments.mine.paid", "mt-3"}, {"pager.label", `a" onclick="x`}} {
						g := NewPager("/area-personale/pagamenti", q, "pagati", page, total, 10)
						args := map[string]any{"P": p, "G": g}
						if lc[0] != "" {
							args["Label"], args["Class"] = lc[0], lc[1]
						}
						var want strings.Builder
						if err := tmpl.ExecuteTemplate(&want, "pager", args); err != nil {
							t.Fatal(err)
						}
						var m Markup
						g.Write(&m, p, lc[0], lc[1])
						// html/template writes a + as &#43;, Markup as it is:
						// the same character to the browser.
						if got := string(m.HTML()); got != strings.ReplaceAll(want.String(), "&#43;", "+") {
							t.Errorf("%s %v page %d of %d %v:\n got: %q\nwant: %q", lang, q, page, total, lc, got, want.String())
						}
						n++
					}
				}
			}
		}
	}
	if n != len(Languages)*2*4*3*3 {
		t.Errorf("%d cases", n)
	}
}
