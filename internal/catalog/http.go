package catalog

import (
	"embed"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/civico-pa/civico/internal/hours"
	"github.com/civico-pa/civico/internal/taxonomy"
	"github.com/civico-pa/civico/internal/throttle"
	"github.com/civico-pa/civico/internal/town"
	"github.com/civico-pa/civico/internal/web"
)

// Templates and Messages are the catalogue's pages and their translations.
//
//go:embed templates
var Templates embed.FS

//go:embed locales
var Messages embed.FS

// Web serves the catalogue's pages and API.
type Web struct {
	App   *web.App
	Store *Store
	Now   func() time.Time
	// Forms lists a service's downloadable forms for its page; nil lists
	// none.
	Forms FormsOf
	// Proposals are the time-use survey's proposed extra openings for the
	// coordination view; nil shows none.
	Proposals HoursProposals
	// Limiter keeps anonymous clients' budgets of coordination views
	// (CoordinationViews); nil sets no budget.
	Limiter *throttle.Limiter
	// Host is the portal's public host name, which names the openings of
	// the calendar feeds (their UIDs); empty: the request's.
	Host string
}

func (h *Web) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// Routes is the map of the catalogue.
func (h *Web) Routes() {
	m := h.App.For("catalog")
	m.HandleFunc("GET /servizi", h.servicesIndex)
	m.HandleFunc("GET /servizi/{category}", h.category)
	m.HandleFunc("GET /servizi/{category}/{id}", h.service)
	m.HandleFunc("GET /amministrazione/uffici", h.officesIndex)
	m.HandleFunc("GET /amministrazione/uffici/{id}", h.office)
	m.HandleFunc("GET /dove-e-quando", h.finder)
	m.HandleFunc("GET /coordinamento-orari", h.coordination)
	m.HandleFunc("GET /offices/{id}/hours.ics", h.officeICS)
	m.HandleFunc("GET /api/v1/offices", h.apiOffices)
	m.HandleFunc("GET /api/v1/offices/{id}", h.apiOffice)
	m.HandleFunc("GET /api/v1/services", h.apiServices)
	m.HandleFunc("GET /api/v1/services/{id}", h.apiService)
}

func (h *Web) catalog(w http.ResponseWriter, r *http.Request) (*Catalog, bool) {
	c, err := h.Store.Get(r.Context())
	if err != nil {
		h.App.Log.Error("catalogue", "err", err, "request_id", web.RequestID(r.Context()))
		h.App.Error(w, r, http.StatusInternalServerError)
		return nil, false
	}
	return c, true
}

// Status is an office's situation at an instant, for the pages.
type Status struct {
	Open    bool
	Until   time.Time // when it closes, if open
	Next    time.Time // next opening, if closed
	HasNext bool
	// NextToday says the next opening is later today; NextDate is its day
	// as the site writes it (with the year when it is not this year's).
	NextToday bool
	NextDate  string
}

func statusOf(o *Office, now time.Time) Status {
	s := Status{}
	span, ok := o.Hours.NextOpening(now, 60)
	if ok && !span.Start.After(now) {
		s.Open, s.Until = true, span.End.In(hours.Rome)
		return s
	}
	s.Next, s.HasNext = span.Start.In(hours.Rome), ok
	if ok {
		s.NextToday = hours.DateOf(span.Start) == hours.DateOf(now)
		s.NextDate = shortDate(span.Start, now)
	}
	return s
}

// DayHours is what an office does on one of the coming days.
type DayHours struct {
	Date      time.Time
	Intervals []hours.Interval
	Holiday   string
	Note      string
	Today     bool
}

func comingDays(o *Office, now time.Time, n int) []DayHours {
	out := make([]DayHours, 0, n)
	d := hours.DateOf(now)
	for i := range n {
		day := o.Hours.On(d.AddDays(i))
		dh := DayHours{Date: day.Date.At(12 * 60), Intervals: day.Intervals, Holiday: day.Holiday, Today: i == 0}
		if day.Exception != nil {
			dh.Note = day.Exception.Note
		}
		out = append(out, dh)
	}
	return out
}

// OfficeView is an office with its situation now.
type OfficeView struct {
	*Office
	// Text are the office's texts in the page's language where it has
	// them, else in Italian.
	Text   OfficeTexts
	Status Status
	// Days are the office's coming days (the "days" table).
	Days     []DayHours
	Services []*Service
	// Metadata is the schema.org GovernmentOffice with its
	// OpeningHoursSpecification, as JSON.
	Metadata string
}

var schemaDays = map[string]string{"monday": "Monday", "tuesday": "Tuesday", "wednesday": "Wednesday", "thursday": "Thursday",
	"friday": "Friday", "saturday": "Saturday", "sunday": "Sunday"}

// officeMetadata describes the office and its weekly hours for search
// engines and other machines: one OpeningHoursSpecification per interval,
// and one per exception date (closed days as 00:00-00:00, as schema.org
// advises).
func officeMetadata(t town.Profile, o *Office) string {
	var specs []map[string]any
	for day, ivs := range o.Spec.Week {
		for _, iv := range ivs {
			from, to, _ := strings.Cut(iv, "-")
			specs = append(specs, map[string]any{"@type": "OpeningHoursSpecification", "dayOfWeek": "https://schema.org/" + schemaDays[day], "opens": from, "closes": to})
		}
	}
	for _, e := range o.Spec.Exceptions {
		if e.Closed {
			specs = append(specs, map[string]any{"@type": "OpeningHoursSpecification", "validFrom": e.Date, "validThrough": e.Date, "opens": "00:00", "closes": "00:00"})
			continue
		}
		for _, iv := range e.Hours {
			from, to, _ := strings.Cut(iv, "-")
			specs = append(specs, map[string]any{"@type": "OpeningHoursSpecification", "validFrom": e.Date, "validThrough": e.Date, "opens": from, "closes": to})
		}
	}
	m := map[string]any{
		"@context": "https://schema.org", "@type": "GovernmentOffice", "name": o.Name, "description": o.Description, "telephone": o.Phone,
		"address":                   map[string]any{"@type": "PostalAddress", "streetAddress": o.Address, "postalCode": o.PostalCode, "addressLocality": t.Name, "addressCountry": "IT"},
		"geo":                       map[string]any{"@type": "GeoCoordinates", "latitude": o.Lat, "longitude": o.Lon},
		"parentOrganization":        map[string]any{"@type": "GovernmentOrganization", "name": t.FullName()},
		"openingHoursSpecification": specs,
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// CategoryView is a service category with its services.
type CategoryView struct {
	taxonomy.Term
	Services []*Service
}

// ListData is the content of the services index and of a category.
type ListData struct {
	Categories []CategoryView
	Category   *CategoryView
	// Query and Results are a search's.
	Query    string
	Searched bool
	Results  []*Service
	// Audience filters the list by who a service is for.
	Audience  string
	Audiences []string
}

func (h *Web) categories(c *Catalog) []CategoryView {
	out := make([]CategoryView, 0, len(taxonomy.ServiceCategories))
	for _, t := range taxonomy.ServiceCategories {
		out = append(out, CategoryView{Term: t, Services: c.In(t.Slug)})
	}
	return out
}

func (h *Web) servicesIndex(w http.ResponseWriter, r *http.Request) {
	c, ok := h.catalog(w, r)
	if !ok {
		return
	}
	d := &ListData{Categories: h.categories(c), Query: strings.TrimSpace(r.URL.Query().Get("q")), Audiences: Audiences}
	if a := r.URL.Query().Get("destinatari"); a != "" {
		if !slices.Contains(Audiences, a) {
			h.App.Error(w, r, http.StatusNotFound)
			return
		}
		d.Audience = a
		for k := range d.Categories {
			var kept []*Service
			for _, s := range d.Categories[k].Services {
				if slices.Contains(s.Audiences, a) {
					kept = append(kept, s)
				}
			}
			d.Categories[k].Services = kept
		}
	}
	if d.Query != "" {
		ids, err := h.Store.Search(r.Context(), d.Query)
		if err != nil {
			h.App.Log.Error("search", "err", err, "request_id", web.RequestID(r.Context()))
			h.App.Error(w, r, http.StatusInternalServerError)
			return
		}
		d.Searched = true
		for _, id := range ids {
			if s, ok := c.Service(id); ok {
				d.Results = append(d.Results, s)
			}
		}
	}
	page := h.App.NewPage(r, "menu.services")
	page.Description = page.T("section.services.intro")
	page.Breadcrumb = []web.Crumb{{Label: page.Title}}
	page.Data = d
	h.App.HTML(w, r, http.StatusOK, "services", page)
}

func (h *Web) category(w http.ResponseWriter, r *http.Request) {
	c, ok := h.catalog(w, r)
	if !ok {
		return
	}
	t, found := taxonomy.Find(taxonomy.ServiceCategories, r.PathValue("category"))
	if !found {
		h.App.Error(w, r, http.StatusNotFound)
		return
	}
	page := h.App.NewPage(r, "")
	page.Title = t.Title
	page.Breadcrumb = []web.Crumb{{Label: page.T("menu.services"), Href: "/servizi"}, {Label: t.Title}}
	page.Data = &ListData{Category: &CategoryView{Term: t, Services: c.In(t.Slug)}}
	h.App.HTML(w, r, http.StatusOK, "service_category", page)
}

// ServiceData is the content of a service page.
type ServiceData struct {
	Service *Service
	// Text are the service's texts in the page's language where it has
	// them, else in Italian.
	Text     ServiceTexts
	Category taxonomy.Term
	Topics   []taxonomy.Term
	Offices  []OfficeView
	Metadata string // schema.org GovernmentService, JSON
	// Forms are the service's forms, listed under "Cosa serve".
	Forms []ServiceForm
}

func (h *Web) service(w http.ResponseWriter, r *http.Request) {
	c, ok := h.catalog(w, r)
	if !ok {
		return
	}
	s, found := c.Service(r.PathValue("id"))
	if !found || s.Category != r.PathValue("category") {
		h.App.Error(w, r, http.StatusNotFound)
		return
	}
	cat, _ := taxonomy.Find(taxonomy.ServiceCategories, s.Category)
	now := h.now()
	page := h.App.NewPage(r, "")
	d := &ServiceData{Service: s, Category: cat, Text: s.Texts(page.Lang)}
	for _, t := range s.Topics {
		if term, ok := taxonomy.Find(taxonomy.Topics, t); ok {
			d.Topics = append(d.Topics, term)
		}
	}
	// The content is everyone's: the same service, offices, hours and
	// forms, with the offices' status of this minute, until the catalogue
	// changes (a new catalogue, a new key).
	shared := h.App.SharedContent(page, "service", fmt.Sprintf("%s@%s@%d", s.ID, now.Format("2006-01-02T15:04"), c.Version))
	for _, o := range c.OfficesOf(s) {
		v := OfficeView{Office: o}
		if !shared {
			v.Status, v.Days = statusOf(o, now), comingDays(o, now, 7)
		}
		d.Offices = append(d.Offices, v)
	}
	if h.Forms != nil && !shared {
		list, err := h.Forms(r.Context(), s.ID)
		if err != nil {
			// The page is still worth showing without its forms.
			h.App.Log.Error("forms of a service", "service", s.ID, "err", err, "request_id", web.RequestID(r.Context()))
		}
		d.Forms = list
	}
	page.Title, page.Description = d.Text.Title.Value, d.Text.Summary.Value
	page.Breadcrumb = []web.Crumb{{Label: page.T("menu.services"), Href: "/servizi"}, {Label: cat.Title, Href: "/servizi/" + cat.Slug}, {Label: page.Title}}
	d.Metadata = metadata(page.Town, s, d.Offices, audienceLabel(page, s))
	page.Data = d
	h.App.HTML(w, r, http.StatusOK, "service", page)
}

func audienceLabel(p *web.Page, s *Service) string {
	if len(s.Audiences) == 0 {
		return p.T("catalog.audience.cittadini")
	}
	labels := make([]string, len(s.Audiences))
	for i, a := range s.Audiences {
		labels[i] = p.T("catalog.audience." + a)
	}
	return strings.Join(labels, ", ")
}

// metadata is the schema.org description the national validator reads.
func metadata(t town.Profile, s *Service, offices []OfficeView, audience string) string {
	loc := map[string]any{"@type": "Place", "name": t.FullName(), "address": map[string]any{
		"@type": "PostalAddress", "streetAddress": t.Address, "postalCode": t.PostalCode, "addressLocality": t.Name}}
	if len(offices) > 0 {
		o := offices[0]
		loc = map[string]any{"@type": "Place", "name": o.Name, "address": map[string]any{
			"@type": "PostalAddress", "streetAddress": o.Address, "postalCode": o.PostalCode, "addressLocality": t.Name}}
	}
	url := s.OnlineURL
	if url == "" {
		url = "/servizi/" + s.Category + "/" + s.ID
	}
	m := map[string]any{
		"@context": "https://schema.org", "@type": "GovernmentService",
		"name": s.Title, "description": s.Summary, "serviceType": s.Category,
		"serviceOperator":  map[string]any{"@type": "GovernmentOrganization", "name": t.FullName()},
		"areaServed":       map[string]any{"@type": "AdministrativeArea", "name": t.Name},
		"audience":         map[string]any{"@type": "Audience", "audienceType": audience},
		"availableChannel": map[string]any{"@type": "ServiceChannel", "serviceUrl": url, "serviceLocation": loc},
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// OfficesData is the content of the offices list.
type OfficesData struct {
	Offices []OfficeView
}

func (h *Web) officesIndex(w http.ResponseWriter, r *http.Request) {
	c, ok := h.catalog(w, r)
	if !ok {
		return
	}
	now := h.now()
	d := &OfficesData{}
	for _, o := range c.Offices {
		d.Offices = append(d.Offices, OfficeView{Office: o, Status: statusOf(o, now)})
	}
	page := h.App.NewPage(r, "")
	page.Title = "Uffici"
	page.Breadcrumb = []web.Crumb{{Label: page.T("menu.management"), Href: "/amministrazione"}, {Label: page.Title}}
	page.Data = d
	h.App.HTML(w, r, http.StatusOK, "offices", page)
}

func (h *Web) office(w http.ResponseWriter, r *http.Request) {
	c, ok := h.catalog(w, r)
	if !ok {
		return
	}
	o, found := c.Office(r.PathValue("id"))
	if !found {
		h.App.Error(w, r, http.StatusNotFound)
		return
	}
	now := h.now()
	page := h.App.NewPage(r, "")
	v := &OfficeView{Office: o, Metadata: officeMetadata(page.Town, o), Text: o.Texts(page.Lang)}
	page.Title, page.Description = v.Text.Name.Value, v.Text.Description.Value
	page.Breadcrumb = []web.Crumb{{Label: page.T("menu.management"), Href: "/amministrazione"}, {Label: "Uffici", Href: "/amministrazione/uffici"}, {Label: page.Title}}
	if !h.App.SharedContent(page, "office", fmt.Sprintf("%s@%s@%d", o.ID, now.Format("2006-01-02T15:04"), c.Version)) {
		v.Status, v.Days, v.Services = statusOf(o, now), comingDays(o, now, 14), c.At(o.ID)
	}
	page.Data = v
	h.App.HTML(w, r, http.StatusOK, "office", page)
}
