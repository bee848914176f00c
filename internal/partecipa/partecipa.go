// Package partecipa is the town's public consultation platform: its own
// application, on its own origin, which will log residents in through the
// portal's OpenID Connect provider.
package partecipa

import (
	"embed"
	"net/http"

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
			{Label: "partecipa.menu.how", Href: "/come-funziona"},
		},
		PortalURL: portalURL,
	}
}

// Partecipa serves the consultation platform's pages.
type Partecipa struct {
	App *web.App
}

// Routes is the map of Partecipa.
func (p *Partecipa) Routes() {
	p.App.Mux.HandleFunc("GET /{$}", p.page("home", "partecipa.home.title"))
	p.App.Mux.HandleFunc("GET /come-funziona", p.page("how", "partecipa.how.title"))
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
