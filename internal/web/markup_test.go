package web

import (
	"bytes"
	"html"
	"html/template"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestMarkupEscapesAsTheTemplates: whatever a value holds, Text and Href
// write what html/template writes for it in the same place, so a list moved
// from a template to Go code is no less safe.
func TestMarkupEscapesAsTheTemplates(t *testing.T) {
	tmpl := template.Must(template.New("x").Parse(`<a href="{{.}}" title="{{.}}">{{.}}</a>`))
	for _, v := range []string{
		"/area-personale/pagamenti?pagina=2&x=1",
		`"><script>alert(1)</script>`,
		"javascript:alert(1)",
		"JavaScript:alert(1)",
		"data:text/html,<b>",
		"https://example.org/a?b=c&d=e",
		"mailto:urp@comune.example",
		"O'Brien & figli <s.r.l.>",
		"relative/path#frag",
	} {
		var want bytes.Buffer
		if err := tmpl.Execute(&want, v); err != nil {
			t.Fatal(err)
		}
		var m Markup
		m.Raw(`<a href="`)
		m.Href(v)
		m.Raw(`" title="`)
		m.Text(v)
		m.Raw(`">`)
		m.Text(v)
		m.Raw(`</a>`)
		// html/template also percent-encodes what a URL may not hold
		// raw; compare what reaches the browser, the decoded attribute.
		got := string(m.HTML())
		// Only the caller's own markup is markup: one element, two quoted
		// attributes.
		if strings.Count(got, "<") != 2 || strings.Count(got, `"`) != 4 || strings.Count(got, "'") != 0 {
			t.Errorf("%q escaped nothing: %s", v, got)
		}
		if unescapeForCompare(got) != unescapeForCompare(want.String()) {
			t.Errorf("%q:\n got %s\nwant %s", v, got, want.String())
		}
	}
}

func TestMarkupTime(t *testing.T) {
	var m Markup
	m.Time(time.Date(2026, 12, 3, 19, 5, 0, 0, time.UTC))
	if got := string(m.HTML()); got != `<time datetime="2026-12-03T19:05:00Z">03/12/2026 20:05</time>` {
		t.Fatal(got)
	}
}

// unescapeForCompare is what a browser reads: entities decoded, then
// percent-encoding.
func unescapeForCompare(s string) string {
	s = html.UnescapeString(s)
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}
