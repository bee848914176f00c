// Package dashboard is the administration's dashboard (cruscotto): the
// figures that say whether the town's online services work — residents
// registered and active, PINs handed out, applications online against the
// desk and what that saved, by sex — for the statistics office and, as
// open data, for everyone (README, "Cruscotto").
//
// The dashboard reads no other feature's tables: each feature hands it a
// Source (events in a time window) or a Gauge (a state now) through the
// lines of cmd/civico that wire them, and a periodic job adds the events
// since each source's watermark to monthly counters. The pages read the
// counters, so they cost the same with ten years of history as with one.
package dashboard

import (
	"context"
	"embed"
	"io/fs"
	"time"

	"github.com/civico-pa/civico/internal/feature"
	"github.com/civico-pa/civico/internal/identity"
)

// Templates and Messages are the dashboard's pages and translations.
//
//go:embed templates
var Templates embed.FS

//go:embed locales
var Messages embed.FS

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations are the dashboard's tables (see db.Source).
var Migrations, _ = fs.Sub(migrationFiles, "migrations")

// Every is how often the figures are collected.
const Every = 15 * time.Minute

// Module is the dashboard as civico wires it.
type Module struct {
	// Sources and Gauges are the other features' figures.
	Sources []Source
	Gauges  []Gauge
	// Reach is the services' weekly hours (the catalogue's).
	Reach Reacher
	// Names are the services' titles by id.
	Names func(ctx context.Context) (map[string]string, error)
	// Store is set when the feature is wired.
	Store *Store
}

// Feature is the dashboard: its pages and its collecting job.
func (m *Module) Feature() feature.Feature {
	return feature.Feature{
		Name: "dashboard", Messages: Messages, Portal: Templates, Migrations: Migrations,
		Wire: func(h *feature.Host) error {
			m.Store = &Store{DB: h.DB, Sources: m.Sources, Gauges: m.Gauges, Reach: m.Reach}
			(&Web{App: h.Portal, Store: m.Store, Names: m.Names}).Routes()
			h.BackOffice(identity.Section{Label: "dashboard.title", Href: BOPath, Roles: Roles})
			h.Every("figures", Every, func(ctx context.Context) error {
				n, err := m.Store.Collect(ctx)
				if n > 0 {
					h.Log.Info("dashboard: figures collected", "events", n)
				}
				return err
			})
			return nil
		},
	}
}
