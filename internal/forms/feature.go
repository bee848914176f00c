package forms

import (
	"context"
	"time"

	"github.com/civico-pa/civico/internal/feature"
	"github.com/civico-pa/civico/internal/identity"
)

// Module is the forms library as civico wires it.
type Module struct {
	// Services lists the catalogue's services a form may belong to (the
	// catalogue, which this package does not import: cmd/civico joins them).
	Services Services
	// Store is set when the feature is wired.
	Store *Store
}

// Feature is the forms library: the public downloads, the back office, and
// the collection of files no version names any more.
func (m *Module) Feature() feature.Feature {
	return feature.Feature{
		Name: "forms", Messages: Messages, Portal: Templates, Migrations: Migrations,
		Wire: func(h *feature.Host) error {
			m.Store = NewStore(h.DB, h.DataDir, h.Audit, m.Services)
			m.Store.Scanner = h.Attachments.Files.Scanner
			(&Web{App: h.Portal, Store: m.Store, Identity: h.ID}).Routes()
			h.BackOffice(identity.Section{Label: "forms.backoffice.title", Href: "/backoffice/moduli", Roles: Roles})
			h.Every("collect unreferenced files", 5*time.Minute, func(ctx context.Context) error {
				n, err := m.Store.GC(ctx)
				if n > 0 {
					h.Log.Info("forms: removed unreferenced files", "files", n)
				}
				return err
			})
			return nil
		},
	}
}

// ForService lists a service's forms; nil before the feature is wired.
func (m *Module) ForService(ctx context.Context, serviceID string) ([]*Form, error) {
	if m.Store == nil {
		return nil, nil
	}
	return m.Store.ForService(ctx, serviceID)
}
