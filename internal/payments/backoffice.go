package payments

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/problem"
	"github.com/civico-pa/civico/internal/web"
)

const adminPath = "/backoffice/pagamenti"

func (h *Web) backOfficeRoutes(m web.Registrar) {
	fin := m.Guarded(assurance.Low, FinanceRoles...)
	fin.HandleFunc("GET "+adminPath, h.adminList)
	fin.HandleFunc("GET "+adminPath+"/nuova", h.adminNew)
	fin.HandleFunc("POST "+adminPath+"/nuova", h.adminCreate)
	fin.HandleFunc("GET "+adminPath+"/importa", h.adminImportForm)
	fin.HandleFunc("POST "+adminPath+"/importa", h.adminImport)
	fin.HandleFunc("GET "+adminPath+"/importa/{id}", h.adminImportRun)
	fin.HandleFunc("GET "+adminPath+"/quadratura", h.adminReport)
	fin.HandleFunc("GET "+adminPath+"/quadratura.csv", h.adminReportCSV)
	fin.HandleFunc("GET "+adminPath+"/posizioni/{id}", h.adminPosition)
	fin.HandleFunc("POST "+adminPath+"/posizioni/{id}/annulla", h.adminCancel)
}

func (h *Web) adminPage(r *http.Request, title, last string) *web.Page {
	page := h.App.NewPage(r, title)
	page.Breadcrumb = []web.Crumb{{Label: page.T("payments.admin.backoffice"), Href: "/backoffice"}}
	if last == "" {
		page.Breadcrumb = append(page.Breadcrumb, web.Crumb{Label: page.Title})
	} else {
		page.Breadcrumb = append(page.Breadcrumb, web.Crumb{Label: page.T("payments.admin.title"), Href: adminPath}, web.Crumb{Label: last})
	}
	return page
}

// PositionRow is a position in the back office's list.
type PositionRow struct {
	Position
	Euro, Paid, Category string
}

// AdminListData is the back office's search and list.
type AdminListData struct {
	Q, Status, Category, Year string
	Categories                []Category
	Statuses                  []string
	Rows                      []PositionRow
	Total                     int
	Pager                     web.Pager
}

func (h *Web) adminList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	n, ok := pageParam(r, "pagina")
	if !ok {
		h.App.Error(w, r, http.StatusNotFound)
		return
	}
	f := Filter{Q: strings.TrimSpace(q.Get("q")), Status: q.Get("stato"), Category: Category(q.Get("categoria")), Page: n}
	if f.Category != "" && !f.Category.Valid() {
		f.Category = ""
	}
	switch f.Status {
	case "", StatusOpen, StatusInPayment, StatusPaid, StatusCancelled, StatusExpired:
	default:
		f.Status = ""
	}
	if y, ok := yearParam(r); ok {
		f.Year = y
	}
	list, total, err := h.Svc.Search(r.Context(), f)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	page := h.adminPage(r, "payments.admin.title", "")
	d := &AdminListData{Q: f.Q, Status: f.Status, Category: string(f.Category), Year: q.Get("anno"), Categories: Categories,
		Statuses: []string{StatusOpen, StatusInPayment, StatusPaid, StatusCancelled, StatusExpired}, Total: total, Pager: pager(adminPath, "pagina", n, total, PerPage, q)}
	for _, p := range list {
		d.Rows = append(d.Rows, PositionRow{Position: p, Euro: Euro(p.Amount), Paid: Euro(p.PaidAmount), Category: page.T("payments.category." + string(p.Category))})
	}
	page.Data = d
	w.Header().Set("Cache-Control", "private, no-store")
	h.App.HTML(w, r, http.StatusOK, "payments_admin_list", page)
}

// AdminFormData is the form of a new position.
type AdminFormData struct {
	Values     map[string]string
	Errors     problem.Fields
	Categories []Category
}

func (h *Web) adminForm(w http.ResponseWriter, r *http.Request, status int, values map[string]string, fe problem.Fields) {
	page := h.adminPage(r, "payments.admin.new", h.App.I18n.T(h.App.I18n.Lang(r), "payments.admin.new"))
	page.Data = &AdminFormData{Values: values, Errors: fe, Categories: Categories}
	w.Header().Set("Cache-Control", "private, no-store")
	h.App.HTML(w, r, status, "payments_admin_form", page)
}

func (h *Web) adminNew(w http.ResponseWriter, r *http.Request) {
	h.adminForm(w, r, http.StatusOK, map[string]string{"category": string(Canteen), "year": strconv.Itoa(h.Svc.now().Year())}, nil)
}

// parseInstalments reads the form's instalments, one a line:
// "YYYY-MM-DD amount".
func parseInstalments(s string) ([]Instalment, bool) {
	var out []Instalment
	for _, line := range strings.Split(strings.ReplaceAll(s, "\r", ""), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		d, a, ok := strings.Cut(line, " ")
		day, okd := parseDay(d)
		cents, oka := ParseCents(a)
		if !ok || !okd || !oka {
			return nil, false
		}
		out = append(out, Instalment{Amount: cents, DueDate: day})
	}
	return out, true
}

func (h *Web) adminCreate(w http.ResponseWriter, r *http.Request) {
	if !h.App.ParseForm(w, r, 32<<10) {
		return
	}
	f := r.PostForm
	values := map[string]string{}
	for _, k := range []string{"debtor_cf", "debtor_name", "category", "reason", "year", "amount", "due_date", "payable_until", "instalments", "single", "external_id"} {
		values[k] = f.Get(k)
	}
	fe := problem.Fields{}
	amount, ok := ParseCents(f.Get("amount"))
	if !ok {
		fe["amount"] = "payments.error.amount"
	}
	year, err := strconv.Atoi(f.Get("year"))
	if err != nil {
		fe["year"] = "payments.error.year"
	}
	due, _ := parseDay(f.Get("due_date"))
	until := ""
	if v := strings.TrimSpace(f.Get("payable_until")); v != "" {
		if until, ok = parseDay(v); !ok {
			fe["payable_until"] = "payments.error.payable_until"
		}
	}
	inst, ok := parseInstalments(f.Get("instalments"))
	if !ok {
		fe["instalments"] = "payments.error.instalments"
	}
	in := NewPosition{DebtorCF: f.Get("debtor_cf"), DebtorName: f.Get("debtor_name"), Category: Category(f.Get("category")), Reason: f.Get("reason"), Year: year,
		Amount: amount, DueDate: due, PayableUntil: until, Instalments: inst, Single: f.Get("single") != "", ExternalID: strings.TrimSpace(f.Get("external_id")), Source: "backoffice"}
	if v := in.Validate(); v != nil {
		for k, m := range v {
			if _, set := fe[k]; !set {
				fe[k] = m
			}
		}
	}
	if len(fe) > 0 {
		h.adminForm(w, r, http.StatusUnprocessableEntity, values, fe)
		return
	}
	p, err := h.Svc.Create(r.Context(), in, actorOf(r))
	var pf problem.Fields
	switch {
	case errors.As(err, &pf):
		h.adminForm(w, r, http.StatusUnprocessableEntity, values, pf)
	case err != nil:
		h.App.Fail(w, r, err)
	default:
		web.Redirect(w, r, adminPath+"/posizioni/"+p.ID, url.Values{"creata": {"1"}})
	}
}

// AdminPositionData is a position's page.
type AdminPositionData struct {
	Position PositionRow
	Notices  []NoticeRow
	Created  bool
	Errors   problem.Fields
	Reason   string
}

func (h *Web) adminPosition(w http.ResponseWriter, r *http.Request) {
	h.renderPosition(w, r, http.StatusOK, "", nil)
}

func (h *Web) renderPosition(w http.ResponseWriter, r *http.Request, status int, reason string, fe problem.Fields) {
	p, err := h.Svc.Position(r.Context(), r.PathValue("id"))
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	page := h.adminPage(r, "", p.Reason)
	page.Title = p.Reason
	page.Data = &AdminPositionData{Position: PositionRow{Position: *p, Euro: Euro(p.Amount), Paid: Euro(p.PaidAmount), Category: page.T("payments.category." + string(p.Category))},
		Notices: h.rows(page, p.Notices), Created: r.URL.Query().Get("creata") != "", Errors: fe, Reason: reason}
	w.Header().Set("Cache-Control", "private, no-store")
	h.App.HTML(w, r, status, "payments_admin_position", page)
}

func (h *Web) adminCancel(w http.ResponseWriter, r *http.Request) {
	if !h.App.ParseForm(w, r, 8<<10) {
		return
	}
	reason := r.PostForm.Get("reason")
	err := h.Svc.Cancel(r.Context(), r.PathValue("id"), reason, actorOf(r))
	var fe problem.Fields
	var p *problem.Error
	switch {
	case errors.As(err, &fe):
		h.renderPosition(w, r, http.StatusUnprocessableEntity, reason, fe)
	case errors.As(err, &p) && p.Kind == problem.Conflict:
		h.renderPosition(w, r, http.StatusConflict, reason, problem.Fields{"reason": p.Message})
	case err != nil:
		h.App.Fail(w, r, err)
	default:
		web.Redirect(w, r, adminPath+"/posizioni/"+r.PathValue("id"), nil)
	}
}

// ImportData is the import form, a refused file's lines, and the list
// of the imports.
type ImportData struct {
	Errors []LineError
	Alert  string
	// Earlier is the import of the same file, when one is refused as a
	// duplicate.
	Earlier *ImportRow
	Rows    []*ImportRow
	Total   int
	Pager   web.Pager
}

// ImportRow is an import as the pages show it.
type ImportRow struct {
	*ImportRun
	When, DoneText, LinesText, Euro string
}

func (h *Web) importRow(page *web.Page, r *ImportRun) *ImportRow {
	return &ImportRow{ImportRun: r, When: r.CreatedAt.In(rome()).Format("02/01/2006 15:04"), DoneText: thousands(r.Done, page.Lang),
		LinesText: thousands(r.Lines, page.Lang), Euro: Euro(r.Amount)}
}

// thousands writes n with the language's thousands separator.
func thousands(n int, lang string) string {
	sep := "."
	if lang == "en" {
		sep = ","
	}
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteString(sep)
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func (h *Web) importPage(w http.ResponseWriter, r *http.Request, status int, d *ImportData) {
	n, ok := pageParam(r, "pagina")
	if !ok {
		h.App.Error(w, r, http.StatusNotFound)
		return
	}
	page := h.adminPage(r, "payments.import.title", h.App.I18n.T(h.App.I18n.Lang(r), "payments.import.title"))
	runs, total, err := h.Svc.ImportRuns(r.Context(), n)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	for _, run := range runs {
		d.Rows = append(d.Rows, h.importRow(page, run))
	}
	d.Total, d.Pager = total, pager(adminPath+"/importa", "pagina", n, total, ImportsPerPage, nil)
	page.Data = d
	w.Header().Set("Cache-Control", "private, no-store")
	h.App.HTML(w, r, status, "payments_admin_import", page)
}

func (h *Web) adminImportForm(w http.ResponseWriter, r *http.Request) {
	h.importPage(w, r, http.StatusOK, &ImportData{})
}

// maxImportBytes bounds an uploaded file.
const maxImportBytes = 20 << 20

// adminImport accepts a file: checked line by line here (a wrong line
// refuses it whole, nothing kept), then imported by a job while the
// operator watches its page.
func (h *Web) adminImport(w http.ResponseWriter, r *http.Request) {
	h.App.LargeBody(w, r)
	r.Body = http.MaxBytesReader(w, r.Body, maxImportBytes+(64<<10))
	file, hdr, err := r.FormFile("file")
	if err != nil {
		h.importPage(w, r, http.StatusUnprocessableEntity, &ImportData{Alert: "payments.import.error.file"})
		return
	}
	defer file.Close()
	var b bytes.Buffer
	if _, err := io.Copy(&b, io.LimitReader(file, maxImportBytes+1)); err != nil || b.Len() > maxImportBytes {
		h.importPage(w, r, http.StatusRequestEntityTooLarge, &ImportData{Alert: "payments.import.error.file"})
		return
	}
	run, err := h.Svc.Accept(r.Context(), hdr.Filename, b.Bytes(), h.Rates, actorOf(r), operatorName(r))
	var ie ImportErrors
	var dup *DuplicateImport
	switch {
	case errors.As(err, &ie):
		h.importPage(w, r, http.StatusUnprocessableEntity, &ImportData{Errors: ie})
	case errors.As(err, &dup):
		page := h.App.NewPage(r, "")
		h.importPage(w, r, http.StatusConflict, &ImportData{Alert: "payments.import.error.same_file", Earlier: h.importRow(page, dup.Earlier)})
	case err != nil:
		h.App.Fail(w, r, err)
	default:
		web.Redirect(w, r, adminPath+"/importa/"+run.ID, nil)
	}
}

// operatorName names who is logged in, for the list of imports.
func operatorName(r *http.Request) string {
	a, _ := identity.Current(r.Context())
	if a == nil {
		return ""
	}
	if name := strings.TrimSpace(a.GivenName + " " + a.FamilyName); name != "" {
		return name
	}
	return a.Email
}

// ImportRunData is an import's page.
type ImportRunData struct {
	Run *ImportRow
	// Refresh is whether the page reloads itself while the import runs,
	// without JavaScript: only when the operator asked (?aggiorna=auto),
	// since a page that reloads by itself is a time limit (WCAG 2.2.1).
	// With JavaScript the progress updates in place (live-refresh.js).
	Refresh bool
	Self    string
}

func (h *Web) adminImportRun(w http.ResponseWriter, r *http.Request) {
	run, err := h.Svc.ImportRun(r.Context(), r.PathValue("id"))
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	lang := h.App.I18n.Lang(r)
	page := h.adminPage(r, "", h.App.I18n.T(lang, "payments.import.run"))
	page.Title = h.App.I18n.T(lang, "payments.import.run")
	page.Breadcrumb = append(page.Breadcrumb[:len(page.Breadcrumb)-1], web.Crumb{Label: h.App.I18n.T(lang, "payments.import.title"), Href: adminPath + "/importa"},
		web.Crumb{Label: page.Title})
	page.Data = &ImportRunData{Run: h.importRow(page, run), Refresh: run.Pending() && r.URL.Query().Get("aggiorna") == "auto",
		Self: adminPath + "/importa/" + run.ID}
	w.Header().Set("Cache-Control", "private, no-store")
	h.App.HTML(w, r, http.StatusOK, "payments_admin_import_run", page)
}

// ReportData is the daily balancing page.
type ReportData struct {
	Report *Report
	Euro   string
	Ledger string
	Day    string
}

func (h *Web) reportDay(r *http.Request) (string, bool) {
	day := r.URL.Query().Get("giorno")
	if day == "" {
		return h.Svc.now().In(rome()).Format(dateLayout), true
	}
	return day, validDate(day)
}

func (h *Web) adminReport(w http.ResponseWriter, r *http.Request) {
	day, ok := h.reportDay(r)
	if !ok {
		h.App.Error(w, r, http.StatusBadRequest)
		return
	}
	rep, err := h.Svc.DailyReport(r.Context(), day)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	page := h.adminPage(r, "payments.report.title", h.App.I18n.T(h.App.I18n.Lang(r), "payments.report.title"))
	page.Data = &ReportData{Report: rep, Euro: Euro(rep.Total), Ledger: Euro(rep.Ledger), Day: day}
	w.Header().Set("Cache-Control", "private, no-store")
	h.App.HTML(w, r, http.StatusOK, "payments_admin_report", page)
}

func (h *Web) adminReportCSV(w http.ResponseWriter, r *http.Request) {
	day, ok := h.reportDay(r)
	if !ok {
		h.App.Error(w, r, http.StatusBadRequest)
		return
	}
	rep, err := h.Svc.DailyReport(r.Context(), day)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	var b csvBuffer
	if err := rep.WriteCSV(&b); err != nil {
		h.App.Fail(w, r, err)
		return
	}
	sendFile(w, "text/csv; charset=utf-8", "quadratura-"+day+".csv", b.b)
}
