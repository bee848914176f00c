package catalog

import (
	"context"
	"net/url"
	"time"

	"github.com/civico-pa/civico/internal/feature"
	"github.com/civico-pa/civico/internal/hours"
	"github.com/civico-pa/civico/internal/identity"
)

// ServiceForm is what a service page lists of a downloadable form. The
// forms library provides them; the catalogue does not import it (cmd/civico
// joins the two).
type ServiceForm struct {
	Title, Description string
	URL, MediaType     string
	// Icon names the file type's icon; TypeLabel says the type in words.
	Icon, TypeLabel string
	// Size is the file's size in words, by language.
	Size    map[string]string
	Version int
	Date    string
}

// FormsOf lists the forms of a service, for its page.
type FormsOf func(ctx context.Context, serviceID string) ([]ServiceForm, error)

// Module is the catalogue as civico wires it.
type Module struct {
	// Store is the catalogue, cached in each process (New).
	Store *Store
	// Forms lists a service's forms on its page; nil lists none.
	Forms FormsOf
	// Proposals are the time-use survey's proposed extra openings, shown
	// in the coordination view; nil shows none.
	Proposals HoursProposals
	// Now is the pages' clock (time.Now when nil); tests set it, after
	// wiring too.
	Now func() time.Time
}

func (m *Module) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

// New is the catalogue before it is wired, kept in each process's memory
// for ttl (civico: 30 s).
func New(ttl time.Duration) *Module { return &Module{Store: NewStore(nil, ttl)} }

// Feature is the catalogue: offices, services, the finder, the
// coordination view, the API and the catalogue's back office.
func (m *Module) Feature() feature.Feature {
	return feature.Feature{
		Name: "catalog", Messages: Messages, Portal: Templates, Migrations: Migrations,
		Wire: func(h *feature.Host) error {
			m.Store.DB = h.DB
			// A search index that cannot be written anew leaves the search
			// short of some services, not the portal down.
			if err := m.Store.Reindex(context.Background()); err != nil && h.Log != nil {
				h.Log.Error("catalog: writing the search index", "err", err)
			}
			m.Store.Holidays = func(ctx context.Context) hours.Holidays {
				p, err := h.Towns.Get(ctx)
				if err != nil {
					return hours.Holidays{}
				}
				month, day := p.Patron()
				return hours.Holidays{PatronMonth: month, PatronDay: day}
			}
			w := &Web{App: h.Portal, Store: m.Store, Forms: m.Forms, Proposals: m.Proposals, Limiter: h.Limiter, Now: m.now, Host: hostOf(h.BaseURL)}
			w.Routes()
			(&BackOffice{Web: w, Audit: h.Audit}).Routes()
			h.BackOffice(identity.Section{Label: "backoffice.catalog", Href: "/backoffice/catalogo", Roles: EditorRoles})
			h.BackOffice(identity.Section{Label: "catalog.coord.title", Href: "/coordinamento-orari", Roles: EditorRoles})
			return nil
		},
	}
}

// hostOf is the host name of a base URL; "" if it has none.
func hostOf(base string) string {
	u, err := url.Parse(base)
	if err != nil {
		return ""
	}
	return u.Hostname()
}
