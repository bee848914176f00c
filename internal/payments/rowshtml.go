package payments

import (
	"html"
	"html/template"
	"net/url"
	"strings"
)

// The two long lists of I miei pagamenti (up to 50 notices, 10 receipts a
// page) are written here rather than by html/template: executing a
// template calls every field and every escaper through reflection, and a
// list of 50 rows of a dozen values each cost ten times the rest of the
// page (README, "Payments and taxes": the profile and the figures). Every
// value is escaped (html.EscapeString; every attribute is quoted), the
// markup is the template's, and TestMineRowsEscape checks both.

// esc writes s escaped for HTML text or a quoted attribute value.
func esc(b *strings.Builder, s string) {
	if strings.ContainsAny(s, `<>&'"`) {
		s = html.EscapeString(s)
	}
	b.WriteString(s)
}

// toPayRowsHTML is the body of the table of notices to pay.
func toPayRowsHTML(rows []NoticeRow, overdue string) template.HTML {
	var b strings.Builder
	b.Grow(len(rows) * 900)
	for i := range rows {
		n := &rows[i]
		id := url.PathEscape(n.ID)
		b.WriteString("\n              <tr data-notice=\"")
		esc(&b, n.ID)
		b.WriteString("\">\n                <td>")
		if n.CanPay {
			b.WriteString(`<div class="form-check"><input class="form-check-input" type="checkbox" name="avviso" value="`)
			esc(&b, n.ID)
			b.WriteString(`" id="pay-`)
			esc(&b, n.ID)
			b.WriteByte('"')
			if n.Selected {
				b.WriteString(" checked")
			}
			b.WriteString(`><label class="form-check-label" for="pay-`)
			esc(&b, n.ID)
			b.WriteString(`"><span class="visually-hidden">`)
			esc(&b, n.Choose)
			b.WriteString(`</span></label></div>`)
		}
		b.WriteString("</td>\n                <th scope=\"row\"><a href=\"" + AreaPath + "/avvisi/")
		esc(&b, id)
		b.WriteString(`">`)
		esc(&b, n.Label)
		b.WriteString("</a></th>\n                <td>")
		esc(&b, n.DueDate)
		if n.Overdue {
			b.WriteString(` <span class="badge bg-danger">`)
			esc(&b, overdue)
			b.WriteString(`</span>`)
		}
		b.WriteString("</td>\n                <td class=\"text-end\">€&nbsp;")
		esc(&b, n.Euro)
		b.WriteString("</td>\n                <td><span class=\"badge ")
		esc(&b, n.StatusClass)
		b.WriteString(`" data-status="`)
		esc(&b, n.Status)
		b.WriteString(`">`)
		esc(&b, n.StatusText)
		b.WriteString("</span></td>\n                <td><span class=\"text-nowrap\">")
		esc(&b, n.Grouped)
		b.WriteString("</span></td>\n              </tr>")
	}
	return template.HTML(b.String()) // #nosec G203 -- every value above is escaped
}

// paidRowsHTML is the body of the table of receipts.
func paidRowsHTML(rows []ReceiptRow, receiptPDF string) template.HTML {
	var b strings.Builder
	b.Grow(len(rows) * 500)
	for i := range rows {
		r := &rows[i]
		b.WriteString("\n            <tr><td>")
		esc(&b, r.Date)
		b.WriteString(`</td><th scope="row">`)
		esc(&b, r.Reason)
		b.WriteString(`</th><td>`)
		esc(&b, r.Category)
		b.WriteString(`</td><td class="text-end">€&nbsp;`)
		esc(&b, r.Euro)
		b.WriteString("</td>\n              <td><a href=\"" + AreaPath + "/ricevute/")
		esc(&b, url.PathEscape(r.ID))
		b.WriteString(`" data-element="receipt-link">`)
		esc(&b, receiptPDF)
		b.WriteString(`<span class="visually-hidden"> `)
		esc(&b, r.Reason)
		b.WriteString("</span></a></td></tr>")
	}
	return template.HTML(b.String()) // #nosec G203 -- every value above is escaped
}
