package catalog

import (
	"time"

	"github.com/civico-pa/civico/internal/hours"
)

// Reach is a service's regular week at its offices: how long at least one
// of its (published) offices is open, and how much of that lies outside
// the standard working day (hours.WorkingTime: weekdays 08:00-18:00; the
// rest of a weekday and the whole weekend are outside).
type Reach struct {
	Service        string
	Total, Outside time.Duration
}

// Reach is every published service with an office, in the regular
// timetables (hours.Regular: no exception, no public holiday) of the week
// from monday, in the order of Services. The dashboard records it as the
// timetables change (README, "Cruscotto").
func (c *Catalog) Reach(monday hours.Date) []Reach {
	from, to := monday.At(0), monday.AddDays(7).At(0)
	work := hours.WorkingTime(from, to)
	week := map[string][]hours.Span{}
	var out []Reach
	for _, s := range c.Services {
		var spans []hours.Span
		has := false
		for _, id := range s.Offices {
			o := c.offices[id]
			if o == nil || o.Hours == nil {
				continue
			}
			has = true
			w, ok := week[id]
			if !ok {
				w = o.Hours.Regular(monday)
				week[id] = w
			}
			spans = append(spans, w...)
		}
		if !has {
			continue
		}
		union := hours.Union(spans)
		out = append(out, Reach{Service: s.ID, Total: hours.Total(union), Outside: hours.Total(hours.Subtract(union, work))})
	}
	return out
}
