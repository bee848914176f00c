package sportello

import (
	"fmt"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/web"
	"github.com/civico-pa/civico/internal/web/webtest"
)

// mineList is the resident's list of applications as its template wrote
// it before MineData.Content, with the layout's breadcrumb and the shared
// pager it called, as they are (web keeps Markup.Breadcrumb and
// Pager.Write to them).
const mineList = `{{define "content"}}{{$d := .Data}}
<div class="container">
  <div class="row">
    <div class="col-12 px-lg-4 py-4">
      {{template "breadcrumb" .}}
      <h1>{{.Title}}</h1>
      {{- with $d.Message}}<div class="alert alert-success" role="status">{{$.T .}}</div>{{end}}
      {{- if $d.List}}
      <div class="table-responsive">
      <table class="table">
        <caption>{{.T "sportello.list.caption" "N" $d.Pager.Total}}</caption>
        <thead><tr><th scope="col">{{.T "sportello.field.service"}}</th><th scope="col">{{.T "sportello.field.state"}}</th><th scope="col">{{.T "sportello.field.protocol"}}</th><th scope="col">{{.T "sportello.field.updated"}}</th><th scope="col">{{.T "sportello.field.due"}}</th></tr></thead>
        <tbody>
        {{- range $d.List}}
          <tr>
            <th scope="row"><a href="/area-personale/pratiche/{{.ID}}">{{.ServiceTitle}}</a></th>
            <td>{{.State.Badge $}}{{if .Overdue $d.Now}} <span class="badge bg-danger">{{$.T "sportello.overdue"}}</span>{{end}}</td>
            <td>{{if .Protocol}}{{.Protocol}}{{else}}—{{end}}</td>
            <td>{{localtime .UpdatedAt}}</td>
            <td>{{with .DueLabel}}{{.}}{{else}}—{{end}}</td>
          </tr>
        {{- end}}
        </tbody>
      </table>
      </div>
      {{template "pager" (dict "P" . "G" $d.Pager "Label" "sportello.pager")}}
      {{- else}}
      <p>{{.T "sportello.list.empty"}}</p>
      {{- end}}
      <p><a href="/servizi">{{.T "sportello.list.services"}}</a></p>
    </div>
  </div>
</div>
{{end}}{{define "breadcrumb"}}{{if .Breadcrumb}}
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
{{end}}{{end}}{{define "pager"}}
{{- if gt .G.Pages 1}}
<nav class="pagination-wrapper{{with .Class}} {{.}}{{end}}" aria-label="{{if .Label}}{{.P.T .Label}}{{else}}{{.P.T "pager.label"}}{{end}}">
  <ul class="pagination">
    {{- with .G.Prev}}
    <li class="page-item"><a class="page-link" href="{{.}}" rel="prev">{{$.P.T "pager.prev"}}</a></li>
    {{- end}}
    <li class="page-item"><span class="page-link" aria-current="page">{{.P.T "pager.page_of" "Page" .G.Page "Pages" .G.Pages}}</span></li>
    {{- with .G.Next}}
    <li class="page-item"><a class="page-link" href="{{.}}" rel="next">{{$.P.T "pager.next"}}</a></li>
    {{- end}}
  </ul>
</nav>
{{- end}}
{{end}}`

// The list written by Go code is the bytes its template wrote, in both
// languages, empty, with one application in every state, overdue or not,
// with and without a protocol and a due day, on the first, a middle and
// the last page, with and without the notice of a discarded draft, on
// values full of what must be escaped.
func TestMineListIsTheTemplate(t *testing.T) {
	app, x := webtest.NewApp(t, Messages)
	tmpl := webtest.Parse(t, mineList)
	hostile := `<script>alert("x")</script> & 'y' +1 javascript:`
	now := time.Date(2026, 11, 25, 9, 30, 0, 0, time.UTC)
	var every []Summary
	for i, s := range States {
		sum := Summary{ID: "0123abcd" + string(rune('a'+i)), ServiceTitle: "Carta d'identità elettronica", State: s, UpdatedAt: now.Add(-time.Duration(i) * time.Hour)}
		switch i % 3 {
		case 0:
			sum.Protocol, sum.DueOn = "2026/000123", "2026-11-20"
		case 1:
			sum.Protocol, sum.DueOn = hostile, "2026-12-31"
		case 2:
			sum.ID, sum.ServiceTitle = hostile, hostile
		}
		every = append(every, sum)
	}
	n := 0
	for _, lang := range webtest.Languages {
		for _, list := range [][]Summary{nil, every[:1], every} {
			for _, pg := range []struct{ page, total int }{{1, len(list)}, {1, 45}, {2, 45}, {3, 45}} {
				for _, message := range []string{"", "sportello.draft.discarded"} {
					p := webtest.Page(app, lang, AreaPath, "sportello.area")
					p.Breadcrumb = []web.Crumb{{Label: p.T("sportello.area")}}
					d := &MineData{List: list, Pager: newPager(pg.page, pg.total, nil, AreaPath), Message: message, Now: now}
					p.Data = d
					want := webtest.Execute(t, tmpl, "content", p)
					webtest.Same(t, fmt.Sprintf("%s %d applications, page %d of %d, message %q", lang, len(list), pg.page, pg.total, message),
						string(d.Content(p)), webtest.PlusAsIs(want))
					n++
				}
			}
		}
	}
	// Every message the page asks for is defined.
	webtest.Undefined(t, x, nil)
	if n != 2*3*4*2 {
		t.Errorf("%d cases", n)
	}
}
