package catalog

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/civico-pa/civico/internal/hours"
	"github.com/civico-pa/civico/internal/taxonomy"
	"github.com/civico-pa/civico/internal/web"
)

// The coordination view: for a category of services, the combined opening
// of every office that provides them over a week, the gaps when none is
// open, and the hours reachable outside the standard working day; and the
// same figures with one office's hours changed, to weigh a proposal. This is
// the tool the town coordinates openings with.

// Slot is one half hour of the grid.
const slot = 30 * time.Minute

// grid hours: 07:00 to 21:00.
const gridFrom, gridTo = 7 * 60, 21 * 60

// Cell is one half hour of one day: how many offices are open.
type Cell struct {
	Open    int
	Offices []string
}

// Figures sum up a week's coverage.
type Figures struct {
	Total   Length // time at least one office is open
	Outside Length // of which outside weekdays 08:00-18:00
	Gaps    Length // weekday working hours with no office open
}

// Coverage is the week grid and its figures.
type Coverage struct {
	Days    []time.Time // midday of each day, Monday first
	Times   []string    // row labels
	Rows    [][]Cell    // [time][day]
	Figures Figures
}

func coverage(offices []*Office, override map[string]*hours.Hours, monday hours.Date) Coverage {
	from, to := monday.At(0), monday.AddDays(7).At(0)
	var all []hours.Span
	spansOf := map[string][]hours.Span{}
	for _, o := range offices {
		h := o.Hours
		if alt, ok := override[o.ID]; ok {
			h = alt
		}
		s := h.Spans(from, to)
		spansOf[o.Name] = s
		all = append(all, s...)
	}
	cv := Coverage{}
	for d := range 7 {
		cv.Days = append(cv.Days, monday.AddDays(d).At(12*60))
	}
	names := make([]string, 0, len(spansOf))
	for n := range spansOf {
		names = append(names, n)
	}
	sort.Strings(names)
	for m := gridFrom; m < gridTo; m += int(slot.Minutes()) {
		cv.Times = append(cv.Times, hours.Clock(m).String())
		row := make([]Cell, 7)
		for d := range 7 {
			start := monday.AddDays(d).At(hours.Clock(m))
			end := start.Add(slot)
			for _, n := range names {
				if len(hours.Intersect(spansOf[n], []hours.Span{{Start: start, End: end}})) > 0 {
					row[d].Open++
					row[d].Offices = append(row[d].Offices, n)
				}
			}
		}
		cv.Rows = append(cv.Rows, row)
	}
	union := hours.Union(all)
	work := hours.WorkingTime(from, to)
	cv.Figures = Figures{
		Total:   Length(hours.Total(union)),
		Outside: Length(hours.Total(hours.Subtract(union, work))),
		Gaps:    Length(hours.Total(hours.Subtract(work, union))),
	}
	return cv
}

// CoordinationData is the content of the coordination page.
type CoordinationData struct {
	Categories []taxonomy.Term
	Category   string
	Offices    []*Office
	Week       hours.Date
	Current    Coverage
	// A proposal: one office's week changed.
	Office   string
	Proposal map[string]string // weekday -> "09:00-12:30, 14:30-17:30"
	Errors   map[string]string
	Proposed *Coverage
	Fields   []WeekdayField
}

// WeekdayField is one day of the proposal form: the field name and the day.
type WeekdayField struct {
	Name string
	Day  time.Weekday
}

// Weekdays are the proposal's fields, Monday first.
var Weekdays = []WeekdayField{{"monday", time.Monday}, {"tuesday", time.Tuesday}, {"wednesday", time.Wednesday},
	{"thursday", time.Thursday}, {"friday", time.Friday}, {"saturday", time.Saturday}, {"sunday", time.Sunday}}

func (h *Web) coordination(w http.ResponseWriter, r *http.Request) {
	c, ok := h.catalog(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	d := &CoordinationData{Categories: taxonomy.ServiceCategories, Category: q.Get("categoria"), Errors: map[string]string{}, Proposal: map[string]string{}, Fields: Weekdays}
	status := http.StatusOK
	week := hours.DateOf(h.now())
	if v := q.Get("settimana"); v != "" {
		if wd, err := hours.ParseDate(v); err == nil {
			week = wd
		} else {
			d.Errors["settimana"] = "catalog.finder.error_day"
			status = http.StatusBadRequest
		}
	}
	for week.Weekday() != time.Monday {
		week = week.AddDays(-1)
	}
	d.Week = week
	if d.Category != "" {
		if _, found := taxonomy.Find(taxonomy.ServiceCategories, d.Category); !found {
			h.App.Error(w, r, http.StatusNotFound)
			return
		}
		seen := map[string]bool{}
		for _, s := range c.In(d.Category) {
			for _, o := range c.OfficesOf(s) {
				if !seen[o.ID] {
					seen[o.ID] = true
					d.Offices = append(d.Offices, o)
				}
			}
		}
		sort.Slice(d.Offices, func(a, b int) bool { return d.Offices[a].Name < d.Offices[b].Name })
		d.Current = coverage(d.Offices, nil, week)
		d.Office = q.Get("ufficio")
		if d.Office != "" {
			o, found := c.Office(d.Office)
			if !found || !seen[o.ID] {
				d.Errors["ufficio"] = "catalog.coord.error_office"
				status = http.StatusBadRequest
			} else {
				spec := hours.Spec{Week: map[string][]string{}, Periods: o.Spec.Periods, Exceptions: o.Spec.Exceptions}
				for _, f := range Weekdays {
					v := strings.TrimSpace(q.Get(f.Name))
					d.Proposal[f.Name] = v
					if v == "" {
						continue
					}
					for _, part := range strings.Split(v, ",") {
						spec.Week[f.Name] = append(spec.Week[f.Name], strings.TrimSpace(part))
					}
				}
				// Summer periods would hide the proposal in their weeks: a
				// proposal is about the ordinary week.
				spec.Periods = nil
				alt, err := spec.Hours(o.Hours.Holidays)
				if err != nil {
					field := "proposal"
					if fe, ok := err.(*hours.FieldError); ok && strings.HasPrefix(fe.Field, "week.") {
						field = strings.SplitN(strings.TrimPrefix(fe.Field, "week."), "[", 2)[0]
					}
					d.Errors[field] = "catalog.coord.error_hours"
					status = http.StatusBadRequest
				} else {
					p := coverage(d.Offices, map[string]*hours.Hours{o.ID: alt}, week)
					d.Proposed = &p
				}
			}
		}
	}
	page := h.App.NewPage(r, "catalog.coord.title")
	page.Breadcrumb = []web.Crumb{{Label: page.Title}}
	page.Data = d
	h.App.HTML(w, r, status, "coordination", page)
}

// Length is a duration shown as hours and minutes ("12 h 30 min").
type Length time.Duration

func (l Length) String() string {
	d := time.Duration(l)
	sign := ""
	if d < 0 {
		sign, d = "−", -d
	}
	h, m := int(d.Hours()), int(d.Minutes())%60
	if m == 0 {
		return sign + strconv.Itoa(h) + " h"
	}
	return sign + strconv.Itoa(h) + " h " + strconv.Itoa(m) + " min"
}

// Delta is the proposal's figures minus the current ones, signed.
func (d *CoordinationData) Delta() Figures {
	if d.Proposed == nil {
		return Figures{}
	}
	p, c := d.Proposed.Figures, d.Current.Figures
	return Figures{Total: p.Total - c.Total, Outside: p.Outside - c.Outside, Gaps: p.Gaps - c.Gaps}
}

// Signed shows a change with its sign.
func (l Length) Signed() string {
	if l > 0 {
		return "+" + l.String()
	}
	return l.String()
}
