package area

import (
	"html/template"

	"github.com/civico-pa/civico/internal/web"
)

// The area's lists (the panels, the latest activities, the messages) are
// written by Go code rather than by html/template: on the desk they were
// most of the page's CPU, a template action through reflection per value
// (README "Performance", docs/RENDERING.md). The markup is the one the
// templates had; values go through web.Markup, which escapes them.

// panelsHTML is the panels, each in a column of class col.
func panelsHTML(p *web.Page, d *Data, col string) template.HTML {
	var m web.Markup
	m.Grow(len(d.Panels) * 1500)
	writePanels(&m, p, d, col)
	return m.HTML()
}

// writePanels writes what panelsHTML returns into m.
func writePanels(m *web.Markup, p *web.Page, d *Data, col string) {
	for i := range d.Panels {
		m.Raw("\n        <div class=\"")
		m.Raw(col)
		m.Raw(`">`)
		panel(m, p, d, i, &d.Panels[i])
		m.Raw(`</div>`)
	}
}

// panel is one panel: its items, or why not (step-up, error).
func panel(m *web.Markup, p *web.Page, d *Data, i int, s *Shown) {
	title := p.T(s.Title)
	m.Raw("\n<section class=\"card card-bg shadow-sm mb-4\" aria-labelledby=\"panel-")
	m.Int(i)
	m.Raw("\">\n  <div class=\"card-body\">\n    <h3 class=\"card-title h5\" id=\"panel-")
	m.Int(i)
	m.Raw(`">`)
	m.Text(title)
	if s.Awaiting != 0 && !s.StepUp {
		m.Raw(` <span class="badge bg-primary ms-1">`)
		m.Int(s.Awaiting)
		m.Raw(`<span class="visually-hidden"> `)
		m.Text(p.T("area.awaiting_count"))
		m.Raw(`</span></span>`)
	}
	m.Raw(`</h3>`)
	switch {
	case s.Failed:
		m.Raw("\n    <div class=\"alert alert-warning mb-0\" role=\"status\">")
		m.Text(p.T("area.panel.error"))
		m.Raw(`</div>`)
	case s.StepUp:
		m.Raw("\n    <p>")
		m.Text(p.T("area.needs." + string(s.Needs)))
		m.Raw(`</p>`)
		if d.StepUpURL != "" {
			m.Raw("\n    <p class=\"mb-0\"><a class=\"btn btn-outline-primary btn-sm\" href=\"")
			m.Href(d.StepUpURL)
			m.Raw(`">`)
			m.Text(p.T("area.step_up"))
			m.Raw(`</a></p>`)
		}
	case len(s.Items) > 0:
		m.Raw("\n    <ul class=\"link-list list-unstyled mb-2\">")
		for j := range s.Items {
			it := &s.Items[j]
			m.Raw("\n      <li class=\"list-item mb-2\">\n        <a href=\"")
			m.Href(it.Href)
			m.Raw(`">`)
			m.Text(it.Label)
			m.Raw(`</a>`)
			if it.Status != "" {
				if it.Awaiting {
					m.Raw(` <span class="badge bg-warning text-dark ms-1">`)
				} else {
					m.Raw(` <span class="badge bg-secondary ms-1">`)
				}
				m.Text(p.T(it.Status))
				m.Raw(`</span>`)
			}
			if it.Awaiting {
				m.Raw(` <span class="visually-hidden">`)
				m.Text(p.T("area.item_awaiting"))
				m.Raw(`</span>`)
			}
			if !it.When.IsZero() {
				m.Raw(`<br><small>`)
				m.Time(it.When)
				m.Raw(`</small>`)
			}
			m.Raw("\n      </li>")
		}
		m.Raw("\n    </ul>")
	default:
		empty := s.Empty
		if empty == "" {
			empty = "area.panel.empty"
		}
		m.Raw("\n    <p>")
		m.Text(p.T(empty))
		m.Raw(`</p>`)
	}
	if s.Href != "" && !s.Failed && !s.StepUp {
		m.Raw("\n    <a class=\"read-more\" href=\"")
		m.Href(s.Href)
		m.Raw(`"><span class="text">`)
		m.Text(p.T("area.panel.all", "Title", title))
		m.Raw(`</span></a>`)
	}
	m.Raw("\n  </div>\n</section>\n")
}

// recentHTML is the desk's latest activities of every panel.
func recentHTML(p *web.Page, d *Data) template.HTML {
	var m web.Markup
	m.Grow(len(d.Recent) * 400)
	for i := range d.Recent {
		r := &d.Recent[i]
		m.Raw("\n              <li class=\"list-item py-2 border-bottom\">\n                <small>")
		m.Text(p.T(r.Panel))
		if !r.When.IsZero() {
			m.Raw(` · `)
			m.Time(r.When)
		}
		m.Raw("</small><br>\n                <a href=\"")
		m.Href(r.Href)
		m.Raw(`">`)
		m.Text(r.Label)
		m.Raw(`</a>`)
		if r.Status != "" {
			m.Raw(` <span class="badge bg-secondary ms-1">`)
			m.Text(p.T(r.Status))
			m.Raw(`</span>`)
		}
		m.Raw("\n              </li>")
	}
	return m.HTML()
}

// messagesHTML is a list of messages (the desk's latest, a page of the
// inbox).
func messagesHTML(p *web.Page, d *Data) template.HTML {
	var m web.Markup
	m.Grow(len(d.Messages) * 600)
	writeMessages(&m, p, d)
	return m.HTML()
}

// writeMessages writes what messagesHTML returns into m.
func writeMessages(m *web.Markup, p *web.Page, d *Data) {
	for _, s := range d.Messages {
		m.Raw("\n<li class=\"list-item py-3 border-bottom\">\n  <p class=\"mb-1\"><span class=\"badge bg-light text-dark me-2\">")
		m.Text(p.T(s.Category))
		m.Raw(`</span><small>`)
		m.Time(s.CreatedAt)
		m.Raw(`</small>`)
		if s.Unread() {
			m.Raw(` <span class="badge bg-primary ms-1">`)
			m.Text(p.T("area.messages.new"))
			m.Raw(`</span>`)
		}
		m.Raw("</p>\n  <a href=\"/area-personale/messaggi/")
		m.Text(s.ID)
		if s.Unread() {
			m.Raw(`" class="fw-bold">`)
		} else {
			m.Raw(`">`)
		}
		m.Text(s.Subject)
		m.Raw("</a>\n  <p class=\"mb-0 small\">")
		m.Text(s.Excerpt(140))
		m.Raw("</p>\n</li>\n")
	}
}

// servicesHTML is a page of Servizi: a card per service.
func servicesHTML(p *web.Page, d *Data) template.HTML {
	var m web.Markup
	m.Grow(len(d.Services) * 700)
	var stepUp string
	for i := range d.Services {
		s := &d.Services[i]
		m.Raw("\n        <div class=\"col-12 col-md-6 col-lg-4\">\n          <div class=\"card card-bg shadow-sm mb-4\">\n            <div class=\"card-body\">")
		if s.Category != "" {
			m.Raw(`<p class="mb-1"><small lang="it">`)
			m.Text(s.Category)
			m.Raw(`</small></p>`)
		}
		m.Raw("\n              <h3 class=\"card-title h5\" lang=\"it\"><a href=\"")
		m.Href(s.Href)
		m.Raw(`">`)
		m.Text(s.Title)
		m.Raw(`</a></h3>`)
		if s.Summary != "" {
			m.Raw(`<p class="card-text" lang="it">`)
			m.Text(s.Summary)
			m.Raw(`</p>`)
		}
		if s.StepUp {
			m.Raw(`<p class="mb-0 small">`)
			m.Text(p.T("area.needs." + string(s.Needs)))
			if d.StepUpURL != "" {
				if stepUp == "" {
					stepUp = p.T("area.step_up")
				}
				m.Raw(` <a href="`)
				m.Href(d.StepUpURL)
				m.Raw(`">`)
				m.Text(stepUp)
				m.Raw(`</a>`)
			}
			m.Raw(`</p>`)
		}
		m.Raw("\n            </div>\n          </div>\n        </div>")
	}
	return m.HTML()
}

// areaTabs are the personal area's tabs: the page each names (Data.Tab),
// its address and the message id of its label.
var areaTabs = []struct{ tab, href, label string }{
	{"desk", "/area-personale", "area.tab.desk"},
	{"messages", "/area-personale/messaggi", "area.tab.messages"},
	{"activities", "/area-personale/attivita", "area.tab.activities"},
	{"services", "/area-personale/servizi", "area.tab.services"},
	{"documents", "/area-personale/documenti", "area.tab.documents"},
}

// writeTabs writes the tabs' links, the current one marked (a message is
// in the Messaggi tab), Messaggi with the count of the unread ones.
func writeTabs(m *web.Markup, p *web.Page, d *Data) {
	for i, t := range areaTabs {
		if i > 0 {
			m.Raw("\n    ")
		}
		current := d.Tab == t.tab || t.tab == "messages" && d.Tab == "message"
		m.Raw("\n<li class=\"nav-item\"><a class=\"nav-link")
		if current {
			m.Raw(" active")
		}
		m.Raw(`" href="`)
		m.Href(t.href)
		m.Raw(`"`)
		if current {
			m.Raw(` aria-current="page"`)
		}
		m.Raw(`>`)
		m.Text(p.T(t.label))
		if t.tab == "messages" && d.Unread != 0 {
			m.Raw(` <span class="badge bg-primary ms-1">`)
			m.Int(d.Unread)
			m.Raw(`<span class="visually-hidden"> `)
			m.Text(p.T("area.unread_count"))
			m.Raw(`</span></span>`)
		}
		m.Raw("</a></li>\n")
	}
}
