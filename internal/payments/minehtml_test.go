package payments

import (
	"html/template"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/problem"
	"github.com/civico-pa/civico/internal/town"
	"github.com/civico-pa/civico/internal/web"
	"github.com/civico-pa/civico/internal/web/webtest"
)

// mineBody is I miei pagamenti below its lead as the page's template
// wrote it before MineData.Body, with the shared pager as it is (its
// own test, in web, keeps Pager.Write to it).
const mineBody = `{{define "body"}}{{- $d := .Data}}{{$w := $d.W}}
      {{- with $d.Alert}}<div class="alert alert-danger" role="alert">{{$.T .}}</div>{{end}}
      {{- with index $d.Errors "notice"}}<div class="alert alert-danger" role="alert" id="f-notice-error">{{$.T .}}</div>{{end}}

      <section aria-labelledby="topay" class="mt-4">
        <h2 id="topay">{{$w.MineTopay}} <span class="badge bg-primary" data-element="topay-count">{{$d.ToPayTotal}}</span></h2>
        {{- if $d.ToPay}}
        <form method="post" action="/area-personale/pagamenti/paga">
          <input type="hidden" name="chiave" value="{{$d.Key}}">
          <div class="table-responsive">
          <table class="table align-middle" id="topay-table">
            <caption>{{$w.MineTopayCaption}}</caption>
            <thead><tr><th scope="col">{{$w.Choose}}</th><th scope="col">{{$w.FieldReason}}</th><th scope="col">{{$w.FieldDueDate}}</th>
              <th scope="col" class="text-end">{{$w.FieldAmount}}</th><th scope="col">{{$w.FieldStatus}}</th><th scope="col">{{$w.FieldNumber}}</th></tr></thead>
            <tbody>
            {{- $d.ToPayRows}}
            </tbody>
          </table>
          </div>
          {{- if and $d.CanPay $d.NoticeCount}}
          <button type="submit" class="btn btn-primary" data-element="pay-selected">{{$w.PaySelected}}</button>
          <p class="form-text">{{$w.PayHelp}}</p>
          {{- end}}
        </form>
        {{template "pager" (dict "P" . "G" $d.ToPayPager "Label" "payments.mine.topay" "Class" "mt-3")}}
        {{- else}}
        <p>{{$w.MineNone}}</p>
        {{- end}}
      </section>

      <section aria-labelledby="paid" class="mt-5">
        <h2 id="paid">{{$w.MinePaid}} <span class="badge bg-secondary">{{$d.PaidTotal}}</span></h2>
        {{- if $d.Paid}}
        <div class="table-responsive">
        <table class="table">
          <caption>{{$w.MinePaidCaption}}</caption>
          <thead><tr><th scope="col">{{$w.FieldPaidAt}}</th><th scope="col">{{$w.FieldReason}}</th><th scope="col">{{$w.FieldCategory}}</th>
            <th scope="col" class="text-end">{{$w.FieldAmount}}</th><th scope="col">{{$w.Receipt}}</th></tr></thead>
          <tbody>
          {{- $d.PaidRows}}
          </tbody>
        </table>
        </div>
        {{template "pager" (dict "P" . "G" $d.PaidPager "Label" "payments.mine.paid" "Class" "mt-3")}}
        {{- else}}
        <p>{{$w.MineNonePaid}}</p>
        {{- end}}
      </section>

      <section aria-labelledby="totals" class="mt-5">
        <h2 id="totals">{{$w.MineTotals}}</h2>
        {{- if $d.Totals}}
        <div class="table-responsive">
        <table class="table">
          <caption>{{$w.MineTotalsCaption}}</caption>
          <thead><tr><th scope="col">{{$w.FieldYear}}</th><th scope="col">{{$w.FieldCategory}}</th><th scope="col" class="text-end">{{$w.Count}}</th><th scope="col" class="text-end">{{$w.FieldAmount}}</th></tr></thead>
          <tbody>
          {{- range $d.Totals}}
            {{- if .FirstOfTheYear}}<tr class="table-light"><th scope="rowgroup" colspan="3">{{.Year}}</th><td class="text-end fw-semibold">€&nbsp;{{.YearTotal}}</td></tr>{{end}}
            <tr><td>{{.Year}}</td><td>{{.Category}}</td><td class="text-end">{{.Count}}</td><td class="text-end">€&nbsp;{{.Euro}}</td></tr>
          {{- end}}
          </tbody>
        </table>
        </div>
        <h3 class="h5">{{$w.Statement}}</h3>
        <ul>
          {{- range $d.Years}}
          <li>{{.}}: <a href="/area-personale/pagamenti/estratto.pdf?anno={{.}}">PDF<span class="visually-hidden"> {{.}}</span></a> · <a href="/area-personale/pagamenti/estratto.csv?anno={{.}}">CSV<span class="visually-hidden"> {{.}}</span></a></li>
          {{- end}}
        </ul>
        {{- else}}
        <p>{{$w.MineNonePaid}}</p>
        {{- end}}
      </section>

      <section aria-labelledby="taxes" class="mt-5">
        <h2 id="taxes">{{$w.ImuTitle}}</h2>
        <p>{{$w.ImuLead}} <a href="/area-personale/pagamenti/imu">{{$w.ImuOpen}}</a></p>
      </section>{{end}}
`

// I miei pagamenti written by Go code is the bytes its template wrote, in
// both languages, with nothing to pay or paid, with one page and several
// of each list, with and without the payment's button, an alert, an error
// and several years of totals, on values full of what must be escaped.
func TestMineBodyIsTheTemplate(t *testing.T) {
	x, err := web.NewI18n(web.Messages, Messages)
	if err != nil {
		t.Fatal(err)
	}
	app := &web.App{I18n: x, Town: town.NewStore(dbtest.SQLite(t), 0), Static: &web.Static{Prefix: "/static"}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	tmpl := template.Must(template.New("").Funcs(template.FuncMap{"dict": func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}}).Parse(mineBody + webtest.Pager(t)))
	hostile := `<script>alert("x")</script> & 'y'`
	n := 0
	for _, lang := range []string{"it", "en"} {
		req := httptest.NewRequest("GET", AreaPath, nil)
		req.Header.Set("Accept-Language", lang)
		p := app.NewPage(req, "")
		for v := range 4 {
			d := &MineData{W: mineWords(p), Key: "k3y", Errors: problem.Fields{}}
			keep := url.Values{}
			switch v {
			case 1:
				// One page of each, payable, two years of totals.
				d.ToPay, d.ToPayTotal, d.NoticeCount, d.CanPay = make([]NoticeRow, 3), 3, 2, true
				d.Paid, d.PaidTotal = make([]ReceiptRow, 2), 2
				d.Totals = []TotalRow{{Year: 2026, Category: "TARI", Euro: "200,00", Count: 2, YearTotal: "250,00", FirstOfTheYear: true},
					{Year: 2026, Category: "Mensa", Euro: "50,00", Count: 1}, {Year: 2025, Category: "TARI", Euro: "180,00", Count: 3, YearTotal: "180,00", FirstOfTheYear: true}}
				d.Years = []int{2026, 2025}
			case 2:
				// Several pages, an alert and an error, nothing payable
				// online, hostile words.
				keep = url.Values{"q": {hostile}}
				d.ToPay, d.ToPayTotal, d.CanPay = make([]NoticeRow, 50), 120, true
				d.Paid, d.PaidTotal = make([]ReceiptRow, 10), 25
				d.Alert, d.Errors["notice"] = "payments.error.gateway", "payments.error.notice"
				d.Key = hostile
				d.Totals = []TotalRow{{Year: 2026, Category: hostile, Euro: hostile, Count: 1, YearTotal: hostile, FirstOfTheYear: true}}
				d.Years = []int{2026}
				d.W.MineTopay, d.W.Choose, d.W.ImuLead = hostile, hostile, hostile
			case 3:
				// Payable notices without a gateway, receipts only.
				d.ToPay, d.ToPayTotal, d.NoticeCount = make([]NoticeRow, 1), 1, 1
				d.Paid, d.PaidTotal = make([]ReceiptRow, 10), 11
			}
			for i := range d.ToPay {
				d.ToPay[i] = NoticeRow{ID: "n" + string(rune('a'+i%26)), Label: "TARI", Euro: "10,00", DueDate: "31/12/2026", Status: StatusOpen, StatusText: "Da pagare", StatusClass: "bg-primary", CanPay: d.CanPay}
			}
			for i := range d.Paid {
				d.Paid[i] = ReceiptRow{ID: "r" + string(rune('a'+i)), Reason: hostile, Euro: "1,00", Date: "01/11/2026", Category: "Mensa"}
			}
			d.ToPayPager = pager(AreaPath, "pagina", 1+v%2, d.ToPayTotal, PerPage, keep)
			d.PaidPager = pager(AreaPath, "pagati", 1+v%3, d.PaidTotal, ReceiptsPerPage, keep)
			d.ToPayRows, d.PaidRows = toPayRowsHTML(d.ToPay, "scaduto"), paidRowsHTML(d.Paid, "Ricevuta PDF")
			p.Data = d
			var want strings.Builder
			if err := tmpl.ExecuteTemplate(&want, "body", p); err != nil {
				t.Fatal(err)
			}
			// html/template writes a + as &#43;, web.Markup as it is: the
			// same character to the browser.
			if got := string(d.Body(p)); got != strings.ReplaceAll(want.String(), "&#43;", "+") {
				t.Errorf("%s variant %d:\n got: %q\nwant: %q", lang, v, got, want.String())
			}
			n++
		}
	}
	if n != 8 {
		t.Errorf("%d cases", n)
	}
}
