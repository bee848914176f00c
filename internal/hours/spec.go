package hours

import (
	"fmt"
	"strings"
	"time"
)

// Spec is how hours are written down (in JSON, in forms): weekdays by
// English name, intervals as "HH:MM-HH:MM", dates as "YYYY-MM-DD".
type Spec struct {
	Week       map[string][]string `json:"week"`
	Periods    []PeriodSpec        `json:"periods,omitempty"`
	Exceptions []ExceptionSpec     `json:"exceptions,omitempty"`
}

// PeriodSpec is a schedule valid between two dates (inclusive).
type PeriodSpec struct {
	From string              `json:"from"`
	To   string              `json:"to"`
	Week map[string][]string `json:"week"`
}

// ExceptionSpec is one date's closure or changed hours.
type ExceptionSpec struct {
	Date   string   `json:"date"`
	Closed bool     `json:"closed,omitempty"`
	Hours  []string `json:"hours,omitempty"`
	Note   string   `json:"note,omitempty"`
}

// FieldError names the part of a Spec that is wrong, as a path such as
// "periods[0].week.monday[1]".
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

var weekdayNames = map[string]time.Weekday{
	"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday, "wednesday": time.Wednesday,
	"thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday,
}

// ParseInterval reads "HH:MM-HH:MM".
func ParseInterval(s string) (Interval, error) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return Interval{}, fmt.Errorf("%w: %q", ErrInterval, s)
	}
	start, err := ParseClock(a)
	if err != nil {
		return Interval{}, err
	}
	end, err := ParseClock(b)
	if err != nil {
		return Interval{}, err
	}
	return Interval{start, end}, nil
}

func parseWeek(field string, m map[string][]string) (Week, error) {
	var w Week
	for name, ivs := range m {
		wd, ok := weekdayNames[strings.ToLower(name)]
		if !ok {
			return w, &FieldError{field + "." + name, ErrWeekday}
		}
		for k, s := range ivs {
			i, err := ParseInterval(s)
			if err != nil {
				return w, &FieldError{fmt.Sprintf("%s.%s[%d]", field, name, k), err}
			}
			w[wd] = append(w[wd], i)
		}
		if err := ValidateDay(w[wd]); err != nil {
			return w, &FieldError{field + "." + name, err}
		}
	}
	if err := w.Validate(); err != nil {
		return w, &FieldError{field, err}
	}
	return w, nil
}

// Hours turns the spec into validated Hours; periods take precedence over
// the base week, in their order.
func (s Spec) Hours(holidays Holidays) (*Hours, error) {
	h := &Hours{Holidays: holidays}
	for k, p := range s.Periods {
		field := fmt.Sprintf("periods[%d]", k)
		from, err := ParseDate(p.From)
		if err != nil {
			return nil, &FieldError{field + ".from", err}
		}
		to, err := ParseDate(p.To)
		if err != nil {
			return nil, &FieldError{field + ".to", err}
		}
		w, err := parseWeek(field+".week", p.Week)
		if err != nil {
			return nil, err
		}
		h.Schedules = append(h.Schedules, Schedule{From: from, To: to, Week: w})
	}
	w, err := parseWeek("week", s.Week)
	if err != nil {
		return nil, err
	}
	h.Schedules = append(h.Schedules, Schedule{Week: w})
	for k, e := range s.Exceptions {
		field := fmt.Sprintf("exceptions[%d]", k)
		d, err := ParseDate(e.Date)
		if err != nil {
			return nil, &FieldError{field + ".date", err}
		}
		ex := Exception{Date: d, Closed: e.Closed, Note: e.Note}
		for j, s := range e.Hours {
			i, err := ParseInterval(s)
			if err != nil {
				return nil, &FieldError{fmt.Sprintf("%s.hours[%d]", field, j), err}
			}
			ex.Intervals = append(ex.Intervals, i)
		}
		h.Exceptions = append(h.Exceptions, ex)
	}
	if err := h.Validate(); err != nil {
		return nil, &FieldError{"hours", err}
	}
	return h, nil
}
