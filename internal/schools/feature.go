package schools

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/civico-pa/civico/internal/area"
	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/feature"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/population"
)

// Templates and Messages are the feature's pages and texts.
//
//go:embed templates
var Templates embed.FS

//go:embed locales
var Messages embed.FS

//go:embed migrations
var migrationFiles embed.FS

// Migrations are the feature's tables (see db.Source).
var Migrations, _ = fs.Sub(migrationFiles, "migrations")

// Paths of the feature.
const (
	Path     = "/servizi-scolastici"
	AreaPath = "/area-personale/iscrizioni-scolastiche"
	boPath   = "/backoffice/servizi-scolastici"
)

// OfficeRoles define the services and read the lists: the school office
// and the administrators.
var OfficeRoles = []string{"schools", "admin"}

// Need is the assurance an enrolment needs: a login that proved the
// parent's fiscal code (SPID, CIE, the card).
const Need = assurance.Substantial

// Module is the school services as civico wires it.
type Module struct {
	// Now is the clock (nil: the system's).
	Now   func() time.Time
	Store *Store
	// Biller makes the monthly bills' debt positions (the payments
	// feature, joined in cmd/civico): nil, no bills.
	Biller Biller
}

// BillHour and BillMinute are when, Rome time, the daily job bills the
// day's month: the first run of a month bills every accepted enrolment,
// the next ones only those accepted since (docs/SCHOOLS.md).
const (
	BillHour   = 6
	BillMinute = 15
)

// Feature is the school services: the public list, the enrolment, the
// parent's enrolments in the personal area, the school office's back
// office.
func (m *Module) Feature() feature.Feature {
	return feature.Feature{
		Name: "schools", Messages: Messages, Portal: Templates, Migrations: Migrations,
		Wire: func(h *feature.Host) error {
			n := &Notifier{Outbox: h.Outbox, I18n: h.Portal.I18n, Towns: h.Towns, BaseURL: h.BaseURL}
			register := &population.Register{DB: h.DB}
			m.Store = &Store{DB: h.DB, Audit: h.Audit, Letters: n.Letter, Files: h.Attachments, Now: m.Now, Biller: m.Biller, BillLetters: n.BillLetter, Log: h.Log,
				Resident: func(ctx context.Context, code string) (bool, error) {
					_, ok, err := register.Lookup(ctx, code)
					return ok, err
				}, Household: register.Housemates}
			(&Web{App: h.Portal, Store: m.Store, Now: m.Now, Limiter: h.Limiter}).Routes()
			h.BackOffice(identity.Section{Label: "schools.bo.title", Href: boPath, Roles: OfficeRoles})
			h.Panel(area.Of(area.Activities, m))
			h.Export("school_enrolments", m.export)
			h.ID.Svc.Mergers = append(h.ID.Svc.Mergers, m.Store.MergeAccounts)
			h.ID.Svc.Closers = append(h.ID.Svc.Closers, m.Store.Erase)
			// A service by ranking is ranked within the minute its window closes.
			h.Every("rankings at window close", time.Minute, func(ctx context.Context) error {
				n, err := m.Store.RankDue(ctx)
				if n > 0 {
					h.Log.Info("schools: rankings applied", "services", n)
				}
				return err
			})
			if m.Biller != nil {
				h.Daily("monthly bills", BillHour, BillMinute, func(ctx context.Context, day time.Time) error {
					res, err := m.Store.BillMonth(ctx, day.In(rome).Format("2006-01"), Actor{Name: "system"}, nil)
					if err != nil {
						return err
					}
					if res.Billed+res.Exempt > 0 {
						h.Log.Info("schools: monthly bills", "month", res.Month, "billed", res.Billed, "exempt", res.Exempt, "amount", Euro(res.Amount))
					}
					if res.Failed > 0 {
						return fmt.Errorf("schools: %d enrolments not billed for %s: %w", res.Failed, res.Month, errors.Join(res.Errors...))
					}
					return nil
				})
			}
			return nil
		},
	}
}

// Panel is the feature's panel on the parent's desk: the latest
// enrolments with their status.
func (m *Module) Panel(ctx context.Context, r area.Resident) (area.Summary, error) {
	s := area.Summary{Title: "schools.area", Href: AreaPath, Needs: Need, Empty: "schools.area.empty"}
	if r.FiscalCode == "" {
		return s, nil
	}
	list, err := m.Store.Latest(ctx, r.AccountID, area.MaxItems)
	if err != nil {
		return area.Summary{}, err
	}
	for _, e := range list {
		s.Items = append(s.Items, area.Item{Label: e.Service + " – " + e.ChildGiven + " " + e.ChildFamily, Href: AreaPath + "/" + e.ID,
			Status: "schools.status." + string(e.Status), When: e.UpdatedAt})
	}
	return s, nil
}

// export is the person's enrolments, for the download of their data.
func (m *Module) export(ctx context.Context, a *identity.Account) (any, error) {
	return feature.AllPages(PageSize, func(page int) ([]*Enrolment, int, error) { return m.Store.Mine(ctx, a.ID, page) })
}
