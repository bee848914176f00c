package catalog

import (
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/civico-pa/civico/internal/hours"
	"github.com/civico-pa/civico/internal/web"
)

// The "Dove e quando" finder: which offices and services a resident can
// reach in a window of time, and the next chance when none is open.

// FinderData is the content of the finder page.
type FinderData struct {
	When          string // ora, stasera, sabato, libero
	Day, From, To string // the free window, as typed
	Errors        map[string]string
	Searched      bool
	WindowStart   time.Time
	WindowEnd     time.Time
	// WindowDate is the window's day as the page writes it (with its year
	// when it is not this year's).
	WindowDate     string
	Offices        []FinderOffice
	Services       []*Service
	Online         []*Service
	NextOffice     *Office
	NextOpening    time.Time
	NextDate       string
	HasNextOpening bool
}

// Now reports whether the question is "now": the offices open at this
// minute, each until it closes.
func (d *FinderData) Now() bool { return d.When == "ora" }

// FinderOffice is an office open during the window, with when; Until is
// when it closes, for "now".
type FinderOffice struct {
	*Office
	Spans []hours.Span
	Until time.Time
}

// shortDate writes a day as the site does, 02/01, with the year when it is
// not now's: 02/01/2027.
func shortDate(t, now time.Time) string {
	t, now = t.In(hours.Rome), now.In(hours.Rome)
	if t.Year() == now.Year() {
		return t.Format("02/01")
	}
	return t.Format("02/01/2006")
}

// window turns the request into the span of time asked about, from now
// on: a window typed without its choice ticked is that window; a day gone
// by, or a window of today already over, is refused beside its field.
func window(q map[string][]string, now time.Time, d *FinderData) (time.Time, time.Time, bool) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	d.When, d.Day, d.From, d.To = get("quando"), get("giorno"), get("dalle"), get("alle")
	if d.When == "" && d.Day+d.From+d.To != "" {
		d.When = "libero"
	}
	today := hours.DateOf(now)
	switch d.When {
	case "":
		return time.Time{}, time.Time{}, false
	case "ora":
		return now, now.Add(time.Minute), true
	case "stasera":
		// After 22:00 this evening is over: tomorrow's.
		day := today
		if !now.Before(day.At(22 * 60)) {
			day = day.AddDays(1)
		}
		return later(day.At(18*60), now), day.At(22 * 60), true
	case "sabato":
		sat := today
		for sat.Weekday() != time.Saturday || !now.Before(sat.At(21*60)) {
			sat = sat.AddDays(1)
		}
		return later(sat.At(7*60), now), sat.At(21 * 60), true
	case "libero":
		day, err := hours.ParseDate(d.Day)
		if err != nil {
			d.Errors["giorno"] = "catalog.finder.error_day"
		} else if day.Before(today) {
			d.Errors["giorno"] = "catalog.finder.error_past_day"
		}
		from, err1 := hours.ParseClock(d.From)
		if err1 != nil || from >= hours.DayLength {
			d.Errors["dalle"] = "catalog.finder.error_time"
		}
		to, err2 := hours.ParseClock(d.To)
		switch {
		case err2 != nil || to > hours.DayLength:
			d.Errors["alle"] = "catalog.finder.error_time"
		case err1 == nil && to <= from:
			d.Errors["alle"] = "catalog.finder.error_order"
		case err == nil && d.Errors["giorno"] == "" && !day.At(to).After(now):
			d.Errors["alle"] = "catalog.finder.error_past_time"
		}
		if len(d.Errors) > 0 {
			return time.Time{}, time.Time{}, false
		}
		return later(day.At(from), now), day.At(to), true
	default:
		d.Errors["quando"] = "catalog.finder.error_when"
		return time.Time{}, time.Time{}, false
	}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func (h *Web) finder(w http.ResponseWriter, r *http.Request) {
	c, ok := h.catalog(w, r)
	if !ok {
		return
	}
	now := h.now()
	d := &FinderData{Errors: map[string]string{}}
	from, to, ok := window(r.URL.Query(), now, d)
	status := http.StatusOK
	if len(d.Errors) > 0 {
		status = http.StatusBadRequest
	}
	page := h.App.NewPage(r, "catalog.finder.title")
	page.Breadcrumb = []web.Crumb{{Label: page.Title}}
	// A search's answer is everyone's: the same question, in the same
	// minute, of the same catalogue. Only valid questions, whose fields are
	// short, are kept.
	shared := ok && len(d.Day)+len(d.From)+len(d.To) < 40 &&
		h.App.SharedContent(page, "finder", fmt.Sprintf("%s|%s|%s|%s@%s@%d", d.When, d.Day, d.From, d.To, now.Format("2006-01-02T15:04"), c.Version))
	if ok && !shared {
		d.Searched, d.WindowStart, d.WindowEnd = true, from.In(hours.Rome), to.In(hours.Rome)
		d.WindowDate = shortDate(from, now)
		seen := map[string]bool{}
		for _, o := range c.Offices {
			spans := o.Hours.Spans(from, to)
			if len(spans) == 0 {
				continue
			}
			for k := range spans {
				spans[k].Start, spans[k].End = spans[k].Start.In(hours.Rome), spans[k].End.In(hours.Rome)
			}
			fo := FinderOffice{Office: o, Spans: spans}
			if d.Now() {
				fo.Until = statusOf(o, now).Until
			}
			d.Offices = append(d.Offices, fo)
			for _, s := range c.At(o.ID) {
				if s.Active() && s.Channel != "online" && !seen[s.ID] {
					seen[s.ID] = true
					d.Services = append(d.Services, s)
				}
			}
		}
		for _, s := range c.Services {
			if s.Active() && (s.Channel == "online" || s.Channel == "both") && s.OnlineURL != "" {
				d.Online = append(d.Online, s)
			}
		}
		slices.SortFunc(d.Services, func(a, b *Service) int { return compare(a.Title, b.Title) })
		if len(d.Offices) == 0 {
			for _, o := range c.Offices {
				if span, ok := o.Hours.NextOpening(to, 60); ok && (!d.HasNextOpening || span.Start.Before(d.NextOpening)) {
					d.NextOffice, d.NextOpening, d.HasNextOpening = o, span.Start.In(hours.Rome), true
				}
			}
			d.NextDate = shortDate(d.NextOpening, now)
		}
	}
	page.Data = d
	h.App.HTML(w, r, status, "finder", page)
}

func compare(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
