package payments

import (
	"html/template"
	"strconv"

	"github.com/civico-pa/civico/internal/web"
)

// Body is I miei pagamenti below its lead: the notices to pay (a form to
// pay those chosen), the receipts, the totals by year and category with
// the yearly statements, and the way to the IMU calculator. It is written
// here rather than by the page's template, whose sixty actions each
// reached a field or called a function through reflection (docs/RENDERING.md,
// "An application's page and the payments page"); the markup is the
// template's, and TestMineBodyIsTheTemplate compares them byte for byte.
func (d *MineData) Body(p *web.Page) template.HTML {
	w := d.W
	var m web.Markup
	m.Grow(4096 + len(d.ToPayRows) + len(d.PaidRows) + 200*len(d.Totals))
	if d.Alert != "" {
		m.Raw(`<div class="alert alert-danger" role="alert">`)
		m.Text(p.T(d.Alert))
		m.Raw(`</div>`)
	}
	if e := d.Errors["notice"]; e != "" {
		m.Raw(`<div class="alert alert-danger" role="alert" id="f-notice-error">`)
		m.Text(p.T(e))
		m.Raw(`</div>`)
	}
	m.Raw("\n\n      <section aria-labelledby=\"topay\" class=\"mt-4\">\n        <h2 id=\"topay\">")
	m.Text(w.MineTopay)
	m.Raw(` <span class="badge bg-primary" data-element="topay-count">`)
	m.Int(d.ToPayTotal)
	m.Raw("</span></h2>")
	if len(d.ToPay) > 0 {
		m.Raw("\n        <form method=\"post\" action=\"/area-personale/pagamenti/paga\">\n          <input type=\"hidden\" name=\"chiave\" value=\"")
		m.Text(d.Key)
		m.Raw("\">\n          <div class=\"table-responsive\">\n          <table class=\"table align-middle\" id=\"topay-table\">\n            <caption>")
		m.Text(w.MineTopayCaption)
		m.Raw("</caption>\n            <thead><tr><th scope=\"col\">")
		m.Text(w.Choose)
		m.Raw(`</th><th scope="col">`)
		m.Text(w.FieldReason)
		m.Raw(`</th><th scope="col">`)
		m.Text(w.FieldDueDate)
		m.Raw("</th>\n              <th scope=\"col\" class=\"text-end\">")
		m.Text(w.FieldAmount)
		m.Raw(`</th><th scope="col">`)
		m.Text(w.FieldStatus)
		m.Raw(`</th><th scope="col">`)
		m.Text(w.FieldNumber)
		m.Raw("</th></tr></thead>\n            <tbody>")
		m.Raw(string(d.ToPayRows))
		m.Raw("\n            </tbody>\n          </table>\n          </div>")
		if d.CanPay && d.NoticeCount > 0 {
			m.Raw("\n          <button type=\"submit\" class=\"btn btn-primary\" data-element=\"pay-selected\">")
			m.Text(w.PaySelected)
			m.Raw("</button>\n          <p class=\"form-text\">")
			m.Text(w.PayHelp)
			m.Raw("</p>")
		}
		m.Raw("\n        </form>\n        ")
		d.ToPayPager.Write(&m, p, "payments.mine.topay", "mt-3")
	} else {
		m.Raw("\n        <p>")
		m.Text(w.MineNone)
		m.Raw("</p>")
	}
	m.Raw("\n      </section>\n\n      <section aria-labelledby=\"paid\" class=\"mt-5\">\n        <h2 id=\"paid\">")
	m.Text(w.MinePaid)
	m.Raw(` <span class="badge bg-secondary">`)
	m.Int(d.PaidTotal)
	m.Raw("</span></h2>")
	if len(d.Paid) > 0 {
		m.Raw("\n        <div class=\"table-responsive\">\n        <table class=\"table\">\n          <caption>")
		m.Text(w.MinePaidCaption)
		m.Raw("</caption>\n          <thead><tr><th scope=\"col\">")
		m.Text(w.FieldPaidAt)
		m.Raw(`</th><th scope="col">`)
		m.Text(w.FieldReason)
		m.Raw(`</th><th scope="col">`)
		m.Text(w.FieldCategory)
		m.Raw("</th>\n            <th scope=\"col\" class=\"text-end\">")
		m.Text(w.FieldAmount)
		m.Raw(`</th><th scope="col">`)
		m.Text(w.Receipt)
		m.Raw("</th></tr></thead>\n          <tbody>")
		m.Raw(string(d.PaidRows))
		m.Raw("\n          </tbody>\n        </table>\n        </div>\n        ")
		d.PaidPager.Write(&m, p, "payments.mine.paid", "mt-3")
	} else {
		m.Raw("\n        <p>")
		m.Text(w.MineNonePaid)
		m.Raw("</p>")
	}
	m.Raw("\n      </section>\n\n      <section aria-labelledby=\"totals\" class=\"mt-5\">\n        <h2 id=\"totals\">")
	m.Text(w.MineTotals)
	m.Raw("</h2>")
	if len(d.Totals) > 0 {
		m.Raw("\n        <div class=\"table-responsive\">\n        <table class=\"table\">\n          <caption>")
		m.Text(w.MineTotalsCaption)
		m.Raw("</caption>\n          <thead><tr><th scope=\"col\">")
		m.Text(w.FieldYear)
		m.Raw(`</th><th scope="col">`)
		m.Text(w.FieldCategory)
		m.Raw(`</th><th scope="col" class="text-end">`)
		m.Text(w.Count)
		m.Raw(`</th><th scope="col" class="text-end">`)
		m.Text(w.FieldAmount)
		m.Raw("</th></tr></thead>\n          <tbody>")
		for i := range d.Totals {
			t := &d.Totals[i]
			year := strconv.Itoa(t.Year)
			if t.FirstOfTheYear {
				m.Raw(`<tr class="table-light"><th scope="rowgroup" colspan="3">`)
				m.Raw(year)
				m.Raw(`</th><td class="text-end fw-semibold">€&nbsp;`)
				m.Text(t.YearTotal)
				m.Raw(`</td></tr>`)
			}
			m.Raw("\n            <tr><td>")
			m.Raw(year)
			m.Raw(`</td><td>`)
			m.Text(t.Category)
			m.Raw(`</td><td class="text-end">`)
			m.Int(t.Count)
			m.Raw(`</td><td class="text-end">€&nbsp;`)
			m.Text(t.Euro)
			m.Raw(`</td></tr>`)
		}
		m.Raw("\n          </tbody>\n        </table>\n        </div>\n        <h3 class=\"h5\">")
		m.Text(w.Statement)
		m.Raw("</h3>\n        <ul>")
		for _, y := range d.Years {
			year := strconv.Itoa(y)
			m.Raw("\n          <li>" + year + `: <a href="` + AreaPath + "/estratto.pdf?anno=" + year + `">PDF<span class="visually-hidden"> ` + year +
				`</span></a> · <a href="` + AreaPath + "/estratto.csv?anno=" + year + `">CSV<span class="visually-hidden"> ` + year + "</span></a></li>")
		}
		m.Raw("\n        </ul>")
	} else {
		m.Raw("\n        <p>")
		m.Text(w.MineNonePaid)
		m.Raw("</p>")
	}
	m.Raw("\n      </section>\n\n      <section aria-labelledby=\"taxes\" class=\"mt-5\">\n        <h2 id=\"taxes\">")
	m.Text(w.ImuTitle)
	m.Raw("</h2>\n        <p>")
	m.Text(w.ImuLead)
	m.Raw(` <a href="` + AreaPath + `/imu">`)
	m.Text(w.ImuOpen)
	m.Raw("</a></p>\n      </section>")
	return m.HTML()
}
