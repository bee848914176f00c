package booking

import (
	"errors"
	"hash/fnv"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/feature"
	"github.com/civico-pa/civico/internal/hours"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/problem"
	"github.com/civico-pa/civico/internal/throttle"
	"github.com/civico-pa/civico/internal/token"
	"github.com/civico-pa/civico/internal/web"
)

// The booking flow, as the national model's "appuntamento" archetype has
// it: Luogo → Motivo → Data e orario → Richiedente → Riepilogo, then the
// confirmation. The reason comes before the date because a slot's length
// depends on the service. Each step is a plain form: the choices so far
// travel in the query (an office, a service, a slot: nothing personal),
// the applicant's details in the body of POSTs only.

// Steps of the flow, as the stepper names them.
var flowSteps = []string{"booking.step.place", "booking.step.reason", "booking.step.time", "booking.step.applicant", "booking.step.summary"}

// MaxAhead is how far ahead slots are offered.
const MaxAhead = 60 * 24 * time.Hour

// The budgets of a client address: bookings made (a booking holds a
// place and sends a mail) and searches of the first free slot (each
// computes every competent office's slots).
var (
	BookRule   = throttle.Rule{Free: 10, Window: time.Hour}
	SearchRule = throttle.Rule{Free: 60, Window: 10 * time.Minute}
	// MailRule is the budget of a mail address booking without an
	// account: the confirmation links it receives.
	MailRule = throttle.Rule{Free: 5, Window: 24 * time.Hour}
)

// Web serves the booking's pages.
type Web struct {
	App       *web.App
	Store     *Store
	Catalogue Catalogue
	Limiter   *throttle.Limiter
	Now       func() time.Time
	// BaseURL is the portal's public address (the feeds' addresses).
	BaseURL string
	// Tokens and Accounts check the API's bearer tokens (nil: refused).
	Tokens   feature.Tokens
	Accounts *identity.Store
}

func (h *Web) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// Routes is the map of the booking.
func (h *Web) Routes() {
	m := h.App.For("booking")
	m.HandleFunc("GET "+StartPath, h.place)
	m.HandleFunc("GET "+StartPath+"/motivo", h.reason)
	m.HandleFunc("GET "+StartPath+"/orario", h.times)
	m.HandleFunc("GET "+StartPath+"/primo-libero", h.first)
	m.HandleFunc("GET "+StartPath+"/richiedente", h.applicant)
	m.HandleFunc("POST "+StartPath+"/richiedente", h.applicantEdit)
	m.HandleFunc("POST "+StartPath+"/riepilogo", h.summary)
	m.HandleFunc("POST "+StartPath+"/conferma", h.book)
	m.HandleFunc("GET "+StartPath+"/link/{token}", h.linkPage)
	m.HandleFunc("POST "+StartPath+"/link/{token}/conferma", h.linkConfirm)
	m.HandleFunc("POST "+StartPath+"/link/{token}/annulla", h.linkCancel)
	m.HandleFunc("GET "+StartPath+"/link/{token}/orario", h.linkTimes)
	m.HandleFunc("POST "+StartPath+"/link/{token}/sposta", h.linkMove)
	m.HandleFunc("GET /api/v1/offices/{id}/slots", h.apiSlots)
	m.HandleFunc("GET /api/v1/bookings", h.apiMine)
	m.HandleFunc("GET "+FeedPath+"/{token}", h.feed) // {token} keeps the secret out of the access log
	res := m.Guarded(assurance.Low)
	res.HandleFunc("GET "+AreaPath, h.mine)
	res.HandleFunc("GET "+AreaPath+"/{id}", h.detail)
	res.HandleFunc("GET "+AreaPath+"/{id}/appuntamento.ics", h.ics)
	res.HandleFunc("POST "+AreaPath+"/{id}/annulla", h.cancel)
	h.queueRoutes(m)
	bo := m.Guarded(assurance.Low, OperatorRoles...)
	h.backOfficeRoutes(bo)
	h.queueBackOfficeRoutes(bo)
}

// Choice is where the flow is: the office, service and slot chosen so far.
type Choice struct {
	Office  *Office
	Service *Service
	Offer   Offer
	Slot    *Slot
	// Preset is the service the flow started from (a service page): only
	// its competent offices are offered.
	Preset *Service
	// Evening keeps only slots outside the standard working day.
	Evening bool
	// Move is the resident's booking this one replaces ("" for a new
	// booking).
	Move string
	// LinkMove is the mailed link's token of the booking without an
	// account being moved to another time of its office and service
	// (MoveByLink): the step's forms lead to the link's pages.
	LinkMove string
	// Unbookable is the service the flow was asked to start from when no
	// office books it online.
	Unbookable *Service

	// shared names the catalogue's and the offers' readings the choice was
	// read against ("" when either is unknown): the shared contents' key.
	shared string
}

// Query is the choice as the next step's query.
func (c *Choice) Query() url.Values {
	q := url.Values{}
	if c.Office != nil {
		q.Set("ufficio", c.Office.ID)
	}
	if c.Service != nil {
		q.Set("servizio", c.Service.ID)
	} else if c.Preset != nil {
		q.Set("servizio", c.Preset.ID)
	}
	if c.Slot != nil {
		q.Set("inizio", strconv.FormatInt(Key(c.Slot.Start), 10))
	}
	if c.Evening {
		q.Set("sera", "1")
	}
	if c.Move != "" {
		q.Set("sposta", c.Move)
	}
	return q
}

// Link is the address of a step with the choice so far, without what is
// chosen at that step and after it.
func (c *Choice) Link(step string) string {
	q := c.Query()
	switch step {
	case "":
		q.Del("ufficio")
		q.Del("inizio")
	case "motivo":
		if c.Preset == nil {
			q.Del("servizio")
		}
		q.Del("inizio")
	case "orario":
		q.Del("inizio")
	}
	path := StartPath
	if step != "" {
		path += "/" + step
	}
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

// Length is the chosen service's slot length in minutes.
func (c *Choice) Length() int { return c.Offer.Minutes }

// OfficeOption is an office offered at the first step.
type OfficeOption struct {
	Office *Office
	// Next is its next opening (zero: none in the coming weeks).
	Next     hours.Span
	Services int
}

// ServiceOption is a service offered at the second step.
type ServiceOption struct {
	Service *Service
	Offer   Offer
}

// Day is a day with free slots at the third step.
type Day struct {
	Date  hours.Date
	Free  int
	Slots []Slot
}

// Value is the day as the form sends it.
func (d Day) Value() string { return d.Date.String() }

// Noon is the day's midday, for its label.
func (d Day) Noon() time.Time { return d.Date.At(12 * 60) }

// Applicant are the applicant's details as the form shows them.
type Applicant struct {
	GivenName, FamilyName, Email, Phone, Notes string
	// Proven says the names came from the login (read-only);
	// EmailFixed that the address is the account's.
	Proven, EmailFixed bool
}

// FlowData is the content of every page of the flow.
type FlowData struct {
	Step   int
	Steps  []string
	Choice *Choice
	// The first step.
	Offices []OfficeOption
	// The second step.
	Services []ServiceOption
	// The third: the days with free slots, the chosen day's slots.
	Days    []Day
	Day     *Day
	Nearest []Slot
	Alert   string
	// Unbookable names the service asked for that no office books online.
	Unbookable string
	Applicant  Applicant
	Errors     problem.Fields
	Index      []ErrorLink
	// LoggedIn: the details come from the account; Anonymous: the offer
	// lets a resident without one book with a mail address.
	LoggedIn, Anonymous bool
	Lang                string
	// Queues are the offices' walk-in queues (the first step), those open
	// now first.
	Queues []QueueLink
}

// QueueLink leads to an office's walk-in queue.
type QueueLink struct {
	Office *Office
	Open   bool
}

// DayLabel and When write days and slots in the page's language.
func (d *FlowData) DayLabel(day hours.Date) string { return DayLabel(d.Lang, day) }

// When writes a slot in the page's language.
func (d *FlowData) When(s *Slot) string { return When(d.Lang, s.Start, s.End) }

// Clock is a slot's start.
func (d *FlowData) Clock(t time.Time) string { return Clock(t) }

// ErrorLink is one line of the error index above a form.
type ErrorLink struct {
	ID, Label, Message string
}

func (h *Web) flowPage(w http.ResponseWriter, r *http.Request, status int, name string, d *FlowData) {
	h.renderFlow(w, r, h.newFlowPage(r), status, name, d)
}

// newFlowPage is a page of the flow, before its content.
func (h *Web) newFlowPage(r *http.Request) *web.Page {
	p := h.App.NewPage(r, "booking.title")
	p.Breadcrumb = []web.Crumb{{Label: p.T("booking.title")}}
	return p
}

// shared declares the content of a step the same for every visitor who
// made the same choice, in the same minute (what is open, which slots are
// past), with the same catalogue, offers and, for the free slots, places
// taken (what): a choice that moves a booking, or with errors, is not. It
// reports whether the content is at hand, and the step's work can be
// skipped.
func (h *Web) shared(p *web.Page, name string, c *Choice, errs problem.Fields, now time.Time, what string) bool {
	if c.shared == "" || len(errs) > 0 || c.Move != "" || c.LinkMove != "" {
		return false
	}
	key := c.shared + "|" + now.In(hours.Rome).Format("2006-01-02T15:04") + "|" + c.Query().Encode() + "|" + what
	if c.Unbookable != nil {
		key += "|" + c.Unbookable.ID
	}
	return h.App.SharedContent(p, name, key)
}

func (h *Web) renderFlow(w http.ResponseWriter, r *http.Request, p *web.Page, status int, name string, d *FlowData) {
	d.Steps = flowSteps
	if d.Choice == nil {
		d.Choice = &Choice{}
	}
	d.Lang = p.Lang
	if len(d.Errors) > 0 && len(d.Index) == 0 {
		for _, k := range []string{"office", "service", "slot", "given_name", "family_name", "email", "phone", "notes"} {
			if msg, ok := d.Errors[k]; ok {
				d.Index = append(d.Index, ErrorLink{ID: "f-" + k, Label: p.T("booking.field." + k), Message: p.T(msg)})
			}
		}
	}
	p.Data = d
	w.Header().Set("Cache-Control", "private, no-store")
	h.App.HTML(w, r, status, name, p)
}

// read is the choice of the request's query: office, service, slot, as
// far as they are given and valid, and the error of the first that is
// not.
func (h *Web) read(r *http.Request, dir *Directory, offers []Offer) (*Choice, problem.Fields) {
	q := r.URL.Query()
	if r.Method == http.MethodPost {
		q = r.PostForm
	}
	c := &Choice{Evening: q.Get("sera") == "1"}
	if v := q.Get("sposta"); validID(v) {
		c.Move = v
	}
	if id := q.Get("servizio"); id != "" {
		s, ok := dir.Service(id)
		bookable := ok && s.Active && slices.ContainsFunc(offers, func(o Offer) bool { return o.ServiceID == id && slices.Contains(s.Offices, o.OfficeID) })
		switch {
		case bookable:
			c.Preset = s
		case ok && r.Method == http.MethodGet && q.Get("ufficio") == "":
			// Every service page links here; one no office books for
			// online gets the first step with every office and a word.
			c.Unbookable = s
		default:
			return c, problem.Fields{"service": "booking.error.service"}
		}
	}
	if id := q.Get("ufficio"); id != "" {
		o, ok := dir.Office(id)
		if !ok || len(officeOffers(dir, offers, id, c.Preset)) == 0 {
			return c, problem.Fields{"office": "booking.error.office"}
		}
		c.Office = o
	}
	if c.Office != nil && c.Preset != nil {
		for _, o := range officeOffers(dir, offers, c.Office.ID, c.Preset) {
			c.Service, c.Offer = c.Preset, o
		}
	}
	if v := q.Get("inizio"); v != "" && c.Service != nil {
		unix, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return c, problem.Fields{"slot": "booking.error.slot_closed"}
		}
		slot, ok := h.grid(c).Find(time.Unix(unix, 0), h.now(), nil)
		if !ok {
			return c, problem.Fields{"slot": "booking.error.slot_closed"}
		}
		c.Slot = &slot
	}
	return c, nil
}

func (h *Web) grid(c *Choice) Grid {
	return Grid{Hours: c.Office.Hours, Length: c.Offer.Length(), Counters: c.Offer.Counters}
}

// officeOffers are the offers of an office for services that are active
// and name it competent (only the preset service's, when there is one).
func officeOffers(dir *Directory, offers []Offer, office string, preset *Service) []Offer {
	var out []Offer
	for _, o := range offers {
		if o.OfficeID != office || (preset != nil && o.ServiceID != preset.ID) {
			continue
		}
		if s, ok := dir.Service(o.ServiceID); ok && s.Active && slices.Contains(s.Offices, office) {
			out = append(out, o)
		}
	}
	return out
}

// load reads the catalogue and the offers, and the request's choice.
func (h *Web) load(w http.ResponseWriter, r *http.Request) (*Directory, []Offer, *Choice, problem.Fields, bool) {
	dir, err := h.Catalogue(r.Context())
	if err != nil {
		h.App.Fail(w, r, err)
		return nil, nil, nil, nil, false
	}
	// The pages read the kept offers; a change (a booking) reads them
	// from the database.
	var offers []Offer
	var version int64
	if r.Method == http.MethodGet {
		offers, version, err = h.Store.CachedOffers(r.Context())
	} else {
		offers, err = h.Store.Offers(r.Context())
	}
	if err != nil {
		h.App.Fail(w, r, err)
		return nil, nil, nil, nil, false
	}
	c, errs := h.read(r, dir, offers)
	if version != 0 && dir.Version != 0 {
		c.shared = strconv.FormatInt(dir.Version, 10) + "." + strconv.FormatInt(version, 10)
	}
	return dir, offers, c, errs, true
}

// place is the first step: the offices that receive by appointment (a
// service's competent ones when the flow starts from its page).
func (h *Web) place(w http.ResponseWriter, r *http.Request) {
	dir, offers, c, errs, ok := h.load(w, r)
	if !ok {
		return
	}
	h.renderPlace(w, r, dir, offers, c, errs)
}

func (h *Web) renderPlace(w http.ResponseWriter, r *http.Request, dir *Directory, offers []Offer, c *Choice, errs problem.Fields) {
	d := &FlowData{Step: 1, Choice: c, Errors: errs}
	if c.Unbookable != nil {
		d.Unbookable = c.Unbookable.Title
	}
	now := h.now()
	p := h.newFlowPage(r)
	if h.shared(p, "booking_place", c, errs, now, "") {
		h.renderFlow(w, r, p, http.StatusOK, "booking_place", d)
		return
	}
	for _, o := range dir.Offices {
		n := len(officeOffers(dir, offers, o.ID, c.Preset))
		if n == 0 {
			continue
		}
		next, _ := o.Hours.NextOpening(now, 14)
		d.Offices = append(d.Offices, OfficeOption{Office: o, Next: next, Services: n})
	}
	if c.Preset == nil {
		for _, o := range dir.Offices {
			if o.Hours != nil {
				d.Queues = append(d.Queues, QueueLink{Office: o, Open: o.Hours.OpenAt(now)})
			}
		}
		slices.SortStableFunc(d.Queues, func(a, b QueueLink) int {
			if a.Open == b.Open {
				return 0
			}
			if a.Open {
				return -1
			}
			return 1
		})
	}
	status := http.StatusOK
	if len(errs) > 0 {
		status = http.StatusUnprocessableEntity
	}
	h.renderFlow(w, r, p, status, "booking_place", d)
}

// reason is the second step: the services the office receives for, each
// with its slot length.
func (h *Web) reason(w http.ResponseWriter, r *http.Request) {
	dir, offers, c, errs, ok := h.load(w, r)
	if !ok {
		return
	}
	if errs == nil && c.Office == nil {
		errs = problem.Fields{"office": "booking.error.office"}
	}
	if errs["office"] != "" || (errs["service"] != "" && c.Office == nil) {
		h.renderPlace(w, r, dir, offers, c, errs)
		return
	}
	h.renderReason(w, r, dir, offers, c, errs)
}

func (h *Web) renderReason(w http.ResponseWriter, r *http.Request, dir *Directory, offers []Offer, c *Choice, errs problem.Fields) {
	d := &FlowData{Step: 2, Choice: c, Errors: errs}
	for _, o := range officeOffers(dir, offers, c.Office.ID, nil) {
		s, _ := dir.Service(o.ServiceID)
		d.Services = append(d.Services, ServiceOption{Service: s, Offer: o})
	}
	slices.SortFunc(d.Services, func(a, b ServiceOption) int {
		switch {
		case a.Service.Title < b.Service.Title:
			return -1
		case a.Service.Title > b.Service.Title:
			return 1
		}
		return 0
	})
	status := http.StatusOK
	if len(errs) > 0 {
		status = http.StatusUnprocessableEntity
	}
	h.flowPage(w, r, status, "booking_reason", d)
}

// times is the third step: the days with free slots, and the chosen
// day's slots.
func (h *Web) times(w http.ResponseWriter, r *http.Request) {
	dir, offers, c, errs, ok := h.load(w, r)
	if !ok {
		return
	}
	switch {
	case errs["office"] != "" || c.Office == nil:
		h.renderPlace(w, r, dir, offers, c, problem.Fields{"office": "booking.error.office"})
		return
	case errs["service"] != "" || c.Service == nil:
		h.renderReason(w, r, dir, offers, c, problem.Fields{"service": "booking.error.service"})
		return
	}
	h.renderTimes(w, r, c, errs, "")
}

func (h *Web) renderTimes(w http.ResponseWriter, r *http.Request, c *Choice, errs problem.Fields, alert string) {
	now := h.now()
	from, to := now, now.Add(MaxAhead)
	// The places taken as read a moment ago (TakenTTL), unless a booking
	// just found its slot taken: then as they are now.
	taken, err := h.Store.CachedTaken(r.Context(), c.Office.ID, c.Service.ID, from, to)
	if alert != "" {
		taken, err = h.Store.Taken(r.Context(), c.Office.ID, c.Service.ID, from, to)
	}
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	d := &FlowData{Step: 3, Choice: c, Errors: errs, Alert: alert}
	var chosen hours.Date
	if v := r.URL.Query().Get("giorno"); v != "" {
		chosen, _ = hours.ParseDate(v)
	}
	if c.Slot != nil {
		chosen = hours.DateOf(c.Slot.Start)
	}
	p := h.newFlowPage(r)
	if alert == "" && h.shared(p, "booking_time", c, errs, now, chosen.String()+"|"+takenKey(taken)) {
		h.renderFlow(w, r, p, http.StatusOK, "booking_time", d)
		return
	}
	slots := h.grid(c).Slots(from, to, now, taken)
	for _, s := range slots {
		if s.Free() == 0 || (c.Evening && !s.Evening()) {
			continue
		}
		date := hours.DateOf(s.Start)
		if len(d.Days) == 0 || d.Days[len(d.Days)-1].Date != date {
			d.Days = append(d.Days, Day{Date: date})
		}
		day := &d.Days[len(d.Days)-1]
		day.Free += s.Free()
		day.Slots = append(day.Slots, s)
	}
	for i := range d.Days {
		if d.Days[i].Date == chosen {
			d.Day = &d.Days[i]
		}
	}
	if d.Day == nil && len(d.Days) > 0 {
		d.Day = &d.Days[0]
	}
	if alert != "" && c.Slot != nil {
		d.Nearest = Nearest(slots, c.Slot.Start, 3)
		c.Slot = nil
	}
	status := http.StatusOK
	if len(errs) > 0 || alert != "" {
		status = http.StatusConflict
		if len(errs) > 0 {
			status = http.StatusUnprocessableEntity
		}
	}
	h.renderFlow(w, r, p, status, "booking_time", d)
}

// takenKey names the places taken (Taken) in a few bytes: a hash of the
// slots' starts and places, in order.
func takenKey(taken map[int64]int) string {
	keys := make([]int64, 0, len(taken))
	for k := range taken {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	h := fnv.New64a()
	b := make([]byte, 0, 48)
	for _, k := range keys {
		b = strconv.AppendInt(append(strconv.AppendInt(b[:0], k, 10), ':'), int64(taken[k]), 10)
		_, _ = h.Write(append(b, ';'))
	}
	return strconv.Itoa(len(keys)) + "." + strconv.FormatUint(h.Sum64(), 36)
}

// first finds the first free slot for a service across its competent
// offices (only evening or Saturday slots when asked), and shows it at
// the third step.
func (h *Web) first(w http.ResponseWriter, r *http.Request) {
	dir, offers, c, errs, ok := h.load(w, r)
	if !ok {
		return
	}
	if c.Preset == nil || errs["service"] != "" {
		h.renderPlace(w, r, dir, offers, c, problem.Fields{"service": "booking.error.service"})
		return
	}
	if err := h.Limiter.Take(r.Context(), nil, throttle.ClientKey("booking:search:", web.RemoteAddr(r), "", SearchRule)); err != nil {
		h.App.Fail(w, r, err)
		return
	}
	now := h.now()
	var best *Choice
	for _, o := range offers {
		if o.ServiceID != c.Preset.ID || !slices.Contains(c.Preset.Offices, o.OfficeID) {
			continue
		}
		office, ok := dir.Office(o.OfficeID)
		if !ok {
			continue
		}
		cand := &Choice{Office: office, Service: c.Preset, Preset: c.Preset, Offer: o, Evening: c.Evening}
		taken, err := h.Store.Taken(r.Context(), o.OfficeID, o.ServiceID, now, now.Add(MaxAhead))
		if err != nil {
			h.App.Fail(w, r, err)
			return
		}
		for _, s := range h.grid(cand).Slots(now, now.Add(MaxAhead), now, taken) {
			if s.Free() > 0 && (!c.Evening || s.Evening()) {
				if best == nil || s.Start.Before(best.Slot.Start) {
					cand.Slot = &s
					best = cand
				}
				break
			}
		}
	}
	if best == nil {
		d := &FlowData{Step: 1, Choice: c, Alert: "booking.first.none"}
		h.flowPage(w, r, http.StatusOK, "booking_place", d)
		return
	}
	q := best.Query()
	q.Set("giorno", hours.DateOf(best.Slot.Start).String())
	web.Redirect(w, r, StartPath+"/orario", q)
}

// applicant is the fourth step: who books. A logged-in resident's names
// and address come from the account; without a login, the offer must let
// a resident book with a mail address, or the step asks to log in.
func (h *Web) applicant(w http.ResponseWriter, r *http.Request) {
	dir, offers, c, errs, ok := h.load(w, r)
	if !ok {
		return
	}
	if !h.complete(w, r, dir, offers, c, errs) || !h.canBook(w, r, c) {
		return
	}
	acc, _ := identity.Current(r.Context())
	d := &FlowData{Step: 4, Choice: c, LoggedIn: acc != nil, Anonymous: c.Offer.Anonymous}
	if acc != nil {
		d.Applicant = Applicant{GivenName: acc.GivenName, FamilyName: acc.FamilyName, Email: acc.Email, Phone: acc.Phone,
			Proven: acc.GivenName != "" && acc.FamilyName != "", EmailFixed: acc.Email != ""}
	}
	h.flowPage(w, r, http.StatusOK, "booking_applicant", d)
}

// applicantEdit shows the fourth step again with what the summary held.
func (h *Web) applicantEdit(w http.ResponseWriter, r *http.Request) {
	if !h.App.ParseForm(w, r, 8<<10) {
		return
	}
	dir, offers, c, errs, ok := h.load(w, r)
	if !ok {
		return
	}
	if !h.complete(w, r, dir, offers, c, errs) || !h.canBook(w, r, c) {
		return
	}
	acc, _ := identity.Current(r.Context())
	d := &FlowData{Step: 4, Choice: c, LoggedIn: acc != nil, Anonymous: c.Offer.Anonymous, Applicant: h.posted(r)}
	h.flowPage(w, r, http.StatusOK, "booking_applicant", d)
}

// complete checks that office, service and slot are chosen; otherwise it
// shows the step that lacks one, with its error.
func (h *Web) complete(w http.ResponseWriter, r *http.Request, dir *Directory, offers []Offer, c *Choice, errs problem.Fields) bool {
	switch {
	case errs["office"] != "" || c.Office == nil:
		h.renderPlace(w, r, dir, offers, c, problem.Fields{"office": "booking.error.office"})
	case errs["service"] != "" || c.Service == nil:
		h.renderReason(w, r, dir, offers, c, problem.Fields{"service": "booking.error.service"})
	case errs["slot"] != "" || c.Slot == nil:
		h.renderTimes(w, r, c, problem.Fields{"slot": "booking.error.slot_closed"}, "")
	default:
		return true
	}
	return false
}

// canBook sends a visitor without a login to it, unless the offer lets
// them book with a mail address; moving a booking always needs it (the
// mailed link of a booking with an account leads here: without the login
// a new booking would be made beside the old one).
func (h *Web) canBook(w http.ResponseWriter, r *http.Request, c *Choice) bool {
	if acc, _ := identity.Current(r.Context()); acc != nil || (c.Offer.Anonymous && c.Move == "") {
		return true
	}
	web.Redirect(w, r, "/accedi", url.Values{"next": {StartPath + "/richiedente?" + c.Query().Encode()}})
	return false
}

// posted reads the applicant's fields of a POST; a logged-in resident's
// names and address are the account's whatever the form says.
func (h *Web) posted(r *http.Request) Applicant {
	f := r.PostForm
	a := Applicant{GivenName: f.Get("given_name"), FamilyName: f.Get("family_name"), Email: f.Get("email"), Phone: f.Get("phone"), Notes: f.Get("notes")}
	if acc, _ := identity.Current(r.Context()); acc != nil {
		if acc.GivenName != "" && acc.FamilyName != "" {
			a.GivenName, a.FamilyName, a.Proven = acc.GivenName, acc.FamilyName, true
		}
		if acc.Email != "" {
			a.Email, a.EmailFixed = acc.Email, true
		}
	}
	return a
}

func (h *Web) request(r *http.Request, c *Choice, a Applicant) Request {
	acc, _ := identity.Current(r.Context())
	req := Request{Offer: c.Offer, Grid: h.grid(c), Start: c.Slot.Start, Email: a.Email, GivenName: a.GivenName, FamilyName: a.FamilyName,
		Phone: a.Phone, Notes: a.Notes, Lang: h.App.I18n.Lang(r), Remote: web.RemoteAddr(r)}
	if acc != nil {
		req.AccountID = acc.ID
		req.Sex = ProvenSex(acc.Sex, acc.BirthSource.Proven())
	}
	return req
}

// summary is the fifth step: everything chosen, each with its "Modifica".
func (h *Web) summary(w http.ResponseWriter, r *http.Request) {
	if !h.App.ParseForm(w, r, 8<<10) {
		return
	}
	dir, offers, c, errs, ok := h.load(w, r)
	if !ok {
		return
	}
	if !h.complete(w, r, dir, offers, c, errs) || !h.canBook(w, r, c) {
		return
	}
	acc, _ := identity.Current(r.Context())
	a := h.posted(r)
	req := h.request(r, c, a)
	if errs := req.Check(); errs != nil {
		d := &FlowData{Step: 4, Choice: c, LoggedIn: acc != nil, Anonymous: c.Offer.Anonymous, Applicant: a, Errors: errs}
		h.flowPage(w, r, http.StatusUnprocessableEntity, "booking_applicant", d)
		return
	}
	a.GivenName, a.FamilyName, a.Email, a.Phone, a.Notes = req.GivenName, req.FamilyName, req.Email, req.Phone, req.Notes
	h.flowPage(w, r, http.StatusOK, "booking_summary", &FlowData{Step: 5, Choice: c, LoggedIn: acc != nil, Applicant: a})
}

// book books the slot; a slot taken meanwhile shows the nearest free ones.
func (h *Web) book(w http.ResponseWriter, r *http.Request) {
	if !h.App.ParseForm(w, r, 8<<10) {
		return
	}
	dir, offers, c, errs, ok := h.load(w, r)
	if !ok {
		return
	}
	if !h.complete(w, r, dir, offers, c, errs) || !h.canBook(w, r, c) {
		return
	}
	acc, _ := identity.Current(r.Context())
	a := h.posted(r)
	if c.Move != "" && acc != nil {
		h.move(w, r, c, a)
		return
	}
	keys := []throttle.Key{throttle.ClientKey("booking:book:", web.RemoteAddr(r), "", BookRule)}
	if acc == nil {
		// A booking without an account mails its link to the address
		// given: an address receives a few a day, whoever asks.
		keys = append(keys, throttle.Key{Name: "booking:mail:" + strings.ToLower(strings.TrimSpace(a.Email)), Rule: MailRule})
	}
	if err := h.Limiter.Take(r.Context(), nil, keys...); err != nil {
		h.App.Fail(w, r, err)
		return
	}
	b, _, err := h.Store.Book(r.Context(), h.request(r, c, a))
	var fields problem.Fields
	switch {
	case errors.Is(err, ErrSlotTaken):
		h.renderTimes(w, r, c, nil, "booking.error.slot_taken")
		return
	case errors.As(err, &fields) && fields["slot"] != "":
		c.Slot = nil
		h.renderTimes(w, r, c, fields, "")
		return
	case errors.As(err, &fields):
		d := &FlowData{Step: 4, Choice: c, LoggedIn: acc != nil, Anonymous: c.Offer.Anonymous, Applicant: a, Errors: fields}
		h.flowPage(w, r, http.StatusUnprocessableEntity, "booking_applicant", d)
		return
	case errors.Is(err, ErrTooMany):
		h.flowPage(w, r, http.StatusConflict, "booking_summary", &FlowData{Step: 5, Choice: c, LoggedIn: acc != nil, Applicant: a, Alert: "booking.error.too_many"})
		return
	case err != nil:
		h.App.Fail(w, r, err)
		return
	}
	if acc != nil {
		web.Redirect(w, r, AreaPath+"/"+b.ID, url.Values{"prenotato": {"1"}})
		return
	}
	// Without an account: the booking waits for the mailed link.
	d := &FlowData{Step: 6, Choice: c, Applicant: a}
	h.flowPage(w, r, http.StatusOK, "booking_sent", d)
}

// PendingMinutes is how long a booking made with a mail address waits for
// its confirmation.
func (d *FlowData) PendingMinutes() int { return int(PendingFor / time.Minute) }

// move replaces the resident's booking with the chosen slot.
func (h *Web) move(w http.ResponseWriter, r *http.Request, c *Choice, a Applicant) {
	b, err := h.Store.Move(r.Context(), c.Move, h.request(r, c, a))
	var fields problem.Fields
	switch {
	case errors.Is(err, ErrSlotTaken):
		h.renderTimes(w, r, c, nil, "booking.error.slot_taken")
		return
	case errors.As(err, &fields) && fields["slot"] != "":
		c.Slot = nil
		h.renderTimes(w, r, c, fields, "")
		return
	case errors.As(err, &fields):
		d := &FlowData{Step: 4, Choice: c, LoggedIn: true, Anonymous: c.Offer.Anonymous, Applicant: a, Errors: fields}
		h.flowPage(w, r, http.StatusUnprocessableEntity, "booking_applicant", d)
		return
	case errors.Is(err, ErrTooMany):
		h.flowPage(w, r, http.StatusConflict, "booking_summary", &FlowData{Step: 5, Choice: c, LoggedIn: true, Applicant: a, Alert: "booking.error.too_many"})
		return
	case err != nil:
		h.App.Fail(w, r, err)
		return
	}
	web.Redirect(w, r, AreaPath+"/"+b.ID, url.Values{"spostato": {"1"}})
}

// validID is the shape of the ids token.ID makes.
var validID = token.ValidID
