// Package portal is the town's site: the home page, the four sections of the
// Designers Italia municipal model, the topics, and the pages every public
// body must publish (legal notes, privacy, cookies, accessibility, FAQ).
// Features add their own routes to the same application.
package portal

import (
	"embed"
	"net/http"
	"time"

	"github.com/civico-pa/civico/internal/taxonomy"
	"github.com/civico-pa/civico/internal/web"
)

// Templates and Messages are the portal's pages and their translations.
//
//go:embed templates
var Templates embed.FS

//go:embed locales
var Messages embed.FS

// openAPI describes the portal's JSON API.
//
//go:embed openapi.json
var openAPI []byte

// Chrome is the portal's shell: the national top menu, the clarity rating.
func Chrome() web.Chrome {
	return web.Chrome{
		App: "portal",
		Menu: []web.MenuItem{
			{Label: "menu.management", Href: "/amministrazione", Element: "management"},
			{Label: "menu.news", Href: "/novita", Element: "news"},
			{Label: "menu.services", Href: "/servizi", Element: "all-services"},
			{Label: "menu.live", Href: "/vivere-il-comune", Element: "live"},
		},
		Feedback: true,
	}
}

// Portal serves the portal's own pages.
type Portal struct {
	App *web.App
	// PartecipaURL is the public address of the consultation platform.
	PartecipaURL string
	// Sources are what the home page shows of the other features.
	Sources Sources
	// Now is the clock (time.Now when nil).
	Now func() time.Time

	cards []Card
	// Topics is what the topic pages list.
	Topics Topics
}

// section is a first-level page whose second level is a national vocabulary.
type section struct {
	Title   string // message id
	Intro   string // message id
	Path    string
	Element string // data-element of each category link
	Terms   []taxonomy.Term
	Empty   string // message id shown on a category with nothing published
}

var (
	management = &section{Title: "menu.management", Intro: "section.management.intro", Path: "/amministrazione",
		Element: "management-category-link", Terms: taxonomy.ManagementCategories, Empty: "section.empty.management"}
	news = &section{Title: "menu.news", Intro: "section.news.intro", Path: "/novita",
		Element: "news-category-link", Terms: taxonomy.NewsCategories, Empty: "section.empty.news"}
	services = &section{Title: "menu.services", Intro: "section.services.intro", Path: "/servizi",
		Element: "service-category-link", Terms: taxonomy.ServiceCategories, Empty: "section.empty.services"}
	topics = &section{Title: "topics.title", Intro: "topics.intro", Path: "/argomenti",
		Element: "topic-element", Terms: taxonomy.Topics, Empty: "section.empty.topic"}
)

// Routes is the map of the portal's own pages.
func (p *Portal) Routes() {
	m := p.App.For("portal")
	p.cards = p.homeCards()
	m.HandleFunc("GET /{$}", p.home)
	// The services section is the catalogue's, the news section the news
	// package's, Amministrazione and the places and events of Vivere il
	// Comune the content package's.
	for _, s := range []*section{topics} {
		m.HandleFunc("GET "+s.Path, p.sectionIndex(s))
	}
	m.HandleFunc("GET "+topics.Path+"/{slug}", p.topic)
	m.HandleFunc("GET /vivere-il-comune", p.static("live", "menu.live"))
	m.HandleFunc("GET /faq", p.static("faq", "faq.title"))
	m.HandleFunc("GET /note-legali", p.static("legal", "legal.title"))
	m.HandleFunc("GET /privacy", p.static("privacy", "privacy.title"))
	m.HandleFunc("GET /cookie", p.static("cookies", "cookies.title"))
	m.HandleFunc("GET /dichiarazione-accessibilita", p.static("accessibility", "accessibility.title"))
	m.HandleFunc("GET /api/v1/openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(openAPI)
	})
}

// homeCards lead to the site's sections and services.
func (p *Portal) homeCards() []Card {
	return []Card{
		{Title: services.Title, Text: services.Intro, Href: services.Path},
		{Title: news.Title, Text: news.Intro, Href: news.Path},
		{Title: management.Title, Text: management.Intro, Href: management.Path},
		{Title: "home.partecipa", Text: "home.partecipa_text", Href: p.PartecipaURL + "/"},
		{Title: "home.booking", Text: "home.booking_text", Href: "/prenota-appuntamento"},
		{Title: "home.forms", Text: "home.forms_text", Href: "/moduli"},
		{Title: topics.Title, Text: topics.Intro, Href: topics.Path},
	}
}

// SectionData is the content of a first-level page or of one of its categories.
type SectionData struct {
	Section *section
	Term    taxonomy.Term
	Links   []Link
}

// Link is one entry of a list of categories or topics.
type Link struct {
	Href, Title string
}

// links are computed once per section: the list never changes while civico runs.
func (s *section) links() []Link {
	out := make([]Link, len(s.Terms))
	for i, t := range s.Terms {
		out[i] = Link{Href: s.Path + "/" + t.Slug, Title: t.Title}
	}
	return out
}

func (p *Portal) sectionIndex(s *section) http.HandlerFunc {
	links := s.links()
	return func(w http.ResponseWriter, r *http.Request) {
		page := p.App.NewPage(r, s.Title)
		page.Description = page.T(s.Intro)
		page.Breadcrumb = []web.Crumb{{Label: page.Title}}
		page.Data = SectionData{Section: s, Links: links}
		p.App.HTML(w, r, http.StatusOK, "section", page)
	}
}

// static serves a page whose content is all in its template; parent, if
// any, is the breadcrumb step above it (its Label a message id).
func (p *Portal) static(name, title string, parent ...*web.Crumb) http.HandlerFunc {
	return p.page(name, title, nil, parent...)
}

// page serves a template with fixed data.
func (p *Portal) page(name, title string, data any, parent ...*web.Crumb) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		page := p.App.NewPage(r, title)
		page.Data = data
		for _, c := range parent {
			page.Breadcrumb = append(page.Breadcrumb, web.Crumb{Label: page.T(c.Label), Href: c.Href})
		}
		page.Breadcrumb = append(page.Breadcrumb, web.Crumb{Label: page.Title})
		p.App.HTML(w, r, http.StatusOK, name, page)
	}
}
