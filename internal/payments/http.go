package payments

import (
	"context"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/civico-pa/civico/internal/area"
	"github.com/civico-pa/civico/internal/hours"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/pagopa"
	"github.com/civico-pa/civico/internal/problem"
	tokens "github.com/civico-pa/civico/internal/token"
	"github.com/civico-pa/civico/internal/web"
)

// Routes is the map of the payments pages, API and endpoints.
func (h *Web) Routes() {
	m := h.App.For("payments")
	res := m.Guarded(Need)
	res.HandleFunc("GET "+AreaPath, h.mine)
	res.HandleFunc("GET "+AreaPath+"/avvisi/{id}", h.notice)
	res.HandleFunc("GET "+AreaPath+"/avvisi/{id}/avviso.pdf", h.noticePDF)
	res.HandleFunc("POST "+AreaPath+"/paga", h.checkout)
	res.HandleFunc("GET "+AreaPath+"/esito/{attempt}", h.outcome)
	res.HandleFunc("GET "+AreaPath+"/ricevute/{id}", h.receiptPDF)
	res.HandleFunc("GET "+AreaPath+"/estratto.pdf", h.statementPDF)
	res.HandleFunc("GET "+AreaPath+"/estratto.csv", h.statementCSV)
	res.HandleFunc("GET "+AreaPath+"/imu", h.imuForm)
	res.HandleFunc("POST "+AreaPath+"/imu", h.imu)
	res.HandleFunc("POST "+AreaPath+"/imu/paga", h.imuPay)

	m.HandleFunc("POST /pagamenti/notifiche/{gateway}", h.notify)
	m.HandleFunc("GET /api/v1/notices/{number}", h.apiNotice)
	m.HandleFunc("GET /api/v1/positions", h.apiPositions)
	h.creditorRoutes(m)
	h.backOfficeRoutes(m)
}

// debtor is the logged-in resident's proven fiscal code; without one (a
// card-less account that somehow reached a guarded page) the page says
// why.
func (h *Web) debtor(w http.ResponseWriter, r *http.Request) (string, bool) {
	a, se := identity.Current(r.Context())
	code, ok := a.ProvenFiscalCode(se)
	if !ok {
		h.App.Fail(w, r, problem.New(problem.Forbidden, "payments.error.no_fiscal_code", errors.New("payments: no proven fiscal code")))
		return "", false
	}
	return code, true
}

func actorOf(r *http.Request) Actor {
	act := Actor{Remote: web.RemoteAddr(r)}
	if a, _ := identity.Current(r.Context()); a != nil {
		if a.Kind == identity.KindOperator {
			act.Name = "operator:" + a.ID
		} else {
			act.Name = "user:" + a.ID
		}
	}
	return act
}

func pageParam(r *http.Request, name string) (int, bool) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 1, true
	}
	n, err := strconv.Atoi(v)
	return n, err == nil && n >= 1 && n <= 100000
}

// pager is page of a list at path whose page is in param, the list's
// other parameters keep kept in the links.
func pager(path, param string, page, total, per int, keep url.Values) web.Pager {
	return web.NewPager(path, keep, param, page, total, per)
}

// NoticeRow is a notice as the lists show it.
type NoticeRow struct {
	Notice
	Euro, Grouped, Label string
	Overdue              bool
	// StatusText and StatusClass are the status's badge; CanPay, Choose
	// (the check box's label) and Selected the checkout's check box: made
	// here rather than by the template, which calls functions through
	// reflection (a list of 50 cost 20 times the page's layout).
	StatusText, StatusClass, Choose string
	CanPay, Selected                bool
	// ID, DueDate and Status are the Notice's, at the top: the template
	// finds a field of an embedded struct by a search through reflection
	// at every use.
	ID, DueDate, Status string
}

// statusClass is a status's badge colour.
func statusClass(status string) string {
	switch status {
	case StatusPaid:
		return "bg-success"
	case StatusOpen:
		return "bg-primary"
	case StatusInPayment:
		return "bg-warning text-dark"
	}
	return "bg-secondary"
}

func (h *Web) rows(page *web.Page, list []Notice) []NoticeRow {
	out := make([]NoticeRow, len(list))
	today := h.Svc.now().Format(dateLayout)
	// The words every row repeats, translated once for the request.
	statusText := map[string]string{}
	single := ""
	for i, n := range list {
		st, ok := statusText[n.Status]
		if !ok {
			st = page.T("payments.status." + n.Status)
			statusText[n.Status] = st
		}
		if n.Instalments > 0 && n.Seq == 0 && single == "" {
			single = page.T("payments.single")
		}
		out[i] = NoticeRow{Notice: n, Euro: Euro(n.Amount), Grouped: pagopa.Grouped(n.Number), Label: label(page, n, single), Overdue: n.DueDate < today && n.Status == StatusOpen,
			StatusText: st, StatusClass: statusClass(n.Status), CanPay: n.Payable(), ID: n.ID, DueDate: n.DueDate, Status: n.Status}
	}
	return out
}

// label names a notice: its reason, and which instalment it is; single is
// the translation of "payments.single".
func label(page *web.Page, n Notice, single string) string {
	switch {
	case n.Instalments == 0:
		return n.Reason
	case n.Seq == 0:
		return n.Reason + " — " + single
	}
	return n.Reason + " — " + page.T("payments.instalment", "N", n.Seq, "Of", n.Instalments)
}

// ReceiptRow is a receipt as the list shows it.
type ReceiptRow struct {
	Receipt
	Euro, Date, Category string
	// ID and Reason are the Receipt's, at the top (see NoticeRow).
	ID, Reason string
}

// TotalRow is a line of the totals.
type TotalRow struct {
	Year            int
	Category, Euro  string
	Count           int
	YearTotal       string
	FirstOfTheYear  bool
	YearTotalAmount int64
}

// MineData is the content of "I miei pagamenti".
type MineData struct {
	ToPay       []NoticeRow
	ToPayTotal  int
	ToPayPager  web.Pager
	Paid        []ReceiptRow
	PaidTotal   int
	PaidPager   web.Pager
	Totals      []TotalRow
	Years       []int
	Key         string
	Errors      problem.Fields
	Alert       string
	Selected    map[string]bool
	CanPay      bool
	NoticeCount int
	// Overdue and ReceiptPDF are the lists' repeated words.
	Overdue, ReceiptPDF string
	// ToPayRows and PaidRows are the two lists' rows, written in Go
	// (rowshtml.go).
	ToPayRows, PaidRows template.HTML
	// W are the page's words (minewords.go).
	W *MineWords
}

func (h *Web) mine(w http.ResponseWriter, r *http.Request) {
	h.renderMine(w, r, http.StatusOK, nil, "", nil)
}

func (h *Web) renderMine(w http.ResponseWriter, r *http.Request, status int, fe problem.Fields, alert string, selected []string) {
	code, ok := h.debtor(w, r)
	if !ok {
		return
	}
	p1, ok1 := pageParam(r, "pagina")
	p2, ok2 := pageParam(r, "pagati")
	if !ok1 || !ok2 {
		h.App.Error(w, r, http.StatusNotFound)
		return
	}
	ctx := r.Context()
	toPay, nToPay, err := h.Svc.ToPay(ctx, code, p1)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	paid, nPaid, err := h.Svc.Paid(ctx, code, p2)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	totals, err := h.Svc.Totals(ctx, code)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	page := h.App.NewPage(r, "payments.mine.title")
	page.Description = page.T("payments.mine.lead")
	page.Breadcrumb = []web.Crumb{{Label: page.T("payments.area"), Href: "/profilo"}, {Label: page.Title}}
	d := &MineData{ToPay: h.rows(page, toPay), ToPayTotal: nToPay, Paid: make([]ReceiptRow, len(paid)), PaidTotal: nPaid,
		Key: tokens.Secret(16), Errors: fe, Alert: alert, Selected: map[string]bool{}, CanPay: h.Svc.Gateway != nil}
	keep := r.URL.Query()
	d.ToPayPager = pager(AreaPath, "pagina", p1, nToPay, PerPage, keep)
	d.PaidPager = pager(AreaPath, "pagati", p2, nPaid, ReceiptsPerPage, keep)
	for _, id := range selected {
		d.Selected[id] = true
	}
	d.Overdue, d.ReceiptPDF = page.T("payments.overdue"), page.T("payments.receipt_pdf")
	for i := range d.ToPay {
		n := &d.ToPay[i]
		n.Selected = d.Selected[n.ID]
		if n.CanPay {
			n.Choose = page.T("payments.choose_this", "Label", n.Label)
		}
	}
	for i, rc := range paid {
		d.Paid[i] = ReceiptRow{Receipt: rc, ID: rc.ID, Reason: rc.Reason, Euro: Euro(rc.Amount), Date: rc.PaidAt.In(rome()).Format("02/01/2006"), Category: page.T("payments.category." + string(rc.Category))}
	}
	years := map[int]int64{}
	for _, t := range totals {
		years[t.Year] += t.Amount
	}
	last := 0
	for _, t := range totals {
		row := TotalRow{Year: t.Year, Category: page.T("payments.category." + string(t.Category)), Euro: Euro(t.Amount), Count: t.Count}
		if t.Year != last {
			row.FirstOfTheYear, row.YearTotal = true, Euro(years[t.Year])
			d.Years = append(d.Years, t.Year)
			last = t.Year
		}
		d.Totals = append(d.Totals, row)
	}
	for _, n := range d.ToPay {
		if n.CanPay {
			d.NoticeCount++
		}
	}
	d.ToPayRows, d.PaidRows = toPayRowsHTML(d.ToPay, d.Overdue), paidRowsHTML(d.Paid, d.ReceiptPDF)
	d.W = mineWords(page)
	if p1 > d.ToPayPager.Pages || p2 > d.PaidPager.Pages {
		h.App.Error(w, r, http.StatusNotFound)
		return
	}
	page.Data = d
	w.Header().Set("Cache-Control", "private, no-store")
	h.allowGateway(w)
	h.App.HTML(w, r, status, "payments_mine", page)
}

// NoticeData is the content of a notice's page.
type NoticeData struct {
	Notice    NoticeRow
	Siblings  []NoticeRow
	Transfers []TransferRow
	Key       string
	CanPay    bool
}

// TransferRow is a transfer as the notice's page shows it.
type TransferRow struct {
	Transfer
	Euro string
}

func (h *Web) notice(w http.ResponseWriter, r *http.Request) {
	code, ok := h.debtor(w, r)
	if !ok {
		return
	}
	n, err := h.Svc.OwnNotice(r.Context(), code, r.PathValue("id"))
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	sib, err := h.Svc.PositionNotices(r.Context(), n.PositionID)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	page := h.App.NewPage(r, "")
	rows := h.rows(page, []Notice{*n})
	page.Title = rows[0].Label
	page.Breadcrumb = []web.Crumb{{Label: page.T("payments.area"), Href: "/profilo"}, {Label: page.T("payments.mine.title"), Href: AreaPath}, {Label: page.Title}}
	d := &NoticeData{Notice: rows[0], Siblings: h.rows(page, sib), Key: tokens.Secret(16), CanPay: h.Svc.Gateway != nil}
	for _, t := range n.Transfers {
		d.Transfers = append(d.Transfers, TransferRow{Transfer: t, Euro: Euro(t.Amount)})
	}
	page.Data = d
	h.allowGateway(w)
	h.App.HTML(w, r, http.StatusOK, "payments_notice", page)
}

// checkout starts paying the chosen notices and sends the resident to the
// gateway's page.
func (h *Web) checkout(w http.ResponseWriter, r *http.Request) {
	if !h.App.ParseForm(w, r, 16<<10) {
		return
	}
	code, ok := h.debtor(w, r)
	if !ok {
		return
	}
	ids := r.PostForm["avviso"]
	key := r.PostForm.Get("chiave")
	var attemptID string
	a, err := h.Svc.Checkout(r.Context(), code, ids, key, h.origin(r), h.notifyURL(), actorOf(r))
	var fe problem.Fields
	switch {
	case errors.As(err, &fe):
		h.renderMine(w, r, http.StatusUnprocessableEntity, fe, "", ids)
		return
	case errors.Is(err, ErrNotPayable), errors.Is(err, ErrSiblings), errors.Is(err, ErrGateway):
		var p *problem.Error
		errors.As(err, &p)
		status := http.StatusConflict
		if errors.Is(err, ErrGateway) {
			status = http.StatusServiceUnavailable
		}
		h.renderMine(w, r, status, nil, p.Message, ids)
		return
	case err != nil:
		h.App.Fail(w, r, err)
		return
	}
	attemptID = a.ID
	if a.Status != AttemptInPayment || a.RedirectURL == "" {
		web.Redirect(w, r, AreaPath+"/esito/"+attemptID, nil)
		return
	}
	http.Redirect(w, r, a.RedirectURL, http.StatusSeeOther) // #nosec G710 -- the gateway's page, as the configured gateway returned it
}

// origin is the portal's address the request came through: the TLS
// listener's for a card login (its cookie is for https), the public one
// otherwise. Never the Host header.
func (h *Web) origin(r *http.Request) string {
	if r.TLS != nil && h.TLSBaseURL != "" {
		return h.TLSBaseURL
	}
	return h.BaseURL
}

func (h *Web) notifyURL() string {
	name := SandboxName
	if h.Svc.Gateway != nil {
		name = h.Svc.Gateway.Name()
	}
	return strings.TrimSuffix(h.BaseURL, "/") + "/pagamenti/notifiche/" + name
}

// OutcomeData is the content of the page the gateway returns to.
type OutcomeData struct {
	Attempt  *Attempt
	Euro     string
	Receipts []ReceiptRow
	Notices  []NoticeRow
}

func (h *Web) outcome(w http.ResponseWriter, r *http.Request) {
	code, ok := h.debtor(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	a, err := h.Svc.AttemptOf(ctx, code, r.PathValue("attempt"))
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	page := h.App.NewPage(r, "payments.outcome.title")
	page.Breadcrumb = []web.Crumb{{Label: page.T("payments.area"), Href: "/profilo"}, {Label: page.T("payments.mine.title"), Href: AreaPath}, {Label: page.Title}}
	d := &OutcomeData{Attempt: a, Euro: Euro(a.Amount)}
	rcs, err := h.Svc.ReceiptsOf(ctx, code, a.ID)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	for _, rc := range rcs {
		d.Receipts = append(d.Receipts, ReceiptRow{Receipt: rc, ID: rc.ID, Reason: rc.Reason, Euro: Euro(rc.Amount), Date: rc.PaidAt.In(rome()).Format("02/01/2006")})
	}
	for _, id := range a.Notices {
		n, err := h.Svc.OwnNotice(ctx, code, id)
		if err != nil {
			h.App.Fail(w, r, err)
			return
		}
		d.Notices = append(d.Notices, h.rows(page, []Notice{*n})...)
	}
	page.Data = d
	h.App.HTML(w, r, http.StatusOK, "payments_outcome", page)
}

// notify receives a gateway's notification: verified before anything is
// read, applied once.
func (h *Web) notify(w http.ResponseWriter, r *http.Request) {
	g := h.Svc.Gateway
	if g == nil || r.PathValue("gateway") != g.Name() {
		http.NotFound(w, r)
		return
	}
	body, err := readBody(w, r, 64<<10)
	if err != nil {
		return
	}
	n, err := g.Verify(r.Header, body)
	if err != nil {
		h.App.Log.Warn("payments: notification refused", "gateway", g.Name(), "err", err, "request_id", web.RequestID(r.Context()))
		writeJSONStatus(w, http.StatusUnauthorized, map[string]string{"error": "signature"})
		return
	}
	if _, err := h.Svc.Notify(r.Context(), g.Name(), n); err != nil && !errors.Is(err, ErrAmountMismatch) {
		if errors.Is(err, ErrNotFound) {
			writeJSONStatus(w, http.StatusNotFound, map[string]string{"error": "unknown attempt"})
			return
		}
		h.App.Log.Error("payments: notification", "err", err, "request_id", web.RequestID(r.Context()))
		writeJSONStatus(w, http.StatusInternalServerError, map[string]string{"error": "retry"})
		return
	}
	writeJSONStatus(w, http.StatusOK, map[string]string{"status": "ok"})
}

func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	b := make([]byte, 0, 1024)
	buf := make([]byte, 4096)
	for {
		n, err := r.Body.Read(buf)
		b = append(b, buf[:n]...)
		if err != nil {
			if err.Error() == "EOF" {
				return b, nil
			}
			writeJSONStatus(w, http.StatusRequestEntityTooLarge, map[string]string{"error": "body"})
			return nil, err
		}
	}
}

// panel is "I miei pagamenti" on the resident's desk.
func (h *Web) panel(ctx context.Context, r area.Resident) (area.Summary, error) {
	s := area.Summary{Title: "payments.mine.title", Href: AreaPath, Needs: Need, Empty: "payments.mine.none"}
	if r.FiscalCode == "" {
		return s, nil
	}
	n, list, err := h.Svc.Awaiting(ctx, r.FiscalCode, area.MaxItems)
	if err != nil {
		return s, err
	}
	s.Awaiting = n
	for _, x := range list {
		label := x.Reason
		if x.Seq > 0 {
			label += " — " + h.App.I18n.T(r.Lang, "payments.instalment", "N", x.Seq, "Of", x.Instalments)
		}
		label += " — € " + Euro(x.Amount)
		due, _ := time.ParseInLocation(time.DateOnly, x.DueDate, hours.Rome)
		s.Items = append(s.Items, area.Item{Label: label, Href: AreaPath + "/avvisi/" + x.ID, Status: "payments.status.open", Awaiting: true, When: due})
	}
	return s, nil
}

// allowGateway lets the page's checkout form lead, through the checkout's
// redirect, to the gateway's payment page.
func (h *Web) allowGateway(w http.ResponseWriter) {
	if h.Svc.Gateway != nil {
		web.AllowFormAction(w, h.Svc.Gateway.Origin())
	}
}

// identityName is the logged-in resident's name, when proven.
func identityName(r *http.Request) (string, bool) {
	a, _ := identity.Current(r.Context())
	if a == nil || !a.NameSource.Proven() {
		return "", false
	}
	return a.FullName(), true
}
