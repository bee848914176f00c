package sportello

import (
	"html/template"
	"net/url"

	"github.com/civico-pa/civico/internal/web"
)

// writeRows writes the queue table's body, a row per application of the
// page: at a town's volume (a page of 50 rows) the template's walk over
// them was half the page's time. The bytes are the template's
// (TestQueueRowsAreTheTemplate).
func (d *QueueData) writeRows(m *web.Markup, p *web.Page) {
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
		s.State.writeBadge(m, p)
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
}

// Body writes the back office's queue below its title: the queues' tabs,
// the filter, the links to the export and the counter, the table and its
// pager. Go code, as the rows: the filter's lists (services, states,
// channels) through the template were a third of the page at a town's
// volume. The bytes are the template's (TestQueueBodyIsTheTemplate), but
// for the filter kept in the tabs' and the export's links, which the
// template escaped into one meaningless parameter.
func (d *QueueData) Body(p *web.Page) template.HTML {
	var m web.Markup
	m.Grow(4096 + len(d.List)*640)
	f := d.Filter
	withQuery := func(path string) {
		if d.Query != "" {
			path += "&" + d.Query
		}
		m.Href(path)
	}
	m.Raw("\n      <nav aria-label=\"")
	m.Text(p.T("sportello.bo.queues"))
	m.Raw("\">\n        <ul class=\"nav nav-tabs mb-4\">")
	for _, q := range d.Queues {
		m.Raw("\n          <li class=\"nav-item\"><a class=\"nav-link")
		if q == f.Queue {
			m.Raw(` active" aria-current="page`)
		}
		m.Raw(`" href="`)
		withQuery("/backoffice/pratiche?coda=" + url.QueryEscape(string(q)))
		m.Raw(`">`)
		m.Text(p.T("sportello.queue." + string(q)))
		if q == QueueOverdue {
			m.Raw(` <span class="badge bg-danger">`)
		} else {
			m.Raw(` <span class="badge bg-primary">`)
		}
		m.Text(d.Counts[q].String())
		m.Raw(`</span></a></li>`)
	}
	m.Raw("\n        </ul>\n      </nav>\n      <form method=\"get\" action=\"/backoffice/pratiche\" class=\"row g-3 align-items-end mb-4\">\n        <input type=\"hidden\" name=\"coda\" value=\"")
	m.Text(string(f.Queue))
	m.Raw("\">\n        <div class=\"col-12 col-md-4\">\n          <label for=\"f-q\" class=\"form-label fw-semibold\">")
	m.Text(p.T("sportello.bo.search"))
	m.Raw("</label>\n          <input type=\"search\" class=\"form-control\" id=\"f-q\" name=\"q\" value=\"")
	m.Text(f.Q)
	m.Raw("\" aria-describedby=\"f-q-help\">\n          <small id=\"f-q-help\" class=\"form-text\">")
	m.Text(p.T("sportello.bo.search_help"))
	m.Raw("</small>\n        </div>\n        <div class=\"col-12 col-md-3\">\n          <label for=\"f-servizio\" class=\"form-label fw-semibold\">")
	m.Text(p.T("sportello.field.service"))
	all := p.T("sportello.bo.all")
	option := func(value, label string, selected bool) {
		m.Raw(`<option value="`)
		m.Text(value)
		if selected {
			m.Raw(`" selected>`)
		} else {
			m.Raw(`">`)
		}
		m.Text(label)
		m.Raw(`</option>`)
	}
	m.Raw("</label>\n          <select class=\"form-select\" id=\"f-servizio\" name=\"servizio\">")
	option("", all, false)
	for _, s := range d.Services {
		option(s.ID, s.Title, s.ID == f.Service)
	}
	m.Raw("</select>\n        </div>\n        <div class=\"col-6 col-md-2\">\n          <label for=\"f-stato\" class=\"form-label fw-semibold\">")
	m.Text(p.T("sportello.field.state"))
	m.Raw("</label>\n          <select class=\"form-select\" id=\"f-stato\" name=\"stato\">")
	option("", all, false)
	for _, s := range d.States {
		option(string(s), p.T("sportello.state."+string(s)), s == f.State)
	}
	m.Raw("</select>\n        </div>\n        <div class=\"col-6 col-md-2\">\n          <label for=\"f-canale\" class=\"form-label fw-semibold\">")
	m.Text(p.T("sportello.field.channel"))
	m.Raw("</label>\n          <select class=\"form-select\" id=\"f-canale\" name=\"canale\">")
	option("", all, false)
	for _, c := range []Channel{Online, Counter} {
		option(string(c), p.T("sportello.channel."+string(c)), c == f.Channel)
	}
	m.Raw("</select>\n        </div>\n        <div class=\"col-12 col-md-1\"><button type=\"submit\" class=\"btn btn-primary w-100\">")
	m.Text(p.T("sportello.bo.filter"))
	m.Raw("</button></div>\n      </form>\n      <p><a href=\"")
	withQuery("/backoffice/pratiche/export.csv?coda=" + url.QueryEscape(string(f.Queue)))
	m.Raw(`">`)
	m.Text(p.T("sportello.bo.export"))
	m.Raw(`</a> · <a href="/backoffice/sportello">`)
	m.Text(p.T("sportello.counter.title"))
	m.Raw("</a></p>")
	if len(d.List) == 0 {
		m.Raw("\n      <p>")
		m.Text(p.T("sportello.bo.empty"))
		m.Raw("</p>")
		return m.HTML()
	}
	m.Raw("\n      <div class=\"table-responsive\">\n      <table class=\"table table-sm\">\n        <caption>")
	m.Text(p.T("sportello.bo.caption", "N", d.Total, "Queue", p.T("sportello.queue."+string(f.Queue))))
	m.Raw("</caption>\n        <thead><tr>")
	for _, h := range []string{"protocol", "service", "applicant", "state", "assignee", "due"} {
		m.Raw(`<th scope="col">`)
		m.Text(p.T("sportello.field." + h))
		m.Raw(`</th>`)
	}
	m.Raw("</tr></thead>\n        <tbody>")
	d.writeRows(&m, p)
	m.Raw("\n        </tbody>\n      </table>\n      </div>\n      ")
	d.Pager.Write(&m, p, "sportello.pager", "")
	return m.HTML()
}
