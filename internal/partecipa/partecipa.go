// Package partecipa is the town's public consultation platform: its own
// application, on its own origin, which will log residents in through the
// portal's OpenID Connect provider.
package partecipa

import (
	"embed"
	"errors"
	"net/http"
	"net/url"

	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/problem"
	"github.com/civico-pa/civico/internal/web"
)

// Templates and Messages are Partecipa's pages and their translations.
//
//go:embed templates
var Templates embed.FS

//go:embed locales
var Messages embed.FS

// Chrome is Partecipa's shell; its footer links lead to the portal's pages.
func Chrome(portalURL string) web.Chrome {
	return web.Chrome{
		App:       "partecipa",
		SiteTitle: "partecipa.site",
		Menu: []web.MenuItem{
			{Label: "partecipa.menu.consultations", Href: "/"},
			{Label: "partecipa.menu.proposals", Href: "/proposte"},
			{Label: "partecipa.menu.how", Href: "/come-funziona"},
		},
		PortalURL: portalURL,
		Login:     "/accedi",
		Profile:   "/profilo",
	}
}

// Partecipa serves the consultation platform's pages.
type Partecipa struct {
	App   *web.App
	Auth  *Auth
	Store *Store
}

// Routes is the map of Partecipa.
func (p *Partecipa) Routes() {
	m := p.App.For("partecipa")
	p.App.Guard = p.guard
	m.HandleFunc("GET /{$}", p.home)
	m.HandleFunc("GET /come-funziona", p.page("how", "partecipa.how.title"))
	m.HandleFunc("GET /consultazioni/{id}", p.consultation)
	m.HandleFunc("POST /consultazioni/{id}", p.answer)
	m.HandleFunc("POST /consultazioni/{id}/modifica", p.amend)
	m.HandleFunc("GET /consultazioni/{id}/risultati", p.results)
	office := m.Guarded(assurance.Low, OfficeRole)
	office.HandleFunc("GET /ufficio", p.officeList)
	office.HandleFunc("GET /ufficio/nuova", p.officeNew)
	office.HandleFunc("POST /ufficio/nuova", p.officeCreate)
	office.HandleFunc("GET /ufficio/{id}", p.officeConsultation)
	office.HandleFunc("POST /ufficio/{id}", p.officeUpdate)
	office.HandleFunc("GET /ufficio/{id}/anteprima", p.officePreview)
	office.HandleFunc("POST /ufficio/{id}/apri", p.officeAction(p.Store.Open, "opened"))
	office.HandleFunc("POST /ufficio/{id}/chiudi", p.officeAction(p.Store.Close, "closed"))
	office.HandleFunc("POST /ufficio/{id}/pubblica", p.officeAction(p.Store.Publish, "published"))
	office.HandleFunc("GET /ufficio/{id}/risultati", p.officeResults)
	counter := m.Guarded(assurance.Low, CounterRole)
	counter.HandleFunc("GET /sportello", p.counterList)
	counter.HandleFunc("GET /sportello/{id}", p.counterForm)
	counter.HandleFunc("POST /sportello/{id}", p.counterRecord)
	p.proposalRoutes(m, office)
	p.apiRoutes()
	a := p.Auth
	a.notice, a.app = p.notice, p.App
	a.logoutPage = p.logoutPage
	m.HandleFunc("GET /accedi", a.login)
	m.HandleFunc("GET /auth/callback", a.callback)
	m.HandleFunc("POST /auth/backchannel-logout", a.backchannel)
	m.HandleFunc("POST /esci", a.logout)
	m.HandleFunc("GET /profilo", p.profile)
	m.HandleFunc("POST /profilo/avvisi", p.subscribe)
	p.App.Middleware = append(p.App.Middleware, a.Middleware)
	p.App.Viewer = func(r *http.Request) *web.Viewer {
		v := Current(r.Context())
		if v == nil {
			return nil
		}
		name := v.Name
		if name == "" {
			name = "Partecipa"
		}
		return &web.Viewer{Name: name, Assurance: string(v.Level)}
	}
}

// NoticeData is the content of a notice page.
type NoticeData struct {
	Message string
	Alert   bool
}

func (p *Partecipa) notice(w http.ResponseWriter, r *http.Request, status int, msg string) {
	page := p.App.NewPage(r, "partecipa.login.title")
	page.Breadcrumb = []web.Crumb{{Label: page.Title}}
	page.Data = NoticeData{Message: msg, Alert: status >= 400}
	w.Header().Set("Cache-Control", "no-store")
	p.App.HTML(w, r, status, "notice", page)
}

func (p *Partecipa) logoutPage(w http.ResponseWriter, r *http.Request, d LogoutData) {
	page := p.App.NewPage(r, "partecipa.logout.title")
	page.Breadcrumb = []web.Crumb{{Label: page.Title}}
	page.Data = d
	p.App.HTML(w, r, http.StatusOK, "logout", page)
}

// profile shows what Partecipa knows of the resident: only what the
// provider gave it.
// ProfileData is the profile page: the login's claims and the
// notifications the resident chose.
type ProfileData struct {
	*Viewer
	Sub         Subscription
	Saved       bool
	NotifyError string
}

func (p *Partecipa) profile(w http.ResponseWriter, r *http.Request) {
	v := Current(r.Context())
	if v == nil {
		web.Redirect(w, r, "/accedi", url.Values{"next": {"/profilo"}})
		return
	}
	sub, err := p.Store.Subscription(r.Context(), v.Subject)
	if err != nil {
		p.App.Fail(w, r, err)
		return
	}
	p.profilePage(w, r, http.StatusOK, &ProfileData{Viewer: v, Sub: sub, Saved: r.URL.Query().Get("avvisi") == "1"})
}

func (p *Partecipa) profilePage(w http.ResponseWriter, r *http.Request, status int, d *ProfileData) {
	page := p.App.NewPage(r, "partecipa.profile.title")
	page.Breadcrumb = []web.Crumb{{Label: page.Title}}
	page.Data = d
	w.Header().Set("Cache-Control", "no-store")
	p.App.HTML(w, r, status, "profile", page)
}

// subscribe records the notifications the resident chose.
func (p *Partecipa) subscribe(w http.ResponseWriter, r *http.Request) {
	v := Current(r.Context())
	if v == nil {
		web.Redirect(w, r, "/accedi", url.Values{"next": {"/profilo"}})
		return
	}
	if !p.App.ParseForm(w, r, 4<<10) {
		return
	}
	want := Subscription{Consultations: r.PostForm.Get("consultations") == "1", Answers: r.PostForm.Get("answers") == "1"}
	err := p.Store.Subscribe(r.Context(), v, want.Consultations, want.Answers)
	var f problem.Fields
	if errors.As(err, &f) {
		page := p.App.NewPage(r, "")
		p.profilePage(w, r, http.StatusUnprocessableEntity, &ProfileData{Viewer: v, Sub: want, NotifyError: page.T(f["notify"])})
		return
	}
	if err != nil {
		p.App.Fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/profilo?avvisi=1#avvisi", http.StatusSeeOther)
}

func (p *Partecipa) page(name, title string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		page := p.App.NewPage(r, title)
		if name != "home" {
			page.Breadcrumb = []web.Crumb{{Label: page.Title}}
		}
		p.App.HTML(w, r, http.StatusOK, name, page)
	}
}
