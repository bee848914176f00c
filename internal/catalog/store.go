package catalog

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/civico-pa/civico/internal/cache"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/hours"
)

// Store keeps the catalogue in the database and a validated copy in memory.
type Store struct {
	DB       *db.DB
	Holidays func(ctx context.Context) hours.Holidays
	// Uses lists what other features hold that refers to a service (the
	// forms library's forms): a service they use is not deleted. Nil: none.
	Uses ServiceUses

	// cached is the catalogue as last loaded. Key: none (one catalogue).
	// Purge rule: the TTL (30 s in civico, so every process sees another's
	// edit within it), and Forget after an edit through this process.
	cached   *cache.Cache[struct{}, *Catalog]
	versions atomic.Int64
}

// Use is something that refers to an office or a service: what keeps it
// from being deleted.
type Use struct {
	// Kind says what it is, for the message that names it: "form",
	// "form_archived" (the forms library), "service".
	Kind  string
	Title string
	// Href is where the back office edits it.
	Href string
}

// ServiceUses lists what refers to a service, in tx (the catalogue's
// transaction that would delete it).
type ServiceUses func(ctx context.Context, tx *sql.Tx, serviceID string) ([]Use, error)

// NewStore returns a store keeping its catalogue in memory for ttl (zero:
// read at every Get). db may be set later, before the first Get.
func NewStore(d *db.DB, ttl time.Duration) *Store {
	return &Store{DB: d, cached: cache.New[struct{}, *Catalog](ttl, 1)}
}

// ErrEmpty means no catalogue has been loaded.
var ErrEmpty = errors.New("the catalogue is empty")

// Get returns the current catalogue. When it must be read, requests asking
// at once wait for one reading.
func (s *Store) Get(ctx context.Context) (*Catalog, error) {
	return s.cached.Load(struct{}{}, func() (*Catalog, error) {
		c, err := s.load(ctx, s.DB)
		if err != nil {
			return nil, err
		}
		c.Version = s.versions.Add(1)
		return c, nil
	})
}

// Forget drops the cached catalogue: the next Get reads the database (after an edit).
func (s *Store) Forget() { s.cached.Purge() }

// querier is the database or a transaction.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// each runs scan on every row of a query.
func each(ctx context.Context, q querier, query string, scan func(*sql.Rows) error) error {
	rows, err := q.QueryContext(ctx, query)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// load reads the catalogue, held to the rules the pages rely on (see
// Catalog.validate).
func (s *Store) load(ctx context.Context, q querier) (*Catalog, error) {
	c := &Catalog{}
	offices := map[string]*Office{}
	err := each(ctx, q, `SELECT id, name, description, address, postal_code, COALESCE(lat, 0), COALESCE(lon, 0), phone, email, accessibility, hours,
		retired_at IS NOT NULL, version FROM offices`, func(rows *sql.Rows) error {
		o := &Office{}
		var spec string
		if err := rows.Scan(&o.ID, &o.Name, &o.Description, &o.Address, &o.PostalCode, &o.Lat, &o.Lon, &o.Phone, &o.Email, &o.Accessibility, &spec,
			&o.Retired, &o.Version); err != nil {
			return err
		}
		if err := json.Unmarshal([]byte(spec), &o.Spec); err != nil {
			return fmt.Errorf("office %s: stored hours: %w", o.ID, err)
		}
		offices[o.ID] = o
		c.Offices = append(c.Offices, o)
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = each(ctx, q, `SELECT office_id, lang, name, description, accessibility FROM office_translations`, func(rows *sql.Rows) error {
		var id, lang string
		t := &OfficeText{}
		if err := rows.Scan(&id, &lang, &t.Name, &t.Description, &t.Accessibility); err != nil {
			return err
		}
		if o := offices[id]; o != nil {
			if o.Translations == nil {
				o.Translations = map[string]*OfficeText{}
			}
			o.Translations[lang] = t
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	links := map[string][]string{}
	err = each(ctx, q, `SELECT service_id, office_id FROM service_offices ORDER BY service_id, position`, func(rows *sql.Rows) error {
		var sid, oid string
		if err := rows.Scan(&sid, &oid); err != nil {
			return err
		}
		links[sid] = append(links[sid], oid)
		return nil
	})
	if err != nil {
		return nil, err
	}
	services := map[string]*Service{}
	err = each(ctx, q, `SELECT id, category, title, status, status_reason, summary, description, audience, how_to, needed, outcome, deadlines,
		max_days, online_url, assurance, channel, fees, conditions, topics, audiences, life_events, business_events,
		retired_at IS NOT NULL, version FROM services`, func(rows *sql.Rows) error {
		v := &Service{}
		var topics, audiences, life, business string
		if err := rows.Scan(&v.ID, &v.Category, &v.Title, &v.Status, &v.StatusReason, &v.Summary, &v.Description, &v.Audience, &v.HowTo, &v.Needed,
			&v.Outcome, &v.Deadlines, &v.MaxDays, &v.OnlineURL, &v.Assurance, &v.Channel, &v.Fees, &v.Conditions, &topics, &audiences,
			&life, &business, &v.Retired, &v.Version); err != nil {
			return err
		}
		v.Topics, v.Audiences, v.Offices = splitList(topics), splitList(audiences), links[v.ID]
		v.LifeEvents, v.BusinessEvents = splitList(life), splitList(business)
		services[v.ID] = v
		c.Services = append(c.Services, v)
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = each(ctx, q, `SELECT service_id, lang, title, summary, description, status_reason, audience, how_to, needed, outcome, deadlines, fees, conditions
		FROM service_translations`, func(rows *sql.Rows) error {
		var id, lang string
		t := &ServiceText{}
		if err := rows.Scan(&id, &lang, &t.Title, &t.Summary, &t.Description, &t.StatusReason, &t.Audience, &t.HowTo, &t.Needed, &t.Outcome,
			&t.Deadlines, &t.Fees, &t.Conditions); err != nil {
			return err
		}
		if v := services[id]; v != nil {
			if v.Translations == nil {
				v.Translations = map[string]*ServiceText{}
			}
			v.Translations[lang] = t
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := c.validate(s.holidays(ctx), func(string, string) bool { return false }); err != nil {
		return nil, fmt.Errorf("stored catalogue: %w", err)
	}
	return c, nil
}

func (s *Store) holidays(ctx context.Context) hours.Holidays {
	if s.Holidays == nil {
		return hours.Holidays{}
	}
	return s.Holidays(ctx)
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// Import replaces the whole catalogue in one transaction; every office and
// service is held to the back office's rules.
func (s *Store) Import(ctx context.Context, c *Catalog) error {
	if err := c.Validate(s.holidays(ctx)); err != nil {
		return err
	}
	now := time.Now().UTC()
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.DB.Hold(ctx, tx, db.LockCatalog); err != nil {
			return err
		}
		for _, q := range []string{`DELETE FROM service_translations`, `DELETE FROM office_translations`, `DELETE FROM service_offices`,
			`DELETE FROM services`, `DELETE FROM offices`} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		for _, list := range [][]*Office{c.Offices, c.RetiredOffices} {
			for _, o := range list {
				if err := insertOffice(ctx, tx, o, now); err != nil {
					return err
				}
			}
		}
		for _, list := range [][]*Service{c.Services, c.RetiredServices} {
			for _, v := range list {
				if err := insertService(ctx, tx, v, now); err != nil {
					return err
				}
			}
		}
		return indexServices(ctx, s.DB, tx, c.Services)
	})
	if err != nil {
		return err
	}
	s.Forget()
	return nil
}

// Empty reports whether no office has been loaded yet.
func (s *Store) Empty(ctx context.Context) (bool, error) {
	var n int
	err := s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM offices`).Scan(&n)
	return n == 0, err
}

// retiredAt is the stored value of an office's or a service's retirement.
func retiredAt(retired bool, now time.Time) any {
	if retired {
		return now
	}
	return nil
}

// coordinate stores an unknown position (both zero) as NULL.
func coordinate(o *Office, v float64) any {
	if o.Lat == 0 && o.Lon == 0 {
		return nil
	}
	return v
}

func insertOffice(ctx context.Context, tx *sql.Tx, o *Office, now time.Time) error {
	spec, err := json.Marshal(o.Spec)
	if err != nil {
		return err
	}
	if o.Version == 0 {
		o.Version = 1
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO offices (id, name, description, address, postal_code, lat, lon, phone, email, accessibility, hours,
		updated_at, retired_at, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		o.ID, o.Name, o.Description, o.Address, o.PostalCode, coordinate(o, o.Lat), coordinate(o, o.Lon), o.Phone, o.Email, o.Accessibility,
		string(spec), now, retiredAt(o.Retired, now), o.Version); err != nil {
		return err
	}
	return writeOfficeTranslations(ctx, tx, o)
}

func writeOfficeTranslations(ctx context.Context, tx *sql.Tx, o *Office) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM office_translations WHERE office_id = $1`, o.ID); err != nil {
		return err
	}
	for lang, t := range o.Translations {
		if t.empty() {
			continue
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO office_translations (office_id, lang, name, description, accessibility) VALUES ($1, $2, $3, $4, $5)`,
			o.ID, lang, t.Name, t.Description, t.Accessibility); err != nil {
			return err
		}
	}
	return nil
}

func insertService(ctx context.Context, tx *sql.Tx, v *Service, now time.Time) error {
	if v.Version == 0 {
		v.Version = 1
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO services (id, category, title, status, status_reason, summary, description, audience, how_to,
		needed, outcome, deadlines, max_days, online_url, assurance, channel, fees, conditions, topics, audiences, life_events, business_events,
		updated_at, retired_at, version)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25)`,
		v.ID, v.Category, v.Title, v.Status, v.StatusReason, v.Summary, v.Description, v.Audience, v.HowTo, v.Needed, v.Outcome, v.Deadlines,
		v.MaxDays, v.OnlineURL, v.Assurance, v.Channel, v.Fees, v.Conditions, strings.Join(v.Topics, ","), strings.Join(v.Audiences, ","),
		strings.Join(v.LifeEvents, ","), strings.Join(v.BusinessEvents, ","), now, retiredAt(v.Retired, now), v.Version); err != nil {
		return err
	}
	if err := writeLinks(ctx, tx, v); err != nil {
		return err
	}
	return writeServiceTranslations(ctx, tx, v)
}

func writeLinks(ctx context.Context, tx *sql.Tx, v *Service) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM service_offices WHERE service_id = $1`, v.ID); err != nil {
		return err
	}
	for pos, o := range v.Offices {
		if _, err := tx.ExecContext(ctx, `INSERT INTO service_offices (service_id, office_id, position) VALUES ($1, $2, $3)`, v.ID, o, pos); err != nil {
			return err
		}
	}
	return nil
}

func writeServiceTranslations(ctx context.Context, tx *sql.Tx, v *Service) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM service_translations WHERE service_id = $1`, v.ID); err != nil {
		return err
	}
	for lang, t := range v.Translations {
		if t.empty() {
			continue
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO service_translations (service_id, lang, title, summary, description, status_reason, audience,
			how_to, needed, outcome, deadlines, fees, conditions) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
			v.ID, lang, t.Title, t.Summary, t.Description, t.StatusReason, t.Audience, t.HowTo, t.Needed, t.Outcome, t.Deadlines, t.Fees, t.Conditions); err != nil {
			return err
		}
	}
	return nil
}
