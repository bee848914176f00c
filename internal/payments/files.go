package payments

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"

	"github.com/civico-pa/civico/internal/pagopa"
)

func sendFile(w http.ResponseWriter, ctype, name string, b []byte) {
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Cache-Control", "private, no-store")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	_, _ = w.Write(b)
}

func (h *Web) noticePDF(w http.ResponseWriter, r *http.Request) {
	code, ok := h.debtor(w, r)
	if !ok {
		return
	}
	n, err := h.Svc.OwnNotice(r.Context(), code, r.PathValue("id"))
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	p, err := h.Svc.Position(r.Context(), n.PositionID)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	t, err := h.App.Town.Get(r.Context())
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	b, err := NoticePDF(t, p, h.App.I18n.Lang(r))
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	sendFile(w, "application/pdf", "avviso-"+n.Number+".pdf", b)
}

func (h *Web) receiptPDF(w http.ResponseWriter, r *http.Request) {
	code, ok := h.debtor(w, r)
	if !ok {
		return
	}
	rc, err := h.Svc.OwnReceipt(r.Context(), code, r.PathValue("id"))
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	t, err := h.App.Town.Get(r.Context())
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	b, err := ReceiptPDF(t, rc, h.App.I18n.Lang(r))
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	sendFile(w, "application/pdf", "ricevuta-"+rc.Number+".pdf", b)
}

func yearParam(r *http.Request) (int, bool) {
	v := r.URL.Query().Get("anno")
	if v == "" {
		return 0, true
	}
	y, err := strconv.Atoi(v)
	return y, err == nil && y >= 2000 && y <= 2100
}

func (h *Web) statementPDF(w http.ResponseWriter, r *http.Request) {
	code, ok := h.debtor(w, r)
	if !ok {
		return
	}
	year, ok := yearParam(r)
	if !ok {
		h.App.Error(w, r, http.StatusBadRequest)
		return
	}
	list, err := h.Svc.AllPaid(r.Context(), code, year)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	t, err := h.App.Town.Get(r.Context())
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	lang := h.App.I18n.Lang(r)
	b, err := StatementPDF(t, code, year, list, func(c Category) string { return h.App.I18n.T(lang, "payments.category."+string(c)) }, lang)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	sendFile(w, "application/pdf", fmt.Sprintf("pagamenti-%s.pdf", yearName(year)), b)
}

func yearName(y int) string {
	if y == 0 {
		return "tutti"
	}
	return strconv.Itoa(y)
}

// statementCSV is the statement for a spreadsheet: one line per payment,
// amounts in euro with a decimal point.
func (h *Web) statementCSV(w http.ResponseWriter, r *http.Request) {
	code, ok := h.debtor(w, r)
	if !ok {
		return
	}
	year, ok := yearParam(r)
	if !ok {
		h.App.Error(w, r, http.StatusBadRequest)
		return
	}
	list, err := h.Svc.AllPaid(r.Context(), code, year)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	var b csvBuffer
	cw := csv.NewWriter(&b)
	_ = cw.Write([]string{"data_pagamento", "anno", "categoria", "oggetto", "codice_avviso", "importo_euro", "psp", "id_psp", "ricevuta"})
	for _, rc := range list {
		_ = cw.Write([]string{rc.PaidAt.In(rome()).Format("2006-01-02 15:04"), strconv.Itoa(rc.Year), string(rc.Category), csvSafe(rc.Reason),
			pagopa.Grouped(rc.Number), EuroDot(rc.Amount), csvSafe(rc.PSP), csvSafe(rc.PSPRef), rc.ID})
	}
	cw.Flush()
	sendFile(w, "text/csv; charset=utf-8", fmt.Sprintf("pagamenti-%s.csv", yearName(year)), b.b)
}

type csvBuffer struct{ b []byte }

func (c *csvBuffer) Write(p []byte) (int, error) { c.b = append(c.b, p...); return len(p), nil }

// csvSafe keeps a spreadsheet from reading a text as a formula.
func csvSafe(s string) string {
	if s != "" && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r') {
		return "'" + s
	}
	return s
}
