package area

import (
	"html/template"

	"github.com/civico-pa/civico/internal/web"
)

// The area's heading and the contents of its Messaggi, Servizi and
// Documenti tabs are written by Go code, with the markup their templates
// had (pageshtml_test.go keeps them to the templates' bytes): as
// templates, the actions reached through reflection were most of these
// pages' cost (docs/RENDERING.md). The page templates call them, so an
// editor still finds each page where it was.

// Head is the area's heading (name, fiscal code, the profile and logout
// links), its tabs and the notice of what was just done: the partial
// "area-head".
func (d *Data) Head(p *web.Page) template.HTML {
	var m web.Markup
	m.Grow(3 << 10)
	d.writeHead(&m, p)
	return m.HTML()
}

func (d *Data) writeHead(m *web.Markup, p *web.Page) {
	m.Raw("\n")
	m.Breadcrumb(p)
	m.Raw("\n<div class=\"mb-4\">\n  <h1 class=\"mb-1\">")
	m.Text(p.T("area.title"))
	m.Raw("</h1>\n  <p class=\"lead mb-1\">")
	m.Text(d.Name)
	m.Raw(`</p>`)
	if d.FiscalCode != "" {
		m.Raw(`<p class="mb-1"><span class="fw-semibold">`)
		m.Text(p.T("area.fiscal_code"))
		m.Raw(`</span> <span class="font-monospace">`)
		m.Text(d.FiscalCode)
		m.Raw(`</span></p>`)
	}
	m.Raw("\n  <div class=\"d-flex flex-wrap gap-3 align-items-center\">\n    <a href=\"/profilo\">")
	m.Text(p.T("area.profile"))
	m.Raw("</a>\n    <form method=\"post\" action=\"/esci\" class=\"d-inline\"><button type=\"submit\" class=\"btn btn-link p-0\">")
	m.Text(p.T("area.logout"))
	m.Raw("</button></form>\n  </div>\n</div>\n<nav aria-label=\"")
	m.Text(p.T("area.sections"))
	m.Raw("\" class=\"mb-4\">\n  <ul class=\"nav nav-tabs\">\n    ")
	writeTabs(m, p, d)
	m.Raw("\n  </ul>\n</nav>")
	if d.Notice != "" {
		m.Raw(`<div class="alert alert-success" role="status">`)
		m.Text(p.T(d.Notice))
		m.Raw(`</div>`)
	}
	m.Raw("\n")
}

// writePages writes the links to the previous and next pages of a list
// (the partial "area-pages"): label names the navigation, prev and next
// are the links' message ids.
func (d *Data) writePages(m *web.Markup, p *web.Page, label, prev, next string) {
	if d.Pages > 1 {
		m.Raw("\n<nav class=\"pagination-wrapper mt-4\" aria-label=\"")
		m.Text(p.T(label))
		m.Raw("\">\n  <ul class=\"pagination\">")
		if d.Prev != "" {
			m.Raw(`<li class="page-item"><a class="page-link" href="`)
			m.Href(d.Prev)
			m.Raw(`" rel="prev">`)
			m.Text(p.T(prev))
			m.Raw(`</a></li>`)
		}
		m.Raw("\n    <li class=\"page-item\"><span class=\"page-link\" aria-current=\"page\">")
		m.Text(p.T("area.page_of", "Page", d.Page, "Pages", d.Pages))
		m.Raw(`</span></li>`)
		if d.Next != "" {
			m.Raw(`<li class="page-item"><a class="page-link" href="`)
			m.Href(d.Next)
			m.Raw(`" rel="next">`)
			m.Text(p.T(next))
			m.Raw(`</a></li>`)
		}
		m.Raw("\n  </ul>\n</nav>")
	}
	m.Raw("\n")
}

// tabStart opens a tab's page in a column of class col and writes its
// heading; tabEnd closes it.
func (d *Data) tabStart(m *web.Markup, p *web.Page, col string) {
	m.Raw("\n<div class=\"container\">\n  <div class=\"row\">\n    <div class=\"")
	m.Raw(col)
	m.Raw("\">\n      ")
	d.writeHead(m, p)
}

func tabEnd(m *web.Markup) { m.Raw("\n    </div>\n  </div>\n</div>\n") }

// MessagesPage is Messaggi's content: a page of the inbox.
func (d *Data) MessagesPage(p *web.Page) template.HTML {
	var m web.Markup
	m.Grow(8<<10 + len(d.Messages)*600)
	d.tabStart(&m, p, "col-12 col-lg-9 px-lg-4 py-4")
	m.Raw("\n      <h2 class=\"h4\">")
	m.Text(p.T("area.tab.messages"))
	m.Raw("</h2>\n      <p>")
	m.Text(p.T("area.messages.count", "Total", d.Total, "Unread", d.Unread))
	m.Raw("</p>\n      <div class=\"d-flex flex-wrap gap-3 align-items-center mb-3\">")
	switch {
	case d.UnreadOnly:
		m.Raw("\n        <a href=\"/area-personale/messaggi\">")
		m.Text(p.T("area.messages.show_all"))
		m.Raw(`</a>`)
	case d.Unread != 0:
		m.Raw("\n        <a href=\"/area-personale/messaggi?non-letti=1\">")
		m.Text(p.T("area.messages.show_unread"))
		m.Raw(`</a>`)
	}
	if d.Unread != 0 {
		m.Raw("\n        <form method=\"post\" action=\"/area-personale/messaggi/letti\" class=\"d-inline\">\n          <button type=\"submit\" class=\"btn btn-outline-primary btn-sm\">")
		m.Text(p.T("area.messages.mark_all_read"))
		m.Raw("</button>\n        </form>")
	}
	m.Raw("\n      </div>")
	if len(d.Messages) > 0 {
		m.Raw("\n      <ul class=\"list-unstyled\">")
		writeMessages(&m, p, d)
		m.Raw("\n      </ul>")
	} else {
		m.Raw("\n      <p>")
		if d.UnreadOnly {
			m.Text(p.T("area.messages.none_unread"))
		} else {
			m.Text(p.T("area.messages.none"))
		}
		m.Raw(`</p>`)
	}
	m.Raw("\n      ")
	d.writePages(&m, p, "area.messages.pages", "area.prev", "area.next")
	tabEnd(&m)
	return m.HTML()
}

// DocumentsPage is Documenti's content: the panels of the documents
// issued to the resident.
func (d *Data) DocumentsPage(p *web.Page) template.HTML {
	var m web.Markup
	m.Grow(6<<10 + len(d.Panels)*1500)
	d.tabStart(&m, p, "col-12 px-lg-4 py-4")
	m.Raw("\n      <h2 class=\"h4\">")
	m.Text(p.T("area.tab.documents"))
	m.Raw(`</h2>`)
	if len(d.Panels) > 0 {
		m.Raw("\n      <div class=\"row\">")
		writePanels(&m, p, d, "col-12 col-lg-6")
		m.Raw("\n      </div>")
	} else {
		m.Raw("\n      <p>")
		m.Text(p.T("area.documents.none"))
		m.Raw(`</p>`)
	}
	tabEnd(&m)
	return m.HTML()
}

// ServicesPage is Servizi's content: a page of the services the resident
// can request online, whose cards are d.ServicesHTML.
func (d *Data) ServicesPage(p *web.Page) template.HTML {
	var m web.Markup
	m.Grow(6<<10 + len(d.ServicesHTML))
	d.tabStart(&m, p, "col-12 px-lg-4 py-4")
	m.Raw("\n      <h2 class=\"h4\">")
	m.Text(p.T("area.tab.services"))
	m.Raw("</h2>\n      <p>")
	m.Text(p.T("area.services.lead"))
	m.Raw(`</p>`)
	if len(d.Services) > 0 {
		m.Raw("\n      <div class=\"row\">")
		m.Raw(string(d.ServicesHTML))
		m.Raw("\n      </div>\n      ")
		d.writePages(&m, p, "area.services.pages", "area.prev_page", "area.next_page")
	} else {
		m.Raw("\n      <p>")
		m.Text(p.T("area.services.none"))
		m.Raw(`</p>`)
	}
	m.Raw("\n      <p><a href=\"/servizi\">")
	m.Text(p.T("area.services.all"))
	m.Raw(`</a></p>`)
	tabEnd(&m)
	return m.HTML()
}
