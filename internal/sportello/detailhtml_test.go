package sportello

import (
	"fmt"
	"html/template"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/problem"
	"github.com/civico-pa/civico/internal/web/webtest"
)

// detailPartials are the templates that detailhtml.go replaced, as they
// were.
const detailPartials = `{{define "sp-answers"}}
<dl class="row mb-0">
  {{- range .Fields}}{{if .Shown}}
  <dt class="col-sm-5">{{.Label}}</dt><dd class="col-sm-7 text-break">{{if eq .Type "long_text"}}{{paragraphs .Answer}}{{else}}{{.Answer}}{{end}}</dd>
  {{- end}}{{end}}
</dl>
{{end}}
{{define "sp-applicant"}}
<dl class="row mb-0">
  {{- range $k := list "given_name" "family_name" "fiscal_code" "email" "phone" "address"}}{{with index $.Values $k}}
  <dt class="col-sm-5">{{$.P.T (print "sportello.applicant." $k)}}</dt>
  <dd class="col-sm-7">{{.}}{{if index $.Proven $k}} <span class="badge bg-success">{{$.P.T "sportello.proven"}}</span>{{end}}</dd>
  {{- end}}{{end}}
</dl>
{{end}}
{{define "sp-state"}}<span class="badge {{if .S.AwaitsResident}}bg-warning text-dark{{else if eq (print .S) "accepted"}}bg-success{{else if .S.Closed}}bg-secondary{{else if eq (print .S) "draft"}}bg-light text-dark border{{else}}bg-primary{{end}}">{{.P.T (print "sportello.state." .S)}}</span>{{end}}
{{define "sp-history"}}
<h2 class="h4 mt-5" id="storia">{{.P.T "sportello.detail.history"}}</h2>
<ol class="list-unstyled border-start border-2 ps-3">
  {{- range .D.History}}
  <li class="mb-2"><time datetime="{{.At.Format "2006-01-02T15:04:05Z07:00"}}">{{localtime .At}}</time> — {{$.P.T (print "sportello.history." .Action)}}{{if eq (print .Action) "register"}} {{.Note}}{{end}}{{if and $.Office (eq (print .Action) "assign")}} → {{index $.D.Names .Note}}{{end}}{{if and $.Office (eq (print .Actor) "office")}} <span class="text-secondary">({{index $.D.Names .ActorID}})</span>{{end}}</li>
  {{- end}}
</ol>
{{end}}
{{define "sp-messages"}}
<h2 class="h4 mt-5" id="messaggi">{{.P.T "sportello.detail.messages"}}</h2>
{{- if .D.Messages}}
<ul class="list-unstyled">
  {{- range .D.Messages}}
  <li class="card card-bg mb-3{{if .FromOffice}} border-start border-primary border-3{{end}}">
    <div class="card-body py-3">
      <p class="small text-secondary mb-1">{{if .FromOffice}}{{$.P.T "sportello.detail.from_office"}}{{if $.Office}} ({{index $.D.Names .AuthorID}}){{end}}{{else}}{{$.P.T "sportello.detail.from_resident"}}{{end}} · {{$.P.T (print "sportello.kind." .Kind)}} · <time datetime="{{.At.Format "2006-01-02T15:04:05Z07:00"}}">{{localtime .At}}</time></p>
      <div class="text-break">{{paragraphs .Body}}</div>
    </div>
  </li>
  {{- end}}
</ul>
{{- else}}
<p>{{.P.T "sportello.detail.no_messages"}}</p>
{{- end}}
{{end}}
{{define "sp-documents"}}
<h2 class="h4 mt-5" id="documenti">{{.P.T "sportello.detail.documents"}}</h2>
<ul class="list-unstyled">
  <li class="mb-2">{{.P.Icon "it-file-pdf" "icon-sm"}} <a href="{{.Base}}/ricevuta.pdf" download>{{.P.T "sportello.receipt.pdf"}}</a></li>
  {{- range .D.Documents}}
  <li class="mb-2">{{$.P.Icon "it-clip" "icon-sm"}} <a href="{{$.Base}}/documenti/{{.ID}}" download>{{.Filename}}</a> <span class="small text-secondary">({{$.P.T (print "sportello.doc." .Kind)}}{{with .Protocol}}, {{$.P.T "sportello.field.protocol"}} {{.}}{{end}}, {{localtime .At}})</span></li>
  {{- end}}
</ul>
{{end}}
{{define "sp-note"}}
{{- $name := "note"}}{{if .Form}}{{$name = print .Form ".note"}}{{end}}
{{- $err := index .P.Data.Errors $name}}{{$active := or (eq .Form "") (eq (index .P.Data.Values "form") .Form)}}
<div class="mb-3">
  <label for="f-{{if .Form}}{{.Form}}-{{end}}note" class="form-label fw-semibold">{{.P.T .Label}}</label>
  <textarea class="form-control{{if $err}} is-invalid{{end}}" id="f-{{if .Form}}{{.Form}}-{{end}}note" name="note" rows="4" maxlength="4000"{{if $err}} aria-invalid="true" aria-describedby="f-{{if .Form}}{{.Form}}-{{end}}note-error"{{end}}>{{if $active}}{{index .P.Data.Values "note"}}{{end}}</textarea>
  {{- if $err}}<div class="invalid-feedback d-block" id="f-{{if .Form}}{{.Form}}-{{end}}note-error">{{.P.T $err}}</div>{{end}}
</div>
{{end}}
{{define "sp-file"}}
{{- $name := "file"}}{{if .Form}}{{$name = print .Form ".file"}}{{end}}
{{- $err := index .P.Data.Errors $name}}
<div class="mb-3">
  <label for="f-{{if .Form}}{{.Form}}-{{end}}file" class="form-label fw-semibold">{{.P.T "sportello.detail.file"}}</label>
  <input type="file" class="form-control{{if $err}} is-invalid{{end}}" id="f-{{if .Form}}{{.Form}}-{{end}}file" name="file" accept=".pdf,application/pdf,.jpg,.jpeg,.png,image/jpeg,image/png" aria-describedby="f-{{if .Form}}{{.Form}}-{{end}}file-help{{if $err}} f-{{if .Form}}{{.Form}}-{{end}}file-error{{end}}"{{if $err}} aria-invalid="true"{{end}}>
  <small id="f-{{if .Form}}{{.Form}}-{{end}}file-help" class="form-text">{{.P.T "sportello.detail.file_help"}}</small>
  {{- if $err}}<div class="invalid-feedback d-block" id="f-{{if .Form}}{{.Form}}-{{end}}file-error">{{.P.T $err}}</div>{{end}}
</div>
{{end}}
{{define "sp-acting"}}{{with .A.Acting}}
<div class="callout note mb-4" data-element="acting">
  <div class="callout-title">{{$.P.T "sportello.acting.title"}}</div>
  <p class="mb-0">{{$.P.T "sportello.acting.text" "Acting" .Name "FiscalCode" .FiscalCode "Holder" $.A.Applicant.Name}}</p>
</div>
{{end}}{{end}}`

// The pieces of an application's pages written by Go code are the bytes
// the partials wrote, in both languages, for the resident and the office,
// in every state, with and without a delegation, documents, messages,
// errors and values, on values full of what must be escaped.
func TestDetailPiecesAreThePartials(t *testing.T) {
	app, _ := webtest.NewApp(t, Messages)
	tmpl := webtest.Parse(t, detailPartials)
	n := 0
	check := func(what string, got template.HTML, name string, data any) {
		t.Helper()
		webtest.Same(t, what, string(got), webtest.Execute(t, tmpl, name, data))
		n++
	}
	hostile := `<script>alert("x")</script> & 'y' javascript:`
	utc := time.Date(2026, 11, 25, 9, 30, 0, 0, time.UTC)
	rome := time.Date(2026, 11, 26, 17, 5, 0, 0, time.FixedZone("CET", 3600))
	for _, lang := range webtest.Languages {
		p := webtest.Page(app, lang, "/area-personale/pratiche/x", "")
		for _, s := range States {
			check("badge "+lang+" "+string(s), s.Badge(p), "sp-state", map[string]any{"P": p, "S": s})
		}
		for _, acting := range []*Acting{nil, {GivenName: "Anna", FamilyName: "Bianchi", FiscalCode: "BNCNNA80A41F205X"}, {GivenName: hostile, FamilyName: hostile, FiscalCode: hostile}} {
			a := &Application{Acting: acting}
			a.Applicant.GivenName.Value, a.Applicant.FamilyName.Value = "Luca", hostile
			check("acting "+lang, a.ActingNote(p), "sp-acting", map[string]any{"P": p, "A": a})
		}
		for _, values := range []map[string]string{
			{},
			{"given_name": "Luca", "family_name": "Ferrari", "fiscal_code": "FRRLCU78H15C707X", "email": "luca@example.org"},
			{"given_name": hostile, "family_name": hostile, "fiscal_code": hostile, "email": hostile, "phone": hostile, "address": hostile},
		} {
			for _, proven := range []map[string]bool{nil, {"given_name": true, "email": true, "address": true}} {
				d := &DetailData{ApplicantValues: values, ApplicantProven: proven}
				check("applicant "+lang, d.Applicant(p), "sp-applicant", map[string]any{"P": p, "Values": values, "Proven": proven})
				f := &FlowData{Values: values, Proven: proven}
				check("flow applicant "+lang, f.Applicant(p), "sp-applicant", map[string]any{"P": p, "Values": values, "Proven": proven})
			}
		}
		fields := []FieldView{
			{Type: "text", Label: "Nome", Value: "Sara"},
			{Type: "text", Label: hostile, Value: hostile},
			{Type: "text", Label: "Vuoto"},
			{Type: "long_text", Label: "Note", Value: "Prima riga\nseconda <b>riga</b>\n\n\nAltro paragrafo & 'fine'"},
			{Type: "choice", Label: "Scuola", Options: []OptionView{{Value: "a", Label: "Parini"}, {Value: "b", Label: hostile, Checked: true}}},
			{Type: "multi", Label: "Giorni", Options: []OptionView{{Value: "lun", Label: "lunedì", Checked: true}, {Value: "mer", Label: "mercoledì", Checked: true}}},
			{Type: "address", Label: "Indirizzo", Address: [4]string{"Via Frova", "12", "20092", hostile}},
			{Type: "file", Label: "Documento", File: &FileInfo{Filename: hostile}},
			{Type: "consent", Label: "Consenso", Value: "yes"},
			{Type: "iban", Label: "IBAN", Value: "IT60X0542811101000000123456"},
		}
		for _, fs := range [][]FieldView{nil, fields} {
			d := &DetailData{Fields: fs}
			check("answers "+lang, d.Answers(), "sp-answers", d)
			f := &FlowData{Fields: fs}
			check("flow answers "+lang, f.Answers(), "sp-answers", f)
		}
		docs := []Document{
			{ID: "d1", Kind: DocAnswer, Filename: "carta.pdf", At: utc},
			{ID: "d2", Kind: "decision", Filename: hostile, Protocol: "2026/123", At: rome},
			{ID: "d3 <x>", Kind: "integration", Filename: "foto.jpg", Protocol: hostile, At: rome},
		}
		messages := []Note{
			{At: utc, FromOffice: true, AuthorID: "op1", Kind: "message", Body: "Buongiorno,\nserve un documento."},
			{At: rome, Kind: "integration", Body: hostile + "\n\n" + hostile},
			{At: rome, FromOffice: true, AuthorID: "nobody", Kind: "notice", Body: ""},
		}
		history := []HistoryEntry{
			{At: utc, Action: Submit, Actor: Resident},
			{At: utc, Action: Register, Actor: Office, ActorID: "op1", Note: "2026/77 " + hostile},
			{At: rome, Action: Assign, Actor: Office, ActorID: "op1", Note: "op2"},
			{At: rome, Action: Take, Actor: Office, ActorID: "unknown"},
			{At: rome, Action: Message, Actor: Resident, Note: hostile},
		}
		names := map[string]string{"op1": "Maria Rossi", "op2": hostile}
		for _, full := range []bool{false, true} {
			d := &DetailData{Names: names}
			if full {
				d.Documents, d.Messages, d.History = docs, messages, history
			}
			for _, base := range []string{"/area-personale/pratiche/abc", "/backoffice/pratiche/abc"} {
				check("documents "+lang+" "+base, d.DocumentList(p, base), "sp-documents", map[string]any{"P": p, "D": d, "Base": base})
			}
			for _, office := range []bool{false, true} {
				check("messages "+lang, d.MessageList(p, office), "sp-messages", map[string]any{"P": p, "D": d, "Office": office})
				check("history "+lang, d.HistoryList(p, office), "sp-history", map[string]any{"P": p, "D": d, "Office": office})
			}
		}
		for _, form := range []string{"", "integrate", "message"} {
			for _, sent := range []string{"", "integrate", "remarks"} {
				for _, failed := range []bool{false, true} {
					d := &DetailData{Values: map[string]string{}, Errors: problem.Fields{}}
					if sent != "" {
						d.Values = map[string]string{"note": hostile, "form": sent}
					} else if form == "" {
						d.Values = map[string]string{"note": "Una nota"}
					}
					if failed {
						prefix := ""
						if form != "" {
							prefix = form + "."
						}
						d.Errors[prefix+"note"] = "sportello.error.note_message"
						d.Errors[prefix+"file"] = "sportello.error.file_type"
					}
					p.Data = d
					what := lang + " form " + form + " sent " + sent
					check("note "+what, d.NoteField(p, "sportello.detail.write", form), "sp-note", map[string]any{"P": p, "Label": "sportello.detail.write", "Form": form})
					check("file "+what, d.FileField(p, form), "sp-file", map[string]any{"P": p, "Form": form})
				}
			}
		}
	}
	if n != 158 {
		t.Errorf("%d cases", n)
	}
}

// detailBody is the resident's page of an application below its title,
// as the template wrote it before DetailData.Body.
const detailBody = `{{define "body"}}{{$d := .Data}}{{$a := $d.App}}{{$base := print "/area-personale/pratiche/" $a.ID}}{{template "sp-acting" (dict "P" . "A" .Data.App)}}
      {{- with $d.Message}}<div class="alert alert-success" role="status">{{$.T .}}</div>{{end}}
      {{- with $d.Alert}}<div class="alert alert-danger" role="alert">{{$.T .}}</div>{{end}}
      <dl class="row">
        <dt class="col-sm-5">{{.T "sportello.field.state"}}</dt><dd class="col-sm-7">{{template "sp-state" (dict "P" . "S" $a.State)}}{{if $d.Overdue}} <span class="badge bg-danger">{{.T "sportello.overdue"}}</span>{{end}}</dd>
        <dt class="col-sm-5">{{.T "sportello.field.protocol"}}</dt><dd class="col-sm-7">{{$a.Protocol}}</dd>
        <dt class="col-sm-5">{{.T "sportello.field.submitted"}}</dt><dd class="col-sm-7">{{with $a.SubmittedAt}}{{localtime .}}{{end}}</dd>
        {{- with $a.TakenAt}}<dt class="col-sm-5">{{$.T "sportello.field.taken"}}</dt><dd class="col-sm-7">{{localtime .}}</dd>{{end}}
        {{- if $a.State.Open}}
        <dt class="col-sm-5">{{.T "sportello.field.due"}}</dt><dd class="col-sm-7">{{$a.DueLabel}}{{if $d.Paused}} — {{.T "sportello.paused"}}{{end}}</dd>
        {{- else if $a.State.Closed}}
        <dt class="col-sm-5">{{.T "sportello.field.decided"}}</dt><dd class="col-sm-7">{{localtime $a.DecidedAt}}</dd>
        {{- end}}
      </dl>
      {{- if eq (print $a.State) "integration_requested"}}
      <div class="alert alert-warning" role="alert">{{.T "sportello.detail.integration_asked" "Day" (localtime $a.IntegrationUntil)}}</div>
      {{- else if eq (print $a.State) "refusal_notice"}}
      <div class="alert alert-warning" role="alert">{{.T "sportello.detail.notice_received" "Day" (localtime $a.RemarksDue)}}</div>
      {{- end}}

      {{- if index $d.Can "integrate"}}
      <section class="card card-bg mb-4" aria-labelledby="integra-titolo"><div class="card-body">
        <h2 class="h5" id="integra-titolo">{{.T "sportello.detail.integrate"}}</h2>
        <form method="post" action="{{$base}}/integrazione" enctype="multipart/form-data" novalidate>
          {{template "sp-note" (dict "P" . "Label" "sportello.detail.integrate_note" "Form" "integrate")}}
          {{template "sp-file" (dict "P" . "Form" "integrate")}}
          <button type="submit" class="btn btn-primary" data-once>{{.T "sportello.detail.integrate_send"}}</button>
        </form>
      </div></section>
      {{- end}}
      {{- if index $d.Can "remarks"}}
      <section class="card card-bg mb-4" aria-labelledby="osserva-titolo"><div class="card-body">
        <h2 class="h5" id="osserva-titolo">{{.T "sportello.detail.remarks"}}</h2>
        <form method="post" action="{{$base}}/osservazioni" enctype="multipart/form-data" novalidate>
          {{template "sp-note" (dict "P" . "Label" "sportello.detail.remarks_note" "Form" "remarks")}}
          {{template "sp-file" (dict "P" . "Form" "remarks")}}
          <button type="submit" class="btn btn-primary" data-once>{{.T "sportello.detail.remarks_send"}}</button>
        </form>
      </div></section>
      {{- end}}

      <h2 class="h4 mt-4">{{.T "sportello.detail.answers"}}</h2>
      {{template "sp-applicant" (dict "P" . "Values" $d.ApplicantValues "Proven" $d.ApplicantProven)}}
      {{template "sp-answers" $d}}
      {{template "sp-documents" (dict "P" . "D" $d "Base" $base)}}
      {{template "sp-messages" (dict "P" . "D" $d "Office" false)}}
      {{- if index $d.Can "message"}}
      <form method="post" action="{{$base}}/messaggi" novalidate class="mb-4">
        {{template "sp-note" (dict "P" . "Label" "sportello.detail.write" "Form" "message")}}
        <button type="submit" class="btn btn-outline-primary" data-once>{{.T "sportello.detail.send"}}</button>
      </form>
      {{- end}}
      {{template "sp-history" (dict "P" . "D" $d "Office" false)}}
      {{- if index $d.Can "withdraw"}}
      <h2 class="h4 mt-5">{{.T "sportello.detail.withdraw"}}</h2>
      <p>{{.T "sportello.detail.withdraw_text"}}</p>
      <form method="post" action="{{$base}}/ritiro">
        <button type="submit" class="btn btn-outline-danger">{{.T "sportello.detail.withdraw_button"}}</button>
      </form>
      {{- end}}{{end}}`

// The resident's page of an application written by Go code is the bytes
// its template wrote, in both languages, in every state, overdue or not,
// paused or not, with every action or none, with and without a message,
// an alert, errors, a delegation, documents, messages and history.
func TestDetailBodyIsTheTemplate(t *testing.T) {
	app, _ := webtest.NewApp(t, Messages)
	tmpl := webtest.Parse(t, detailPartials+detailBody)
	hostile := `<script>alert("x")</script> & 'y' javascript:`
	now := time.Now()
	registered, submitted, taken := now.AddDate(0, 0, -40), now.AddDate(0, 0, -41), now.AddDate(0, 0, -39)
	n := 0
	for _, lang := range webtest.Languages {
		p := webtest.Page(app, lang, "/area-personale/pratiche/x", "")
		for _, s := range States {
			for v := range 4 {
				a := &Application{ID: "0123abcd", Protocol: "2026/000123"}
				a.State = s
				a.RegisteredAt, a.TermDays = registered, 30
				a.IntegrationUntil, a.NoticeAt, a.DecidedAt = now.AddDate(0, 0, 5), now.AddDate(0, 0, -2), now.AddDate(0, 0, -1)
				a.Applicant.GivenName.Value, a.Applicant.FamilyName.Value = "Luca", "Ferrari"
				d := &DetailData{App: a, Now: now, Can: map[string]bool{}, Values: map[string]string{}, Errors: problem.Fields{},
					ApplicantValues: map[string]string{"given_name": "Luca", "email": "luca@example.org"}, ApplicantProven: map[string]bool{"given_name": true}}
				switch v {
				case 1:
					// Recent, paused, under a delegation, every action.
					a.RegisteredAt, a.SubmittedAt = now.AddDate(0, 0, -3), &submitted
					a.PauseFrom, a.PauseUntil = now.Add(-time.Hour), now.AddDate(0, 0, 5)
					a.Acting = &Acting{GivenName: "Anna", FamilyName: "Bianchi", FiscalCode: "BNCNNA80A41F205X"}
					d.Can = map[string]bool{"integrate": true, "remarks": true, "message": true, "withdraw": true}
					d.Message = "sportello.done.message"
				case 2:
					// Taken, with an error on the integration's form and
					// hostile values everywhere.
					a.ID, a.Protocol, a.SubmittedAt, a.TakenAt = "a b<c>", hostile, &submitted, &taken
					a.Acting = &Acting{GivenName: hostile, FiscalCode: hostile}
					d.Can = map[string]bool{"integrate": true, "message": true}
					d.Alert = "sportello.error.form"
					d.Errors = problem.Fields{"integrate.note": "sportello.error.note_integrate", "integrate.file": "sportello.error.file_type"}
					d.Values = map[string]string{"note": hostile, "form": "integrate"}
					d.ApplicantValues = map[string]string{"given_name": hostile, "family_name": hostile, "phone": hostile}
					d.Fields = []FieldView{{Type: "text", Label: hostile, Value: hostile}, {Type: "long_text", Label: "Note", Value: "a\nb\n\nc"}}
					d.Documents = []Document{{ID: "d1", Kind: DocAnswer, Filename: hostile, Protocol: "2026/9", At: now}}
					d.Messages = []Note{{At: now, FromOffice: true, Kind: "message", Body: hostile}}
					d.History = []HistoryEntry{{At: now, Action: Register, Actor: Office, Note: "2026/000123"}, {At: now, Action: Assign, Actor: Office, Note: "op"}}
				case 3:
					// Remarks sent back with an error on the message's form.
					a.SubmittedAt = &submitted
					d.Can = map[string]bool{"remarks": true, "message": true, "withdraw": true}
					d.Errors = problem.Fields{"message.note": "sportello.error.note_message"}
					d.Values = map[string]string{"note": "Scrivo", "form": "message"}
				}
				p.Data = d
				want := webtest.Execute(t, tmpl, "body", p)
				webtest.Same(t, fmt.Sprintf("%s %s variant %d", lang, s, v), string(d.Body(p)), want)
				n++
			}
		}
	}
	if n != 2*len(States)*4 {
		t.Errorf("%d cases", n)
	}
}
