package area

import (
	"fmt"
	"html/template"
	"strings"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/web"
	"github.com/civico-pa/civico/internal/web/webtest"
)

// The templates pageshtml.go replaced, as they were, with the layout's
// "breadcrumb" they called (web keeps Markup.Breadcrumb to it).
const (
	oldBreadcrumb = `{{define "breadcrumb"}}{{if .Breadcrumb}}
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
{{end}}{{end}}`
	oldAreaPartials = `{{/* area-head: the personal area's heading (name, fiscal code) and its
     tabs, links that work without JavaScript (written by tabsHTML). */}}
{{define "area-head"}}
{{- $d := .Data}}
{{template "breadcrumb" .}}
<div class="mb-4">
  <h1 class="mb-1">{{.T "area.title"}}</h1>
  <p class="lead mb-1">{{$d.Name}}</p>
  {{- if $d.FiscalCode}}<p class="mb-1"><span class="fw-semibold">{{.T "area.fiscal_code"}}</span> <span class="font-monospace">{{$d.FiscalCode}}</span></p>{{end}}
  <div class="d-flex flex-wrap gap-3 align-items-center">
    <a href="/profilo">{{.T "area.profile"}}</a>
    <form method="post" action="/esci" class="d-inline"><button type="submit" class="btn btn-link p-0">{{.T "area.logout"}}</button></form>
  </div>
</div>
<nav aria-label="{{.T "area.sections"}}" class="mb-4">
  <ul class="nav nav-tabs">
    {{$d.TabsHTML}}
  </ul>
</nav>
{{- with $d.Notice}}<div class="alert alert-success" role="status">{{$.T .}}</div>{{end}}
{{end}}

{{/* area-pages: the links to the previous and next pages of a list. */}}
{{define "area-pages"}}
{{- $d := .P.Data}}{{$P := .P}}
{{- if gt $d.Pages 1}}
<nav class="pagination-wrapper mt-4" aria-label="{{$P.T .Label}}">
  <ul class="pagination">
    {{- with $d.Prev}}<li class="page-item"><a class="page-link" href="{{.}}" rel="prev">{{$P.T $.Prev}}</a></li>{{end}}
    <li class="page-item"><span class="page-link" aria-current="page">{{$P.T "area.page_of" "Page" $d.Page "Pages" $d.Pages}}</span></li>
    {{- with $d.Next}}<li class="page-item"><a class="page-link" href="{{.}}" rel="next">{{$P.T $.Next}}</a></li>{{end}}
  </ul>
</nav>
{{- end}}
{{end}}`
	oldMessagesPage = `{{define "content"}}
{{- $d := .Data}}
<div class="container">
  <div class="row">
    <div class="col-12 col-lg-9 px-lg-4 py-4">
      {{template "area-head" .}}
      <h2 class="h4">{{.T "area.tab.messages"}}</h2>
      <p>{{.T "area.messages.count" "Total" $d.Total "Unread" $d.Unread}}</p>
      <div class="d-flex flex-wrap gap-3 align-items-center mb-3">
        {{- if $d.UnreadOnly}}
        <a href="/area-personale/messaggi">{{.T "area.messages.show_all"}}</a>
        {{- else if $d.Unread}}
        <a href="/area-personale/messaggi?non-letti=1">{{.T "area.messages.show_unread"}}</a>
        {{- end}}
        {{- if $d.Unread}}
        <form method="post" action="/area-personale/messaggi/letti" class="d-inline">
          <button type="submit" class="btn btn-outline-primary btn-sm">{{.T "area.messages.mark_all_read"}}</button>
        </form>
        {{- end}}
      </div>
      {{- if $d.Messages}}
      <ul class="list-unstyled">
        {{- $d.MessagesHTML}}
      </ul>
      {{- else}}
      <p>{{if $d.UnreadOnly}}{{.T "area.messages.none_unread"}}{{else}}{{.T "area.messages.none"}}{{end}}</p>
      {{- end}}
      {{template "area-pages" (dict "P" . "Label" "area.messages.pages" "Prev" "area.prev" "Next" "area.next")}}
    </div>
  </div>
</div>
{{end}}`
	oldDocumentsPage = `{{define "content"}}
{{- $d := .Data}}
<div class="container">
  <div class="row">
    <div class="col-12 px-lg-4 py-4">
      {{template "area-head" .}}
      <h2 class="h4">{{.T "area.tab.documents"}}</h2>
      {{- if $d.Panels}}
      <div class="row">
        {{- $d.PanelsHTML}}
      </div>
      {{- else}}
      <p>{{.T "area.documents.none"}}</p>
      {{- end}}
    </div>
  </div>
</div>
{{end}}`
	oldServicesPage = `{{define "content"}}
{{- $d := .Data}}
<div class="container">
  <div class="row">
    <div class="col-12 px-lg-4 py-4">
      {{template "area-head" .}}
      <h2 class="h4">{{.T "area.tab.services"}}</h2>
      <p>{{.T "area.services.lead"}}</p>
      {{- if $d.Services}}
      <div class="row">
        {{- $d.ServicesHTML}}
      </div>
      {{template "area-pages" (dict "P" . "Label" "area.services.pages" "Prev" "area.prev_page" "Next" "area.next_page")}}
      {{- else}}
      <p>{{.T "area.services.none"}}</p>
      {{- end}}
      <p><a href="/servizi">{{.T "area.services.all"}}</a></p>
    </div>
  </div>
</div>
{{end}}`
)

// The area's heading and its Messaggi, Documenti and Servizi tabs written
// by Go code are the bytes their templates wrote, in both languages, on
// every tab, with and without a fiscal code, a notice, unread messages,
// messages, panels, services and several pages (the first, a middle, the
// last), showing only the unread ones or not, with values full of what
// must be escaped.
func TestAreaPagesAreTheTemplates(t *testing.T) {
	app, x := webtest.NewApp(t, Messages)
	common := webtest.Parse(t, oldBreadcrumb+oldAreaPartials)
	pages := map[string]*template.Template{}
	for tab, text := range map[string]string{"messages": oldMessagesPage, "documents": oldDocumentsPage, "services": oldServicesPage} {
		pages[tab] = template.Must(template.Must(common.Clone()).Parse(text))
	}
	hostile := `<script>alert("x")</script> & 'y' +1 javascript:`
	at := time.Date(2026, 11, 25, 9, 30, 0, 0, time.UTC)
	messages := []*Stored{
		{Message: Message{Category: "area.category.town", Subject: "Pratica accolta", Body: "La sua pratica è stata accolta."}, ID: "m1", CreatedAt: at},
		{Message: Message{Category: "area.category.town", Subject: hostile, Body: hostile + strings.Repeat(" lungo", 40)}, ID: "m2 <x>", CreatedAt: at.Add(time.Hour), ReadAt: at},
	}
	panels := []Shown{
		{Summary: Summary{Title: "area.tab.documents", Href: "/area-personale/certificati", Items: []Item{{Label: hostile, Href: "/certificati/1", Status: "area.messages.new", When: at}, {Label: "Carta", Href: "javascript:x", Awaiting: true}}, Awaiting: 1}},
		{Summary: Summary{Title: "area.tab.services", Needs: assurance.High}, StepUp: true},
		{Summary: Summary{Title: "area.tab.activities"}, Failed: true},
		{Summary: Summary{Title: "area.tab.messages", Empty: "area.messages.none"}},
	}
	services := []ServiceView{
		{Service: Service{Title: "Carta d'identità", Summary: "Richiedi la carta", Href: "/servizi/anagrafe/cie", Category: "Anagrafe"}},
		{Service: Service{Title: hostile, Summary: hostile, Href: "javascript:alert(1)", Category: hostile, Needs: assurance.High}, StepUp: true},
		{Service: Service{Title: "Mensa", Href: "/servizi/scuola/mensa"}},
	}
	n := 0
	for _, lang := range webtest.Languages {
		for _, tab := range []string{"messages", "documents", "services"} {
			for v := range 4 {
				p := webtest.Page(app, lang, "/area-personale/x", "area.tab."+tab)
				p.Breadcrumb = []web.Crumb{{Label: p.T("area.title"), Href: Home}, {Label: p.Title}}
				d := &Data{Tab: tab, Name: "Luca Ferrari", Page: 1, Pages: 1, StepUpURL: "/accedi/carta?next=%2Farea-personale%2Fservizi"}
				switch v {
				case 1:
					d.FiscalCode, d.Unread, d.Total, d.Notice = "FRRLCU78H15C707X", 3, 45, "area.messages.all_read_done"
					d.Messages, d.Panels, d.Services = messages, panels, services
					d.Page, d.Pages, d.Next = 1, 3, "/area-personale/messaggi?pagina=2"
				case 2:
					d.Name, d.FiscalCode, d.Unread, d.Total, d.UnreadOnly = hostile, hostile, 1, 2, true
					d.Messages, d.Panels, d.Services = messages[1:], panels[:1], services[1:]
					d.Page, d.Pages, d.Prev, d.Next = 2, 3, "/area-personale/messaggi?non-letti=1&pagina=1", "/area-personale/messaggi?q="+hostile
					d.StepUpURL = "javascript:alert(1)"
					p.Breadcrumb = []web.Crumb{{Label: hostile, Href: hostile}, {Label: hostile}}
				case 3:
					d.UnreadOnly, d.Page, d.Pages, d.Prev = true, 3, 3, "/area-personale/servizi?pagina=2"
					d.Messages, d.Services = messages[:1], services[:1]
				}
				d.MessagesHTML, d.PanelsHTML, d.ServicesHTML = messagesHTML(p, d), panelsHTML(p, d, "col-12 col-lg-6"), servicesHTML(p, d)
				var m web.Markup
				writeTabs(&m, p, d)
				oldData := struct {
					*Data
					TabsHTML template.HTML
				}{d, m.HTML()}
				p.Data = oldData
				want := webtest.Execute(t, pages[tab], "content", p)
				wantHead := webtest.Execute(t, common, "area-head", p)
				p.Data = d
				var got template.HTML
				switch tab {
				case "messages":
					got = d.MessagesPage(p)
				case "documents":
					got = d.DocumentsPage(p)
				case "services":
					got = d.ServicesPage(p)
				}
				webtest.Same(t, fmt.Sprintf("%s %s variant %d", lang, tab, v), string(got), webtest.PlusAsIs(want))
				webtest.Same(t, fmt.Sprintf("head %s %s variant %d", lang, tab, v), string(d.Head(p)), webtest.PlusAsIs(wantHead))
				n++
			}
		}
	}
	// Every message the page asks for is defined.
	webtest.Undefined(t, x, nil)
	if n != 2*3*4 {
		t.Errorf("%d cases", n)
	}
}
