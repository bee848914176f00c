package forms

import (
	"context"
	"database/sql"
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

// FormRef names a form: what the catalogue lists when a service it
// belongs to is to be deleted.
type FormRef struct {
	ID, Title string
	Archived  bool
}

// OfService lists every form of a service, archived ones too, by title, in
// tx (the catalogue's transaction that would delete the service). Nil
// before the feature is wired.
func (m *Module) OfService(ctx context.Context, tx *sql.Tx, serviceID string) ([]FormRef, error) {
	if m.Store == nil {
		return nil, nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, title, archived FROM forms WHERE service_id = $1 ORDER BY title, id`, serviceID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []FormRef
	for rows.Next() {
		var f FormRef
		if err := rows.Scan(&f.ID, &f.Title, &f.Archived); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}
