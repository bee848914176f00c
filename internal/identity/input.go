package identity

import (
	"html/template"

	"github.com/civico-pa/civico/internal/web"
)

// Input draws one labelled form field with its error beside it: the field
// name, the message id of its label, its type, its autocomplete token and,
// optionally, the message id of a help text. The value typed before (but
// never a password's) and the field's error come from d; p translates.
// It is written by Go code, as the template it replaces wrote it: the
// forms' fields were most of the profile page's cost as a template (a
// dict and a dozen reflective actions per field; docs/RENDERING.md).
//
//	{{.Data.Input . "email" "identity.field.email" "email" "username"}}
func (d FormData) Input(p *web.Page, name, label, typ, auto string, help ...string) template.HTML {
	h := ""
	if len(help) > 0 {
		h = help[0]
	}
	var m web.Markup
	m.Grow(512)
	d.writeInput(&m, p, name, label, typ, auto, h)
	return m.HTML()
}

// writeInput writes what Input returns into m (h: the help text's message
// id, "" for none).
func (d *FormData) writeInput(m *web.Markup, p *web.Page, name, label, typ, auto, h string) {
	errID := d.Errors[name]
	m.Raw("\n<div class=\"mb-4\">\n  <label for=\"f-")
	m.Text(name)
	m.Raw(`" class="form-label fw-semibold">`)
	m.Text(p.T(label))
	m.Raw(`</label>` + "\n  " + `<input type="`)
	m.Text(typ)
	m.Raw(`" class="form-control`)
	if errID != "" {
		m.Raw(` is-invalid`)
	}
	m.Raw(`" id="f-`)
	m.Text(name)
	m.Raw(`" name="`)
	m.Text(name)
	m.Raw(`"`)
	if typ != "password" {
		m.Raw(` value="`)
		m.Text(d.Values[name])
		m.Raw(`"`)
	}
	if auto != "" {
		m.Raw(` autocomplete="`)
		m.Text(auto)
		m.Raw(`"`)
	}
	if errID != "" {
		m.Raw(` aria-invalid="true"`)
	}
	switch {
	case errID != "" && h != "":
		m.Raw(` aria-describedby="f-`)
		m.Text(name)
		m.Raw(`-error f-`)
		m.Text(name)
		m.Raw(`-help"`)
	case errID != "":
		m.Raw(` aria-describedby="f-`)
		m.Text(name)
		m.Raw(`-error"`)
	case h != "":
		m.Raw(` aria-describedby="f-`)
		m.Text(name)
		m.Raw(`-help"`)
	}
	m.Raw(`>`)
	if h != "" {
		m.Raw("\n  <small id=\"f-")
		m.Text(name)
		m.Raw(`-help" class="form-text">`)
		m.Text(p.T(h))
		m.Raw(`</small>`)
	}
	if errID != "" {
		m.Raw("\n  <div class=\"invalid-feedback d-block\" id=\"f-")
		m.Text(name)
		m.Raw(`-error">`)
		m.Text(p.T(errID))
		m.Raw(`</div>`)
	}
	m.Raw("\n</div>\n")
}
