package web

import (
	"net/url"
	"strconv"
)

// Pager is a list's place among its pages, with its neighbours'
// addresses, as the shared "pager" template shows it. Every paginated
// list of the portal uses it.
type Pager struct {
	Page, Pages, Total int
	// Prev and Next are the neighbouring pages' addresses, "" when
	// there is none.
	Prev, Next string
}

// PageTotal is how many items a list has, told by one page of it (n
// items, page from 1, per a page) when it can be (known): a page neither
// full nor empty is the last one, and an empty first page is an empty
// list; a full page, or an empty page past the first, needs a count. Most
// residents' lists fit one page, whose count would cost a statement as
// dear as the page's.
func PageTotal(n, page, per int) (total int, known bool) {
	switch {
	case n > 0 && n < per:
		return (max(page, 1)-1)*per + n, true
	case n == 0 && page <= 1:
		return 0, true
	}
	return 0, false
}

// NewPager is page (from 1) of a list of total items, perPage a page, at
// path; query is the list's other parameters (filters), kept in the
// links, and param the one that carries the page ("pagina" in the
// portal), left out of page 1's address.
func NewPager(path string, query url.Values, param string, page, total, perPage int) Pager {
	p := Pager{Page: page, Pages: max(1, (total+perPage-1)/perPage), Total: total}
	if page > 1 {
		p.Prev = PageLink(path, query, param, page-1)
	}
	if page < p.Pages {
		p.Next = PageLink(path, query, param, page+1)
	}
	return p
}

// PageLink is the address of page n of the list at path: query's
// parameters, in their sorted encoding, with param set to n (absent for
// page 1).
func PageLink(path string, query url.Values, param string, n int) string {
	v := make(url.Values, len(query)+1)
	for k, vals := range query {
		if k != param {
			v[k] = vals
		}
	}
	if n > 1 {
		v.Set(param, strconv.Itoa(n))
	}
	if len(v) == 0 {
		return path
	}
	return path + "?" + v.Encode()
}

// Write writes the pager as the shared "pager" template does, for a list
// written by Go code: a line's end alone when there is one page; label is the
// message id naming the navigation ("" for "pager.label"), class more
// classes of the nav.
func (g Pager) Write(m *Markup, p *Page, label, class string) {
	if g.Pages <= 1 {
		m.Raw("\n")
		return
	}
	if label == "" {
		label = "pager.label"
	}
	m.Raw("\n<nav class=\"pagination-wrapper")
	if class != "" {
		m.Raw(" ")
		m.Text(class)
	}
	m.Raw(`" aria-label="`)
	m.Text(p.T(label))
	m.Raw("\">\n  <ul class=\"pagination\">")
	if g.Prev != "" {
		m.Raw("\n    <li class=\"page-item\"><a class=\"page-link\" href=\"")
		m.Href(g.Prev)
		m.Raw(`" rel="prev">`)
		m.Text(p.T("pager.prev"))
		m.Raw("</a></li>")
	}
	m.Raw("\n    <li class=\"page-item\"><span class=\"page-link\" aria-current=\"page\">")
	m.Text(p.T("pager.page_of", "Page", g.Page, "Pages", g.Pages))
	m.Raw("</span></li>")
	if g.Next != "" {
		m.Raw("\n    <li class=\"page-item\"><a class=\"page-link\" href=\"")
		m.Href(g.Next)
		m.Raw(`" rel="next">`)
		m.Text(p.T("pager.next"))
		m.Raw("</a></li>")
	}
	m.Raw("\n  </ul>\n</nav>\n")
}
