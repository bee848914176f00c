package booking

import (
	"context"
	"sort"
	"time"

	"github.com/civico-pa/civico/internal/hours"
)

// The figures that show whether booking and the queue gave residents their
// time back (issue 16, item 6): waits from ticket to call, services,
// appointments that nobody came to, and when residents book (how many
// outside the standard working day). The administration's dashboard reads
// Figures; the back office shows them and gives them as CSV.

// MaxFiguresDays bounds a period of figures.
const MaxFiguresDays = 366

// Figures are one period's figures, per office and in all.
type Figures struct {
	From, To hours.Date // the days, To included
	All      Tally
	Offices  []Tally // by office id
	Services []Tally // by service id
	// BySex are the appointments by the booker's proven sex: one row per
	// Sexes, small counts hidden (MinCell). Tickets are counted by sex on
	// the dashboard (its queue waits), not here.
	BySex []SexTally
}

// MinCell is the fewest appointments a figure by sex shows: a smaller
// count (not a zero) is hidden, and when one count of a figure is hidden
// the smallest other is too, so that none is the total less the others.
const MinCell = 5

// Sexes are the groups of the figures by sex: proven female, proven male,
// and unknown (a booking with a mail address only, an account whose sex
// nothing proved, a booking from before it was recorded).
var Sexes = []string{"F", "M", ""}

// Cell is a count of the figures by sex; Hidden: too small to show, or the
// one that would give a hidden one away.
type Cell struct {
	N      int
	Hidden bool
}

// SexTally is one sex's appointments in the period.
type SexTally struct {
	Sex                                                string
	Bookings, Cancelled, BookedServed, NoShow, Outside Cell
}

// NoShowRate is as Tally's; ok is false when a count it comes from is
// hidden.
func (t SexTally) NoShowRate() (rate float64, ok bool) {
	if t.BookedServed.Hidden || t.NoShow.Hidden {
		return 0, false
	}
	return Tally{BookedServed: t.BookedServed.N, NoShow: t.NoShow.N}.NoShowRate(), true
}

// OutsideShare is as Tally's; ok is false when a count it comes from is
// hidden.
func (t SexTally) OutsideShare() (share float64, ok bool) {
	if t.Bookings.Hidden || t.Cancelled.Hidden || t.Outside.Hidden {
		return 0, false
	}
	return Tally{Bookings: t.Bookings.N, Cancelled: t.Cancelled.N, Outside: t.Outside.N}.OutsideShare(), true
}

// bySex turns the counts by sex into the published rows: each figure's
// counts below MinCell (but above zero) hidden, and a second, the smallest
// other, when only one is.
func bySex(raw map[string]*Tally) []SexTally {
	out := make([]SexTally, len(Sexes))
	for i, sex := range Sexes {
		t := raw[sex]
		if t == nil {
			t = &Tally{}
		}
		out[i] = SexTally{Sex: sex, Bookings: Cell{N: t.Bookings}, Cancelled: Cell{N: t.Cancelled}, BookedServed: Cell{N: t.BookedServed},
			NoShow: Cell{N: t.NoShow}, Outside: Cell{N: t.Outside}}
	}
	fields := []func(*SexTally) *Cell{
		func(t *SexTally) *Cell { return &t.Bookings }, func(t *SexTally) *Cell { return &t.Cancelled },
		func(t *SexTally) *Cell { return &t.BookedServed }, func(t *SexTally) *Cell { return &t.NoShow },
		func(t *SexTally) *Cell { return &t.Outside },
	}
	for _, field := range fields {
		hidden := 0
		for i := range out {
			if c := field(&out[i]); c.N > 0 && c.N < MinCell {
				c.Hidden = true
				hidden++
			}
		}
		if hidden != 1 {
			continue
		}
		var smallest *Cell
		for i := range out {
			if c := field(&out[i]); !c.Hidden && (smallest == nil || c.N < smallest.N) {
				smallest = c
			}
		}
		smallest.Hidden = true
	}
	return out
}

// Tally counts one group's tickets and appointments.
type Tally struct {
	// Key is the office's or service's id ("" for all).
	Key string
	// Tickets taken, by how they ended (waiting ones, of today, count in
	// Tickets only).
	Tickets, Served, Skipped, Withdrawn int
	// Waits from taking a ticket to its call (Calls of them), and services
	// from the call to their end (Services of them): median and 90th
	// percentile.
	Calls, Services                    int
	WaitMedian, WaitP90, ServiceMedian time.Duration
	// Appointments in the period (by their start), those cancelled, and
	// the outcomes the office recorded.
	Bookings, Cancelled, BookedServed, NoShow int
	// ByHour and ByWeekday count the live appointments by their start
	// (Rome's clock; Sunday is 0); Outside those outside 08:00-18:00 on
	// weekdays, or at the weekend.
	ByHour    [24]int
	ByWeekday [7]int
	Outside   int

	waits, services []time.Duration
}

// NoShowRate is the share of appointments with a recorded outcome that
// nobody came to (0 when none is recorded).
func (t Tally) NoShowRate() float64 {
	if n := t.BookedServed + t.NoShow; n > 0 {
		return float64(t.NoShow) / float64(n)
	}
	return 0
}

// OutsideShare is the share of live appointments outside the standard
// working day.
func (t Tally) OutsideShare() float64 {
	live := t.Bookings - t.Cancelled
	if live > 0 {
		return float64(t.Outside) / float64(live)
	}
	return 0
}

// Outside reports whether an appointment starting at t is outside the
// standard working day: before 08:00 or from 18:00 on a weekday, or on a
// Saturday or Sunday.
func Outside(t time.Time) bool {
	l := t.In(hours.Rome)
	if wd := l.Weekday(); wd == time.Saturday || wd == time.Sunday {
		return true
	}
	return l.Hour() < 8 || l.Hour() >= 18
}

// Figures computes the figures of the days from..to (both included).
func (s *Store) Figures(ctx context.Context, from, to hours.Date) (*Figures, error) {
	f := &Figures{From: from, To: to}
	start, end := from.At(0), to.AddDays(1).At(0)
	offices, services := map[string]*Tally{}, map[string]*Tally{}
	group := func(m map[string]*Tally, key string) *Tally {
		t := m[key]
		if t == nil {
			t = &Tally{Key: key}
			m[key] = t
		}
		return t
	}
	rows, err := s.DB.QueryContext(ctx, `SELECT office_id, service_id, state, taken_at, called_at, done_at FROM queue_tickets
		WHERE taken_at >= $1 AND taken_at < $2`, start, end)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var office, service string
		var state TicketState
		var taken time.Time
		var called, done *time.Time
		if err := rows.Scan(&office, &service, &state, &taken, &called, &done); err != nil {
			return nil, err
		}
		for _, t := range []*Tally{&f.All, group(offices, office), group(services, service)} {
			t.Tickets++
			switch state {
			case Served:
				t.Served++
			case Skipped:
				t.Skipped++
			case Withdrawn:
				t.Withdrawn++
			}
			if called != nil {
				t.waits = append(t.waits, called.Sub(taken))
				if done != nil && state == Served {
					t.services = append(t.services, done.Sub(*called))
				}
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	sexes := map[string]*Tally{}
	brows, err := s.DB.QueryContext(ctx, `SELECT b.office_id, b.service_id, b.state, b.start_at, COALESCE(o.outcome, ''), b.sex FROM bookings b
		LEFT JOIN booking_outcomes o ON o.booking_id = b.id WHERE b.start_at >= $1 AND b.start_at < $2 AND b.state <> 'expired'`, start, end)
	if err != nil {
		return nil, err
	}
	defer brows.Close()
	for brows.Next() {
		var office, service, outcome, sex string
		var state State
		var at time.Time
		if err := brows.Scan(&office, &service, &state, &at, &outcome, &sex); err != nil {
			return nil, err
		}
		l := at.In(hours.Rome)
		for _, t := range []*Tally{&f.All, group(offices, office), group(services, service), group(sexes, sex)} {
			t.Bookings++
			if state == Cancelled {
				t.Cancelled++
				continue
			}
			switch outcome {
			case OutcomeServed:
				t.BookedServed++
			case OutcomeNoShow:
				t.NoShow++
			}
			t.ByHour[l.Hour()]++
			t.ByWeekday[l.Weekday()]++
			if Outside(at) {
				t.Outside++
			}
		}
	}
	if err := brows.Err(); err != nil {
		return nil, err
	}
	f.All.summarise()
	f.BySex = bySex(sexes)
	for _, m := range []struct {
		from map[string]*Tally
		to   *[]Tally
	}{{offices, &f.Offices}, {services, &f.Services}} {
		for _, t := range m.from {
			t.summarise()
			*m.to = append(*m.to, *t)
		}
		sort.Slice(*m.to, func(a, b int) bool { return (*m.to)[a].Key < (*m.to)[b].Key })
	}
	return f, nil
}

// summarise turns the waits and services into their median and 90th
// percentile (nearest rank).
func (t *Tally) summarise() {
	t.Calls, t.Services = len(t.waits), len(t.services)
	t.WaitMedian, t.WaitP90 = quantile(t.waits, 0.5), quantile(t.waits, 0.9)
	t.ServiceMedian = quantile(t.services, 0.5)
	t.waits, t.services = nil, nil
}

// quantile is the nearest-rank q-quantile of ds (0 for none): the smallest
// value with at least q of the values at or below it.
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	sort.Slice(ds, func(a, b int) bool { return ds[a] < ds[b] })
	rank := int(q*float64(len(ds)) + 0.999999999)
	return ds[min(max(rank, 1), len(ds))-1]
}
