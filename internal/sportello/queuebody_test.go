package sportello

import (
	"fmt"
	"html/template"
	"strings"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/web"
	"github.com/civico-pa/civico/internal/web/webtest"
)

// queueBody is the queue below its title as the template wrote it before
// QueueData.Body, with the shared pager as it is, but for the filter kept
// in the tabs' and the export's links (query: the template escaped it into
// a single meaningless parameter, "servizio%3dx%26stato%3dy").
const queueBody = `{{define "body"}}{{$d := .Data}}{{$f := $d.Filter}}
      <nav aria-label="{{.T "sportello.bo.queues"}}">
        <ul class="nav nav-tabs mb-4">
          {{- range $q := $d.Queues}}
          <li class="nav-item"><a class="nav-link{{if eq $q $f.Queue}} active{{end}}"{{if eq $q $f.Queue}} aria-current="page"{{end}} href="/backoffice/pratiche?coda={{$q}}{{with $d.Query}}&amp;{{query .}}{{end}}">{{$.T (print "sportello.queue." $q)}} <span class="badge {{if eq $q "scadute"}}bg-danger{{else}}bg-primary{{end}}">{{index $d.Counts $q}}</span></a></li>
          {{- end}}
        </ul>
      </nav>
      <form method="get" action="/backoffice/pratiche" class="row g-3 align-items-end mb-4">
        <input type="hidden" name="coda" value="{{$f.Queue}}">
        <div class="col-12 col-md-4">
          <label for="f-q" class="form-label fw-semibold">{{.T "sportello.bo.search"}}</label>
          <input type="search" class="form-control" id="f-q" name="q" value="{{$f.Q}}" aria-describedby="f-q-help">
          <small id="f-q-help" class="form-text">{{.T "sportello.bo.search_help"}}</small>
        </div>
        <div class="col-12 col-md-3">
          <label for="f-servizio" class="form-label fw-semibold">{{.T "sportello.field.service"}}</label>
          <select class="form-select" id="f-servizio" name="servizio"><option value="">{{.T "sportello.bo.all"}}</option>{{range $d.Services}}<option value="{{.ID}}"{{if eq .ID $f.Service}} selected{{end}}>{{.Title}}</option>{{end}}</select>
        </div>
        <div class="col-6 col-md-2">
          <label for="f-stato" class="form-label fw-semibold">{{.T "sportello.field.state"}}</label>
          <select class="form-select" id="f-stato" name="stato"><option value="">{{.T "sportello.bo.all"}}</option>{{range $d.States}}<option value="{{.}}"{{if eq . $f.State}} selected{{end}}>{{$.T (print "sportello.state." .)}}</option>{{end}}</select>
        </div>
        <div class="col-6 col-md-2">
          <label for="f-canale" class="form-label fw-semibold">{{.T "sportello.field.channel"}}</label>
          <select class="form-select" id="f-canale" name="canale"><option value="">{{.T "sportello.bo.all"}}</option>{{range list "online" "counter"}}<option value="{{.}}"{{if eq . (print $f.Channel)}} selected{{end}}>{{$.T (print "sportello.channel." .)}}</option>{{end}}</select>
        </div>
        <div class="col-12 col-md-1"><button type="submit" class="btn btn-primary w-100">{{.T "sportello.bo.filter"}}</button></div>
      </form>
      <p><a href="/backoffice/pratiche/export.csv?coda={{$f.Queue}}{{with $d.Query}}&amp;{{query .}}{{end}}">{{.T "sportello.bo.export"}}</a> · <a href="/backoffice/sportello">{{.T "sportello.counter.title"}}</a></p>
      {{- if $d.List}}
      <div class="table-responsive">
      <table class="table table-sm">
        <caption>{{.T "sportello.bo.caption" "N" $d.Total "Queue" (.T (print "sportello.queue." $f.Queue))}}</caption>
        <thead><tr><th scope="col">{{.T "sportello.field.protocol"}}</th><th scope="col">{{.T "sportello.field.service"}}</th><th scope="col">{{.T "sportello.field.applicant"}}</th><th scope="col">{{.T "sportello.field.state"}}</th><th scope="col">{{.T "sportello.field.assignee"}}</th><th scope="col">{{.T "sportello.field.due"}}</th></tr></thead>
        <tbody>
        {{- rows $d .}}
        </tbody>
      </table>
      </div>
      {{template "pager" (dict "P" . "G" $d.Pager "Label" "sportello.pager")}}
      {{- else}}
      <p>{{.T "sportello.bo.empty"}}</p>
      {{- end}}{{end}}`

// The queue below its title written by Go code is the bytes its template
// wrote, in both languages, on every queue, with and without a filter of
// each kind, with no rows, one page and several, and values that must be
// escaped; and its links keep the filter.
func TestQueueBodyIsTheTemplate(t *testing.T) {
	app, _ := webtest.NewApp(t, Messages)
	tmpl, err := template.New("").Funcs(webtest.Funcs).Funcs(template.FuncMap{
		"rows":  func(d *QueueData, p *web.Page) template.HTML { return template.HTML(rowsOf(d, p)) }, // #nosec G203 -- escaped by writeRows
		"query": func(s string) template.URL { return template.URL(s) },                               // #nosec G203 -- url.Values.Encode's
	}).Parse(queueBody + webtest.Pager(t))
	if err != nil {
		t.Fatal(err)
	}
	hostile := `<script>alert("x")</script> & 'y' javascript:`
	now := time.Date(2026, 11, 25, 9, 30, 0, 0, time.UTC)
	services := []Service{{ID: "mensa", Title: "Iscrizione mensa"}, {ID: "h<x>", Title: hostile}}
	var list []Summary
	for i, s := range States {
		list = append(list, Summary{ID: "a" + itoa(i), ServiceTitle: "Iscrizione mensa", Applicant: hostile, State: s, Channel: Online,
			Protocol: "2026/000000" + itoa(i), AssigneeID: "op1", DueOn: "2026-11-20"})
	}
	counts := map[Queue]Count{QueueToAssign: 3, QueueMine: 0, QueueOpen: CountCap + 1, QueueOverdue: 2, QueueClosed: 120}
	filters := []struct {
		f     Filter
		query string
	}{
		{Filter{}, ""},
		{Filter{Service: "mensa", State: Registered, Channel: Counter, Q: hostile}, "canale=counter&q=" + strings.ReplaceAll(hostile, " ", "+") + "&servizio=mensa&stato=registered"},
		{Filter{Service: "h<x>", Channel: Online}, "canale=online&servizio=h%3Cx%3E"},
	}
	n := 0
	for _, lang := range webtest.Languages {
		for _, q := range Queues {
			for fi, fl := range filters {
				for li, l := range [][]Summary{nil, list[:1], list} {
					p := webtest.Page(app, lang, "/backoffice/pratiche", "")
					f := fl.f
					f.Queue = q
					d := &QueueData{Filter: f, Counts: counts, Total: Count(len(l)), Queues: Queues, List: l, Services: services, States: States[2:],
						Names: map[string]string{"op1": hostile}, Now: now, Query: fl.query}
					d.Pager = web.Pager{Page: 1, Pages: 1, Total: len(l)}
					if li == 2 {
						d.Pager = web.Pager{Page: 2, Pages: 3, Total: 120, Prev: "/backoffice/pratiche?coda=aperte&pagina=1", Next: "/backoffice/pratiche?coda=aperte&pagina=3"}
					}
					p.Data = d
					want := webtest.PlusAsIs(webtest.Execute(t, tmpl, "body", p))
					got := string(d.Body(p))
					webtest.Same(t, fmt.Sprintf("%s %s filter %d, %d rows", lang, q, fi, len(l)), got, want)
					if fl.query != "" && !strings.Contains(got, `/backoffice/pratiche/export.csv?coda=`+string(q)+`&amp;canale=`) {
						t.Errorf("%s %s filter %d: the export's link lost the filter", lang, q, fi)
					}
					n++
				}
			}
		}
	}
	if n != len(webtest.Languages)*len(Queues)*len(filters)*3 {
		t.Errorf("%d cases", n)
	}
}
