package content

import (
	"context"
	"time"

	"github.com/civico-pa/civico/internal/feature"
)

// Module is the content as civico wires it: Store is set when the feature
// is wired.
type Module struct {
	// Services lists the catalogue's services, for the home page's
	// choice (the catalogue, which this package does not import:
	// cmd/civico joins them).
	Services Services
	Store    *Store
}

// Feature is the places, events and Amministrazione pages, their back
// office, and what the home page puts in evidence.
func (m *Module) Feature() feature.Feature {
	return feature.Feature{
		Name: "content", Messages: Messages, Portal: Templates, Migrations: Migrations,
		Wire: func(h *feature.Host) error {
			m.Store = &Store{DB: h.DB, Audit: h.Audit}
			(&Web{App: h.Portal, Store: m.Store, Services: m.Services, BaseURL: h.BaseURL}).Routes()
			for _, s := range Sections() {
				h.BackOffice(s)
			}
			return nil
		},
	}
}

// Upcoming returns the next n published events that have not ended at
// now, with their places, for the home page; none before the feature is
// wired.
func (m *Module) Upcoming(ctx context.Context, now time.Time, n int) ([]EventView, error) {
	if m.Store == nil {
		return nil, nil
	}
	events, _, err := m.Store.Events(ctx, now, false, "", 1, n)
	if err != nil {
		return nil, err
	}
	return m.Store.WithPlaces(ctx, events)
}

// Featured returns what the home page puts in evidence: the ids of
// services and the slugs of topics, in order.
func (m *Module) Featured(ctx context.Context) (services, topics []string, err error) {
	if m.Store == nil {
		return nil, nil, nil
	}
	if services, err = m.Store.Featured(ctx, FeaturedServices); err != nil {
		return nil, nil, err
	}
	topics, err = m.Store.Featured(ctx, FeaturedTopics)
	return services, topics, err
}
