package sportello

import (
	"fmt"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/web"
	"github.com/civico-pa/civico/internal/web/webtest"
)

// queueRows is the queue table's body as the template wrote it before
// QueueData.writeRows.
const queueRows = `{{define "rows"}}{{$d := .Data}}<tbody>
        {{- range $d.List}}
          <tr>
            <th scope="row"><a href="/backoffice/pratiche/{{.ID}}">{{.Protocol}}</a>{{if eq (print .Channel) "counter"}} <span class="badge bg-light text-dark border">{{$.T "sportello.channel.counter"}}</span>{{end}}</th>
            <td>{{.ServiceTitle}}</td>
            <td>{{.Applicant}}</td>
            <td>{{.State.Badge $}}</td>
            <td>{{with .AssigneeID}}{{index $d.Names .}}{{else}}—{{end}}</td>
            <td>{{with .DueLabel}}{{.}}{{end}}{{if .Overdue $d.Now}} <span class="badge bg-danger">{{$.T "sportello.overdue"}}</span>{{end}}</td>
          </tr>
        {{- end}}
        </tbody>{{end}}`

// The queue's rows written by Go code are the bytes the template wrote,
// in both languages, for every state, channel, assignee (known, unknown,
// none), due day (none, coming, past) and values that must be escaped.
func TestQueueRowsAreTheTemplate(t *testing.T) {
	app, _ := webtest.NewApp(t, Messages)
	tmpl := webtest.Parse(t, queueRows)
	hostile := `<script>alert("x")</script> & 'y' javascript:`
	now := time.Date(2026, 11, 25, 9, 30, 0, 0, time.UTC)
	var list []Summary
	for i, s := range States {
		sm := Summary{ID: "a" + itoa(i), ServiceTitle: "Iscrizione mensa", Applicant: "Rossi Mario", State: s, Channel: Online, Protocol: "2026/000000" + itoa(i)}
		switch i % 4 {
		case 0:
			sm.Channel, sm.AssigneeID, sm.DueOn = Counter, "op1", "2026-11-20"
		case 1:
			sm.AssigneeID, sm.DueOn = "unknown", "2026-12-31"
		case 2:
			sm.ServiceTitle, sm.Applicant, sm.Protocol, sm.ID, sm.AssigneeID = hostile, hostile, hostile, hostile, "op2"
		}
		list = append(list, sm)
	}
	names := map[string]string{"op1": "Maria Rossi", "op2": hostile}
	n := 0
	for _, lang := range webtest.Languages {
		for _, l := range [][]Summary{nil, list[:1], list} {
			p := webtest.Page(app, lang, "/backoffice/pratiche", "")
			d := &QueueData{List: l, Names: names, Now: now}
			p.Data = d
			want := webtest.Execute(t, tmpl, "rows", p)
			webtest.Same(t, fmt.Sprintf("%s, %d rows", lang, len(l)), "<tbody>"+rowsOf(d, p)+"\n        </tbody>", want)
			n++
		}
	}
	if n != 6 || len(list) < 8 {
		t.Errorf("%d cases, %d rows", n, len(list))
	}
}

// rowsOf is what writeRows writes.
func rowsOf(d *QueueData, p *web.Page) string {
	var m web.Markup
	d.writeRows(&m, p)
	return string(m.HTML())
}
