// Package hours is the algebra of opening hours: weekly schedules with
// several intervals a day, schedules valid for a period (summer hours),
// exceptions on single dates, Italian public holidays and the town's patron
// day, all in wall-clock Europe/Rome time and correct across daylight-saving
// changes. It answers "is it open at this instant?", "when does it open
// next?", "which intervals fall in this range?", and combines several
// offices' hours (union, intersection) for coordination.
//
// Rules are plain functions over plain values: no database, no HTTP.
package hours

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // the tz database travels inside the binary
)

// Rome is the time zone every opening hour is expressed in.
var Rome = mustLoad("Europe/Rome")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// Clock is a wall-clock time as minutes after midnight. Values past 24:00
// (up to 48:00) express an interval that ends on the next day: 22:00-26:00
// closes at 02:00.
type Clock int

// Minutes in a day.
const DayLength Clock = 24 * 60

// ParseClock reads "HH:MM" (00:00 to 48:00).
func ParseClock(s string) (Clock, error) {
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok || len(m) != 2 || len(h) == 0 || len(h) > 2 {
		return 0, fmt.Errorf("%w: %q", ErrClock, s)
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh < 0 || mm < 0 || mm > 59 || hh*60+mm > int(2*DayLength) {
		return 0, fmt.Errorf("%w: %q", ErrClock, s)
	}
	return Clock(hh*60 + mm), nil
}

func (c Clock) String() string { return fmt.Sprintf("%02d:%02d", int(c)/60, int(c)%60) }

// Interval is an opening on one day, from Start to End (End after Start,
// at most 24 hours later).
type Interval struct {
	Start, End Clock
}

func (i Interval) String() string { return i.Start.String() + "-" + i.End.String() }

// Minutes is the interval's length in wall-clock minutes.
func (i Interval) Minutes() int { return int(i.End - i.Start) }

// Errors of invalid hours; each names what is wrong.
var (
	ErrInverted = errors.New("an interval must end after it starts")
	ErrOverlap  = errors.New("intervals of the same day overlap")
	ErrTooLong  = errors.New("an interval lasts at most 24 hours and ends by 48:00")
	ErrPeriod   = errors.New("a schedule's period must end on or after its start")
	ErrOutside  = errors.New("an exception lies outside the schedules' periods")
	ErrClock    = errors.New("not a time between 00:00 and 48:00 as HH:MM")
	ErrDate     = errors.New("not a date as YYYY-MM-DD")
)

// ValidateDay checks one day's intervals: each ends after it starts, none
// overlaps another. The intervals are sorted in place.
func ValidateDay(day []Interval) error {
	sort.Slice(day, func(a, b int) bool { return day[a].Start < day[b].Start })
	for k, i := range day {
		if i.Start < 0 || i.End <= i.Start {
			return fmt.Errorf("%w: %s", ErrInverted, i)
		}
		if i.End-i.Start > DayLength || i.End > 2*DayLength || i.Start >= DayLength {
			return fmt.Errorf("%w: %s", ErrTooLong, i)
		}
		if k > 0 && i.Start < day[k-1].End {
			return fmt.Errorf("%w: %s and %s", ErrOverlap, day[k-1], i)
		}
	}
	return nil
}

// Week holds the intervals of each weekday, indexed by time.Weekday.
type Week [7][]Interval

// Validate checks every day of the week, and that an interval running past
// midnight does not overlap the next day's first one.
func (w *Week) Validate() error {
	for d := range w {
		if err := ValidateDay(w[d]); err != nil {
			return fmt.Errorf("%s: %w", time.Weekday(d), err)
		}
	}
	for d := range w {
		day, next := w[d], w[(d+1)%7]
		if len(day) == 0 || len(next) == 0 {
			continue
		}
		if last := day[len(day)-1]; last.End > DayLength && last.End-DayLength > next[0].Start {
			return fmt.Errorf("%s: %w: %s runs into %s of the next day", time.Weekday(d), ErrOverlap, last, next[0])
		}
	}
	return nil
}

// Minutes is the number of open minutes in the week.
func (w *Week) Minutes() int {
	n := 0
	for _, day := range w {
		for _, i := range day {
			n += i.Minutes()
		}
	}
	return n
}

// Date is a calendar day, without time or zone.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf is the Rome calendar day of an instant.
func DateOf(t time.Time) Date {
	y, m, d := t.In(Rome).Date()
	return Date{y, m, d}
}

// ParseDate reads "YYYY-MM-DD".
func ParseDate(s string) (Date, error) {
	t, err := time.Parse("2006-01-02", strings.TrimSpace(s))
	if err != nil {
		return Date{}, fmt.Errorf("%w: %q", ErrDate, s)
	}
	return Date{t.Year(), t.Month(), t.Day()}, nil
}

func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day) }

// At is the instant of a wall-clock time on this day in Rome. A Clock past
// 24:00 falls on the next day. In the hour skipped when clocks go forward
// the instant is the one Go's time.Date chooses (the time after the jump).
func (d Date) At(c Clock) time.Time {
	return time.Date(d.Year, d.Month, d.Day+int(c)/60/24, (int(c)/60)%24, int(c)%60, 0, 0, Rome)
}

// AddDays moves by n calendar days.
func (d Date) AddDays(n int) Date {
	t := time.Date(d.Year, d.Month, d.Day+n, 12, 0, 0, 0, time.UTC)
	return Date{t.Year(), t.Month(), t.Day()}
}

// Weekday of the day.
func (d Date) Weekday() time.Weekday {
	return time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC).Weekday()
}

// Before reports whether d is earlier than e.
func (d Date) Before(e Date) bool {
	if d.Year != e.Year {
		return d.Year < e.Year
	}
	if d.Month != e.Month {
		return d.Month < e.Month
	}
	return d.Day < e.Day
}

// IsZero reports whether the date is unset.
func (d Date) IsZero() bool { return d == Date{} }
