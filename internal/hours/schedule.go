package hours

import (
	"fmt"
	"sort"
	"sync"
	"time"
)

// Schedule is a week of hours valid for a period; a zero From or To leaves
// that side open. The base schedule of an office has neither.
type Schedule struct {
	From, To Date
	Week     Week
}

// Covers reports whether the schedule applies on d.
func (s *Schedule) Covers(d Date) bool {
	return (s.From.IsZero() || !d.Before(s.From)) && (s.To.IsZero() || !s.To.Before(d))
}

// Exception replaces the hours of one date: a closure (Closed, no
// intervals), changed hours, or an opening on a day normally closed.
type Exception struct {
	Date      Date
	Closed    bool
	Intervals []Interval
	Note      string
}

// Hours are an office's opening hours.
type Hours struct {
	// Schedules in order of precedence: the first that covers a date
	// applies (put summer hours before the base schedule).
	Schedules  []Schedule
	Exceptions []Exception
	Holidays   Holidays
	// OpenOnHolidays keeps the schedule on public holidays (a museum).
	OpenOnHolidays bool

	indexOnce sync.Once
	byDate    map[Date]*Exception
}

// Validate checks every schedule and exception. Exceptions must fall in a
// period some schedule covers, so that a typo in a year is caught.
func (h *Hours) Validate() error {
	for k := range h.Schedules {
		s := &h.Schedules[k]
		if !s.From.IsZero() && !s.To.IsZero() && s.To.Before(s.From) {
			return fmt.Errorf("schedule %d: %w (%s to %s)", k+1, ErrPeriod, s.From, s.To)
		}
		if err := s.Week.Validate(); err != nil {
			return fmt.Errorf("schedule %d: %w", k+1, err)
		}
	}
	seen := map[Date]bool{}
	for k := range h.Exceptions {
		e := &h.Exceptions[k]
		if seen[e.Date] {
			return fmt.Errorf("%w: %s", ErrDuplicate, e.Date)
		}
		seen[e.Date] = true
		if e.Closed && len(e.Intervals) > 0 {
			return fmt.Errorf("exception on %s: %w", e.Date, ErrClosedHours)
		}
		if !e.Closed && len(e.Intervals) == 0 {
			return fmt.Errorf("exception on %s: %w", e.Date, ErrNoHours)
		}
		if err := ValidateDay(e.Intervals); err != nil {
			return fmt.Errorf("exception on %s: %w", e.Date, err)
		}
		covered := false
		for i := range h.Schedules {
			covered = covered || h.Schedules[i].Covers(e.Date)
		}
		if !covered {
			return fmt.Errorf("%w: %s", ErrOutside, e.Date)
		}
	}
	return nil
}

// index builds the date index once; Hours are read by many requests at
// once and must not be changed after their first use.
func (h *Hours) index() {
	h.indexOnce.Do(func() {
		h.byDate = make(map[Date]*Exception, len(h.Exceptions))
		for k := range h.Exceptions {
			h.byDate[h.Exceptions[k].Date] = &h.Exceptions[k]
		}
	})
}

// Day is what applies on one date.
type Day struct {
	Date      Date
	Intervals []Interval
	// Holiday names the public holiday, if any; Exception is the date's
	// exception, if any.
	Holiday   string
	Exception *Exception
}

// On resolves the hours of date d: its exception if any; otherwise closed
// on a public holiday (unless OpenOnHolidays); otherwise the first schedule
// covering d.
func (h *Hours) On(d Date) Day {
	h.index()
	day := Day{Date: d, Holiday: h.Holidays.Name(d)}
	if e, ok := h.byDate[d]; ok {
		day.Exception = e
		day.Intervals = e.Intervals
		return day
	}
	if day.Holiday != "" && !h.OpenOnHolidays {
		return day
	}
	for k := range h.Schedules {
		if h.Schedules[k].Covers(d) {
			day.Intervals = h.Schedules[k].Week[d.Weekday()]
			return day
		}
	}
	return day
}

// Span is an opening between two instants.
type Span struct {
	Start, End time.Time
}

// Duration of the span.
func (s Span) Duration() time.Duration { return s.End.Sub(s.Start) }

// Spans lists the openings that overlap [from, to), clipped to it, in
// order. Days are walked in Rome's calendar, so a day of 23 or 25 hours
// (daylight saving) is handled by the tz database.
func (h *Hours) Spans(from, to time.Time) []Span {
	if !from.Before(to) {
		return nil
	}
	var out []Span
	// Start a day early: an interval of the previous day may run past midnight.
	for d, last := DateOf(from).AddDays(-1), DateOf(to); !last.Before(d); d = d.AddDays(1) {
		for _, i := range h.On(d).Intervals {
			s := Span{d.At(i.Start), d.At(i.End)}
			if s.End.After(from) && s.Start.Before(to) {
				if s.Start.Before(from) {
					s.Start = from
				}
				if s.End.After(to) {
					s.End = to
				}
				if s.Start.Before(s.End) {
					out = append(out, s)
				}
			}
		}
	}
	return Union(out)
}

// OpenAt reports whether the office is open at instant t.
func (h *Hours) OpenAt(t time.Time) bool {
	return len(h.Spans(t, t.Add(time.Second))) > 0
}

// NextOpening returns the first instant at or after t at which the office
// is open (t itself if open now) and when that opening ends, looking up to
// horizon days ahead; ok is false if it stays closed all that time.
func (h *Hours) NextOpening(t time.Time, horizon int) (Span, bool) {
	for week := 0; week*7 < horizon; week++ {
		from := t.AddDate(0, 0, week*7)
		to := t.AddDate(0, 0, min((week+1)*7, horizon))
		if spans := h.Spans(from, to); len(spans) > 0 {
			// The opening found may continue past the window.
			s := spans[0]
			if s.End.Equal(to) {
				if more := h.Spans(to, to.AddDate(0, 0, 1)); len(more) > 0 && more[0].Start.Equal(to) {
					s.End = more[0].End
				}
			}
			return s, true
		}
	}
	return Span{}, false
}

// Union merges overlapping or touching spans into a sorted list.
func Union(spans []Span) []Span {
	if len(spans) == 0 {
		return nil
	}
	s := append([]Span(nil), spans...)
	sort.Slice(s, func(a, b int) bool { return s[a].Start.Before(s[b].Start) })
	out := []Span{s[0]}
	for _, x := range s[1:] {
		last := &out[len(out)-1]
		if !x.Start.After(last.End) {
			if x.End.After(last.End) {
				last.End = x.End
			}
			continue
		}
		out = append(out, x)
	}
	return out
}

// Intersect returns the times covered by both lists.
func Intersect(a, b []Span) []Span {
	a, b = Union(a), Union(b)
	var out []Span
	for i, j := 0, 0; i < len(a) && j < len(b); {
		start, end := later(a[i].Start, b[j].Start), earlier(a[i].End, b[j].End)
		if start.Before(end) {
			out = append(out, Span{start, end})
		}
		if a[i].End.Before(b[j].End) {
			i++
		} else {
			j++
		}
	}
	return out
}

// Subtract returns the times in a not covered by b: the gaps of b in a.
func Subtract(a, b []Span) []Span {
	a, b = Union(a), Union(b)
	var out []Span
	j := 0
	for _, x := range a {
		start := x.Start
		for j < len(b) && !b[j].End.After(start) {
			j++
		}
		for k := j; k < len(b) && b[k].Start.Before(x.End); k++ {
			if b[k].Start.After(start) {
				out = append(out, Span{start, b[k].Start})
			}
			if b[k].End.After(start) {
				start = b[k].End
			}
		}
		if start.Before(x.End) {
			out = append(out, Span{start, x.End})
		}
	}
	return out
}

// Total is the time the spans cover.
func Total(spans []Span) time.Duration {
	var d time.Duration
	for _, s := range Union(spans) {
		d += s.Duration()
	}
	return d
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// Standard working day: weekdays from 08:00 to 18:00. What lies outside it
// (before 08:00, after 18:00, Saturdays and Sundays) is the time commuters
// can actually use.
const (
	WorkStart Clock = 8 * 60
	WorkEnd   Clock = 18 * 60
)

// WorkingTime lists the standard working day's spans in [from, to).
func WorkingTime(from, to time.Time) []Span {
	var out []Span
	for d, last := DateOf(from), DateOf(to); !last.Before(d); d = d.AddDays(1) {
		if wd := d.Weekday(); wd == time.Saturday || wd == time.Sunday {
			continue
		}
		s := Span{later(d.At(WorkStart), from), earlier(d.At(WorkEnd), to)}
		if s.Start.Before(s.End) {
			out = append(out, s)
		}
	}
	return out
}

// OutsideWorkingTime is the part of spans that falls outside the standard
// working day.
func OutsideWorkingTime(spans []Span, from, to time.Time) []Span {
	return Subtract(spans, WorkingTime(from, to))
}

// Regular lists the openings of the regular timetable in the seven days
// from monday: each day the first schedule that covers it, with neither
// its exception nor its public holiday. It is the week as planned, which
// a closure for a holiday or an extra opening on a date does not change:
// what a timetable's change changes.
func (h *Hours) Regular(monday Date) []Span {
	from, to := monday.At(0), monday.AddDays(7).At(0)
	var out []Span
	for d := monday.AddDays(-1); d.Before(monday.AddDays(7)); d = d.AddDays(1) {
		for k := range h.Schedules {
			if !h.Schedules[k].Covers(d) {
				continue
			}
			for _, i := range h.Schedules[k].Week[d.Weekday()] {
				s := Span{later(d.At(i.Start), from), earlier(d.At(i.End), to)}
				if s.Start.Before(s.End) {
					out = append(out, s)
				}
			}
			break
		}
	}
	return Union(out)
}
