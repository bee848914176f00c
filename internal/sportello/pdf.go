package sportello

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"

	"codeberg.org/go-pdf/fpdf"

	"github.com/civico-pa/civico/internal/hours"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/town"
	"github.com/civico-pa/civico/internal/web"
)

// Receipts writes the PDF receipt of what a resident submitted: the
// town, the protocol number and date, the applicant, every answer shown,
// the documents with their fingerprints, the expected decision day and
// what the law says of the reply (L. 241/1990 art. 18-bis), in the
// resident's language. The receipt is made from the stored application
// each time it is asked for: the same bytes for the same application.
type Receipts struct {
	Towns *town.Store
	I18n  *web.I18n
}

// PDF is the receipt of a submitted application.
func (rc *Receipts) PDF(ctx context.Context, a *Application, def *Definition, docs []Document, lang string) ([]byte, error) {
	t := func(id string, args ...any) string { return rc.I18n.T(lang, id, args...) }
	townName := "civico"
	if rc.Towns != nil {
		if p, err := rc.Towns.Get(ctx); err == nil {
			townName = p.FullName()
		}
	}
	files := map[string]*FileInfo{}
	for _, d := range docs {
		if d.Kind == DocAnswer {
			files[d.Field] = &FileInfo{Filename: d.Filename, SHA256: d.SHA256, Size: d.Size}
		}
	}
	pdf := fpdf.New("P", "mm", "A4", "")
	date := *a.SubmittedAt
	pdf.SetCreationDate(date)
	pdf.SetModificationDate(date)
	pdf.SetCatalogSort(true)
	pdf.SetProducer("civico", false)
	tr := pdf.UnicodeTranslatorFromDescriptor("cp1252")
	pdf.SetTitle(tr(t("sportello.pdf.title")+" "+a.Protocol), false)
	pdf.SetAutoPageBreak(true, 18)
	pdf.AliasNbPages("{nb}")
	pdf.SetFooterFunc(func() {
		pdf.SetY(-12)
		pdf.SetFont("Helvetica", "", 7)
		pdf.CellFormat(0, 5, tr(t("sportello.pdf.footer", "Protocol", a.Protocol)), "", 0, "L", false, 0, "")
		pdf.CellFormat(0, 5, fmt.Sprintf("%d/{nb}", pdf.PageNo()), "", 0, "R", false, 0, "")
	})
	pdf.AddPage()
	pdf.SetFont("Helvetica", "B", 15)
	pdf.CellFormat(0, 8, tr(townName), "", 1, "L", false, 0, "")
	pdf.SetFont("Helvetica", "", 11)
	pdf.CellFormat(0, 6, tr(t("sportello.pdf.title")), "", 1, "L", false, 0, "")
	pdf.Ln(4)
	row := func(label, value string) {
		pdf.SetFont("Helvetica", "B", 9)
		left, _, _, _ := pdf.GetMargins()
		y := pdf.GetY()
		pdf.MultiCell(55, 5, tr(label), "", "L", false)
		yl := pdf.GetY()
		pdf.SetXY(left+57, y)
		pdf.SetFont("Helvetica", "", 9)
		pdf.MultiCell(0, 5, tr(value), "", "L", false)
		pdf.SetY(max(yl, pdf.GetY()) + 1)
	}
	section := func(title string) {
		pdf.Ln(2)
		pdf.SetFont("Helvetica", "B", 11)
		pdf.CellFormat(0, 7, tr(title), "B", 1, "L", false, 0, "")
		pdf.Ln(1)
	}
	rome := hours.Rome
	section(t("sportello.pdf.registration"))
	row(t("sportello.field.service"), a.ServiceTitle)
	row(t("sportello.field.protocol"), a.Protocol)
	row(t("sportello.field.submitted"), a.SubmittedAt.In(rome).Format("02/01/2006 15:04"))
	row(t("sportello.field.channel"), t("sportello.channel."+string(a.Channel)))
	row(t("sportello.field.due"), t("sportello.pdf.due", "Day", dayLabel(a.DueDay()), "Days", a.Term()))
	section(t("sportello.step.applicant"))
	for _, x := range []struct {
		id   string
		attr Attribute
	}{{"given_name", a.Applicant.GivenName}, {"family_name", a.Applicant.FamilyName}, {"fiscal_code", a.Applicant.FiscalCode},
		{"email", a.Applicant.Email}, {"phone", a.Applicant.Phone}, {"address", a.Applicant.Address}} {
		if x.attr.Value == "" {
			continue
		}
		v := x.attr.Value
		if x.attr.Fixed() {
			v += " (" + t("sportello.source."+sourceKey(x.attr.Source)) + ")"
		}
		row(t("sportello.applicant."+x.id), v)
	}
	if a.Acting != nil {
		// Made under a delegation: who acted, beside the holder.
		row(t("sportello.field.acting"), a.Acting.Name()+" ("+a.Acting.FiscalCode+")")
	}
	section(t("sportello.step.form"))
	shown := def.Visible(a.Answers)
	for _, f := range FieldViews(def, a.Answers, nil, files, lang, t) {
		if !shown[f.Name] || !f.Shown() {
			continue
		}
		v := f.Answer()
		if f.File != nil {
			v += "\nSHA-256 " + f.File.SHA256
		}
		row(f.Label, v)
	}
	section(t("sportello.pdf.notes"))
	pdf.SetFont("Helvetica", "", 9)
	pdf.MultiCell(0, 5, tr(t("sportello.pdf.law", "Days", a.Term())), "", "L", false)
	pdf.Ln(2)
	pdf.MultiCell(0, 5, tr(t("sportello.pdf.declaration")), "", "L", false)
	pdf.Ln(2)
	pdf.SetFont("Helvetica", "", 7)
	pdf.MultiCell(0, 4, tr(t("sportello.pdf.fingerprint", "SHA", sha(canonical(a)))), "", "L", false)
	var b bytes.Buffer
	if err := pdf.Output(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func sourceKey(s identity.Source) string {
	if s == "" {
		return "none"
	}
	return string(s)
}

// dayLabel writes 2006-01-02 as 02/01/2006.
func dayLabel(day string) string {
	if len(day) != 10 {
		return day
	}
	return day[8:10] + "/" + day[5:7] + "/" + day[0:4]
}

func (h *Web) writeReceipt(w http.ResponseWriter, r *http.Request, a *Application) {
	if a.State == Draft || a.SubmittedAt == nil {
		h.App.Error(w, r, http.StatusNotFound)
		return
	}
	form, err := h.Forms.ByID(r.Context(), a.FormID)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	docs, err := h.Store.Documents(r.Context(), a.ID)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	b, err := h.PDF.PDF(r.Context(), a, form.Def, docs, h.App.I18n.Lang(r))
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "application/pdf")
	hd.Set("Content-Disposition", `attachment; filename="ricevuta-`+strings.ReplaceAll(a.Protocol, "/", "-")+`.pdf"`)
	hd.Set("Cache-Control", "private, no-store")
	hd.Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(b)
}

func (h *Web) receiptPDF(w http.ResponseWriter, r *http.Request) {
	a, _ := h.application(w, r)
	if a == nil {
		return
	}
	h.writeReceipt(w, r, a)
}

func (h *Web) officeReceiptPDF(w http.ResponseWriter, r *http.Request) {
	a, _ := h.officeApp(w, r)
	if a == nil {
		return
	}
	h.writeReceipt(w, r, a)
}
