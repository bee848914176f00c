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
