package certificates

import (
	"embed"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/hours"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/problem"
	"github.com/civico-pa/civico/internal/throttle"
	"github.com/civico-pa/civico/internal/web"
)

// Templates and Messages are the certificates' pages and translations.
//
//go:embed templates
var Templates embed.FS

//go:embed locales
var Messages embed.FS

// AreaPath is "I miei certificati" in the personal area; BOPath the
// desk's page.
const (
	AreaPath = "/area-personale/certificati"
	BOPath   = "/backoffice/certificati"
)

// DeskRoles revoke certificates.
var DeskRoles = []string{"desk"}

// Web serves the certificates' pages and API.
type Web struct {
	App     *web.App
	Store   *Store
	BaseURL string
}

// Routes is the certificates' map.
func (h *Web) Routes() {
	m := h.App.For("certificates")
	res := m.Guarded(assurance.Low)
	res.HandleFunc("GET "+AreaPath, h.area)
	res.HandleFunc("POST "+AreaPath, h.issue)
	res.HandleFunc("GET "+AreaPath+"/{id}", h.detail)
	res.HandleFunc("GET "+AreaPath+"/{id}/certificato.pdf", h.download)
	m.HandleFunc("GET "+VerifyPath, h.verify)
	m.HandleFunc("GET /api/v1/certificates/keys", h.apiKeys)
	m.HandleFunc("GET /api/v1/certificates/{id}/status", h.apiStatus)
	desk := m.Guarded(assurance.Low, DeskRoles...)
	desk.HandleFunc("GET "+BOPath, h.office)
	desk.HandleFunc("POST "+BOPath+"/{id}/revoca", h.revoke)
}

// holder is the session's proven fiscal code; "" for a login that did not
// prove it (a password).
func holder(r *http.Request) (*identity.Account, string) {
	a, se := identity.Current(r.Context())
	fc, _ := a.ProvenFiscalCode(se)
	return a, fc
}

// Row is a certificate as the pages show it.
type Row struct {
	*Certificate
	Grouped, Title, Status, StatusClass, Until, RevokedOn string
	Members                                               []Person
}

func (h *Web) row(c *Certificate, lang string, now time.Time) Row {
	st := c.StatusAt(now)
	r := Row{Certificate: c, Grouped: GroupID(c.ID), Title: h.App.I18n.T(lang, "certificates.kind."+string(c.Kind)),
		Status: "certificates.status." + string(st), StatusClass: map[Status]string{Valid: "bg-success", Expired: "bg-secondary", Revoked: "bg-danger"}[st]}
	if c.ValidUntil != nil {
		r.Until = c.ValidUntil.In(hours.Rome).Format("02/01/2006")
	}
	if c.RevokedAt != nil {
		r.RevokedOn = c.RevokedAt.In(hours.Rome).Format("02/01/2006 15:04")
	}
	return r
}

// AreaData is the resident's certificates page.
type AreaData struct {
	// Proven is false for a login that did not prove the fiscal code:
	// the page explains and offers the card login instead of the form.
	Proven             bool
	StepUp             string
	Kinds              []Kind
	Exemptions         []Exemption
	StampDuty          string
	Disclosures        []Disclosure
	Values             map[string]string
	Errors             problem.Fields
	Alert              string
	List               []Row
	Page, Pages, Total int
	Prev, Next         string
	// Orders are the certificates waiting for their stamp duty (and those
	// lately refused or void); Ordered says one was just asked for.
	Orders  []OrderRow
	Ordered bool
}

// OrderRow is an order as the page shows it.
type OrderRow struct {
	*Order
	Title, Status, StatusClass, Requested, PayHref string
}

func (h *Web) area(w http.ResponseWriter, r *http.Request) {
	h.renderArea(w, r, http.StatusOK, map[string]string{"disclosure": string(ShowName)}, nil, "")
}

// PayPath is where the personal area pays a notice (the payments feature).
const PayPath = "/area-personale/pagamenti/avvisi/"

func (h *Web) renderArea(w http.ResponseWriter, r *http.Request, status int, values map[string]string, errs problem.Fields, alert string) {
	_, fc := holder(r)
	d := &AreaData{Proven: fc != "", StepUp: "/accedi/carta?" + url.Values{"next": {AreaPath}}.Encode(), Kinds: Kinds, Exemptions: Exemptions,
		StampDuty: StampDuty, Disclosures: Disclosures, Values: values, Errors: errs, Alert: alert}
	p := h.App.NewPage(r, "certificates.area")
	if d.Proven {
		// A duty paid since the last pass is issued before the list is
		// read; a payments fault only delays it to the job's next pass.
		if _, err := h.Store.Settle(r.Context(), fc); err != nil {
			h.App.Log.Warn("certificates: settling orders", "err", err)
		}
		orders, err := h.Store.OpenOrders(r.Context(), fc)
		if err != nil {
			h.App.Fail(w, r, err)
			return
		}
		for _, o := range orders {
			d.Orders = append(d.Orders, OrderRow{Order: o, Title: h.App.I18n.T(p.Lang, "certificates.kind."+string(o.Kind)),
				Status: "certificates.orders.status." + o.Status, Requested: o.CreatedAt.In(hours.Rome).Format("02/01/2006 15:04"),
				StatusClass: map[string]string{OrderAwaiting: "bg-warning text-dark", OrderRefused: "bg-danger", OrderVoid: "bg-secondary"}[o.Status],
				PayHref:     PayPath + o.NoticeID})
		}
		d.Ordered = r.URL.Query().Get("ordinato") == "1"
		page, _ := strconv.Atoi(r.URL.Query().Get("pagina"))
		page = max(1, min(page, 100000))
		list, total, err := h.Store.Mine(r.Context(), fc, page, PageSize)
		if err != nil {
			h.App.Fail(w, r, err)
			return
		}
		now := h.Store.now()
		for _, c := range list {
			d.List = append(d.List, h.row(c, p.Lang, now))
		}
		d.Page, d.Total, d.Pages = page, total, max(1, (total+PageSize-1)/PageSize)
		if page > 1 {
			d.Prev = AreaPath + "?pagina=" + strconv.Itoa(page-1)
		}
		if page < d.Pages {
			d.Next = AreaPath + "?pagina=" + strconv.Itoa(page+1)
		}
	}
	p.Breadcrumb = []web.Crumb{{Label: p.T("certificates.area.home"), Href: "/area-personale"}, {Label: p.Title}}
	p.Data = d
	w.Header().Set("Cache-Control", "private, no-store")
	h.App.HTML(w, r, status, "certificates_area", p)
}

func (h *Web) issue(w http.ResponseWriter, r *http.Request) {
	a, fc := holder(r)
	if fc == "" {
		h.renderArea(w, r, http.StatusForbidden, nil, nil, "")
		return
	}
	if !h.App.ParseForm(w, r, 8<<10) {
		return
	}
	values := map[string]string{"kind": r.PostFormValue("kind"), "use": r.PostFormValue("use"), "disclosure": r.PostFormValue("disclosure")}
	req := Request{AccountID: a.ID, FiscalCode: fc, Kind: Kind(values["kind"]), Use: values["use"],
		Disclosure: Disclosure(values["disclosure"]), Remote: web.RemoteAddr(r)}
	var c *Certificate
	var err error
	if req.Use == StampDuty && h.Store.Payments != nil {
		_, err = h.Store.Order(r.Context(), req)
	} else {
		c, err = h.Store.Issue(r.Context(), req)
	}
	var fields problem.Fields
	var pe *problem.Error
	switch {
	case errors.As(err, &fields):
		h.renderArea(w, r, http.StatusUnprocessableEntity, values, fields, "")
		return
	case errors.As(err, &pe) && pe.Kind == problem.Conflict:
		h.renderArea(w, r, http.StatusConflict, values, nil, pe.Message)
		return
	case err != nil:
		h.App.Fail(w, r, err)
		return
	}
	if c == nil {
		web.Redirect(w, r, AreaPath, url.Values{"ordinato": {"1"}})
		return
	}
	web.Redirect(w, r, AreaPath+"/"+c.ID, url.Values{"rilasciato": {"1"}})
}

// DetailData is one of the resident's certificates.
type DetailData struct {
	Row
	Issued    bool
	VerifyURL string
	PDF       string
}

func (h *Web) mine(w http.ResponseWriter, r *http.Request) *Certificate {
	_, fc := holder(r)
	if fc == "" {
		h.App.Error(w, r, http.StatusNotFound)
		return nil
	}
	c, err := h.Store.Get(r.Context(), r.PathValue("id"), fc)
	if err != nil {
		h.App.Fail(w, r, err)
		return nil
	}
	return c
}

func (h *Web) detail(w http.ResponseWriter, r *http.Request) {
	c := h.mine(w, r)
	if c == nil {
		return
	}
	p := h.App.NewPage(r, "")
	d := &DetailData{Row: h.row(c, p.Lang, h.Store.now()), Issued: r.URL.Query().Get("rilasciato") == "1",
		VerifyURL: VerifyURL(h.BaseURL, c.ID), PDF: AreaPath + "/" + c.ID + "/certificato.pdf"}
	p.Title = d.Title + " " + d.Grouped
	p.Breadcrumb = []web.Crumb{{Label: p.T("certificates.area.home"), Href: "/area-personale"}, {Label: p.T("certificates.area"), Href: AreaPath}, {Label: d.Grouped}}
	p.Data = d
	w.Header().Set("Cache-Control", "private, no-store")
	h.App.HTML(w, r, http.StatusOK, "certificates_detail", p)
}

func (h *Web) download(w http.ResponseWriter, r *http.Request) {
	c := h.mine(w, r)
	if c == nil {
		return
	}
	addr := ""
	if t, err := h.Store.Towns.Get(r.Context()); err == nil {
		addr = strings.TrimSpace(t.Address + ", " + t.PostalCode + " " + t.Name)
	}
	b, err := h.Store.Render(r.Context(), c, h.BaseURL, addr)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "application/pdf")
	hd.Set("Content-Disposition", `attachment; filename="certificato-`+string(c.Kind)+"-"+GroupID(c.ID)+`.pdf"`)
	hd.Set("Cache-Control", "private, no-store")
	hd.Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(b) // #nosec G705 -- a PDF the server made, sent as an application/pdf attachment with nosniff: no HTML context
}

// lookupBudget draws one lookup from the client's budget.
func (h *Web) lookupBudget(r *http.Request) error {
	if h.Store.Limiter == nil {
		return nil
	}
	return throttled(h.Store.Limiter.Take(r.Context(), nil, throttle.ClientKey("certificates:lookup:", web.RemoteAddr(r), "", LookupBudget)))
}

// VerifyData is the verification page.
type VerifyData struct {
	Value  string
	Errors problem.Fields
	// Asked is true once an identifier was looked up; Found and
	// Authentic say what was found.
	Asked, Found, Authentic bool
	Busy                    bool
	RetryMinutes            int
	Row                     Row
	// Name, Holder and Members are what the holder lets be shown.
	Name    string
	Holder  *Person
	Members []Person
}

func (h *Web) verify(w http.ResponseWriter, r *http.Request) {
	p := h.App.NewPage(r, "certificates.verify.title")
	p.Breadcrumb = []web.Crumb{{Label: p.Title}}
	d := &VerifyData{Value: r.URL.Query().Get("id")}
	p.Data = d
	status := http.StatusOK
	w.Header().Set("Cache-Control", "no-store")
	if _, asked := r.URL.Query()["id"]; !asked {
		h.App.HTML(w, r, status, "certificates_verify", p)
		return
	}
	id := NormalizeID(d.Value)
	if id == "" {
		d.Errors = problem.Fields{"id": "certificates.error.id"}
		h.App.HTML(w, r, http.StatusUnprocessableEntity, "certificates_verify", p)
		return
	}
	if err := h.lookupBudget(r); err != nil {
		var pe *problem.Error
		if errors.As(err, &pe) && pe.Kind == problem.Throttled {
			d.Busy, d.RetryMinutes = true, max(1, int((pe.Retry+time.Minute-1)/time.Minute))
			w.Header().Set("Retry-After", strconv.Itoa(max(1, int(pe.Retry.Seconds()))))
			h.App.HTML(w, r, http.StatusTooManyRequests, "certificates_verify", p)
			return
		}
		h.App.Fail(w, r, err)
		return
	}
	d.Asked = true
	c, err := h.Store.Find(r.Context(), id)
	if problem.KindOf(err) == problem.NotFound {
		h.App.HTML(w, r, http.StatusNotFound, "certificates_verify", p)
		return
	}
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	if d.Authentic, err = h.Store.Authentic(r.Context(), c); err != nil {
		h.App.Fail(w, r, err)
		return
	}
	d.Found, d.Row = true, h.row(c, p.Lang, h.Store.now())
	if d.Authentic {
		switch c.Disclosure {
		case ShowName:
			d.Name = c.Content.Holder.Name()
		case ShowAll:
			d.Name = c.Content.Holder.Name()
			hp := c.Content.Holder
			d.Holder, d.Members = &hp, c.Content.Household
		}
	}
	h.App.HTML(w, r, status, "certificates_verify", p)
}

// PublicStatus is GET /api/v1/certificates/{id}/status: nothing personal.
type PublicStatus struct {
	ID         string     `json:"id"`
	Kind       Kind       `json:"kind"`
	Status     Status     `json:"status"`
	Authentic  bool       `json:"authentic"`
	IssuedAt   time.Time  `json:"issued_at"`
	ValidUntil *time.Time `json:"valid_until,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
	VerifyURL  string     `json:"verify_url"`
}

func (h *Web) apiStatus(w http.ResponseWriter, r *http.Request) {
	if err := h.lookupBudget(r); err != nil {
		h.App.FailJSON(w, r, err)
		return
	}
	id := NormalizeID(r.PathValue("id"))
	if id == "" {
		h.App.FailJSON(w, r, problem.New(problem.NotFound, "", errors.New("certificates: not an identifier")))
		return
	}
	c, err := h.Store.Find(r.Context(), id)
	if err != nil {
		h.App.FailJSON(w, r, err)
		return
	}
	ok, err := h.Store.Authentic(r.Context(), c)
	if err != nil {
		h.App.FailJSON(w, r, err)
		return
	}
	writeJSON(w, PublicStatus{ID: c.ID, Kind: c.Kind, Status: c.StatusAt(h.Store.now()), Authentic: ok, IssuedAt: c.IssuedAt,
		ValidUntil: c.ValidUntil, RevokedAt: c.RevokedAt, VerifyURL: VerifyURL(h.BaseURL, c.ID)})
}

// KeysDoc is GET /api/v1/certificates/keys: the town's seal keys, what
// `civico cert verify --keys` reads.
type KeysDoc struct {
	Keys []PublicKey `json:"keys"`
}

func (h *Web) apiKeys(w http.ResponseWriter, r *http.Request) {
	keys, err := h.Store.Keys.Public(r.Context())
	if err != nil {
		h.App.FailJSON(w, r, err)
		return
	}
	if keys == nil {
		keys = []PublicKey{}
	}
	w.Header().Set("Cache-Control", "public, max-age=300")
	writeJSON(w, KeysDoc{Keys: keys})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if w.Header().Get("Cache-Control") == "" {
		w.Header().Set("Cache-Control", "no-store")
	}
	_ = json.NewEncoder(w).Encode(v)
}

// OfficeData is the desk's page: a certificate found by its identifier,
// and the revocation form.
type OfficeData struct {
	Value   string
	Errors  problem.Fields
	Reason  string
	Found   bool
	Row     Row
	Name    string
	Message string
}

func (h *Web) office(w http.ResponseWriter, r *http.Request) {
	d := &OfficeData{Value: r.URL.Query().Get("id"), Errors: problem.Fields{}}
	if r.URL.Query().Get("revocato") == "1" {
		d.Message = "certificates.bo.revoked"
	}
	h.renderOffice(w, r, d)
}

func (h *Web) renderOffice(w http.ResponseWriter, r *http.Request, d *OfficeData) {
	p := h.App.NewPage(r, "certificates.bo.title")
	p.Breadcrumb = []web.Crumb{{Label: p.T("certificates.bo.home"), Href: "/backoffice"}, {Label: p.Title}}
	status := http.StatusOK
	if d.Value != "" && !d.Found {
		id := NormalizeID(d.Value)
		c, err := h.Store.Find(r.Context(), id)
		switch {
		case id == "":
			d.Errors["id"] = "certificates.error.id"
			status = http.StatusUnprocessableEntity
		case problem.KindOf(err) == problem.NotFound:
			d.Errors["id"] = "certificates.error.unknown"
			status = http.StatusNotFound
		case err != nil:
			h.App.Fail(w, r, err)
			return
		default:
			d.Found, d.Row, d.Name = true, h.row(c, p.Lang, h.Store.now()), c.Content.Holder.Name()
		}
	}
	if len(d.Errors) > 0 && status == http.StatusOK {
		status = http.StatusUnprocessableEntity
	}
	p.Data = d
	w.Header().Set("Cache-Control", "private, no-store")
	h.App.HTML(w, r, status, "certificates_office", p)
}

func (h *Web) revoke(w http.ResponseWriter, r *http.Request) {
	if !h.App.ParseForm(w, r, 8<<10) {
		return
	}
	op, _ := identity.Current(r.Context())
	id := NormalizeID(r.PathValue("id"))
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	err := h.Store.Revoke(r.Context(), id, op.ID, reason, web.RemoteAddr(r))
	var fields problem.Fields
	var pe *problem.Error
	switch {
	case errors.As(err, &fields):
		h.renderOffice(w, r, &OfficeData{Value: id, Errors: fields, Reason: reason})
		return
	case errors.As(err, &pe) && pe.Kind == problem.Conflict:
		h.renderOffice(w, r, &OfficeData{Value: id, Errors: problem.Fields{"reason": pe.Message}, Reason: reason})
		return
	case err != nil:
		h.App.Fail(w, r, err)
		return
	}
	web.Redirect(w, r, BOPath, url.Values{"id": {GroupID(id)}, "revocato": {"1"}})
}
