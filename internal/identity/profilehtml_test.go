package identity

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/web"
	"github.com/civico-pa/civico/internal/web/webtest"
)

// profileTemplate is /profilo below the layout's header as its template
// wrote it before ProfileData.Content, with the "notices" partial it
// called and the layout's "prose" and "breadcrumb" (web keeps
// Markup.Breadcrumb to the latter).
const profileTemplate = `{{define "content"}}{{template "prose" .}}{{end}}
{{define "prose"}}
<div class="container">
  <div class="row">
    <div class="col-12 col-lg-8 px-lg-4 py-4">
      {{template "breadcrumb" .}}
      <h1>{{.Title}}</h1>
      {{template "body" .}}
    </div>
  </div>
</div>
{{end}}
{{define "breadcrumb"}}{{if .Breadcrumb}}
<nav class="breadcrumb-container" aria-label="{{.T "layout.breadcrumb"}}">
  <ol class="breadcrumb p-0" data-element="breadcrumb">
    <li class="breadcrumb-item"><a href="/">{{.T "layout.home"}}</a><span class="separator">/</span></li>
    {{- range $i, $c := .Breadcrumb}}
    {{- if $c.Href}}
    <li class="breadcrumb-item"><a href="{{$c.Href}}">{{$c.Label}}</a><span class="separator">/</span></li>
    {{- else}}
    <li class="breadcrumb-item active" aria-current="page">{{$c.Label}}</li>
    {{- end}}
    {{- end}}
  </ol>
</nav>
{{end}}{{end}}
{{define "notices"}}
{{- with .Data.Message}}<div class="alert alert-success" role="status">{{$.T . "Email" $.Data.Email}}</div>{{end}}
{{- with .Data.Alert}}<div class="alert alert-danger" role="alert">{{$.T . "Wait" $.Data.Wait}}</div>{{end}}
{{end}}
{{define "body"}}
{{template "notices" .}}
{{- $a := .Data.Account}}
<p class="lead">{{.T "identity.profile.lead" "Name" $a.DisplayName}}</p>
<p>{{.T (print "identity.profile.assurance_" .Data.Session.Assurance)}}</p>
<dl class="row">
  <dt class="col-sm-4">{{.T "identity.field.fiscal_code"}}</dt><dd class="col-sm-8">{{if .Data.FiscalCode}}<span class="font-monospace">{{.Data.FiscalCode}}</span> <span class="badge bg-success">{{.T "identity.source.cns"}}</span>{{else}}{{.T "identity.profile.no_fiscal_code"}}{{end}}</dd>
  {{- if $a.EIDASID}}
  <dt class="col-sm-4">{{.T "identity.field.eidas_id"}}</dt><dd class="col-sm-8"><span class="font-monospace">{{$a.EIDASID}}</span> <span class="badge bg-success">{{.T (print "identity.source." $a.EIDASIDSource)}}</span></dd>
  {{- end}}
  <dt class="col-sm-4">{{.T "identity.field.email"}}</dt><dd class="col-sm-8">{{if $a.Email}}{{$a.Email}}{{else}}—{{end}}</dd>
  {{- if and .Data.FiscalCode $a.BirthDate}}
  <dt class="col-sm-4">{{.T "identity.field.birth_date"}}</dt><dd class="col-sm-8">{{$a.BirthDate}} ({{.T (print "identity.sex." $a.Sex)}}) — {{.T (print "identity.source." $a.BirthSource)}}</dd>
  {{- end}}
  {{- if $a.Roles}}<dt class="col-sm-4">{{.T "identity.profile.roles"}}</dt><dd class="col-sm-8">{{range $i, $r := $a.Roles}}{{if $i}}, {{end}}{{$.T (print "identity.role." $r)}}{{end}}</dd>{{end}}
</dl>
{{- if and (not .Data.FiscalCode) $a.EIDASID}}
<p>{{.T "identity.profile.eidas_hint"}}</p>
{{- else if not .Data.FiscalCode}}
<p>{{.T "identity.profile.prove_hint"}}{{with .Data.CardLoginURL}} <a href="{{.}}">{{$.T "identity.login.card_button"}}</a>{{end}}</p>
{{- end}}

<h2 class="h4 mt-4">{{.T "identity.profile.data"}}</h2>
<form method="post" action="/profilo" novalidate>
  {{- if eq (print $a.NameSource) "self"}}
  {{.Data.Input . "given_name" "identity.field.given_name" "text" "given-name"}}
  {{.Data.Input . "family_name" "identity.field.family_name" "text" "family-name"}}
  {{- else}}
  <p><span class="fw-semibold">{{.T "identity.profile.name"}}</span> {{$a.FullName}} — {{.T (print "identity.source." $a.NameSource)}}</p>
  {{- end}}
  {{.Data.Input . "phone" "identity.field.phone" "tel" "tel"}}
  {{.Data.Input . "address" "identity.field.address" "text" "street-address"}}
  <button type="submit" class="btn btn-primary">{{.T "identity.profile.save"}}</button>
</form>

<h2 class="h4 mt-5" id="email">{{.T "identity.email.change"}}</h2>
<p>{{.T "identity.email.change_text"}}</p>
<form method="post" action="/profilo/email" novalidate>
  {{.Data.Input . "new_email" "identity.field.new_email" "email" "email"}}
  {{- if $a.PasswordHash}}
  {{.Data.Input . "email_password" "identity.field.current_password" "password" "current-password"}}
  {{- else}}
  {{- with index .Data.Errors "email_password"}}<div class="alert alert-danger" role="alert">{{$.T .}}</div>{{end}}
  {{- end}}
  <button type="submit" class="btn btn-outline-primary">{{.T "identity.email.submit"}}</button>
</form>
{{- if $a.PasswordHash}}

<h2 class="h4 mt-5" id="password">{{.T "identity.password.change"}}</h2>
<p>{{.T "identity.password.change_text"}}</p>
<form method="post" action="/profilo/password" novalidate>
  {{.Data.Input . "current" "identity.field.current_password" "password" "current-password"}}
  {{.Data.Input . "password" "identity.field.new_password" "password" "new-password" "identity.help.password"}}
  {{.Data.Input . "password2" "identity.field.password2" "password" "new-password"}}
  <button type="submit" class="btn btn-outline-primary">{{.T "identity.password.submit"}}</button>
</form>
{{- end}}
{{- if .Data.CanLink}}

<h2 class="h4 mt-5" id="collega">{{.T "identity.link.title"}}</h2>
<p>{{.T "identity.link.text"}}</p>
<form method="post" action="/profilo/collega" novalidate>
  {{.Data.Input . "link_email" "identity.field.email" "email" "username"}}
  {{.Data.Input . "link_password" "identity.field.password" "password" "current-password"}}
  <button type="submit" class="btn btn-outline-primary">{{.T "identity.link.submit"}}</button>
</form>
{{- end}}

<h2 class="h4 mt-5" id="sessioni">{{.T "identity.profile.sessions"}}</h2>
<div class="table-responsive">
<table class="table">
  <caption>{{.T "identity.profile.sessions_caption"}}</caption>
  <thead><tr><th scope="col">{{.T "identity.profile.session_started"}}</th><th scope="col">{{.T "identity.profile.session_method"}}</th><th scope="col">{{.T "identity.profile.session_device"}}</th><th scope="col"><span class="visually-hidden">{{.T "identity.profile.session_action"}}</span></th></tr></thead>
  <tbody>
  {{- range .Data.Sessions}}
    <tr>
      <td>{{localtime .CreatedAt}}</td>
      <td>{{$.T (print "identity.method." .Method)}}</td>
      <td>{{.UserAgent}}</td>
      <td>{{if eq .Hash $.Data.Session.Hash}}{{$.T "identity.profile.this_session"}}{{else}}
        <form method="post" action="/profilo/sessioni/{{.Hash}}/termina"><button type="submit" class="btn btn-sm btn-outline-primary">{{$.T "identity.profile.end_session"}}</button></form>{{end}}</td>
    </tr>
  {{- end}}
  </tbody>
</table>
</div>
<div class="d-flex flex-wrap gap-3">
  <form method="post" action="/esci"><button type="submit" class="btn btn-outline-primary">{{.T "identity.logout"}}</button></form>
  <form method="post" action="/profilo/esci-ovunque"><button type="submit" class="btn btn-outline-primary">{{.T "identity.logout_everywhere"}}</button></form>
</div>
{{- if .Data.Account.PasswordHash}}
<p class="mt-3"><a href="/profilo/password">{{.T "identity.password.title"}}</a></p>
{{- end}}

<h2 class="h4 mt-5">{{.T "identity.profile.privacy"}}</h2>
<p><a href="/profilo/applicazioni">{{.T "identity.profile.apps"}}</a></p>
<p><a href="/profilo/dati.json" download>{{.T "identity.profile.download"}}</a></p>
<form method="post" action="/profilo/chiudi" class="mt-3">
  {{- $cErr := index .Data.Errors "confirm"}}
  <div class="form-check mb-3">
    <input class="form-check-input{{if $cErr}} is-invalid{{end}}" type="checkbox" name="confirm" value="1" id="f-confirm"{{if $cErr}} aria-invalid="true" aria-describedby="f-confirm-error"{{end}}>
    <label class="form-check-label" for="f-confirm">{{.T "identity.profile.close_confirm"}}</label>
    {{- if $cErr}}<div class="invalid-feedback d-block" id="f-confirm-error">{{.T $cErr}}</div>{{end}}
  </div>
  <button type="submit" class="btn btn-danger">{{.T "identity.profile.close"}}</button>
</form>
{{end}}`

// The profile written by Go code is the bytes its templates wrote, in both
// languages, for a password account and a card one, an operator with
// roles, a European proved by eIDAS, an account with no fiscal code (with
// and without the card's login), with a notice, an alert, an error on
// every field, no session, one or many, and values full of what must be
// escaped.
func TestProfileIsTheTemplate(t *testing.T) {
	app, x := webtest.NewApp(t, Messages)
	tmpl := webtest.Parse(t, profileTemplate)
	hostile := `<script>alert("x")</script> & 'y' +39 javascript:`
	utc := time.Date(2026, 11, 25, 9, 30, 0, 0, time.UTC)
	rome := time.Date(2026, 7, 26, 17, 5, 0, 0, time.FixedZone("CEST", 7200))
	this := Session{Hash: "aaaa", Method: "crs", CreatedAt: utc, UserAgent: "Mozilla/5.0 (X11; Linux x86_64)"}
	others := []Session{
		this,
		{Hash: "bbbb", Method: "password", CreatedAt: rome, UserAgent: hostile},
		{Hash: hostile, Method: "password+totp", CreatedAt: utc.AddDate(0, -1, 0)},
		{Hash: "javascript:alert(1)", Method: "spid", CreatedAt: rome, UserAgent: "curl/8"},
	}
	accounts := map[string]func() (*Account, *Session){
		"card": func() (*Account, *Session) {
			return &Account{Kind: KindResident, Email: "luca+ferrari@example.org", GivenName: "Luca", FamilyName: "Ferrari", FiscalCode: "FRRLCU78H15C707X",
				FiscalCodeSource: SourceCNS, NameSource: SourceCNS, Sex: "m", BirthDate: "1978-06-15", BirthSource: SourceCNS}, &Session{Hash: "aaaa", Assurance: assurance.High}
		},
		"card without email": func() (*Account, *Session) {
			return &Account{Kind: KindResident, GivenName: "Anna", FiscalCode: "BNCNNA80A41F205X", FiscalCodeSource: SourceCNS, NameSource: SourceCNS}, &Session{Hash: "aaaa", Assurance: assurance.High}
		},
		"password": func() (*Account, *Session) {
			return &Account{Kind: KindResident, Email: "sara@example.org", PasswordHash: "x", GivenName: "Sara", NameSource: SourceSelf,
				FiscalCode: "FRRLCU78H15C707X", FiscalCodeSource: SourceCNS, BirthDate: "1978-06-15", Sex: "f", BirthSource: SourceCNS}, &Session{Hash: "bbbb", Assurance: assurance.Low}
		},
		"operator": func() (*Account, *Session) {
			return &Account{Kind: KindOperator, Email: "op@example.org", PasswordHash: "x", GivenName: "Maria", FamilyName: "Rossi", NameSource: SourceAdmin,
				Roles: []string{"desk", "statistics", "admin"}}, &Session{Hash: "cccc", Assurance: assurance.Low}
		},
		"eidas": func() (*Account, *Session) {
			return &Account{Kind: KindResident, Email: "jan@example.de", GivenName: "Jan", FamilyName: "Müller", NameSource: SourceEIDAS,
				EIDASID: "DE/IT/12345", EIDASIDSource: SourceEIDAS, BirthDate: "1990-01-01", Sex: "m", BirthSource: SourceEIDAS}, &Session{Hash: "aaaa", Assurance: assurance.Substantial}
		},
		"hostile": func() (*Account, *Session) {
			return &Account{Kind: KindResident, Email: hostile, PasswordHash: "x", GivenName: hostile, FamilyName: hostile, NameSource: SourceSelf,
				EIDASID: hostile, EIDASIDSource: SourceEIDAS, FiscalCode: hostile, FiscalCodeSource: SourceSelf, Roles: []string{hostile}}, &Session{Hash: hostile, Assurance: assurance.Low}
		},
		"nothing": func() (*Account, *Session) {
			return &Account{Kind: KindResident, FiscalCode: "FRRLCU78H15C707X", FiscalCodeSource: SourceCNS}, &Session{Hash: "aaaa", Assurance: assurance.Low}
		},
	}
	allErrors := FieldErrors{}
	for _, f := range []string{"given_name", "family_name", "phone", "address", "new_email", "email_password", "current", "password", "password2", "link_email", "link_password", "confirm"} {
		allErrors[f] = "identity.error.form"
	}
	forms := []FormData{
		{},
		{Message: "identity.email.sent", Email: hostile, CardLoginURL: "/accedi/carta?next=%2Fprofilo"},
		{Alert: "identity.error.profile_throttled", Wait: "1m30s", Errors: allErrors, CardLoginURL: "javascript:alert(1)",
			Values: map[string]string{"given_name": hostile, "family_name": "Ferrari", "phone": "+39 02 1234", "address": hostile, "new_email": hostile, "link_email": hostile, "password": hostile}},
		{Message: "identity.profile.saved", Alert: "identity.error.busy", Errors: FieldErrors{"confirm": "identity.error.form", "email_password": "identity.error.form"}, CardLoginURL: "/accedi/carta?next=" + hostile},
	}
	n := 0
	for _, lang := range webtest.Languages {
		p := webtest.Page(app, lang, "/profilo", "identity.profile.title")
		p.Breadcrumb = []web.Crumb{{Label: p.Title}}
		for name, account := range accounts {
			for i, fd := range forms {
				for _, sessions := range [][]Session{nil, others[:1], others} {
					for _, canLink := range []bool{false, true} {
						a, se := account()
						if fd.Values == nil {
							fd.Values = map[string]string{"given_name": a.GivenName, "family_name": a.FamilyName, "phone": a.Phone, "address": a.Address}
						}
						d := &ProfileData{FormData: fd, Account: a, Session: se, Sessions: sessions, CanLink: canLink}
						d.FiscalCode, _ = a.ProvenFiscalCode(se)
						if name == "hostile" {
							d.FiscalCode = a.FiscalCode
						}
						p.Data = d
						want := webtest.Execute(t, tmpl, "content", p)
						webtest.Same(t, fmt.Sprintf("%s %s form %d, %d sessions, link %v", lang, name, i, len(sessions), canLink),
							string(d.Content(p)), webtest.PlusAsIs(want))
						n++
					}
				}
			}
		}
	}
	// Every message the page asks for is defined: but for the hostile
	// role, an account without the source of its name, and the ids
	// package spid defines (eIDAS, SPID), whose messages this test does
	// not load.
	webtest.Undefined(t, x, func(id string) bool {
		return strings.HasSuffix(id, ".") || id == "identity.source.eidas" || id == "identity.method.spid"
	})
	if n != 2*len(accounts)*len(forms)*3*2 {
		t.Errorf("%d cases", n)
	}
}
