// Package catalog is the town's offices, with their opening hours, and its
// services, each described in the order of the Designers Italia municipal
// model: what residents read to know where and when they can get something
// done.
package catalog

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/cache"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/hours"
	"github.com/civico-pa/civico/internal/taxonomy"
)

// Office is a place residents go to.
type Office struct {
	ID            string     `json:"id"`
	Name          string     `json:"name"`
	Description   string     `json:"description"`
	Address       string     `json:"address"`
	PostalCode    string     `json:"postal_code"`
	Lat           float64    `json:"lat"`
	Lon           float64    `json:"lon"`
	Phone         string     `json:"phone"`
	Email         string     `json:"email"`
	Accessibility string     `json:"accessibility"`
	Spec          hours.Spec `json:"hours"`

	Hours *hours.Hours `json:"-"`
}

// Service is something residents can ask the town for.
type Service struct {
	ID           string `json:"id"`
	Category     string `json:"category"`
	Title        string `json:"title"`
	Status       string `json:"status"`
	StatusReason string `json:"status_reason"`
	Summary      string `json:"summary"`
	Audience     string `json:"audience"`
	HowTo        string `json:"how_to"`
	Needed       string `json:"needed"`
	Outcome      string `json:"outcome"`
	Deadlines    string `json:"deadlines"`
	MaxDays      int    `json:"max_days"`
	OnlineURL    string `json:"online_url"`
	// Assurance is the minimum level of assurance the service asks for
	// online, in package assurance's words ("" when it asks none).
	Assurance  string   `json:"assurance"`
	Channel    string   `json:"channel"`
	Fees       string   `json:"fees"`
	Conditions string   `json:"conditions"`
	Topics     []string `json:"topics"`
	Audiences  []string `json:"audiences"`
	Offices    []string `json:"offices"`
}

// OnlineHost is the host of the service's online address when it is on
// another site ("" on this one), so the page can say where it leads.
func (s *Service) OnlineHost() string {
	if !strings.HasPrefix(s.OnlineURL, "https://") {
		return ""
	}
	u, err := url.Parse(s.OnlineURL)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

// Active reports whether the service can be used now.
func (s *Service) Active() bool { return s.Status == "active" }

// Catalog is every office and service, as imported and as cached.
type Catalog struct {
	Offices  []*Office  `json:"offices"`
	Services []*Service `json:"services"`
	// Version numbers the catalogues a Store loads, so that what was
	// rendered from one is not taken for another's.
	Version int64 `json:"-"`

	offices  map[string]*Office
	services map[string]*Service
}

// FieldError names what is wrong in a catalogue, e.g. "services[3].category".
type FieldError struct {
	Field, Reason string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

var idRE = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// Audiences residents can filter services by.
var Audiences = []string{"cittadini", "imprese", "famiglie", "studenti", "anziani", "persone-con-disabilita", "associazioni", "professionisti"}

// ParseJSON reads and validates a catalogue.
func ParseJSON(b []byte, holidays hours.Holidays) (*Catalog, error) {
	var c Catalog
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("catalogue: %w", err)
	}
	return &c, c.Validate(holidays)
}

// Validate checks every field the pages and the national validator rely on,
// and computes each office's hours.
func (c *Catalog) Validate(holidays hours.Holidays) error {
	c.offices, c.services = map[string]*Office{}, map[string]*Service{}
	for k, o := range c.Offices {
		f := func(name string) string { return fmt.Sprintf("offices[%d].%s", k, name) }
		if !idRE.MatchString(o.ID) {
			return &FieldError{f("id"), "lower-case letters, digits and hyphens"}
		}
		if c.offices[o.ID] != nil {
			return &FieldError{f("id"), "used twice"}
		}
		for name, v := range map[string]string{"name": o.Name, "address": o.Address, "phone": o.Phone} {
			if len(strings.TrimSpace(v)) < 3 {
				return &FieldError{f(name), "required"}
			}
		}
		h, err := o.Spec.Hours(holidays)
		if err != nil {
			var hfe *hours.FieldError
			if errors.As(err, &hfe) {
				return &FieldError{f("hours." + hfe.Field), hfe.Err.Error()}
			}
			return &FieldError{f("hours"), err.Error()}
		}
		o.Hours = h
		c.offices[o.ID] = o
	}
	for k, s := range c.Services {
		f := func(name string) string { return fmt.Sprintf("services[%d].%s", k, name) }
		if !idRE.MatchString(s.ID) {
			return &FieldError{f("id"), "lower-case letters, digits and hyphens"}
		}
		if c.services[s.ID] != nil {
			return &FieldError{f("id"), "used twice"}
		}
		if _, ok := taxonomy.Find(taxonomy.ServiceCategories, s.Category); !ok {
			return &FieldError{f("category"), "not a national service category"}
		}
		switch s.Status {
		case "active":
		case "suspended":
			if len(strings.TrimSpace(s.StatusReason)) < 3 {
				return &FieldError{f("status_reason"), "say why the service is suspended"}
			}
		default:
			return &FieldError{f("status"), "active or suspended"}
		}
		for name, v := range map[string]string{"title": s.Title, "summary": s.Summary, "audience": s.Audience, "how_to": s.HowTo,
			"needed": s.Needed, "outcome": s.Outcome, "deadlines": s.Deadlines, "conditions": s.Conditions} {
			if len(strings.TrimSpace(v)) < 3 {
				return &FieldError{f(name), "at least 3 characters"}
			}
		}
		if s.MaxDays < 0 || s.MaxDays > 3650 {
			return &FieldError{f("max_days"), "from 0 to 3650"}
		}
		if s.OnlineURL != "" && !strings.HasPrefix(s.OnlineURL, "https://") && !strings.HasPrefix(s.OnlineURL, "/") {
			return &FieldError{f("online_url"), "an https:// address or a path of this site"}
		}
		if _, ok := assurance.Parse(s.Assurance); s.Assurance != "" && !ok {
			return &FieldError{f("assurance"), `"", "low", "substantial" or "high" (package assurance)`}
		}
		if !slices.Contains([]string{"online", "desk", "both"}, s.Channel) {
			return &FieldError{f("channel"), "online, desk or both"}
		}
		if s.Channel != "desk" && s.OnlineURL == "" {
			return &FieldError{f("online_url"), "a service online says where: its address is required"}
		}
		if len(s.Topics) == 0 {
			return &FieldError{f("topics"), "at least one topic"}
		}
		for j, t := range s.Topics {
			if _, ok := taxonomy.Find(taxonomy.Topics, t); !ok {
				return &FieldError{fmt.Sprintf("services[%d].topics[%d]", k, j), "not a national topic"}
			}
		}
		for j, a := range s.Audiences {
			if !slices.Contains(Audiences, a) {
				return &FieldError{fmt.Sprintf("services[%d].audiences[%d]", k, j), "unknown audience"}
			}
		}
		if len(s.Offices) == 0 && s.Channel != "online" {
			return &FieldError{f("offices"), "a service at the desk needs an office"}
		}
		for j, o := range s.Offices {
			if c.offices[o] == nil {
				return &FieldError{fmt.Sprintf("services[%d].offices[%d]", k, j), "unknown office " + o}
			}
		}
		c.services[s.ID] = s
	}
	sort.Slice(c.Services, func(a, b int) bool { return c.Services[a].Title < c.Services[b].Title })
	sort.Slice(c.Offices, func(a, b int) bool { return c.Offices[a].Name < c.Offices[b].Name })
	return nil
}

// Office returns an office by id.
func (c *Catalog) Office(id string) (*Office, bool) { o, ok := c.offices[id]; return o, ok }

// Service returns a service by id.
func (c *Catalog) Service(id string) (*Service, bool) { s, ok := c.services[id]; return s, ok }

// In lists the services of a category.
func (c *Catalog) In(category string) []*Service {
	var out []*Service
	for _, s := range c.Services {
		if s.Category == category {
			out = append(out, s)
		}
	}
	return out
}

// About lists the services that carry a national topic.
func (c *Catalog) About(topic string) []*Service {
	var out []*Service
	for _, s := range c.Services {
		if slices.Contains(s.Topics, topic) {
			out = append(out, s)
		}
	}
	return out
}

// At lists the services an office handles.
func (c *Catalog) At(office string) []*Service {
	var out []*Service
	for _, s := range c.Services {
		if slices.Contains(s.Offices, office) {
			out = append(out, s)
		}
	}
	return out
}

// OfficesOf lists a service's offices.
func (c *Catalog) OfficesOf(s *Service) []*Office {
	out := make([]*Office, 0, len(s.Offices))
	for _, id := range s.Offices {
		out = append(out, c.offices[id])
	}
	return out
}

// Store keeps the catalogue in the database and a validated copy in memory.
type Store struct {
	DB       *db.DB
	Holidays func(ctx context.Context) hours.Holidays

	// cached is the catalogue as last loaded. Key: none (one catalogue).
	// Purge rule: the TTL (30 s in civico, so every process sees another's
	// edit within it), and Forget after an edit through this process.
	cached   *cache.Cache[struct{}, *Catalog]
	versions atomic.Int64
}

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
		c, err := s.load(ctx)
		if err != nil {
			return nil, err
		}
		c.Version = s.versions.Add(1)
		return c, nil
	})
}

func (s *Store) load(ctx context.Context) (*Catalog, error) {
	c := &Catalog{}
	rows, err := s.DB.QueryContext(ctx, `SELECT id, name, description, address, postal_code, COALESCE(lat, 0), COALESCE(lon, 0), phone, email, accessibility, hours FROM offices`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		o := &Office{}
		var spec string
		if err := rows.Scan(&o.ID, &o.Name, &o.Description, &o.Address, &o.PostalCode, &o.Lat, &o.Lon, &o.Phone, &o.Email, &o.Accessibility, &spec); err != nil {
			_ = rows.Close()
			return nil, err
		}
		if err := json.Unmarshal([]byte(spec), &o.Spec); err != nil {
			_ = rows.Close()
			return nil, fmt.Errorf("office %s: stored hours: %w", o.ID, err)
		}
		c.Offices = append(c.Offices, o)
	}
	_ = rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	links := map[string][]string{}
	lrows, err := s.DB.QueryContext(ctx, `SELECT service_id, office_id FROM service_offices ORDER BY service_id, position`)
	if err != nil {
		return nil, err
	}
	for lrows.Next() {
		var sid, oid string
		if err := lrows.Scan(&sid, &oid); err != nil {
			_ = lrows.Close()
			return nil, err
		}
		links[sid] = append(links[sid], oid)
	}
	_ = lrows.Close()
	srows, err := s.DB.QueryContext(ctx, `SELECT id, category, title, status, status_reason, summary, audience, how_to, needed, outcome, deadlines,
		max_days, online_url, assurance, channel, fees, conditions, topics, audiences FROM services`)
	if err != nil {
		return nil, err
	}
	defer srows.Close()
	for srows.Next() {
		v := &Service{}
		var topics, audiences string
		if err := srows.Scan(&v.ID, &v.Category, &v.Title, &v.Status, &v.StatusReason, &v.Summary, &v.Audience, &v.HowTo, &v.Needed,
			&v.Outcome, &v.Deadlines, &v.MaxDays, &v.OnlineURL, &v.Assurance, &v.Channel, &v.Fees, &v.Conditions, &topics, &audiences); err != nil {
			return nil, err
		}
		v.Topics, v.Audiences, v.Offices = splitList(topics), splitList(audiences), links[v.ID]
		c.Services = append(c.Services, v)
	}
	if err := srows.Err(); err != nil {
		return nil, err
	}
	if err := c.Validate(s.holidays(ctx)); err != nil {
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

// Import replaces the whole catalogue in one transaction.
func (s *Store) Import(ctx context.Context, c *Catalog) error {
	if err := c.Validate(s.holidays(ctx)); err != nil {
		return err
	}
	now := time.Now().UTC()
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		for _, q := range []string{`DELETE FROM service_offices`, `DELETE FROM services`, `DELETE FROM offices`} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		for _, o := range c.Offices {
			spec, err := json.Marshal(o.Spec)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO offices (id, name, description, address, postal_code, lat, lon, phone, email, accessibility, hours, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
				o.ID, o.Name, o.Description, o.Address, o.PostalCode, o.Lat, o.Lon, o.Phone, o.Email, o.Accessibility, string(spec), now); err != nil {
				return err
			}
		}
		for _, v := range c.Services {
			if _, err := tx.ExecContext(ctx, `INSERT INTO services (id, category, title, status, status_reason, summary, audience, how_to, needed, outcome,
				deadlines, max_days, online_url, assurance, channel, fees, conditions, topics, audiences, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)`,
				v.ID, v.Category, v.Title, v.Status, v.StatusReason, v.Summary, v.Audience, v.HowTo, v.Needed, v.Outcome, v.Deadlines,
				v.MaxDays, v.OnlineURL, v.Assurance, v.Channel, v.Fees, v.Conditions, strings.Join(v.Topics, ","), strings.Join(v.Audiences, ","), now); err != nil {
				return err
			}
			for pos, o := range v.Offices {
				if _, err := tx.ExecContext(ctx, `INSERT INTO service_offices (service_id, office_id, position) VALUES ($1, $2, $3)`, v.ID, o, pos); err != nil {
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
