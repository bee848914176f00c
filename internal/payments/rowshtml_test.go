package payments

import (
	"html"
	"html/template"
	"strings"
	"testing"
)

// The rows as the template wrote them before rowshtml.go, kept here to
// compare: the same markup, and every value escaped.
const toPayRowsTemplate = `{{- range .Rows}}
              <tr data-notice="{{.ID}}">
                <td>{{if .CanPay}}<div class="form-check"><input class="form-check-input" type="checkbox" name="avviso" value="{{.ID}}" id="pay-{{.ID}}"{{if .Selected}} checked{{end}}><label class="form-check-label" for="pay-{{.ID}}"><span class="visually-hidden">{{.Choose}}</span></label></div>{{end}}</td>
                <th scope="row"><a href="/area-personale/pagamenti/avvisi/{{.ID}}">{{.Label}}</a></th>
                <td>{{.DueDate}}{{if .Overdue}} <span class="badge bg-danger">{{$.Overdue}}</span>{{end}}</td>
                <td class="text-end">€&nbsp;{{.Euro}}</td>
                <td><span class="badge {{.StatusClass}}" data-status="{{.Status}}">{{.StatusText}}</span></td>
                <td><span class="text-nowrap">{{.Grouped}}</span></td>
              </tr>
            {{- end}}`

const paidRowsTemplate = `{{- range .Rows}}
            <tr><td>{{.Date}}</td><th scope="row">{{.Reason}}</th><td>{{.Category}}</td><td class="text-end">€&nbsp;{{.Euro}}</td>
              <td><a href="/area-personale/pagamenti/ricevute/{{.ID}}" data-element="receipt-link">{{$.ReceiptPDF}}<span class="visually-hidden"> {{.Reason}}</span></a></td></tr>
          {{- end}}`

func TestMineRowsEscape(t *testing.T) {
	hostile := `<script>alert("x")</script> & 'y'`
	notices := []NoticeRow{
		{ID: "n1", CanPay: true, Selected: true, Choose: "Scegli " + hostile, Label: hostile, DueDate: "2026-01-01", Overdue: true, Euro: "1.234,56",
			StatusClass: "bg-primary", Status: "open", StatusText: "Da pagare", Grouped: "3010 0000 0000 0001 23"},
		{ID: "n2", Label: "Mensa", DueDate: "2026-02-01", Euro: "45,20", StatusClass: "bg-warning text-dark", Status: "in_payment", StatusText: hostile, Grouped: "3010"},
		{ID: "n3", CanPay: true, Choose: "Scegli", Label: "TARI — rata 1 di 2", DueDate: "2026-03-01", Euro: "0,05", StatusClass: "bg-primary", Status: "open", StatusText: "Da pagare"},
	}
	receipts := []ReceiptRow{{ID: "r1", Reason: hostile, Date: "01/02/2026", Category: "Mensa", Euro: "45,20"}, {ID: "r2", Reason: "Scuolabus", Date: "02/02/2026", Category: hostile, Euro: "1,00"}}
	for _, c := range []struct {
		name, tmpl string
		data       any
		got        template.HTML
	}{
		{"to pay", toPayRowsTemplate, map[string]any{"Rows": notices, "Overdue": "Scaduto " + hostile}, toPayRowsHTML(notices, "Scaduto "+hostile)},
		{"paid", paidRowsTemplate, map[string]any{"Rows": receipts, "ReceiptPDF": "Ricevuta " + hostile}, paidRowsHTML(receipts, "Ricevuta "+hostile)},
	} {
		var want strings.Builder
		if err := template.Must(template.New("rows").Parse(c.tmpl)).Execute(&want, c.data); err != nil {
			t.Fatal(err)
		}
		got := string(c.got)
		if strings.Contains(got, "<script") || strings.Contains(got, `"x"`) || strings.Contains(got, "'y'") {
			t.Errorf("%s: a value is not escaped:\n%s", c.name, got)
		}
		// html/template writes some entities another way (&#43;, &#34;):
		// the same text once both are read back.
		if html.UnescapeString(got) != html.UnescapeString(want.String()) {
			t.Errorf("%s: the rows differ from the template's\n got: %s\nwant: %s", c.name, got, want.String())
		}
	}
}
