package sportello

import (
	"html/template"

	"github.com/civico-pa/civico/internal/web"
)

// Rows writes the back office's queue table's body, a row per application
// of the page: Go code, because at a town's volume (a page of 50 rows)
// the template's walk over them was half the page's time. The bytes are
// the template's (TestQueueRowsAreTheTemplate).
func (d *QueueData) Rows(p *web.Page) template.HTML {
	var m web.Markup
	m.Grow(len(d.List) * 640)
	counter, overdue := "", ""
	for _, s := range d.List {
		m.Raw("\n          <tr>\n            <th scope=\"row\"><a href=\"")
		m.Href("/backoffice/pratiche/" + s.ID)
		m.Raw(`">`)
		m.Text(s.Protocol)
		m.Raw("</a>")
		if s.Channel == Counter {
			if counter == "" {
				counter = p.T("sportello.channel.counter")
			}
			m.Raw(` <span class="badge bg-light text-dark border">`)
			m.Text(counter)
			m.Raw(`</span>`)
		}
		m.Raw("</th>\n            <td>")
		m.Text(s.ServiceTitle)
		m.Raw("</td>\n            <td>")
		m.Text(s.Applicant)
		m.Raw("</td>\n            <td>")
		s.State.writeBadge(&m, p)
		m.Raw("</td>\n            <td>")
		if s.AssigneeID != "" {
			m.Text(d.Names[s.AssigneeID])
		} else {
			m.Raw("—")
		}
		m.Raw("</td>\n            <td>")
		m.Text(s.DueLabel())
		if s.Overdue(d.Now) {
			if overdue == "" {
				overdue = p.T("sportello.overdue")
			}
			m.Raw(` <span class="badge bg-danger">`)
			m.Text(overdue)
			m.Raw(`</span>`)
		}
		m.Raw("</td>\n          </tr>")
	}
	return m.HTML()
}
