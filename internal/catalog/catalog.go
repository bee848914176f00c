// Package catalog is the town's offices, with their opening hours, and its
// services, each described in the order of the Designers Italia municipal
// model: what residents read to know where and when they can get something
// done.
package catalog

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/civico-pa/civico/internal/hours"
)

// Office is a place residents go to.
type Office struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Description is the office's short description (at most 160
	// characters, as the national model's "descrizione breve").
	Description string `json:"description"`
	Address     string `json:"address"`
	PostalCode  string `json:"postal_code"`
	// Lat and Lon are in decimal degrees; both zero when unknown.
	Lat           float64    `json:"lat"`
	Lon           float64    `json:"lon"`
	Phone         string     `json:"phone"`
	Email         string     `json:"email"`
	Accessibility string     `json:"accessibility"`
	Spec          hours.Spec `json:"hours"`
	// Translations are the office's texts in other languages than
	// Italian, by language ("en"); each field may be missing.
	Translations map[string]*OfficeText `json:"translations,omitempty"`
	// Retired offices are off the portal and the API, kept for the back
	// office.
	Retired bool `json:"retired,omitempty"`
	// Version counts the office's saves: an edit based on an older one is
	// refused (Stale).
	Version int `json:"-"`

	Hours *hours.Hours `json:"-"`
}

// Service is something residents can ask the town for.
type Service struct {
	ID           string `json:"id"`
	Category     string `json:"category"`
	Title        string `json:"title"`
	Status       string `json:"status"`
	StatusReason string `json:"status_reason"`
	// Summary is the short description (at most 160 characters);
	// Description the long one, optional.
	Summary     string `json:"summary"`
	Description string `json:"description,omitempty"`
	Audience    string `json:"audience"`
	HowTo       string `json:"how_to"`
	Needed      string `json:"needed"`
	Outcome     string `json:"outcome"`
	Deadlines   string `json:"deadlines"`
	MaxDays     int    `json:"max_days"`
	OnlineURL   string `json:"online_url"`
	// Assurance is the minimum level of assurance the service asks for
	// online, in package assurance's words ("" when it asks none).
	Assurance  string   `json:"assurance"`
	Channel    string   `json:"channel"`
	Fees       string   `json:"fees"`
	Conditions string   `json:"conditions"`
	Topics     []string `json:"topics"`
	Audiences  []string `json:"audiences"`
	Offices    []string `json:"offices"`
	// LifeEvents and BusinessEvents are codes of the national
	// vocabularies (taxonomy.LifeEvents, taxonomy.BusinessEvents).
	LifeEvents     []string `json:"life_events,omitempty"`
	BusinessEvents []string `json:"business_events,omitempty"`
	// Translations are the service's texts in other languages than
	// Italian, by language ("en"); each field may be missing.
	Translations map[string]*ServiceText `json:"translations,omitempty"`
	// Retired services are off the portal and the API, kept for the back
	// office.
	Retired bool `json:"retired,omitempty"`
	// Version counts the service's saves (see Office.Version).
	Version int `json:"-"`
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

// Channels a service is offered through.
var Channels = []string{"online", "desk", "both"}

// Statuses of a service.
var Statuses = []string{"active", "suspended"}

// Catalog is every office and service, as imported and as cached.
type Catalog struct {
	// Offices and Services are the published ones: what the portal and
	// the API show. Once validated, each list is sorted by name or title
	// and the retired ones are in RetiredOffices and RetiredServices.
	Offices         []*Office  `json:"offices"`
	Services        []*Service `json:"services"`
	RetiredOffices  []*Office  `json:"retired_offices,omitempty"`
	RetiredServices []*Service `json:"retired_services,omitempty"`
	// Version numbers the catalogues a Store loads, so that what was
	// rendered from one is not taken for another's.
	Version int64 `json:"-"`

	offices, allOffices   map[string]*Office
	services, allServices map[string]*Service
}

// Audiences residents can filter services by.
var Audiences = []string{"cittadini", "imprese", "famiglie", "studenti", "anziani", "persone-con-disabilita", "associazioni", "professionisti"}

// ParseJSON reads and validates a catalogue, every field by the rules of
// the back office.
func ParseJSON(b []byte, holidays hours.Holidays) (*Catalog, error) {
	var c Catalog
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("catalogue: %w", err)
	}
	return &c, c.Validate(holidays)
}

// Validate checks every field of every office and service by the rules of
// the back office, computes each office's hours and sorts the published
// from the retired. The error is Invalid, with every error found.
func (c *Catalog) Validate(holidays hours.Holidays) error {
	return c.validate(holidays, func(string, string) bool { return true })
}

// validate checks the catalogue. strict says which offices and services
// ("office", id / "service", id) are held to every rule of the back
// office; the others only to what the pages rely on (ids, references,
// closed lists, required texts, readable hours), so that a catalogue stored
// before a rule was added still loads, and editing one service never fails
// on another's old text.
func (c *Catalog) validate(holidays hours.Holidays, strict func(kind, id string) bool) error {
	var errs Invalid
	type officeAt struct {
		o    *Office
		path string
	}
	type serviceAt struct {
		s    *Service
		path string
	}
	var offices []officeAt
	for k, o := range c.Offices {
		offices = append(offices, officeAt{o, fmt.Sprintf("offices[%d]", k)})
	}
	for k, o := range c.RetiredOffices {
		offices = append(offices, officeAt{o, fmt.Sprintf("retired_offices[%d]", k)})
	}
	var services []serviceAt
	for k, s := range c.Services {
		services = append(services, serviceAt{s, fmt.Sprintf("services[%d]", k)})
	}
	for k, s := range c.RetiredServices {
		services = append(services, serviceAt{s, fmt.Sprintf("retired_services[%d]", k)})
	}

	c.offices, c.allOffices = map[string]*Office{}, map[string]*Office{}
	c.services, c.allServices = map[string]*Service{}, map[string]*Service{}
	c.Offices, c.RetiredOffices, c.Services, c.RetiredServices = nil, nil, nil, nil
	for _, at := range offices {
		o := at.o
		strictly := strict("office", o.ID)
		oerrs := checkOffice(o, strictly)
		h, err := o.Spec.Hours(holidays)
		if err == nil {
			o.Hours = h
		} else if !strictly || !slices.ContainsFunc(oerrs, func(e *FieldError) bool { return strings.HasPrefix(e.Field, "hours") }) {
			// Check finds whatever Hours refuses; a stored timetable is
			// held to Hours alone.
			oerrs = append(oerrs, hoursErrors([]*hours.FieldError{asFieldError(err)})...)
		}
		errs = append(errs, entityErrors(at.path, "office", o.ID, oerrs)...)
		if c.allOffices[o.ID] != nil {
			errs = append(errs, entityErrors(at.path, "office", o.ID, []*FieldError{{Field: "id", Message: "catalog.error.id_taken"}})...)
			continue
		}
		c.allOffices[o.ID] = o
		if o.Retired {
			c.RetiredOffices = append(c.RetiredOffices, o)
		} else {
			c.offices[o.ID] = o
			c.Offices = append(c.Offices, o)
		}
	}
	for _, at := range services {
		s := at.s
		errs = append(errs, entityErrors(at.path, "service", s.ID, c.checkService(s, strict("service", s.ID)))...)
		if c.allServices[s.ID] != nil {
			errs = append(errs, entityErrors(at.path, "service", s.ID, []*FieldError{{Field: "id", Message: "catalog.error.id_taken"}})...)
			continue
		}
		c.allServices[s.ID] = s
		if s.Retired {
			c.RetiredServices = append(c.RetiredServices, s)
		} else {
			c.services[s.ID] = s
			c.Services = append(c.Services, s)
		}
	}
	for _, list := range [][]*Service{c.Services, c.RetiredServices} {
		sort.SliceStable(list, func(a, b int) bool { return list[a].Title < list[b].Title })
	}
	for _, list := range [][]*Office{c.Offices, c.RetiredOffices} {
		sort.SliceStable(list, func(a, b int) bool { return list[a].Name < list[b].Name })
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// Office returns a published office by id.
func (c *Catalog) Office(id string) (*Office, bool) { o, ok := c.offices[id]; return o, ok }

// Service returns a published service by id.
func (c *Catalog) Service(id string) (*Service, bool) { s, ok := c.services[id]; return s, ok }

// AnyOffice returns an office by id, published or retired (the back office).
func (c *Catalog) AnyOffice(id string) (*Office, bool) { o, ok := c.allOffices[id]; return o, ok }

// AnyService returns a service by id, published or retired (the back
// office).
func (c *Catalog) AnyService(id string) (*Service, bool) { s, ok := c.allServices[id]; return s, ok }

// In lists the published services of a category.
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

// Users lists every service, published or retired, that names the office:
// what keeps it from being deleted.
func (c *Catalog) Users(office string) []*Service {
	var out []*Service
	for _, list := range [][]*Service{c.Services, c.RetiredServices} {
		for _, s := range list {
			if slices.Contains(s.Offices, office) {
				out = append(out, s)
			}
		}
	}
	return out
}

// OfficesOf lists a service's offices.
func (c *Catalog) OfficesOf(s *Service) []*Office {
	out := make([]*Office, 0, len(s.Offices))
	for _, id := range s.Offices {
		if o := c.allOffices[id]; o != nil {
			out = append(out, o)
		}
	}
	return out
}

// clone is a copy of the catalogue that validate may change without
// touching what other requests read: its lists, and a copy of each office
// (validate computes hours).
func (c *Catalog) clone() *Catalog {
	n := &Catalog{Services: slices.Clone(c.Services), RetiredServices: slices.Clone(c.RetiredServices)}
	for _, list := range []struct {
		from []*Office
		to   *[]*Office
	}{{c.Offices, &n.Offices}, {c.RetiredOffices, &n.RetiredOffices}} {
		for _, o := range list.from {
			cp := *o
			*list.to = append(*list.to, &cp)
		}
	}
	return n
}

// putOffice puts o in the catalogue in place of the office with its id, or
// adds it.
func (c *Catalog) putOffice(o *Office) {
	for _, list := range []*[]*Office{&c.Offices, &c.RetiredOffices} {
		*list = slices.DeleteFunc(*list, func(x *Office) bool { return x.ID == o.ID })
	}
	c.Offices = append(c.Offices, o)
}

// putService puts v in the catalogue in place of the service with its id,
// or adds it.
func (c *Catalog) putService(v *Service) {
	for _, list := range []*[]*Service{&c.Services, &c.RetiredServices} {
		*list = slices.DeleteFunc(*list, func(x *Service) bool { return x.ID == v.ID })
	}
	c.Services = append(c.Services, v)
}

// dropService takes a service out.
func (c *Catalog) dropService(id string) {
	for _, list := range []*[]*Service{&c.Services, &c.RetiredServices} {
		*list = slices.DeleteFunc(*list, func(x *Service) bool { return x.ID == id })
	}
}
