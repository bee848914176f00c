package hours

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Errors of hours as written, beside those of the hours themselves.
var (
	ErrInterval    = errors.New("not an interval as HH:MM-HH:MM")
	ErrWeekday     = errors.New("not a weekday (monday ... sunday)")
	ErrDuplicate   = errors.New("two exceptions on the same date")
	ErrClosedHours = errors.New("a closure has no intervals")
	ErrNoHours     = errors.New("give the hours, or mark the day closed")
	// ErrPeriodsOverlap: two periods cover a same date. Hours accepts it
	// (the first period wins), but someone editing a timetable who writes
	// it has made a mistake: Check refuses it.
	ErrPeriodsOverlap = errors.New("two periods cover the same dates")
)

// WeekdayNames are the weekdays as a Spec names them, Monday first.
var WeekdayNames = []string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}

// Check returns every error of the spec at once, each naming its place as
// Hours does ("week.monday", "periods[0].to", "exceptions[2].hours[1]"),
// in the order of the spec: what someone editing a timetable needs to fix
// it in one go. Hours fails exactly when Check finds an error other than
// ErrPeriodsOverlap.
func (s Spec) Check() []*FieldError {
	var out []*FieldError
	add := func(field string, err error) { out = append(out, &FieldError{Field: field, Err: err}) }

	out = append(out, checkWeek("week", s.Week)...)

	type period struct {
		from, to Date
		k        int
	}
	var periods []period
	for k, p := range s.Periods {
		field := fmt.Sprintf("periods[%d]", k)
		from, errFrom := ParseDate(p.From)
		if errFrom != nil {
			add(field+".from", errFrom)
		}
		to, errTo := ParseDate(p.To)
		if errTo != nil {
			add(field+".to", errTo)
		}
		if errFrom == nil && errTo == nil {
			if to.Before(from) {
				add(field+".to", fmt.Errorf("%w (%s to %s)", ErrPeriod, from, to))
			} else {
				for _, q := range periods {
					if !to.Before(q.from) && !q.to.Before(from) {
						add(field+".from", fmt.Errorf("%w: periods %d and %d", ErrPeriodsOverlap, q.k+1, k+1))
						break
					}
				}
				periods = append(periods, period{from, to, k})
			}
		}
		out = append(out, checkWeek(field+".week", p.Week)...)
	}

	seen := map[Date]int{}
	for k, e := range s.Exceptions {
		field := fmt.Sprintf("exceptions[%d]", k)
		d, err := ParseDate(e.Date)
		if err != nil {
			add(field+".date", err)
		} else if first, twice := seen[d]; twice {
			add(field+".date", fmt.Errorf("%w: %s (exceptions %d and %d)", ErrDuplicate, d, first+1, k+1))
		} else {
			seen[d] = k
		}
		switch {
		case e.Closed && len(e.Hours) > 0:
			add(field+".hours", ErrClosedHours)
		case !e.Closed && len(e.Hours) == 0:
			add(field+".hours", ErrNoHours)
		default:
			out = append(out, checkDay(field+".hours", e.Hours)...)
		}
	}
	return out
}

// checkDay checks one day's intervals as written: each readable, then the
// day as a whole (order, overlaps, length).
func checkDay(field string, written []string) []*FieldError {
	var out []*FieldError
	day := make([]Interval, 0, len(written))
	for j, w := range written {
		i, err := ParseInterval(w)
		if err != nil {
			out = append(out, &FieldError{Field: fmt.Sprintf("%s[%d]", field, j), Err: err})
			continue
		}
		day = append(day, i)
	}
	if len(out) > 0 {
		return out
	}
	if err := ValidateDay(day); err != nil {
		return []*FieldError{{Field: field, Err: err}}
	}
	return nil
}

// checkWeek checks every day of a week, then an interval running past
// midnight into the next day's first one (named on the day it starts).
func checkWeek(field string, m map[string][]string) []*FieldError {
	var out []*FieldError
	names := make([]string, 0, len(m))
	for name := range m {
		names = append(names, name)
	}
	// Monday first, as the forms show them; unknown names last.
	sort.SliceStable(names, func(a, b int) bool { return weekdayOrder(names[a]) < weekdayOrder(names[b]) })
	var w Week
	whole := true
	for _, name := range names {
		wd, ok := weekdayNames[strings.ToLower(name)]
		if !ok {
			out = append(out, &FieldError{Field: field + "." + name, Err: ErrWeekday})
			whole = false
			continue
		}
		errs := checkDay(field+"."+name, m[name])
		if len(errs) > 0 {
			out = append(out, errs...)
			whole = false
			continue
		}
		for _, s := range m[name] {
			i, _ := ParseInterval(s)
			w[wd] = append(w[wd], i)
		}
		_ = ValidateDay(w[wd]) // sorts
	}
	if !whole {
		return out
	}
	for d := range w {
		day, next := w[d], w[(d+1)%7]
		if len(day) == 0 || len(next) == 0 {
			continue
		}
		if last := day[len(day)-1]; last.End > DayLength && last.End-DayLength > next[0].Start {
			out = append(out, &FieldError{Field: field + "." + strings.ToLower(time.Weekday(d).String()),
				Err: fmt.Errorf("%w: %s runs into %s of the next day", ErrOverlap, last, next[0])})
		}
	}
	return out
}

func weekdayOrder(name string) int {
	for i, n := range WeekdayNames {
		if strings.EqualFold(n, name) {
			return i
		}
	}
	return len(WeekdayNames)
}
