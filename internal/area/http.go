package area

import (
	"context"
	"embed"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strconv"

	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/web"
)

// Templates and Messages are the personal area's pages and translations.
//
//go:embed templates
var Templates embed.FS

//go:embed locales
var Messages embed.FS

// Home is the address of the personal area: where a resident lands after
// logging in, and where the header's "Area personale" leads.
const Home = "/area-personale"

// Service is a service the resident can request online.
type Service struct {
	Title, Summary, Href string
	// Category is the service's section (taxonomy), as people read it.
	Category string
	// Needs is the assurance the service asks online ("" for none).
	Needs assurance.Level
}

// Services lists the services residents can request online (the
// catalogue, which this package does not import: cmd/civico joins them),
// with the version of the catalogue they come from: a list of another
// content has another version.
type Services func(ctx context.Context) (list []Service, version int64, err error)

// Web serves the personal area.
type Web struct {
	App      *web.App
	Inbox    *Inbox
	Desk     *Desk
	Services Services
	// StepUp is the page that raises a session's assurance (the card
	// login today; SPID and CIE when they exist), given ?next=.
	StepUp string
}

// Routes is the map of the personal area: every page needs a login.
func (h *Web) Routes() {
	m := h.App.For("area").Guarded(assurance.Low)
	m.HandleFunc("GET "+Home, h.desk)
	m.HandleFunc("GET "+Home+"/messaggi", h.messages)
	m.HandleFunc("POST "+Home+"/messaggi/letti", h.allRead)
	m.HandleFunc("GET "+Home+"/messaggi/{id}", h.message)
	m.HandleFunc("POST "+Home+"/messaggi/{id}/non-letto", h.unread)
	m.HandleFunc("GET "+Home+"/attivita", h.activities)
	m.HandleFunc("GET "+Home+"/servizi", h.services)
	m.HandleFunc("GET "+Home+"/documenti", h.documents)
}

// Data is the content of every page of the area.
type Data struct {
	// Tab is the page: "desk", "messages", "activities", "services",
	// "documents" (the tabs' state).
	Tab string
	// Name and FiscalCode head the area; FiscalCode only when this
	// session's login proved it.
	Name, FiscalCode string
	Level            assurance.Level
	// Unread counts the unread messages (the Messaggi tab's badge).
	Unread int
	// Awaiting adds up what waits for the resident: the panels' counts
	// and the unread messages.
	Awaiting int
	Panels   []Shown
	Recent   []RecentItem
	// Messages are the desk's latest or a page of the inbox; Message the
	// one opened.
	Messages []*Stored
	Message  *Stored
	// Pagination of the inbox.
	Total, Page, Pages int
	Prev, Next         string
	UnreadOnly         bool
	Services           []ServiceView
	// StepUpURL raises the session's assurance and comes back here.
	StepUpURL string
	Notice    string
	// The lists above, written by Go code (lists.go).
	PanelsHTML, RecentHTML, MessagesHTML, ServicesHTML template.HTML

	// catalogue is the version of the catalogue Services came from.
	catalogue int64
}

// ServiceView is a service with whether this session may request it.
type ServiceView struct {
	Service
	StepUp bool
}

// resident is who is asking, as the panels need it.
func (h *Web) resident(r *http.Request) (Resident, *Data) {
	a, se := identity.Current(r.Context())
	cf, _ := a.ProvenFiscalCode(se)
	lang := h.App.I18n.Lang(r)
	return Resident{AccountID: a.ID, Subject: a.Subject(), FiscalCode: cf, Level: se.Assurance, Lang: lang},
		&Data{Name: a.DisplayName(), FiscalCode: cf, Level: se.Assurance}
}

func (h *Web) render(w http.ResponseWriter, r *http.Request, status int, tab, title string, d *Data) {
	d.Tab = tab
	if d.StepUpURL == "" && h.StepUp != "" {
		d.StepUpURL = h.StepUp + "?" + url.Values{"next": {r.URL.Path}}.Encode()
	}
	page := h.App.NewPage(r, title)
	page.Breadcrumb = []web.Crumb{{Label: page.T("area.title"), Href: Home}}
	if tab == "desk" {
		page.Breadcrumb = []web.Crumb{{Label: page.T("area.title")}}
	} else {
		page.Breadcrumb = append(page.Breadcrumb, web.Crumb{Label: page.Title})
	}
	switch tab {
	case "desk":
		d.PanelsHTML = panelsHTML(page, d, "col-12 col-md-6 col-lg-4")
		d.RecentHTML, d.MessagesHTML = recentHTML(page, d), messagesHTML(page, d)
	case "activities":
		d.PanelsHTML = panelsHTML(page, d, "col-12 col-lg-6")
	case "services":
		d.ServicesHTML = h.serviceCards(page, d)
	}
	page.Data = d
	w.Header().Set("Cache-Control", "private, no-store")
	h.App.HTML(w, r, status, "area_"+tab, page)
}

// desk is the Scrivania: what awaits the resident, the latest messages
// and the latest activities of every panel.
func (h *Web) desk(w http.ResponseWriter, r *http.Request) {
	res, d := h.resident(r)
	shown := make(chan []Shown, 1)
	go func() { shown <- h.Desk.Show(r.Context(), res, Activities) }()
	var err error
	d.Messages, d.Unread, err = h.Inbox.Latest(r.Context(), res.AccountID, 3)
	d.Panels = <-shown
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	d.Awaiting = Awaiting(d.Panels) + d.Unread
	d.Recent = Recent(d.Panels, MaxItems)
	h.render(w, r, http.StatusOK, "desk", "area.title", d)
}

// pageSize is how many messages a page of the inbox lists, servicesPage
// how many services a page of Servizi.
const (
	pageSize     = 20
	servicesPage = 24
)

// pageParam is the page asked for (?pagina=), 1 if none or nonsense.
func pageParam(r *http.Request) int {
	if p, err := strconv.Atoi(r.URL.Query().Get("pagina")); err == nil && p > 1 && p < 100000 {
		return p
	}
	return 1
}

func (h *Web) messages(w http.ResponseWriter, r *http.Request) {
	res, d := h.resident(r)
	q := r.URL.Query()
	d.Page, d.UnreadOnly = pageParam(r), q.Get("non-letti") == "1"
	page, err := h.Inbox.List(r.Context(), res.AccountID, pageSize, (d.Page-1)*pageSize, d.UnreadOnly)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	d.Messages, d.Unread, d.Total = page.Messages, page.Unread, page.Total
	n := page.Total
	if d.UnreadOnly {
		n = page.Unread
	}
	d.Pages = max(1, (n+pageSize-1)/pageSize)
	link := func(p int) string {
		v := url.Values{"pagina": {strconv.Itoa(p)}}
		if d.UnreadOnly {
			v.Set("non-letti", "1")
		}
		return Home + "/messaggi?" + v.Encode()
	}
	if d.Page > d.Pages {
		// Past the last page (messages read or gone since): the last one.
		http.Redirect(w, r, link(d.Pages), http.StatusSeeOther)
		return
	}
	if d.Page > 1 {
		d.Prev = link(d.Page - 1)
	}
	if d.Page < d.Pages {
		d.Next = link(d.Page + 1)
	}
	switch {
	case q.Get("letti") != "":
		d.Notice = "area.messages.all_read_done"
	case q.Get("non-letto") != "":
		d.Notice = "area.messages.unread_done"
	}
	h.render(w, r, http.StatusOK, "messages", "area.tab.messages", d)
}

// message shows one message and marks it read.
func (h *Web) message(w http.ResponseWriter, r *http.Request) {
	res, d := h.resident(r)
	m, err := h.Inbox.Get(r.Context(), res.AccountID, r.PathValue("id"))
	if errors.Is(err, ErrNotFound) {
		h.App.Error(w, r, http.StatusNotFound)
		return
	}
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	if m.Unread() {
		if err := h.Inbox.MarkRead(r.Context(), res.AccountID, m.ID, true); err != nil {
			h.App.Fail(w, r, err)
			return
		}
	}
	if d.Unread, err = h.Inbox.Unread(r.Context(), res.AccountID); err != nil {
		h.App.Fail(w, r, err)
		return
	}
	d.Message = m
	h.render(w, r, http.StatusOK, "message", "area.tab.messages", d)
}

func (h *Web) unread(w http.ResponseWriter, r *http.Request) {
	res, _ := h.resident(r)
	err := h.Inbox.MarkRead(r.Context(), res.AccountID, r.PathValue("id"), false)
	if errors.Is(err, ErrNotFound) {
		h.App.Error(w, r, http.StatusNotFound)
		return
	}
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	web.Redirect(w, r, Home+"/messaggi", url.Values{"non-letto": {"1"}})
}

func (h *Web) allRead(w http.ResponseWriter, r *http.Request) {
	res, _ := h.resident(r)
	if err := h.Inbox.MarkAllRead(r.Context(), res.AccountID); err != nil {
		h.App.Fail(w, r, err)
		return
	}
	web.Redirect(w, r, Home+"/messaggi", url.Values{"letti": {"1"}})
}

// activities is Attività: every panel with its items, each leading to its
// feature's page.
func (h *Web) activities(w http.ResponseWriter, r *http.Request) {
	h.panels(w, r, Activities, "activities", "area.tab.activities")
}

// documents is Documenti: the documents issued to the resident, from the
// panels of that kind.
func (h *Web) documents(w http.ResponseWriter, r *http.Request) {
	h.panels(w, r, Documents, "documents", "area.tab.documents")
}

func (h *Web) panels(w http.ResponseWriter, r *http.Request, kind Kind, tab, title string) {
	res, d := h.resident(r)
	// The panels and the unread messages (the tabs' badge) at once.
	shown := make(chan []Shown, 1)
	go func() { shown <- h.Desk.Show(r.Context(), res, kind) }()
	var err error
	d.Unread, err = h.Inbox.Unread(r.Context(), res.AccountID)
	d.Panels = <-shown
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	d.Awaiting = Awaiting(d.Panels)
	h.render(w, r, http.StatusOK, tab, title, d)
}

// services is Servizi: what the resident can request online.
func (h *Web) services(w http.ResponseWriter, r *http.Request) {
	res, d := h.resident(r)
	var list []Service
	var err error
	if h.Services != nil {
		if list, d.catalogue, err = h.Services(r.Context()); err != nil {
			h.App.Fail(w, r, err)
			return
		}
	}
	// Pages of servicesPage, in the catalogue's order.
	d.Page, d.Pages, d.Total = pageParam(r), max(1, (len(list)+servicesPage-1)/servicesPage), len(list)
	link := func(p int) string { return Home + "/servizi?" + url.Values{"pagina": {strconv.Itoa(p)}}.Encode() }
	if d.Page > d.Pages {
		http.Redirect(w, r, link(d.Pages), http.StatusSeeOther)
		return
	}
	if d.Page > 1 {
		d.Prev = link(d.Page - 1)
	}
	if d.Page < d.Pages {
		d.Next = link(d.Page + 1)
	}
	for _, s := range list[min((d.Page-1)*servicesPage, len(list)):min(d.Page*servicesPage, len(list))] {
		d.Services = append(d.Services, ServiceView{Service: s, StepUp: s.Needs != "" && !res.Level.Satisfies(s.Needs)})
	}
	if d.Unread, err = h.Inbox.Unread(r.Context(), res.AccountID); err != nil {
		h.App.Fail(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, "services", "area.tab.services", d)
}

// serviceCards are the cards of d's page of Servizi. They depend on no one
// but the session's assurance (which services ask for more), so they are
// rendered once per language, catalogue version, page and assurance and
// kept with the shared contents (App.Content: purged after an edit, and a
// new catalogue is a new key).
func (h *Web) serviceCards(p *web.Page, d *Data) template.HTML {
	if h.App.Content == nil {
		return servicesHTML(p, d)
	}
	key := "area-services\x00" + p.Lang + "\x00" + strconv.FormatInt(d.catalogue, 10) + "\x00" + strconv.Itoa(d.Page) + "\x00" +
		string(d.Level) + "\x00" + d.StepUpURL
	if cards, ok := h.App.Content.Get(key); ok {
		return cards
	}
	stamp := h.App.Content.Stamp()
	cards := servicesHTML(p, d)
	h.App.Content.Put(stamp, key, cards)
	return cards
}
