package sportello

import (
	"html/template"
	"strings"
	"time"

	"github.com/civico-pa/civico/internal/web"
)

// The pieces of an application's pages (the resident's, the office's, the
// summary before sending) are written here rather than by html/template
// partials: each partial was a dict and a template of a dozen reflective
// actions, its lists (answers, documents, messages, history) a dozen more
// per item, and they were most of the page's time (docs/RENDERING.md,
// "An application's page and the payments page"). Every value goes
// through web.Markup, which escapes it; the markup is the partials' own,
// and TestDetailPiecesAreThePartials compares them byte for byte.

// Badge is the state of an application as a badge.
func (s State) Badge(p *web.Page) template.HTML {
	var m web.Markup
	m.Grow(96)
	s.writeBadge(&m, p)
	return m.HTML()
}

func (s State) writeBadge(m *web.Markup, p *web.Page) {
	m.Raw(`<span class="badge `)
	switch {
	case s.AwaitsResident():
		m.Raw("bg-warning text-dark")
	case s == Accepted:
		m.Raw("bg-success")
	case s.Closed():
		m.Raw("bg-secondary")
	case s == Draft:
		m.Raw("bg-light text-dark border")
	default:
		m.Raw("bg-primary")
	}
	m.Raw(`">`)
	m.Text(p.T("sportello.state." + string(s)))
	m.Raw(`</span>`)
}

// ActingNote says, on every page of an application made under a
// delegation, who acted for the applicant; nothing for the applicant's own.
func (a *Application) ActingNote(p *web.Page) template.HTML {
	if a == nil || a.Acting == nil {
		return ""
	}
	var m web.Markup
	m.Grow(320)
	a.writeActing(&m, p)
	return m.HTML()
}

func (a *Application) writeActing(m *web.Markup, p *web.Page) {
	if a == nil || a.Acting == nil {
		return
	}
	m.Raw("\n<div class=\"callout note mb-4\" data-element=\"acting\">\n  <div class=\"callout-title\">")
	m.Text(p.T("sportello.acting.title"))
	m.Raw("</div>\n  <p class=\"mb-0\">")
	m.Text(p.T("sportello.acting.text", "Acting", a.Acting.Name(), "FiscalCode", a.Acting.FiscalCode, "Holder", a.Applicant.Name()))
	m.Raw("</p>\n</div>\n")
}

// applicantKeys are the applicant's data in the order the pages list them.
var applicantKeys = [...]string{"given_name", "family_name", "fiscal_code", "email", "phone", "address"}

// writeApplicant lists the applicant's data with what proved each.
func writeApplicant(m *web.Markup, p *web.Page, values map[string]string, proven map[string]bool) {
	m.Raw("\n<dl class=\"row mb-0\">")
	for _, k := range applicantKeys {
		v := values[k]
		if v == "" {
			continue
		}
		m.Raw("\n  <dt class=\"col-sm-5\">")
		m.Text(p.T("sportello.applicant." + k))
		m.Raw("</dt>\n  <dd class=\"col-sm-7\">")
		m.Text(v)
		if proven[k] {
			m.Raw(` <span class="badge bg-success">`)
			m.Text(p.T("sportello.proven"))
			m.Raw(`</span>`)
		}
		m.Raw("</dd>")
	}
	m.Raw("\n</dl>\n")
}

// writeAnswers lists the answers given.
func writeAnswers(m *web.Markup, fields []FieldView) {
	m.Raw("\n<dl class=\"row mb-0\">")
	for i := range fields {
		f := &fields[i]
		if !f.Shown() {
			continue
		}
		m.Raw("\n  <dt class=\"col-sm-5\">")
		m.Text(f.Label)
		m.Raw(`</dt><dd class="col-sm-7 text-break">`)
		if f.Type == string(TypeLongText) {
			m.Paragraphs(f.Answer())
		} else {
			m.Text(f.Answer())
		}
		m.Raw("</dd>")
	}
	m.Raw("\n</dl>\n")
}

// Applicant lists the applicant's data with what proved each.
func (d *DetailData) Applicant(p *web.Page) template.HTML {
	var m web.Markup
	writeApplicant(&m, p, d.ApplicantValues, d.ApplicantProven)
	return m.HTML()
}

// Answers lists the answers given.
func (d *DetailData) Answers() template.HTML {
	var m web.Markup
	writeAnswers(&m, d.Fields)
	return m.HTML()
}

// Applicant lists the applicant's data with what proved each.
func (d *FlowData) Applicant(p *web.Page) template.HTML {
	var m web.Markup
	writeApplicant(&m, p, d.Values, d.Proven)
	return m.HTML()
}

// Answers lists the answers given.
func (d *FlowData) Answers() template.HTML {
	var m web.Markup
	writeAnswers(&m, d.Fields)
	return m.HTML()
}

// writeTime writes an instant as the page shows it, its datetime as
// html/template wrote it.
func writeTime(m *web.Markup, t time.Time) {
	m.Raw(`<time datetime="`)
	m.Raw(strings.ReplaceAll(t.Format(time.RFC3339), "+", "&#43;"))
	m.Raw(`">`)
	m.Raw(web.LocalTime(t))
	m.Raw(`</time>`)
}

// DocumentList is the receipt and the application's documents, each a
// download under base (the application's path on the page).
func (d *DetailData) DocumentList(p *web.Page, base string) template.HTML {
	var m web.Markup
	m.Grow(512 + 400*len(d.Documents))
	d.writeDocuments(&m, p, base)
	return m.HTML()
}

func (d *DetailData) writeDocuments(m *web.Markup, p *web.Page, base string) {
	m.Raw("\n<h2 class=\"h4 mt-5\" id=\"documenti\">")
	m.Text(p.T("sportello.detail.documents"))
	m.Raw("</h2>\n<ul class=\"list-unstyled\">\n  <li class=\"mb-2\">")
	m.Raw(string(p.Icon("it-file-pdf", "icon-sm")))
	m.Raw(` <a href="`)
	m.Href(base + "/ricevuta.pdf")
	m.Raw(`" download>`)
	m.Text(p.T("sportello.receipt.pdf"))
	m.Raw("</a></li>")
	var clip, protocol string
	if len(d.Documents) > 0 {
		clip, protocol = string(p.Icon("it-clip", "icon-sm")), p.T("sportello.field.protocol")
	}
	for i := range d.Documents {
		doc := &d.Documents[i]
		m.Raw("\n  <li class=\"mb-2\">")
		m.Raw(clip)
		m.Raw(` <a href="`)
		m.Href(base + "/documenti/" + doc.ID)
		m.Raw(`" download>`)
		m.Text(doc.Filename)
		m.Raw(`</a> <span class="small text-secondary">(`)
		m.Text(p.T("sportello.doc." + doc.Kind))
		if doc.Protocol != "" {
			m.Raw(", ")
			m.Text(protocol)
			m.Raw(" ")
			m.Text(doc.Protocol)
		}
		m.Raw(", ")
		m.Raw(web.LocalTime(doc.At))
		m.Raw(")</span></li>")
	}
	m.Raw("\n</ul>\n")
}

// MessageList is what the office and the resident wrote each other; the
// office's page names the operator who wrote.
func (d *DetailData) MessageList(p *web.Page, office bool) template.HTML {
	var m web.Markup
	m.Grow(256 + 600*len(d.Messages))
	d.writeMessages(&m, p, office)
	return m.HTML()
}

func (d *DetailData) writeMessages(m *web.Markup, p *web.Page, office bool) {
	m.Raw("\n<h2 class=\"h4 mt-5\" id=\"messaggi\">")
	m.Text(p.T("sportello.detail.messages"))
	m.Raw("</h2>")
	if len(d.Messages) == 0 {
		m.Raw("\n<p>")
		m.Text(p.T("sportello.detail.no_messages"))
		m.Raw("</p>\n")
		return
	}
	fromOffice, fromResident := p.T("sportello.detail.from_office"), p.T("sportello.detail.from_resident")
	m.Raw("\n<ul class=\"list-unstyled\">")
	for i := range d.Messages {
		n := &d.Messages[i]
		m.Raw("\n  <li class=\"card card-bg mb-3")
		if n.FromOffice {
			m.Raw(" border-start border-primary border-3")
		}
		m.Raw("\">\n    <div class=\"card-body py-3\">\n      <p class=\"small text-secondary mb-1\">")
		if n.FromOffice {
			m.Text(fromOffice)
			if office {
				m.Raw(" (")
				m.Text(d.Names[n.AuthorID])
				m.Raw(")")
			}
		} else {
			m.Text(fromResident)
		}
		m.Raw(" · ")
		m.Text(p.T("sportello.kind." + n.Kind))
		m.Raw(" · ")
		writeTime(m, n.At)
		m.Raw("</p>\n      <div class=\"text-break\">")
		m.Paragraphs(n.Body)
		m.Raw("</div>\n    </div>\n  </li>")
	}
	m.Raw("\n</ul>\n")
}

// HistoryList is the application's steps; the office's page names the
// operators who took them and to whom it was assigned.
func (d *DetailData) HistoryList(p *web.Page, office bool) template.HTML {
	var m web.Markup
	m.Grow(256 + 200*len(d.History))
	d.writeHistory(&m, p, office)
	return m.HTML()
}

func (d *DetailData) writeHistory(m *web.Markup, p *web.Page, office bool) {
	m.Raw("\n<h2 class=\"h4 mt-5\" id=\"storia\">")
	m.Text(p.T("sportello.detail.history"))
	m.Raw("</h2>\n<ol class=\"list-unstyled border-start border-2 ps-3\">")
	for i := range d.History {
		e := &d.History[i]
		m.Raw("\n  <li class=\"mb-2\">")
		writeTime(m, e.At)
		m.Raw(" — ")
		m.Text(p.T("sportello.history." + string(e.Action)))
		if e.Action == Register {
			m.Raw(" ")
			m.Text(e.Note)
		}
		if office && e.Action == Assign {
			m.Raw(" → ")
			m.Text(d.Names[e.Note])
		}
		if office && e.Actor == Office {
			m.Raw(` <span class="text-secondary">(`)
			m.Text(d.Names[e.ActorID])
			m.Raw(`)</span>`)
		}
		m.Raw("</li>")
	}
	m.Raw("\n</ol>\n")
}

// formPrefix is the start of the ids of a form's inputs on a page with
// several ("f-integrate-"), "f-" on the resident's, which has one.
func formPrefix(form string) string {
	if form == "" {
		return "f-"
	}
	return "f-" + form + "-"
}

// NoteField is the text of a step (a message, an integration, reasons) in
// the form named form ("" for the resident's flow, whose pages have one
// form at a time), labelled by the message label, with what was written
// in it and its error when that form was the one sent.
func (d *DetailData) NoteField(p *web.Page, label, form string) template.HTML {
	var m web.Markup
	m.Grow(512)
	d.writeNote(&m, p, label, form)
	return m.HTML()
}

func (d *DetailData) writeNote(m *web.Markup, p *web.Page, label, form string) {
	name := "note"
	if form != "" {
		name = form + ".note"
	}
	err := d.Errors[name]
	id := formPrefix(form) + "note"
	m.Raw("\n<div class=\"mb-3\">\n  <label for=\"")
	m.Text(id)
	m.Raw(`" class="form-label fw-semibold">`)
	m.Text(p.T(label))
	m.Raw("</label>\n  <textarea class=\"form-control")
	if err != "" {
		m.Raw(" is-invalid")
	}
	m.Raw(`" id="`)
	m.Text(id)
	m.Raw(`" name="note" rows="4" maxlength="4000"`)
	if err != "" {
		m.Raw(` aria-invalid="true" aria-describedby="`)
		m.Text(id)
		m.Raw(`-error"`)
	}
	m.Raw(">")
	if form == "" || d.Values["form"] == form {
		m.Text(d.Values["note"])
	}
	m.Raw("</textarea>")
	if err != "" {
		m.Raw(`<div class="invalid-feedback d-block" id="`)
		m.Text(id)
		m.Raw(`-error">`)
		m.Text(p.T(err))
		m.Raw("</div>")
	}
	m.Raw("\n</div>\n")
}

// FileField is a document that comes with a step, in the form named form.
func (d *DetailData) FileField(p *web.Page, form string) template.HTML {
	var m web.Markup
	m.Grow(768)
	d.writeFile(&m, p, form)
	return m.HTML()
}

func (d *DetailData) writeFile(m *web.Markup, p *web.Page, form string) {
	name := "file"
	if form != "" {
		name = form + ".file"
	}
	err := d.Errors[name]
	id := formPrefix(form) + "file"
	m.Raw("\n<div class=\"mb-3\">\n  <label for=\"")
	m.Text(id)
	m.Raw(`" class="form-label fw-semibold">`)
	m.Text(p.T("sportello.detail.file"))
	m.Raw("</label>\n  <input type=\"file\" class=\"form-control")
	if err != "" {
		m.Raw(" is-invalid")
	}
	m.Raw(`" id="`)
	m.Text(id)
	m.Raw(`" name="file" accept=".pdf,application/pdf,.jpg,.jpeg,.png,image/jpeg,image/png" aria-describedby="`)
	m.Text(id)
	m.Raw("-help")
	if err != "" {
		m.Raw(" ")
		m.Text(id)
		m.Raw("-error")
	}
	m.Raw(`"`)
	if err != "" {
		m.Raw(` aria-invalid="true"`)
	}
	m.Raw(">\n  <small id=\"")
	m.Text(id)
	m.Raw(`-help" class="form-text">`)
	m.Text(p.T("sportello.detail.file_help"))
	m.Raw("</small>")
	if err != "" {
		m.Raw(`<div class="invalid-feedback d-block" id="`)
		m.Text(id)
		m.Raw(`-error">`)
		m.Text(p.T(err))
		m.Raw("</div>")
	}
	m.Raw("\n</div>\n")
}

// Body is the resident's page of an application below its title: its
// state and terms, the forms of what the resident may do now, the
// applicant, the answers, the documents, the messages and the history.
func (d *DetailData) Body(p *web.Page) template.HTML {
	a := d.App
	base := AreaPath + "/" + a.ID
	var m web.Markup
	m.Grow(4096)
	a.writeActing(&m, p)
	if d.Message != "" {
		m.Raw(`<div class="alert alert-success" role="status">`)
		m.Text(p.T(d.Message))
		m.Raw(`</div>`)
	}
	if d.Alert != "" {
		m.Raw(`<div class="alert alert-danger" role="alert">`)
		m.Text(p.T(d.Alert))
		m.Raw(`</div>`)
	}
	m.Raw("\n      <dl class=\"row\">\n        <dt class=\"col-sm-5\">")
	m.Text(p.T("sportello.field.state"))
	m.Raw(`</dt><dd class="col-sm-7">`)
	a.State.writeBadge(&m, p)
	if d.Overdue() {
		m.Raw(` <span class="badge bg-danger">`)
		m.Text(p.T("sportello.overdue"))
		m.Raw(`</span>`)
	}
	m.Raw("</dd>\n        <dt class=\"col-sm-5\">")
	m.Text(p.T("sportello.field.protocol"))
	m.Raw(`</dt><dd class="col-sm-7">`)
	m.Text(a.Protocol)
	m.Raw("</dd>\n        <dt class=\"col-sm-5\">")
	m.Text(p.T("sportello.field.submitted"))
	m.Raw(`</dt><dd class="col-sm-7">`)
	if a.SubmittedAt != nil {
		m.Raw(web.LocalTime(*a.SubmittedAt))
	}
	m.Raw("</dd>")
	if a.TakenAt != nil {
		m.Raw(`<dt class="col-sm-5">`)
		m.Text(p.T("sportello.field.taken"))
		m.Raw(`</dt><dd class="col-sm-7">`)
		m.Raw(web.LocalTime(*a.TakenAt))
		m.Raw("</dd>")
	}
	switch {
	case a.State.Open():
		m.Raw("\n        <dt class=\"col-sm-5\">")
		m.Text(p.T("sportello.field.due"))
		m.Raw(`</dt><dd class="col-sm-7">`)
		m.Text(a.DueLabel())
		if d.Paused() {
			m.Raw(" — ")
			m.Text(p.T("sportello.paused"))
		}
		m.Raw("</dd>")
	case a.State.Closed():
		m.Raw("\n        <dt class=\"col-sm-5\">")
		m.Text(p.T("sportello.field.decided"))
		m.Raw(`</dt><dd class="col-sm-7">`)
		m.Raw(web.LocalTime(a.DecidedAt))
		m.Raw("</dd>")
	}
	m.Raw("\n      </dl>")
	switch a.State {
	case IntegrationRequested:
		m.Raw("\n      <div class=\"alert alert-warning\" role=\"alert\">")
		m.Text(p.T("sportello.detail.integration_asked", "Day", web.LocalTime(a.IntegrationUntil)))
		m.Raw("</div>")
	case RefusalNotice:
		m.Raw("\n      <div class=\"alert alert-warning\" role=\"alert\">")
		m.Text(p.T("sportello.detail.notice_received", "Day", web.LocalTime(a.RemarksDue())))
		m.Raw("</div>")
	}
	// The forms of the steps that come with a document: an integration,
	// remarks on a notice of refusal.
	for _, f := range [...]struct{ action, id, title, path, note, send string }{
		{"integrate", "integra-titolo", "sportello.detail.integrate", "/integrazione", "sportello.detail.integrate_note", "sportello.detail.integrate_send"},
		{"remarks", "osserva-titolo", "sportello.detail.remarks", "/osservazioni", "sportello.detail.remarks_note", "sportello.detail.remarks_send"},
	} {
		if !d.Can[f.action] {
			continue
		}
		m.Raw("\n      <section class=\"card card-bg mb-4\" aria-labelledby=\"" + f.id + "\"><div class=\"card-body\">\n        <h2 class=\"h5\" id=\"" + f.id + "\">")
		m.Text(p.T(f.title))
		m.Raw("</h2>\n        <form method=\"post\" action=\"")
		m.Href(base + f.path)
		m.Raw("\" enctype=\"multipart/form-data\" novalidate>\n          ")
		d.writeNote(&m, p, f.note, f.action)
		m.Raw("\n          ")
		d.writeFile(&m, p, f.action)
		m.Raw("\n          <button type=\"submit\" class=\"btn btn-primary\" data-once>")
		m.Text(p.T(f.send))
		m.Raw("</button>\n        </form>\n      </div></section>")
	}
	m.Raw("\n\n      <h2 class=\"h4 mt-4\">")
	m.Text(p.T("sportello.detail.answers"))
	m.Raw("</h2>\n      ")
	writeApplicant(&m, p, d.ApplicantValues, d.ApplicantProven)
	m.Raw("\n      ")
	writeAnswers(&m, d.Fields)
	m.Raw("\n      ")
	d.writeDocuments(&m, p, base)
	m.Raw("\n      ")
	d.writeMessages(&m, p, false)
	if d.Can["message"] {
		m.Raw("\n      <form method=\"post\" action=\"")
		m.Href(base + "/messaggi")
		m.Raw("\" novalidate class=\"mb-4\">\n        ")
		d.writeNote(&m, p, "sportello.detail.write", "message")
		m.Raw("\n        <button type=\"submit\" class=\"btn btn-outline-primary\" data-once>")
		m.Text(p.T("sportello.detail.send"))
		m.Raw("</button>\n      </form>")
	}
	m.Raw("\n      ")
	d.writeHistory(&m, p, false)
	if d.Can["withdraw"] {
		m.Raw("\n      <h2 class=\"h4 mt-5\">")
		m.Text(p.T("sportello.detail.withdraw"))
		m.Raw("</h2>\n      <p>")
		m.Text(p.T("sportello.detail.withdraw_text"))
		m.Raw("</p>\n      <form method=\"post\" action=\"")
		m.Href(base + "/ritiro")
		m.Raw("\">\n        <button type=\"submit\" class=\"btn btn-outline-danger\">")
		m.Text(p.T("sportello.detail.withdraw_button"))
		m.Raw("</button>\n      </form>")
	}
	return m.HTML()
}
