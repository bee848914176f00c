package sportello

import (
	"html/template"

	"github.com/civico-pa/civico/internal/web"
)

// Content is the resident's list of applications (Le mie pratiche), the
// whole of the page's content, written by Go code with the markup its
// template had (templates/pages/sportello_list.html calls it): as a
// template, a row's actions reached through reflection were most of the
// page's cost (docs/RENDERING.md). Values go through web.Markup, which
// escapes them; minehtml_test.go keeps it to the template's bytes.
func (d *MineData) Content(p *web.Page) template.HTML {
	var m web.Markup
	m.Grow(4<<10 + len(d.List)*600)
	m.Raw("\n<div class=\"container\">\n  <div class=\"row\">\n    <div class=\"col-12 px-lg-4 py-4\">\n      ")
	m.Breadcrumb(p)
	m.Raw("\n      <h1>")
	m.Text(p.Title)
	m.Raw(`</h1>`)
	if d.Message != "" {
		m.Raw(`<div class="alert alert-success" role="status">`)
		m.Text(p.T(d.Message))
		m.Raw(`</div>`)
	}
	if len(d.List) > 0 {
		m.Raw("\n      <div class=\"table-responsive\">\n      <table class=\"table\">\n        <caption>")
		m.Text(p.T("sportello.list.caption", "N", d.Pager.Total))
		m.Raw("</caption>\n        <thead><tr><th scope=\"col\">")
		m.Text(p.T("sportello.field.service"))
		m.Raw(`</th><th scope="col">`)
		m.Text(p.T("sportello.field.state"))
		m.Raw(`</th><th scope="col">`)
		m.Text(p.T("sportello.field.protocol"))
		m.Raw(`</th><th scope="col">`)
		m.Text(p.T("sportello.field.updated"))
		m.Raw(`</th><th scope="col">`)
		m.Text(p.T("sportello.field.due"))
		m.Raw("</th></tr></thead>\n        <tbody>")
		var overdue string
		for i := range d.List {
			s := &d.List[i]
			m.Raw("\n          <tr>\n            <th scope=\"row\"><a href=\"")
			m.Href(AreaPath + "/" + s.ID)
			m.Raw(`">`)
			m.Text(s.ServiceTitle)
			m.Raw("</a></th>\n            <td>")
			s.State.writeBadge(&m, p)
			if s.Overdue(d.Now) {
				if overdue == "" {
					overdue = p.T("sportello.overdue")
				}
				m.Raw(` <span class="badge bg-danger">`)
				m.Text(overdue)
				m.Raw(`</span>`)
			}
			m.Raw("</td>\n            <td>")
			if s.Protocol != "" {
				m.Text(s.Protocol)
			} else {
				m.Raw("—")
			}
			m.Raw("</td>\n            <td>")
			m.Text(web.LocalTime(s.UpdatedAt))
			m.Raw("</td>\n            <td>")
			if due := s.DueLabel(); due != "" {
				m.Text(due)
			} else {
				m.Raw("—")
			}
			m.Raw("</td>\n          </tr>")
		}
		m.Raw("\n        </tbody>\n      </table>\n      </div>\n      ")
		d.Pager.Write(&m, p, "sportello.pager", "")
	} else {
		m.Raw("\n      <p>")
		m.Text(p.T("sportello.list.empty"))
		m.Raw(`</p>`)
	}
	m.Raw("\n      <p><a href=\"/servizi\">")
	m.Text(p.T("sportello.list.services"))
	m.Raw("</a></p>\n    </div>\n  </div>\n</div>\n")
	return m.HTML()
}
