package web

import (
	"net/url"
	"testing"
)

func TestNewPager(t *testing.T) {
	q := url.Values{"stato": {"aperta"}, "pagina": {"3"}, "pagati": {"2"}}
	for _, c := range []struct {
		page, total int
		pages       int
		prev, next  string
	}{
		{1, 0, 1, "", ""},
		{1, 20, 1, "", ""},
		{1, 21, 2, "", "/l?pagati=2&pagina=2&stato=aperta"},
		{2, 21, 2, "/l?pagati=2&stato=aperta", ""},
		{3, 100, 5, "/l?pagati=2&pagina=2&stato=aperta", "/l?pagati=2&pagina=4&stato=aperta"},
		{9, 100, 5, "/l?pagati=2&pagina=8&stato=aperta", ""},
	} {
		p := NewPager("/l", q, "pagina", c.page, c.total, 20)
		if p.Page != c.page || p.Pages != c.pages || p.Total != c.total || p.Prev != c.prev || p.Next != c.next {
			t.Errorf("page %d of %d: %+v, want pages %d prev %q next %q", c.page, c.total, p, c.pages, c.prev, c.next)
		}
	}
	if got := PageLink("/l", nil, "pagina", 1); got != "/l" {
		t.Errorf("page 1 without filters: %q, want the bare path", got)
	}
	if q.Get("pagina") != "3" {
		t.Error("NewPager changed the caller's query")
	}
}

func TestPageTotal(t *testing.T) {
	for _, c := range []struct {
		n, page, per int
		total        int
		known        bool
	}{
		{0, 1, 20, 0, true},   // an empty list
		{0, 0, 20, 0, true},   // page 0 is page 1
		{7, 1, 20, 7, true},   // a list of one page
		{19, 1, 20, 19, true}, // a page less one
		{20, 1, 20, 0, false}, // a full page: there may be more
		{1, 3, 20, 41, true},  // the last page, of one
		{20, 3, 20, 0, false}, // a full page past the first
		{0, 2, 20, 0, false},  // past the end: cannot tell
	} {
		total, known := PageTotal(c.n, c.page, c.per)
		if total != c.total || known != c.known {
			t.Errorf("PageTotal(%d, %d, %d) = %d, %v; want %d, %v", c.n, c.page, c.per, total, known, c.total, c.known)
		}
	}
}
