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
