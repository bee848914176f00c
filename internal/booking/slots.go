// Package booking is appointments at the town's offices: the slots an
// office offers for a service (its opening hours cut into the service's
// length, as many at once as counters are open for it), the resident's
// booking in the national model's flow, its confirmation by mail with an
// iCalendar file, the reminder the day before, and cancelling.
package booking

import (
	"time"

	"github.com/civico-pa/civico/internal/hours"
)

// Slot is one appointment time of an office for a service: Capacity
// people can be received at once (the counters open for the service),
// Taken of them are booked.
type Slot struct {
	Start, End time.Time
	Capacity   int
	Taken      int
}

// Free is how many places are left.
func (s Slot) Free() int { return max(0, s.Capacity-s.Taken) }

// Evening reports whether the slot is of the time policy's kind: it ends
// after 18:00 on a weekday or falls on a Saturday or Sunday, Rome time
// (the hours commuters can actually use, as hours.WorkEnd has it).
func (s Slot) Evening() bool {
	start := s.Start.In(hours.Rome)
	if wd := start.Weekday(); wd == time.Saturday || wd == time.Sunday {
		return true
	}
	d := hours.DateOf(start)
	return s.End.After(d.At(hours.WorkEnd)) || start.Before(d.At(hours.WorkStart))
}

// Key is how a slot's start is stored and counted: Unix seconds.
func Key(t time.Time) int64 { return t.Unix() }

// Grid is what slots are cut from: an office's hours, the service's
// length, and the counters open for it.
type Grid struct {
	Hours    *hours.Hours
	Length   time.Duration
	Counters int
}

// Slots lists the slots that start in [from, to) and not before now, in
// order. Each opening of the office (hours.Spans: Rome's calendar, its
// exceptions and holidays, daylight saving) is cut into consecutive slots
// of the service's length from its start; a slot that would run past the
// closing time is not offered. The grid is anchored at each opening's
// start, not at from, so the same slot has the same time whatever range
// is asked. taken counts the places booked per slot (Key of its start).
func (g Grid) Slots(from, to, now time.Time, taken map[int64]int) []Slot {
	if g.Hours == nil || g.Length <= 0 || g.Counters <= 0 || !from.Before(to) {
		return nil
	}
	if from.Before(now) {
		from = now
	}
	if !from.Before(to) {
		return nil
	}
	// Openings are read from the day before from's: an opening that
	// started then (or earlier that day, running past midnight) keeps its
	// own grid. An interval lasts at most 24 hours and starts before its
	// day's midnight, so none starting earlier reaches from's day.
	// They are read a slot's length past to, so that a slot starting
	// before to is not cut by it.
	spans := g.Hours.Spans(hours.DateOf(from).AddDays(-1).At(0), to.Add(g.Length))
	var out []Slot
	for _, sp := range spans {
		for start := sp.Start; ; start = start.Add(g.Length) {
			end := start.Add(g.Length)
			if end.After(sp.End) || !start.Before(to) {
				break
			}
			if start.Before(from) {
				continue
			}
			out = append(out, Slot{Start: start, End: end, Capacity: g.Counters, Taken: taken[Key(start)]})
		}
	}
	return out
}

// Find returns the slot that starts at start, if the grid offers one.
func (g Grid) Find(start, now time.Time, taken map[int64]int) (Slot, bool) {
	for _, s := range g.Slots(start, start.Add(time.Second), now, taken) {
		if s.Start.Equal(start) {
			return s, true
		}
	}
	return Slot{}, false
}

// Nearest are up to n slots with a free place closest in time to t, in
// order of time: what a resident is offered when the slot they chose was
// taken meanwhile.
func Nearest(slots []Slot, t time.Time, n int) []Slot {
	var free []Slot
	for _, s := range slots {
		if s.Free() > 0 {
			free = append(free, s)
		}
	}
	dist := func(s Slot) time.Duration {
		d := s.Start.Sub(t)
		if d < 0 {
			return -d
		}
		return d
	}
	// free is in time order: the n nearest are a window of it.
	lo := 0
	for hi := 0; hi < len(free); hi++ {
		if hi-lo+1 > n {
			if dist(free[lo]) <= dist(free[hi]) {
				break
			}
			lo++
		}
	}
	hi := min(len(free), lo+n)
	return free[lo:hi]
}
