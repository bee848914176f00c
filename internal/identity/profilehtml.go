package identity

import (
	"html/template"

	"github.com/civico-pa/civico/internal/web"
)

// Content is /profilo below the layout's header
// (templates/pages/profile.html calls it): the layout's "prose" around
// the page's body, written by Go code with the markup the templates had:
// as a template the page's actions, reached through reflection, were
// three quarters of its cost (docs/RENDERING.md). Values go through
// web.Markup, which escapes them; profilehtml_test.go keeps it to the
// templates' bytes.
func (d *ProfileData) Content(p *web.Page) template.HTML {
	var m web.Markup
	m.Grow(12 << 10)
	m.Raw("\n<div class=\"container\">\n  <div class=\"row\">\n    <div class=\"col-12 col-lg-8 px-lg-4 py-4\">\n      ")
	m.Breadcrumb(p)
	m.Raw("\n      <h1>")
	m.Text(p.Title)
	m.Raw("</h1>\n      ")
	d.writeBody(&m, p)
	m.Raw("\n    </div>\n  </div>\n</div>\n")
	return m.HTML()
}

// writeBody writes the profile below its title.
func (d *ProfileData) writeBody(m *web.Markup, p *web.Page) {
	a := d.Account
	m.Raw("\n")
	d.writeNotices(m, p)
	m.Raw("\n\n<p class=\"lead\">")
	m.Text(p.T("identity.profile.lead", "Name", a.DisplayName()))
	m.Raw("</p>\n<p>")
	m.Text(p.T("identity.profile.assurance_" + string(d.Session.Assurance)))
	m.Raw("</p>\n<dl class=\"row\">\n  <dt class=\"col-sm-4\">")
	m.Text(p.T("identity.field.fiscal_code"))
	m.Raw(`</dt><dd class="col-sm-8">`)
	if d.FiscalCode != "" {
		m.Raw(`<span class="font-monospace">`)
		m.Text(d.FiscalCode)
		m.Raw(`</span> <span class="badge bg-success">`)
		m.Text(p.T("identity.source.cns"))
		m.Raw(`</span>`)
	} else {
		m.Text(p.T("identity.profile.no_fiscal_code"))
	}
	m.Raw(`</dd>`)
	if a.EIDASID != "" {
		m.Raw("\n  <dt class=\"col-sm-4\">")
		m.Text(p.T("identity.field.eidas_id"))
		m.Raw(`</dt><dd class="col-sm-8"><span class="font-monospace">`)
		m.Text(a.EIDASID)
		m.Raw(`</span> <span class="badge bg-success">`)
		m.Text(p.T("identity.source." + string(a.EIDASIDSource)))
		m.Raw(`</span></dd>`)
	}
	m.Raw("\n  <dt class=\"col-sm-4\">")
	m.Text(p.T("identity.field.email"))
	m.Raw(`</dt><dd class="col-sm-8">`)
	if a.Email != "" {
		m.Text(a.Email)
	} else {
		m.Raw("—")
	}
	m.Raw(`</dd>`)
	if d.FiscalCode != "" && a.BirthDate != "" {
		m.Raw("\n  <dt class=\"col-sm-4\">")
		m.Text(p.T("identity.field.birth_date"))
		m.Raw(`</dt><dd class="col-sm-8">`)
		m.Text(a.BirthDate)
		m.Raw(` (`)
		m.Text(p.T("identity.sex." + a.Sex))
		m.Raw(`) — `)
		m.Text(p.T("identity.source." + string(a.BirthSource)))
		m.Raw(`</dd>`)
	}
	if len(a.Roles) > 0 {
		m.Raw(`<dt class="col-sm-4">`)
		m.Text(p.T("identity.profile.roles"))
		m.Raw(`</dt><dd class="col-sm-8">`)
		for i, r := range a.Roles {
			if i > 0 {
				m.Raw(`, `)
			}
			m.Text(p.T("identity.role." + r))
		}
		m.Raw(`</dd>`)
	}
	m.Raw("\n</dl>")
	switch {
	case d.FiscalCode == "" && a.EIDASID != "":
		m.Raw("\n<p>")
		m.Text(p.T("identity.profile.eidas_hint"))
		m.Raw(`</p>`)
	case d.FiscalCode == "":
		m.Raw("\n<p>")
		m.Text(p.T("identity.profile.prove_hint"))
		if d.CardLoginURL != "" {
			m.Raw(` <a href="`)
			m.Href(d.CardLoginURL)
			m.Raw(`">`)
			m.Text(p.T("identity.login.card_button"))
			m.Raw(`</a>`)
		}
		m.Raw(`</p>`)
	}

	m.Raw("\n\n<h2 class=\"h4 mt-4\">")
	m.Text(p.T("identity.profile.data"))
	m.Raw("</h2>\n<form method=\"post\" action=\"/profilo\" novalidate>")
	if a.NameSource == "self" {
		m.Raw("\n  ")
		d.writeInput(m, p, "given_name", "identity.field.given_name", "text", "given-name", "")
		m.Raw("\n  ")
		d.writeInput(m, p, "family_name", "identity.field.family_name", "text", "family-name", "")
	} else {
		m.Raw("\n  <p><span class=\"fw-semibold\">")
		m.Text(p.T("identity.profile.name"))
		m.Raw(`</span> `)
		m.Text(a.FullName())
		m.Raw(` — `)
		m.Text(p.T("identity.source." + string(a.NameSource)))
		m.Raw(`</p>`)
	}
	m.Raw("\n  ")
	d.writeInput(m, p, "phone", "identity.field.phone", "tel", "tel", "")
	m.Raw("\n  ")
	d.writeInput(m, p, "address", "identity.field.address", "text", "street-address", "")
	m.Raw("\n  <button type=\"submit\" class=\"btn btn-primary\">")
	m.Text(p.T("identity.profile.save"))
	m.Raw("</button>\n</form>\n\n<h2 class=\"h4 mt-5\" id=\"email\">")
	m.Text(p.T("identity.email.change"))
	m.Raw("</h2>\n<p>")
	m.Text(p.T("identity.email.change_text"))
	m.Raw("</p>\n<form method=\"post\" action=\"/profilo/email\" novalidate>\n  ")
	d.writeInput(m, p, "new_email", "identity.field.new_email", "email", "email", "")
	if a.PasswordHash != "" {
		m.Raw("\n  ")
		d.writeInput(m, p, "email_password", "identity.field.current_password", "password", "current-password", "")
	} else if e := d.Errors["email_password"]; e != "" {
		m.Raw(`<div class="alert alert-danger" role="alert">`)
		m.Text(p.T(e))
		m.Raw(`</div>`)
	}
	m.Raw("\n  <button type=\"submit\" class=\"btn btn-outline-primary\">")
	m.Text(p.T("identity.email.submit"))
	m.Raw("</button>\n</form>")
	if a.PasswordHash != "" {
		d.writeFormSection(m, p, "password", "identity.password.change", "identity.password.change_text", "/profilo/password", "identity.password.submit",
			profileInput{"current", "identity.field.current_password", "password", "current-password", ""},
			profileInput{"password", "identity.field.new_password", "password", "new-password", "identity.help.password"},
			profileInput{"password2", "identity.field.password2", "password", "new-password", ""})
	}
	if d.CanLink {
		d.writeFormSection(m, p, "collega", "identity.link.title", "identity.link.text", "/profilo/collega", "identity.link.submit",
			profileInput{"link_email", "identity.field.email", "email", "username", ""},
			profileInput{"link_password", "identity.field.password", "password", "current-password", ""})
	}

	m.Raw("\n\n<h2 class=\"h4 mt-5\" id=\"sessioni\">")
	m.Text(p.T("identity.profile.sessions"))
	m.Raw("</h2>\n<div class=\"table-responsive\">\n<table class=\"table\">\n  <caption>")
	m.Text(p.T("identity.profile.sessions_caption"))
	m.Raw("</caption>\n  <thead><tr><th scope=\"col\">")
	m.Text(p.T("identity.profile.session_started"))
	m.Raw(`</th><th scope="col">`)
	m.Text(p.T("identity.profile.session_method"))
	m.Raw(`</th><th scope="col">`)
	m.Text(p.T("identity.profile.session_device"))
	m.Raw(`</th><th scope="col"><span class="visually-hidden">`)
	m.Text(p.T("identity.profile.session_action"))
	m.Raw("</span></th></tr></thead>\n  <tbody>")
	var end string
	for i := range d.Sessions {
		s := &d.Sessions[i]
		m.Raw("\n    <tr>\n      <td>")
		m.Text(web.LocalTime(s.CreatedAt))
		m.Raw("</td>\n      <td>")
		m.Text(p.T("identity.method." + s.Method))
		m.Raw("</td>\n      <td>")
		m.Text(s.UserAgent)
		m.Raw("</td>\n      <td>")
		if s.Hash == d.Session.Hash {
			m.Text(p.T("identity.profile.this_session"))
		} else {
			if end == "" {
				end = p.T("identity.profile.end_session")
			}
			m.Raw("\n        <form method=\"post\" action=\"")
			m.Href("/profilo/sessioni/" + s.Hash + "/termina")
			m.Raw(`"><button type="submit" class="btn btn-sm btn-outline-primary">`)
			m.Text(end)
			m.Raw(`</button></form>`)
		}
		m.Raw("</td>\n    </tr>")
	}
	m.Raw("\n  </tbody>\n</table>\n</div>\n<div class=\"d-flex flex-wrap gap-3\">\n  <form method=\"post\" action=\"/esci\"><button type=\"submit\" class=\"btn btn-outline-primary\">")
	m.Text(p.T("identity.logout"))
	m.Raw("</button></form>\n  <form method=\"post\" action=\"/profilo/esci-ovunque\"><button type=\"submit\" class=\"btn btn-outline-primary\">")
	m.Text(p.T("identity.logout_everywhere"))
	m.Raw("</button></form>\n</div>")
	if a.PasswordHash != "" {
		m.Raw("\n<p class=\"mt-3\"><a href=\"/profilo/password\">")
		m.Text(p.T("identity.password.title"))
		m.Raw(`</a></p>`)
	}

	m.Raw("\n\n<h2 class=\"h4 mt-5\">")
	m.Text(p.T("identity.profile.privacy"))
	m.Raw("</h2>\n<p><a href=\"/profilo/applicazioni\">")
	m.Text(p.T("identity.profile.apps"))
	m.Raw("</a></p>\n<p><a href=\"/profilo/dati.json\" download>")
	m.Text(p.T("identity.profile.download"))
	m.Raw("</a></p>\n<form method=\"post\" action=\"/profilo/chiudi\" class=\"mt-3\">\n  <div class=\"form-check mb-3\">\n    <input class=\"form-check-input")
	cErr := d.Errors["confirm"]
	if cErr != "" {
		m.Raw(` is-invalid`)
	}
	m.Raw(`" type="checkbox" name="confirm" value="1" id="f-confirm"`)
	if cErr != "" {
		m.Raw(` aria-invalid="true" aria-describedby="f-confirm-error"`)
	}
	m.Raw(">\n    <label class=\"form-check-label\" for=\"f-confirm\">")
	m.Text(p.T("identity.profile.close_confirm"))
	m.Raw(`</label>`)
	if cErr != "" {
		m.Raw(`<div class="invalid-feedback d-block" id="f-confirm-error">`)
		m.Text(p.T(cErr))
		m.Raw(`</div>`)
	}
	m.Raw("\n  </div>\n  <button type=\"submit\" class=\"btn btn-danger\">")
	m.Text(p.T("identity.profile.close"))
	m.Raw("</button>\n</form>\n")
}

// writeNotices writes the notice and the alert above a form (the
// template "notices").
func (d *FormData) writeNotices(m *web.Markup, p *web.Page) {
	if d.Message != "" {
		m.Raw(`<div class="alert alert-success" role="status">`)
		m.Text(p.T(d.Message, "Email", d.Email))
		m.Raw(`</div>`)
	}
	if d.Alert != "" {
		m.Raw(`<div class="alert alert-danger" role="alert">`)
		m.Text(p.T(d.Alert, "Wait", d.Wait))
		m.Raw(`</div>`)
	}
}

// profileInput is an input of a section of the profile's forms
// (writeInput's arguments).
type profileInput struct{ name, label, typ, autocomplete, help string }

// writeFormSection writes a section of the profile that is a heading, a
// paragraph and a form of inputs posted to action.
func (d *ProfileData) writeFormSection(m *web.Markup, p *web.Page, id, title, text, action, submit string, inputs ...profileInput) {
	m.Raw("\n\n<h2 class=\"h4 mt-5\" id=\"")
	m.Raw(id)
	m.Raw("\">")
	m.Text(p.T(title))
	m.Raw("</h2>\n<p>")
	m.Text(p.T(text))
	m.Raw("</p>\n<form method=\"post\" action=\"")
	m.Raw(action)
	m.Raw("\" novalidate>")
	for _, in := range inputs {
		m.Raw("\n  ")
		d.writeInput(m, p, in.name, in.label, in.typ, in.autocomplete, in.help)
	}
	m.Raw("\n  <button type=\"submit\" class=\"btn btn-outline-primary\">")
	m.Text(p.T(submit))
	m.Raw("</button>\n</form>")
}
