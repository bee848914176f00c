package jobs

import (
	"time"

	"github.com/civico-pa/civico/internal/hours"
)

// daily is the schedule of a daily job: hour:minute, wall-clock time in
// Rome, so it keeps its hour across the changes of daylight-saving time.
type daily struct{ hour, minute int }

// at is the day's hour:minute in Rome on the date of t in Rome. On the
// night clocks go forward a time that does not exist (02:30) is the same
// instant an hour later (03:30), as time.Date normalizes it.
func (d daily) at(t time.Time) time.Time {
	r := t.In(hours.Rome)
	return time.Date(r.Year(), r.Month(), r.Day(), d.hour, d.minute, 0, 0, hours.Rome)
}

// Next is the first hour:minute in Rome strictly after t (river's
// PeriodicSchedule).
func (d daily) Next(t time.Time) time.Time {
	next := d.at(t)
	for !next.After(t) {
		next = d.at(time.Date(next.Year(), next.Month(), next.Day()+1, 12, 0, 0, 0, hours.Rome))
	}
	return next
}

// last is the latest hour:minute in Rome at or before t: the slot a daily
// job inserted at t is for.
func (d daily) last(t time.Time) time.Time {
	prev := d.at(t)
	for prev.After(t) {
		prev = d.at(time.Date(prev.Year(), prev.Month(), prev.Day()-1, 12, 0, 0, 0, hours.Rome))
	}
	return prev
}
