package sportello

import (
	"embed"
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/problem"
	"github.com/civico-pa/civico/internal/web"
)

// Templates and Messages are the Sportello's pages and their
// translations.
//
//go:embed templates
var Templates embed.FS

//go:embed locales
var Messages embed.FS

// AreaPath is where a resident's applications live in the personal area.
const AreaPath = "/area-personale/pratiche"

// StartPath is where a service's online request starts: the address the
// catalogue's "Accedi al servizio" leads to.
func StartPath(serviceID string) string { return "/servizi-online/" + serviceID }

// DeskRoles open the back office's applications; EditorRoles the forms'
// editor.
var (
	DeskRoles   = []string{"desk"}
	EditorRoles = []string{"admin"}
)

// Web serves the Sportello's pages.
type Web struct {
	App      *web.App
	Store    *Store
	Forms    *Forms
	Identity *identity.Web
	// Uploads receives files (package attachments).
	Uploads Uploads
	// Tokens checks the API's bearer tokens (the OpenID Connect provider).
	Tokens Tokens
	// Town names the town on receipts.
	PDF *Receipts
}

// Routes is the map of the Sportello.
func (h *Web) Routes() {
	m := h.App.For("sportello")
	m.HandleFunc("GET "+ScriptPath, web.Script(script))
	// The privacy step is public (the catalogue's "Accedi al servizio"
	// leads here); it asks for the login the service needs.
	m.HandleFunc("GET /servizi-online/{service}", h.privacy)
	res := m.Guarded(assurance.Low)
	res.HandleFunc("POST /servizi-online/{service}", h.start)
	res.HandleFunc("GET "+AreaPath, h.mine)
	res.HandleFunc("GET "+AreaPath+"/{id}", h.detail)
	res.HandleFunc("GET "+AreaPath+"/{id}/richiedente", h.applicantStep)
	res.HandleFunc("POST "+AreaPath+"/{id}/richiedente", h.saveApplicant)
	res.HandleFunc("GET "+AreaPath+"/{id}/modulo", h.formStep)
	res.HandleFunc("POST "+AreaPath+"/{id}/modulo", h.saveForm)
	res.HandleFunc("GET "+AreaPath+"/{id}/riepilogo", h.summary)
	res.HandleFunc("POST "+AreaPath+"/{id}/invia", h.submit)
	res.HandleFunc("POST "+AreaPath+"/{id}/elimina", h.discard)
	res.HandleFunc("GET "+AreaPath+"/{id}/ricevuta", h.receipt)
	res.HandleFunc("GET "+AreaPath+"/{id}/ricevuta.pdf", h.receiptPDF)
	res.HandleFunc("POST "+AreaPath+"/{id}/valutazione", h.rate)
	res.HandleFunc("POST "+AreaPath+"/{id}/valutazione/dettagli", h.rateDetails)
	res.HandleFunc("POST "+AreaPath+"/{id}/{step}", h.residentStep)
	res.HandleFunc("GET "+AreaPath+"/{id}/documenti/{doc}", h.residentDocument)
	h.backOfficeRoutes(m)
	h.editorRoutes(m)
	h.apiRoutes(m)
}

// resident is the logged-in resident and their ownership; the guard has
// checked the login.
func resident(r *http.Request) (*identity.Account, *identity.Session, Owner) {
	a, se := identity.Current(r.Context())
	return a, se, OwnerOf(a, se)
}

// enough checks that the session is strong enough for the service (its
// catalogue assurance): a password session is sent to the card login
// (step-up) and comes back here.
func (h *Web) enough(w http.ResponseWriter, r *http.Request, svc Service) bool {
	_, se := identity.Current(r.Context())
	if svc.Assurance == "" || se.Assurance.Satisfies(svc.Assurance) {
		return true
	}
	web.Redirect(w, r, "/accedi/carta", url.Values{"next": {r.URL.RequestURI()}})
	return false
}

// application reads the resident's application named in the path, and
// checks the session is strong enough for its service; it answers the
// request itself when it returns nil.
func (h *Web) application(w http.ResponseWriter, r *http.Request) (*Application, Service) {
	_, _, o := resident(r)
	a, err := h.Store.Get(r.Context(), r.PathValue("id"), o)
	if err != nil {
		h.App.Fail(w, r, err)
		return nil, Service{}
	}
	svc, _, err := h.Store.Service(r.Context(), a.ServiceID)
	if err != nil {
		h.App.Fail(w, r, err)
		return nil, Service{}
	}
	if svc.ID == "" {
		// The service left the catalogue: what was asked stays readable.
		svc = Service{ID: a.ServiceID, Title: a.ServiceTitle, Assurance: assurance.Low}
	}
	if !h.enough(w, r, svc) {
		return nil, Service{}
	}
	return a, svc
}

// fail answers err: a refusal of the lifecycle as a 409 page with its
// reason, the rest through App.Fail.
func (h *Web) fail(w http.ResponseWriter, r *http.Request, err error) {
	var refusal *Refusal
	if errors.As(err, &refusal) {
		h.App.Fail(w, r, problem.New(problem.Conflict, refusal.Message(), err))
		return
	}
	h.App.Fail(w, r, err)
}

func page(r *http.Request) int {
	n, err := strconv.Atoi(r.URL.Query().Get("pagina"))
	if err != nil || n < 1 || n > 100000 {
		return 1
	}
	return n
}

// newPager is page (clamped to the last) of a list at path, its filters
// link kept in the links.
func newPager(page, total int, link url.Values, path string) web.Pager {
	pages := max(1, (total+PageSize-1)/PageSize)
	return web.NewPager(path, link, "pagina", min(page, pages), total, PageSize)
}
