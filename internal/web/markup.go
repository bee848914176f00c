package web

import (
	"html"
	"html/template"
	"strconv"
	"strings"
	"time"

	"github.com/civico-pa/civico/internal/hours"
)

// Markup is HTML written by Go code, for the long lists of a page that
// html/template makes slow: executing a template reaches every field and
// calls every escaper through reflection, and a list of a few dozen items
// costs ten times what the same bytes cost written here (docs/RENDERING.md).
// The rest of a page stays a template. The rules that keep it as safe as a
// template: markup the caller writes with Raw is a constant of its own
// code; everything else goes through Text (text and quoted attribute
// values) or Href (a link), which escape it.
type Markup struct{ b strings.Builder }

// Grow reserves room for n more bytes.
func (m *Markup) Grow(n int) { m.b.Grow(n) }

// Raw writes markup of the caller's own, never a value from outside.
func (m *Markup) Raw(s string) { m.b.WriteString(s) }

// Text writes s escaped for an element's text or a quoted attribute value.
func (m *Markup) Text(s string) {
	if strings.ContainsAny(s, `<>&'"`) {
		s = html.EscapeString(s)
	}
	m.b.WriteString(s)
}

// Int writes a number.
func (m *Markup) Int(n int) { m.b.WriteString(strconv.Itoa(n)) }

// Href writes a link's address for a quoted href: as html/template does, an
// address with a scheme other than http, https or mailto (javascript:,
// data:...) becomes "#ZgotmplZ", a link to nowhere, and a byte a URL may
// not hold (a space, <, a quote, non-ASCII) is percent-encoded.
func (m *Markup) Href(u string) {
	if !SafeURL(u) {
		u = "#ZgotmplZ"
	}
	m.Text(normalizeURL(u))
}

// normalizeURL percent-encodes what html/template's URL normalizer does:
// every byte but the letters, digits, the URL's reserved and unreserved
// characters and '%' (an escape already written).
func normalizeURL(u string) string {
	i := 0
	for i < len(u) && urlKeeps(u[i]) {
		i++
	}
	if i == len(u) {
		return u
	}
	const hex = "0123456789abcdef"
	var b strings.Builder
	b.Grow(len(u) + 16)
	b.WriteString(u[:i])
	for ; i < len(u); i++ {
		if c := u[i]; urlKeeps(c) {
			b.WriteByte(c)
		} else {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}

func urlKeeps(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$&*+,/:;=?@[]-._~%", c) >= 0
}

// Time writes an instant as a <time> element read on the town's clock.
func (m *Markup) Time(t time.Time) {
	m.b.WriteString(`<time datetime="`)
	m.b.WriteString(t.Format(time.RFC3339))
	m.b.WriteString(`">`)
	m.b.WriteString(LocalTime(t))
	m.b.WriteString(`</time>`)
}

// HTML is what was written, for a template to insert as it is.
func (m *Markup) HTML() template.HTML {
	return template.HTML(m.b.String()) // #nosec G203 -- written by Raw (the caller's constants), Text and Href (escaped)
}

// SafeURL reports whether a link's address is one html/template would keep:
// relative, or with the scheme http, https or mailto.
func SafeURL(u string) bool {
	i := strings.IndexAny(u, ":/?#")
	if i < 0 || u[i] != ':' {
		return true // no scheme
	}
	switch strings.ToLower(u[:i]) {
	case "http", "https", "mailto":
		return true
	}
	return false
}

// LocalTime shows an instant as the town's wall clock reads it (the
// templates' localtime).
func LocalTime(t time.Time) string { return t.In(hours.Rome).Format("02/01/2006 15:04") }

// Paragraphs turns plain text into paragraphs (the templates' paragraphs):
// a blank line separates them, a single newline breaks a line.
func Paragraphs(text string) template.HTML {
	var m Markup
	m.Paragraphs(text)
	return m.HTML()
}

// Paragraphs writes plain text as paragraphs, escaped, as Paragraphs does.
func (m *Markup) Paragraphs(text string) {
	for _, para := range strings.Split(strings.ReplaceAll(strings.TrimSpace(text), "\r\n", "\n"), "\n\n") {
		if para = strings.TrimSpace(para); para == "" {
			continue
		}
		m.b.WriteString("<p>")
		for i, line := range strings.Split(para, "\n") {
			if i > 0 {
				m.b.WriteString("<br>")
			}
			m.b.WriteString(template.HTMLEscapeString(line))
		}
		m.b.WriteString("</p>")
	}
}
