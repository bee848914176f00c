package content

import (
	"embed"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/civico-pa/civico/internal/taxonomy"
	"github.com/civico-pa/civico/internal/web"
)

// Templates and Messages are the content's pages and their translations.
//
//go:embed templates
var Templates embed.FS

//go:embed locales
var Messages embed.FS

// Page sizes of the public lists.
const (
	PerPage       = 24
	DocumentsPage = 30
	// EventsFeedSize bounds the iCalendar feed of the coming events.
	EventsFeedSize = 200
	// placeEvents is how many coming events a place's page lists.
	placeEvents = 10
	// unitMembers and unitDocuments bound what a body's page lists.
	unitMembers, unitDocuments = 50, 10
)

// Web serves the content's public pages and its back office.
type Web struct {
	App   *web.App
	Store *Store
	// Services lists the catalogue's services, for what the home page
	// puts in evidence; nil offers none.
	Services Services
	// BaseURL is the portal's public address, for the links of the
	// calendar feeds.
	BaseURL string
	Now     func() time.Time
}

func (h *Web) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// Routes is the map of the content's pages. It takes over the second
// level of Vivere il Comune and the Amministrazione section but its
// Uffici, which are the catalogue's.
func (h *Web) Routes() {
	m := h.App.For("content")
	m.HandleFunc("GET "+ManagementPath, h.management)
	m.HandleFunc("GET "+ManagementPath+"/{category}", h.managementCategory)
	m.HandleFunc("GET "+ManagementPath+"/{category}/{slug}", h.managementEntry)
	m.HandleFunc("GET "+PlacesPath, h.places)
	m.HandleFunc("GET "+PlacesPath+"/{slug}", h.place)
	m.HandleFunc("GET "+EventsPath, h.events)
	m.HandleFunc("GET "+EventsPath+"/calendario.ics", h.eventsICS)
	m.HandleFunc("GET "+EventsPath+"/{slug}", h.event)
	m.HandleFunc("GET "+EventsPath+"/{slug}/evento.ics", h.eventICS)
	h.adminRoutes()
}

// pageNumber reads ?pagina=N; ok is false for anything but a positive number.
func pageNumber(r *http.Request) (int, bool) {
	v := r.URL.Query().Get("pagina")
	if v == "" {
		return 1, true
	}
	n, err := strconv.Atoi(v)
	return n, err == nil && n >= 1 && n <= 100000
}

// pager is page n of a list at path, its filters q kept in the links.
func pager(path string, q url.Values, n, total, perPage int) web.Pager {
	return web.NewPager(path, q, "pagina", n, total, perPage)
}

// fail answers a store's error: 404 for what is not there, the error page
// otherwise.
func (h *Web) fail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, ErrNotFound) {
		h.App.Error(w, r, http.StatusNotFound)
		return
	}
	h.App.Fail(w, r, err)
}

// ItalianOnly reports whether an English page shows some of these texts
// in Italian, having no English version of them.
func ItalianOnly(lang string, texts ...Text) bool {
	for _, t := range texts {
		if !t.Empty() && t.In(lang).Fallback {
			return true
		}
	}
	return false
}

// CategoryLink is a category of a section with its link.
type CategoryLink struct {
	Href, Title, Element string
	// Intro is a message id saying what is in it.
	Intro string
}

// ManagementData is the content of the Amministrazione page.
type ManagementData struct {
	Categories []CategoryLink
}

var managementLinks = func() []CategoryLink {
	out := make([]CategoryLink, len(taxonomy.ManagementCategories))
	for i, t := range taxonomy.ManagementCategories {
		out[i] = CategoryLink{Href: ManagementPath + "/" + t.Slug, Title: t.Title, Element: "management-category-link",
			Intro: "content.management." + t.Slug}
	}
	return out
}()

func (h *Web) management(w http.ResponseWriter, r *http.Request) {
	page := h.App.NewPage(r, "menu.management")
	page.Description = page.T("content.management.intro")
	page.Breadcrumb = []web.Crumb{{Label: page.Title}}
	page.Data = &ManagementData{Categories: managementLinks}
	h.App.HTML(w, r, http.StatusOK, "management", page)
}

// ListData is the content of a list of entries: a category of
// Amministrazione, the places.
type ListData struct {
	Kind     string
	Category Category
	// Types filter the list (the places' kinds, the documents' types);
	// Type is the one chosen.
	Types []Category
	Type  string
	Items []Entry
	web.Pager
}

func (h *Web) managementCategory(w http.ResponseWriter, r *http.Request) {
	slug := r.PathValue("category")
	kind := managementKind(slug)
	term, found := taxonomy.Find(taxonomy.ManagementCategories, slug)
	n, ok := pageNumber(r)
	if kind == "" || !found || !ok {
		h.App.Error(w, r, http.StatusNotFound)
		return
	}
	d := &ListData{Kind: kind, Category: Category{Slug: term.Slug, National: term.Title}}
	perPage, filter := PerPage, term.Slug
	if kind == KindDocument {
		perPage, d.Types, filter = DocumentsPage, DocumentTypes, ""
		if t := r.URL.Query().Get("tipo"); t != "" {
			if _, ok := kindOf(KindDocument).category(t); !ok {
				h.App.Error(w, r, http.StatusNotFound)
				return
			}
			d.Type, filter = t, t
		}
	}
	items, total, err := h.Store.List(r.Context(), kind, filter, n, perPage)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	d.Items, d.Pager = items, pager(ManagementPath+"/"+slug, r.URL.Query(), n, total, perPage)
	if n > d.Pages {
		h.App.Error(w, r, http.StatusNotFound)
		return
	}
	page := h.App.NewPage(r, "")
	page.Title = term.Title
	page.Description = page.T("content.management." + term.Slug)
	page.Breadcrumb = []web.Crumb{{Label: page.T("menu.management"), Href: ManagementPath}, {Label: term.Title}}
	page.Data = d
	h.App.HTML(w, r, http.StatusOK, "management_category", page)
}

// EntryData is the content of an entry's page.
type EntryData struct {
	Entry *Entry
	// Category is the entry's category, with its title.
	Category Category
	// Place is an event's; Unit a person's or a document's body.
	Place, Unit *Entry
	// Members and Documents are a body's.
	Members, Documents []Entry
	// Events are a place's coming ones.
	Events []EventView
	// ItalianOnly says an English page shows some texts in Italian.
	ItalianOnly bool
	// Metadata is the schema.org description, JSON.
	Metadata string
}

func (h *Web) managementEntry(w http.ResponseWriter, r *http.Request) {
	slug := r.PathValue("category")
	kind := managementKind(slug)
	if kind == "" {
		h.App.Error(w, r, http.StatusNotFound)
		return
	}
	e, err := h.Store.Published(r.Context(), kind, r.PathValue("slug"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if kind != KindDocument && e.Category != slug {
		// The entry moved to another category: its address follows.
		http.Redirect(w, r, e.Path(), http.StatusMovedPermanently) // #nosec G710 -- a path of this site made from the stored entry
		return
	}
	term, _ := taxonomy.Find(taxonomy.ManagementCategories, slug)
	page := h.App.NewPage(r, "")
	d := &EntryData{Entry: e, Category: Category{Slug: term.Slug, National: term.Title}}
	ctx := r.Context()
	if e.UnitID != "" {
		if d.Unit, err = h.Store.PublishedByID(ctx, e.UnitID); err != nil && !errors.Is(err, ErrNotFound) {
			h.App.Fail(w, r, err)
			return
		}
	}
	name := "person"
	switch kind {
	case KindUnit:
		name = "unit"
		if d.Members, err = h.Store.Members(ctx, e.ID, unitMembers); err == nil {
			d.Documents, err = h.Store.Documents(ctx, e.ID, unitDocuments)
		}
		if err != nil {
			h.App.Fail(w, r, err)
			return
		}
	case KindDocument:
		name = "document"
		c, _ := kindOf(KindDocument).category(e.Category)
		d.Category = c
	}
	d.ItalianOnly = ItalianOnly(page.Lang, e.Title, e.Summary, e.Body, e.Role)
	t := e.Title.In(page.Lang)
	page.Title, page.Description = t.Text, e.Summary.In(page.Lang).Text
	page.Breadcrumb = []web.Crumb{{Label: page.T("menu.management"), Href: ManagementPath}, {Label: term.Title, Href: ManagementPath + "/" + term.Slug}, {Label: t.Text}}
	d.Metadata = metadata(page, d)
	page.Data = d
	h.App.HTML(w, r, http.StatusOK, name, page)
}

func (h *Web) places(w http.ResponseWriter, r *http.Request) {
	n, ok := pageNumber(r)
	if !ok {
		h.App.Error(w, r, http.StatusNotFound)
		return
	}
	d := &ListData{Kind: KindPlace, Types: PlaceTypes}
	if t := r.URL.Query().Get("tipo"); t != "" {
		if _, ok := kindOf(KindPlace).category(t); !ok {
			h.App.Error(w, r, http.StatusNotFound)
			return
		}
		d.Type = t
	}
	items, total, err := h.Store.List(r.Context(), KindPlace, d.Type, n, PerPage)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	d.Items, d.Pager = items, pager(PlacesPath, r.URL.Query(), n, total, PerPage)
	if n > d.Pages {
		h.App.Error(w, r, http.StatusNotFound)
		return
	}
	page := h.App.NewPage(r, "content.places.title")
	page.Description = page.T("content.places.intro")
	page.Breadcrumb = []web.Crumb{{Label: page.T("menu.live"), Href: LivePath}, {Label: page.Title}}
	page.Data = d
	h.App.HTML(w, r, http.StatusOK, "places", page)
}

func (h *Web) place(w http.ResponseWriter, r *http.Request) {
	e, err := h.Store.Published(r.Context(), KindPlace, r.PathValue("slug"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d := &EntryData{Entry: e}
	d.Category, _ = kindOf(KindPlace).category(e.Category)
	events, _, err := h.Store.Events(r.Context(), h.now(), false, e.ID, 1, placeEvents)
	for _, ev := range events {
		d.Events = append(d.Events, EventView{Entry: ev})
	}
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	page := h.App.NewPage(r, "")
	d.ItalianOnly = ItalianOnly(page.Lang, e.Title, e.Summary, e.Body, e.Opening)
	t := e.Title.In(page.Lang)
	page.Title, page.Description = t.Text, e.Summary.In(page.Lang).Text
	page.Breadcrumb = []web.Crumb{{Label: page.T("menu.live"), Href: LivePath}, {Label: page.T("content.places.title"), Href: PlacesPath}, {Label: t.Text}}
	d.Metadata = metadata(page, d)
	page.Data = d
	h.App.HTML(w, r, http.StatusOK, "place", page)
}

// EventsData is the content of the list of events.
type EventsData struct {
	Past   bool
	Events []EventView
	web.Pager
}

// EventView is an event with its place, for lists.
type EventView struct {
	Entry
	Place *Entry
}

func (h *Web) events(w http.ResponseWriter, r *http.Request) {
	n, ok := pageNumber(r)
	period := r.URL.Query().Get("periodo")
	if !ok || period != "" && period != "passati" {
		h.App.Error(w, r, http.StatusNotFound)
		return
	}
	d := &EventsData{Past: period == "passati"}
	events, total, err := h.Store.Events(r.Context(), h.now(), d.Past, "", n, PerPage)
	if err == nil {
		d.Events, err = h.Store.WithPlaces(r.Context(), events)
	}
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	d.Pager = pager(EventsPath, r.URL.Query(), n, total, PerPage)
	if n > d.Pages {
		h.App.Error(w, r, http.StatusNotFound)
		return
	}
	page := h.App.NewPage(r, "content.events.title")
	if d.Past {
		page.Title = page.T("content.events.past")
	}
	page.Description = page.T("content.events.intro")
	page.Breadcrumb = []web.Crumb{{Label: page.T("menu.live"), Href: LivePath}}
	if d.Past {
		page.Breadcrumb = append(page.Breadcrumb, web.Crumb{Label: page.T("content.events.title"), Href: EventsPath})
	}
	page.Breadcrumb = append(page.Breadcrumb, web.Crumb{Label: page.Title})
	page.Data = d
	h.App.HTML(w, r, http.StatusOK, "events", page)
}

func (h *Web) event(w http.ResponseWriter, r *http.Request) {
	e, err := h.Store.Published(r.Context(), KindEvent, r.PathValue("slug"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d := &EntryData{Entry: e}
	if d.Place, err = h.Store.PublishedByID(r.Context(), e.PlaceID); err != nil && !errors.Is(err, ErrNotFound) {
		h.App.Fail(w, r, err)
		return
	}
	page := h.App.NewPage(r, "")
	d.ItalianOnly = ItalianOnly(page.Lang, e.Title, e.Summary, e.Body, e.Cost)
	t := e.Title.In(page.Lang)
	page.Title, page.Description = t.Text, e.Summary.In(page.Lang).Text
	page.Breadcrumb = []web.Crumb{{Label: page.T("menu.live"), Href: LivePath}, {Label: page.T("content.events.title"), Href: EventsPath}, {Label: t.Text}}
	d.Metadata = metadata(page, d)
	page.Data = d
	h.App.HTML(w, r, http.StatusOK, "event", page)
}
