package web

// Breadcrumb writes the page's breadcrumb as the layout's template
// "breadcrumb" (templates/layout.html) writes it, for a page whose content
// is written by Go code (breadcrumb_test.go keeps the two the same):
// nothing when the page has none.
func (m *Markup) Breadcrumb(p *Page) {
	if len(p.Breadcrumb) == 0 {
		return
	}
	m.Raw("\n<nav class=\"breadcrumb-container\" aria-label=\"")
	m.Text(p.T("layout.breadcrumb"))
	m.Raw("\">\n  <ol class=\"breadcrumb p-0\" data-element=\"breadcrumb\">\n    <li class=\"breadcrumb-item\"><a href=\"/\">")
	m.Text(p.T("layout.home"))
	m.Raw(`</a><span class="separator">/</span></li>`)
	for _, c := range p.Breadcrumb {
		if c.Href != "" {
			m.Raw("\n    <li class=\"breadcrumb-item\"><a href=\"")
			m.Href(c.Href)
			m.Raw(`">`)
			m.Text(c.Label)
			m.Raw(`</a><span class="separator">/</span></li>`)
		} else {
			m.Raw("\n    <li class=\"breadcrumb-item active\" aria-current=\"page\">")
			m.Text(c.Label)
			m.Raw(`</li>`)
		}
	}
	m.Raw("\n  </ol>\n</nav>\n")
}
