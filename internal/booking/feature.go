package booking

import (
	"context"
	"embed"
	"io/fs"
	"sort"
	"time"

	"github.com/civico-pa/civico/internal/area"
	"github.com/civico-pa/civico/internal/feature"
	"github.com/civico-pa/civico/internal/hours"
	"github.com/civico-pa/civico/internal/identity"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations are the booking's tables (see db.Source).
var Migrations, _ = fs.Sub(migrationFiles, "migrations")

// Templates and Messages are the booking's pages and their translations.
//
//go:embed templates
var Templates embed.FS

//go:embed locales
var Messages embed.FS

// Office is an office as the booking reads it from the catalogue.
type Office struct {
	ID, Name, Address string
	Hours             *hours.Hours
}

// Service is a service as the booking reads it from the catalogue: the
// offices competent for it.
type Service struct {
	ID, Title, Category string
	Offices             []string
	Active              bool
}

// Directory is the catalogue's offices and services.
type Directory struct {
	Offices  []*Office
	Services []*Service
	// Version names this reading of the catalogue (the shared contents'
	// keys); 0 when unknown, which shares nothing.
	Version int64

	offices  map[string]*Office
	services map[string]*Service
}

// NewDirectory indexes offices and services, each list sorted by name.
func NewDirectory(offices []*Office, services []*Service) *Directory {
	d := &Directory{Offices: offices, Services: services, offices: map[string]*Office{}, services: map[string]*Service{}}
	sort.SliceStable(d.Offices, func(a, b int) bool { return d.Offices[a].Name < d.Offices[b].Name })
	sort.SliceStable(d.Services, func(a, b int) bool { return d.Services[a].Title < d.Services[b].Title })
	for _, o := range offices {
		d.offices[o.ID] = o
	}
	for _, s := range services {
		d.services[s.ID] = s
	}
	return d
}

// Office returns an office by id.
func (d *Directory) Office(id string) (*Office, bool) { o, ok := d.offices[id]; return o, ok }

// Service returns a service by id.
func (d *Directory) Service(id string) (*Service, bool) { s, ok := d.services[id]; return s, ok }

// Catalogue reads the catalogue's offices and services (cmd/civico joins
// it to package catalog).
type Catalogue func(ctx context.Context) (*Directory, error)

// Module is the booking as civico wires it.
type Module struct {
	Catalogue Catalogue
	// OffersTTL is how long the pages keep the list of offers
	// (Store.OffersTTL).
	OffersTTL time.Duration
	// TakenTTL is how long the time step keeps an office's places taken
	// (Store.TakenTTL).
	TakenTTL time.Duration
	// Store is set when the feature is wired.
	Store *Store
	// Now is the clock (nil: the system's), read at every use.
	Now func() time.Time
	web *Web
}

func (m *Module) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

// AreaPath is where a resident's bookings live in the personal area.
const AreaPath = "/area-personale/appuntamenti"

// StartPath is the booking flow's first page.
const StartPath = "/prenota-appuntamento"

// OperatorRoles may set what offices receive by appointment and cancel
// bookings.
var OperatorRoles = []string{"desk", "admin"}

// Feature is the booking: the flow, the resident's bookings, the mailed
// links, the offices' settings, its jobs.
func (m *Module) Feature() feature.Feature {
	return feature.Feature{
		Name: "booking", Messages: Messages, Portal: Templates, Migrations: Migrations,
		Wire: func(h *feature.Host) error {
			notifier := &Notifier{Outbox: h.Outbox, I18n: h.Portal.I18n, Towns: h.Towns, BaseURL: h.BaseURL, Catalogue: m.Catalogue}
			m.Store = &Store{DB: h.DB, Audit: h.Audit, Key: h.Key("booking links"), Notify: notifier.Ready, Now: m.now, OffersTTL: m.OffersTTL, TakenTTL: m.TakenTTL}
			m.web = &Web{App: h.Portal, Store: m.Store, Catalogue: m.Catalogue, Limiter: h.Limiter, Now: m.now,
				Tokens: h.Tokens, Accounts: h.ID.Svc.Store, BaseURL: h.BaseURL}
			m.web.Routes()
			h.BackOffice(identity.Section{Label: "booking.bo.title", Href: boPath, Roles: OperatorRoles})
			h.Panel(area.Of(area.Activities, m))
			h.Export("bookings", m.export)
			// Bookings follow the account: moved when it is linked to a
			// card's, erased when it is closed.
			h.ID.Svc.Mergers = append(h.ID.Svc.Mergers, m.Store.MergeAccounts)
			h.ID.Svc.Closers = append(h.ID.Svc.Closers, m.Store.Erase)
			h.Every("unconfirmed bookings", time.Minute, func(ctx context.Context) error {
				n, err := m.Store.Expire(ctx)
				if n > 0 {
					h.Log.Info("booking: unconfirmed bookings expired", "bookings", n)
				}
				return err
			})
			// What a change of hours or counters no longer holds is
			// moved to the nearest free slot (cancelled when there is
			// none), and the residents told why.
			h.Every("bookings the hours no longer hold", 5*time.Minute, func(ctx context.Context) error {
				dir, err := m.Catalogue(ctx)
				if err != nil {
					return err
				}
				n, err := m.Store.Reconcile(ctx, dir, func(lang string) string { return h.Portal.I18n.T(lang, "booking.reconcile.reason") })
				if n.Total() > 0 {
					h.Log.Info("booking: appointments the offices no longer hold were moved or cancelled", "moved", n.Moved, "cancelled", n.Cancelled)
				}
				return err
			})
			// The tickets' sexes, counted by the dashboard long before, at
			// night.
			h.Daily("tickets' sexes", 3, 45, func(ctx context.Context, day time.Time) error {
				_, err := m.Store.ForgetSexes(ctx, day)
				return err
			})
			// The reminder of tomorrow's appointments, at 09:00.
			h.Daily("reminders", 9, 0, func(ctx context.Context, day time.Time) error {
				next := hours.DateOf(day).AddDays(1)
				_, err := m.Store.Remind(ctx, next.At(0), next.AddDays(1).At(0))
				return err
			})
			return nil
		},
	}
}

// Panel is the booking's panel on the resident's desk: the coming
// appointments.
func (m *Module) Panel(ctx context.Context, r area.Resident) (area.Summary, error) {
	n, list, err := m.Store.Coming(ctx, r.AccountID, area.MaxItems)
	if err != nil {
		return area.Summary{}, err
	}
	s := area.Summary{Title: "booking.area", Href: AreaPath, Awaiting: n, Empty: "booking.area.empty"}
	dir, err := m.Catalogue(ctx)
	if err != nil {
		return area.Summary{}, err
	}
	for _, b := range list {
		label := b.ServiceID
		if svc, ok := dir.Service(b.ServiceID); ok {
			label = svc.Title
		}
		s.Items = append(s.Items, area.Item{Label: label + " – " + b.Start.In(hours.Rome).Format("02/01/2006 15:04"), Href: AreaPath + "/" + b.ID,
			Status: "booking.state." + string(b.State), Awaiting: true, When: b.Start})
	}
	return s, nil
}

// export is the person's bookings, for the download of their data.
func (m *Module) export(ctx context.Context, a *identity.Account) (any, error) {
	return feature.AllPages(PageSize, func(page int) ([]*Booking, int, error) { return m.Store.Mine(ctx, a.ID, page) })
}
