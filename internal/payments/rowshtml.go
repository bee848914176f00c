package payments

import (
	"html/template"
	"net/url"

	"github.com/civico-pa/civico/internal/web"
)

// The two long lists of I miei pagamenti (up to 50 notices, 10 receipts a
// page) are written here rather than by html/template: executing a
// template calls every field and every escaper through reflection, and a
// list of 50 rows of a dozen values each cost ten times the rest of the
// page (README, "Payments and taxes": the profile and the figures). Every
// value goes through web.Markup, which escapes it (every attribute is
// quoted); the markup is the template's, and TestMineRowsEscape checks both.

// toPayRowsHTML is the body of the table of notices to pay.
func toPayRowsHTML(rows []NoticeRow, overdue string) template.HTML {
	var m web.Markup
	m.Grow(len(rows) * 900)
	for i := range rows {
		n := &rows[i]
		id := url.PathEscape(n.ID)
		m.Raw("\n              <tr data-notice=\"")
		m.Text(n.ID)
		m.Raw("\">\n                <td>")
		if n.CanPay {
			m.Raw(`<div class="form-check"><input class="form-check-input" type="checkbox" name="avviso" value="`)
			m.Text(n.ID)
			m.Raw(`" id="pay-`)
			m.Text(n.ID)
			m.Raw(`"`)
			if n.Selected {
				m.Raw(" checked")
			}
			m.Raw(`><label class="form-check-label" for="pay-`)
			m.Text(n.ID)
			m.Raw(`"><span class="visually-hidden">`)
			m.Text(n.Choose)
			m.Raw(`</span></label></div>`)
		}
		m.Raw("</td>\n                <th scope=\"row\"><a href=\"" + AreaPath + "/avvisi/")
		m.Text(id)
		m.Raw(`">`)
		m.Text(n.Label)
		m.Raw("</a></th>\n                <td>")
		m.Text(n.DueDate)
		if n.Overdue {
			m.Raw(` <span class="badge bg-danger">`)
			m.Text(overdue)
			m.Raw(`</span>`)
		}
		m.Raw("</td>\n                <td class=\"text-end\">€&nbsp;")
		m.Text(n.Euro)
		m.Raw("</td>\n                <td><span class=\"badge ")
		m.Text(n.StatusClass)
		m.Raw(`" data-status="`)
		m.Text(n.Status)
		m.Raw(`">`)
		m.Text(n.StatusText)
		m.Raw("</span></td>\n                <td><span class=\"text-nowrap\">")
		m.Text(n.Grouped)
		m.Raw("</span></td>\n              </tr>")
	}
	return m.HTML()
}

// paidRowsHTML is the body of the table of receipts.
func paidRowsHTML(rows []ReceiptRow, receiptPDF string) template.HTML {
	var m web.Markup
	m.Grow(len(rows) * 500)
	for i := range rows {
		r := &rows[i]
		m.Raw("\n            <tr><td>")
		m.Text(r.Date)
		m.Raw(`</td><th scope="row">`)
		m.Text(r.Reason)
		m.Raw(`</th><td>`)
		m.Text(r.Category)
		m.Raw(`</td><td class="text-end">€&nbsp;`)
		m.Text(r.Euro)
		m.Raw("</td>\n              <td><a href=\"" + AreaPath + "/ricevute/")
		m.Text(url.PathEscape(r.ID))
		m.Raw(`" data-element="receipt-link">`)
		m.Text(receiptPDF)
		m.Raw(`<span class="visually-hidden"> `)
		m.Text(r.Reason)
		m.Raw("</span></a></td></tr>")
	}
	return m.HTML()
}
