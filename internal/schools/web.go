package schools

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/attachments"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/problem"
	"github.com/civico-pa/civico/internal/throttle"
	"github.com/civico-pa/civico/internal/web"
)

// Web serves the feature's pages.
type Web struct {
	App   *web.App
	Store *Store
	Now   func() time.Time
	// Limiter keeps anonymous clients' budgets of the published rankings'
	// exports (nil: none).
	Limiter *throttle.Limiter
}

func (h *Web) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// Routes is the map of the feature's pages.
func (h *Web) Routes() {
	m := h.App.For("schools")
	m.HandleFunc("GET "+Path, h.list)
	m.HandleFunc("GET "+Path+"/{id}", h.service)
	m.HandleFunc("GET "+Path+"/{id}/graduatoria", h.ranking)
	m.HandleFunc("GET "+Path+"/{id}/graduatoria.csv", h.rankingExport("csv"))
	m.HandleFunc("GET "+Path+"/{id}/graduatoria.json", h.rankingExport("json"))
	parent := m.Guarded(Need)
	parent.HandleFunc("GET "+Path+"/{id}/iscrizione", h.form)
	parent.HandleFunc("POST "+Path+"/{id}/iscrizione", h.enrol)
	parent.HandleFunc("GET "+AreaPath, h.mine)
	parent.HandleFunc("GET "+AreaPath+"/{id}", h.detail)
	parent.HandleFunc("POST "+AreaPath+"/{id}/ritira", h.withdraw)
	office := m.Guarded(assurance.Low, OfficeRoles...)
	office.HandleFunc("GET "+boPath, h.boIndex)
	office.HandleFunc("GET "+boPath+"/nuovo", h.boNew)
	office.HandleFunc("POST "+boPath+"/nuovo", h.boCreate)
	office.HandleFunc("GET "+boPath+"/{id}", h.boService)
	office.HandleFunc("POST "+boPath+"/{id}", h.boUpdate)
	office.HandleFunc("POST "+boPath+"/{id}/unita", h.boAddUnit)
	office.HandleFunc("GET "+boPath+"/unita/{unit}", h.boUnit)
	office.HandleFunc("POST "+boPath+"/unita/{unit}/posti", h.boCapacity)
	office.HandleFunc("GET "+boPath+"/isee/{id}", h.boISEE)
	office.HandleFunc("GET "+boPath+"/presenze/{id}", h.boAttendance)
	office.HandleFunc("POST "+boPath+"/presenze/{id}/importa", h.boImportAttendance)
	office.HandleFunc("POST "+boPath+"/iscrizioni/{enrolment}/isee", h.boCheckISEE)
}

// ListData is the public list of the services whose window has not
// closed.
type ListData struct {
	Services []*Service
	Now      time.Time
}

func (h *Web) list(w http.ResponseWriter, r *http.Request) {
	now := h.now()
	list, err := h.Store.Open(r.Context(), now)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	p := h.App.NewPage(r, "schools.title")
	p.Breadcrumb = []web.Crumb{{Label: p.Title}}
	p.Data = &ListData{Services: list, Now: now}
	h.App.HTML(w, r, http.StatusOK, "schools_list", p)
}

// ServiceData is a service's public page: its window, places and tariff.
type ServiceData struct {
	Service *Service
	Window  string
}

func (h *Web) service(w http.ResponseWriter, r *http.Request) {
	svc, err := h.Store.Service(r.Context(), r.PathValue("id"))
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	p := h.App.NewPage(r, "")
	p.Title = svc.Title + " " + svc.SchoolYear
	p.Breadcrumb = []web.Crumb{{Label: p.T("schools.title"), Href: Path}, {Label: p.Title}}
	p.Data = &ServiceData{Service: svc, Window: svc.Window(h.now())}
	h.App.HTML(w, r, http.StatusOK, "schools_service", p)
}

// FormData is the enrolment form.
type FormData struct {
	Service *Service
	Window  string
	// Parent is who enrols, as the login proved it (read only).
	Parent *identity.Account
	Values map[string]string
	Errors problem.Fields
	// Index is the anchored list of what is wrong, in the form's order.
	Index []string
	// Nth is which child of the parent in the service this enrolment
	// would be, and Percent its reduction (shown before sending).
	Nth, Percent int
}

// formOrder is the form's fields in order, for the index of errors.
var formOrder = []string{"privacy", "unit", "stop", "child_given", "child_family", "child_fc", "school", "class", "diet", "certificate", "isee"}

func (h *Web) formPage(w http.ResponseWriter, r *http.Request, status int, svc *Service, d *FormData) {
	a, se := identity.Current(r.Context())
	d.Service, d.Parent, d.Window = svc, a, svc.Window(h.now())
	if code, ok := a.ProvenFiscalCode(se); ok && (svc.Sibling2 > 0 || svc.Sibling3 > 0) {
		n, err := h.Store.Siblings(r.Context(), svc.ID, code)
		if err != nil {
			h.App.Fail(w, r, err)
			return
		}
		d.Nth = n + 1
		d.Percent = Percent(d.Nth, svc.Sibling2, svc.Sibling3)
	}
	if d.Values == nil {
		d.Values = map[string]string{}
	}
	for _, f := range formOrder {
		if d.Errors[f] != "" {
			d.Index = append(d.Index, f)
		}
	}
	p := h.App.NewPage(r, "")
	p.Title = p.T("schools.form.title", "Service", svc.Title)
	p.Breadcrumb = []web.Crumb{{Label: p.T("schools.title"), Href: Path}, {Label: svc.Title + " " + svc.SchoolYear, Href: Path + "/" + svc.ID}, {Label: p.T("schools.form.crumb")}}
	p.Data = d
	w.Header().Set("Cache-Control", "private, no-store")
	h.App.HTML(w, r, status, "schools_form", p)
}

// parent is the logged-in resident as the store needs them; without a
// proven fiscal code the page says why.
func (h *Web) parent(w http.ResponseWriter, r *http.Request) (Parent, bool) {
	a, se := identity.Current(r.Context())
	code, ok := a.ProvenFiscalCode(se)
	if !ok {
		h.App.Fail(w, r, errNoParent)
		return Parent{}, false
	}
	p := Parent{AccountID: a.ID, FiscalCode: code, Lang: h.App.I18n.Lang(r)}
	if a.EmailVerifiedAt != nil {
		p.Email = a.Email
	}
	return p, true
}

func (h *Web) form(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.parent(w, r); !ok {
		return
	}
	svc, err := h.Store.Service(r.Context(), r.PathValue("id"))
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	h.formPage(w, r, http.StatusOK, svc, &FormData{})
}

// CertificatePolicy is what a medical certificate may be: a PDF without
// scripts or a photograph, of at most 10 MiB.
var CertificatePolicy = attachments.Policy{Types: []attachments.Type{attachments.PDF, attachments.JPEG, attachments.PNG},
	MaxSize: 10 << 20, RefuseScripts: true}

// maxFormText bounds each text part of the form.
const maxFormText = 8 << 10

// readForm reads the enrolment form as it arrives: its text fields, and
// the certificate staged (nil when none was chosen, or it was refused:
// refusal names why). It answers the request itself and returns false
// when the body is malformed or too large.
func (h *Web) readForm(w http.ResponseWriter, r *http.Request) (url.Values, *attachments.Staged, string, bool) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "multipart/form-data" {
		if !h.App.ParseForm(w, r, 64<<10) {
			return nil, nil, "", false
		}
		return r.PostForm, nil, "", true
	}
	limit := CertificatePolicy.MaxSize + 1<<20
	if r.ContentLength > limit {
		h.App.Error(w, r, http.StatusRequestEntityTooLarge)
		return nil, nil, "", false
	}
	// A parent whose login the guard checked: the upload may take longer
	// than the listener's read timeout.
	h.App.LargeBody(w, r)
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	mr, err := r.MultipartReader()
	if err != nil {
		h.App.Error(w, r, http.StatusBadRequest)
		return nil, nil, "", false
	}
	values := url.Values{}
	var staged *attachments.Staged
	refusal := ""
	fail := func(status int) (url.Values, *attachments.Staged, string, bool) {
		if staged != nil {
			staged.Discard()
		}
		h.App.Error(w, r, status)
		return nil, nil, "", false
	}
	for parts := 0; ; parts++ {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return values, staged, refusal, true
		}
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return fail(http.StatusRequestEntityTooLarge)
		}
		if err != nil || parts >= 40 {
			return fail(http.StatusBadRequest)
		}
		name := part.FormName()
		if name == "certificate" {
			if part.FileName() == "" || staged != nil || h.Store.Files == nil {
				continue
			}
			st, err := h.Store.Files.Stage(r.Context(), part, part.FileName(), CertificatePolicy)
			if errors.As(err, &tooBig) {
				return fail(http.StatusRequestEntityTooLarge)
			}
			if attachments.Refused(err) {
				refusal = "schools.error.certificate_refused"
				_, _ = io.Copy(io.Discard, part)
				continue
			}
			if err != nil {
				h.App.Fail(w, r, err)
				return nil, nil, "", false
			}
			staged = st
			continue
		}
		b, err := io.ReadAll(io.LimitReader(part, maxFormText+1))
		if err != nil || len(b) > maxFormText || !db.IsText(name) || !db.IsText(string(b)) {
			return fail(http.StatusBadRequest)
		}
		values.Add(name, string(b))
	}
}

func (h *Web) enrol(w http.ResponseWriter, r *http.Request) {
	par, ok := h.parent(w, r)
	if !ok {
		return
	}
	svc, err := h.Store.Service(r.Context(), r.PathValue("id"))
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	f, cert, refusal, ok := h.readForm(w, r)
	if !ok {
		return
	}
	if cert != nil {
		defer cert.Discard()
	}
	req := Request{ServiceID: svc.ID, UnitID: f.Get("unit"), ChildFC: f.Get("child_fc"), ChildGiven: f.Get("child_given"), ChildFamily: f.Get("child_family"),
		School: f.Get("school"), Class: f.Get("class"), Stop: f.Get("stop"), Diet: f.Get("diet"), ISEE: f.Get("isee"), NoISEE: f.Get("no_isee") == "1",
		Privacy: f.Get("privacy") == "1", Sibling: f.Get("sibling") == "1", WorkingParents: f.Get("working_parents") == "1"}
	var out *Outcome
	if refusal != "" {
		err = problem.Fields{"certificate": refusal}
	} else {
		out, err = h.Store.Enrol(r.Context(), par, req, cert)
	}
	var fe problem.Fields
	if errors.As(err, &fe) {
		values := map[string]string{}
		for _, k := range []string{"unit", "stop", "child_given", "child_family", "child_fc", "school", "class", "diet", "isee", "no_isee", "privacy", "sibling", "working_parents"} {
			values[k] = f.Get(k)
		}
		h.formPage(w, r, http.StatusUnprocessableEntity, svc, &FormData{Values: values, Errors: fe})
		return
	}
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	q := url.Values{"inviata": {"1"}}
	if out.Again {
		q = url.Values{"gia": {"1"}}
	}
	web.Redirect(w, r, AreaPath+"/"+out.ID, q)
}

// MineData is the parent's enrolments.
type MineData struct {
	Enrolments         []*Enrolment
	Page, Pages, Total int
}

func (h *Web) areaPage(w http.ResponseWriter, r *http.Request, name, title string, data any) {
	p := h.App.NewPage(r, "")
	p.Title = title
	p.Breadcrumb = []web.Crumb{{Label: p.T("area.title"), Href: "/area-personale"}}
	if title == p.T("schools.area") {
		p.Breadcrumb = append(p.Breadcrumb, web.Crumb{Label: title})
	} else {
		p.Breadcrumb = append(p.Breadcrumb, web.Crumb{Label: p.T("schools.area"), Href: AreaPath}, web.Crumb{Label: title})
	}
	p.Data = data
	w.Header().Set("Cache-Control", "private, no-store")
	h.App.HTML(w, r, http.StatusOK, name, p)
}

func pageOf(r *http.Request) int {
	n, _ := strconv.Atoi(r.URL.Query().Get("pagina"))
	return min(max(n, 1), 100000)
}

func (h *Web) mine(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.parent(w, r); !ok {
		return
	}
	a, _ := identity.Current(r.Context())
	page := pageOf(r)
	list, total, err := h.Store.Mine(r.Context(), a.ID, page)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	h.areaPage(w, r, "schools_mine", h.App.I18n.T(h.App.I18n.Lang(r), "schools.area"),
		&MineData{Enrolments: list, Page: page, Total: total, Pages: max(1, (total+PageSize-1)/PageSize)})
}

// DetailData is one enrolment; Message what just happened.
type DetailData struct {
	Enrolment *Enrolment
	Message   string
	// Bills are the enrolment's payment notices, the latest first.
	Bills []*BillRecord
	// Charge is what an accepted enrolment costs a period now.
	Charge *Charge
}

func (h *Web) detail(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.parent(w, r); !ok {
		return
	}
	a, _ := identity.Current(r.Context())
	e, err := h.Store.Get(r.Context(), r.PathValue("id"), a.ID)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	bills, err := h.Store.Bills(r.Context(), e.ID)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	d := &DetailData{Enrolment: e, Bills: bills}
	if e.Status == Accepted {
		c, err := h.Store.Charge(r.Context(), e)
		if err != nil {
			h.App.Fail(w, r, err)
			return
		}
		d.Charge = &c
	}
	switch q := r.URL.Query(); {
	case q.Get("inviata") == "1":
		d.Message = "schools.detail.sent." + string(e.Status)
	case q.Get("gia") == "1":
		d.Message = "schools.detail.again"
	case q.Get("ritirata") == "1":
		d.Message = "schools.detail.withdrawn"
	}
	lang := h.App.I18n.Lang(r)
	h.areaPage(w, r, "schools_detail", h.App.I18n.T(lang, "schools.detail.title", "Service", e.Service, "Child", e.ChildGiven), d)
}

func (h *Web) withdraw(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.parent(w, r); !ok {
		return
	}
	if !h.App.ParseForm(w, r, 1<<10) {
		return
	}
	a, _ := identity.Current(r.Context())
	e, err := h.Store.Withdraw(r.Context(), r.PathValue("id"), a.ID, Actor{Name: "user:" + a.ID, Remote: web.RemoteAddr(r)})
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	web.Redirect(w, r, AreaPath+"/"+e.ID, url.Values{"ritirata": {"1"}})
}
