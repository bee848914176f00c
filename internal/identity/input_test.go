package identity

import (
	"html/template"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/town"
	"github.com/civico-pa/civico/internal/web"
)

// inputTemplate is what FormData.Input writes, as the template it replaced
// wrote it.
const inputTemplate = `{{define "input"}}
{{- $err := index .P.Data.Errors .Name}}
<div class="mb-4">
  <label for="f-{{.Name}}" class="form-label fw-semibold">{{.P.T .Label}}</label>
  <input type="{{.Type}}" class="form-control{{if $err}} is-invalid{{end}}" id="f-{{.Name}}" name="{{.Name}}"
    {{- if ne .Type "password"}} value="{{index .P.Data.Values .Name}}"{{end}}
    {{- with .Auto}} autocomplete="{{.}}"{{end}}
    {{- if $err}} aria-invalid="true"{{end}}
    {{- if and $err .Help}} aria-describedby="f-{{.Name}}-error f-{{.Name}}-help"{{else if $err}} aria-describedby="f-{{.Name}}-error"{{else if .Help}} aria-describedby="f-{{.Name}}-help"{{end}}>
  {{- with .Help}}
  <small id="f-{{$.Name}}-help" class="form-text">{{$.P.T .}}</small>
  {{- end}}
  {{- if $err}}
  <div class="invalid-feedback d-block" id="f-{{.Name}}-error">{{.P.T $err}}</div>
  {{- end}}
</div>
{{end}}`

// A form's field written by Go code is the bytes the template wrote, in
// both languages, with and without an error, a help text, a value and an
// autocomplete token, for every type, with values full of what must be
// escaped.
func TestInputIsTheTemplate(t *testing.T) {
	x, err := web.NewI18n(web.Messages, Messages)
	if err != nil {
		t.Fatal(err)
	}
	app := &web.App{I18n: x, Town: town.NewStore(dbtest.SQLite(t), 0), Static: &web.Static{Prefix: "/static"}, Chrome: web.Chrome{}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	tmpl := template.Must(template.New("").Funcs(template.FuncMap{"dict": func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}}).Parse(inputTemplate))
	hostile := `<script>alert("x")</script> & 'y' javascript:`
	n := 0
	for _, lang := range []string{"it", "en"} {
		req := httptest.NewRequest("GET", "/profilo", nil)
		req.Header.Set("Accept-Language", lang)
		p := app.NewPage(req, "")
		for _, typ := range []string{"text", "email", "password", "tel"} {
			for _, auto := range []string{"", "off", "new-password"} {
				for _, help := range []string{"", "identity.help.password"} {
					for _, fieldErr := range []string{"", "identity.error.form"} {
						for _, value := range []string{"", "Luca", hostile} {
							d := FormData{Values: map[string]string{"field": value, "other": "x"}, Errors: FieldErrors{}}
							if fieldErr != "" {
								d.Errors["field"] = fieldErr
							}
							p.Data = &d
							var want strings.Builder
							if err := tmpl.ExecuteTemplate(&want, "input", map[string]any{"P": p, "Name": "field", "Label": "identity.field.email", "Type": typ, "Auto": auto, "Help": help}); err != nil {
								t.Fatal(err)
							}
							var got template.HTML
							if help == "" {
								got = d.Input(p, "field", "identity.field.email", typ, auto)
							} else {
								got = d.Input(p, "field", "identity.field.email", typ, auto, help)
							}
							if string(got) != want.String() {
								t.Errorf("%s %s auto %q help %q error %q value %q:\n got: %s\nwant: %s", lang, typ, auto, help, fieldErr, value, got, want.String())
							}
							n++
						}
					}
				}
			}
		}
	}
	if n != 288 {
		t.Errorf("%d cases", n)
	}
}
