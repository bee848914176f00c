package dashboard

import (
	"context"
	"slices"
	"strings"
	"time"
)

// BySex is a figure by sex: women, men, unknown.
type BySex struct{ F, M, U int64 }

// Total is the three together.
func (b BySex) Total() int64 { return b.F + b.M + b.U }

func (b *BySex) add(sex string, n int64) {
	switch sex {
	case "F":
		b.F += n
	case "M":
		b.M += n
	default:
		b.U += n
	}
}

// Year is a figure's year by sex.
type Year struct {
	Year string
	BySex
}

// MethodYear is a year's registrations by login method.
type MethodYear struct {
	Year string
	N    map[string]int64
}

// ServiceRow is a service's applications by channel, with what the
// online ones saved.
type ServiceRow struct {
	Service      string
	Online, Desk BySex
	// SavedCents and Hours are what the online applications saved (Saved).
	SavedCents int64
	Hours      float64
}

// Share is the online applications' share of the service's, in percent.
func (r ServiceRow) Share() float64 {
	t := r.Online.Total() + r.Desk.Total()
	if t == 0 {
		return 0
	}
	return float64(r.Online.Total()) * 100 / float64(t)
}

// WaitYear is a year's tickets served by class of wait.
type WaitYear struct {
	Year string
	N    map[string]int64
}

// PaidRow is a category's payments: on the portal, and all.
type PaidRow struct {
	Category    string
	Online, All BySex
}

// StateRow is the applications open in a state, with the late ones.
type StateRow struct {
	State   string
	N, Late BySex
}

// View is what the dashboard's pages show, computed from the counters
// (a few hundred rows), cached until the next collection.
type View struct {
	Registrations      []Year
	RegistrationsTotal BySex
	Methods            []string
	ByMethod           []MethodYear
	PINs               []Year
	PINsTotal          BySex
	Active30, Active90 BySex
	Services           []ServiceRow
	Online, Desk       BySex
	SavedCents         int64
	Hours              float64
	HoursBySex         [3]float64
	// WaitMinutes is the counter's wait the hours count: the mean of the
	// WaitTickets tickets the queue measured when WaitMeasured, otherwise
	// the assumption (MeasuredWait).
	WaitMinutes  float64
	WaitTickets  int64
	WaitMeasured bool
	States       []StateRow
	// Paid are the payments by category: on the portal (checkout) and
	// all of them; PaidOnline and PaidAll their sums.
	Paid []PaidRow
	// Waits are the queue's tickets served by year and wait (WaitBuckets);
	// WaitsBySex the same by wait and sex of who waited, all years
	// together (proven at a check-in or an online ticket taken logged in;
	// unknown at the kiosk or anonymously).
	Waits      []WaitYear
	WaitsBySex map[string]BySex
	// Appointments are the appointments kept by year and days waited
	// (DaysBuckets); AppointmentsBySex the same by days waited and sex,
	// all years together.
	Appointments      []WaitYear
	AppointmentsBySex map[string]BySex
	// Reach is each service's week at its offices: as first recorded and
	// now (the dashboard's snapshots, dated as the timetables change).
	Reach []ReachRow
	// Public is what the public sees of the counters (Protect).
	Public              *Release
	PaidOnline, PaidAll BySex
	MeasuredAt          time.Time
	CollectedAt         string

	// version is the counters' version the view was built from.
	version string
}

// ReachRow is a service's week of reach as first recorded and now, and
// how many times it changed between.
type ReachRow struct {
	Service    string
	First, Now ReachSnapshot
	Changes    int
}

type cached struct {
	version string
	view    *View
	// checked is when version was read.
	checked time.Time
}

// DefaultRecheck is how long a view is shown before the counters'
// version is read again (Store.Recheck).
const DefaultRecheck = 10 * time.Second

// View is the dashboard's figures, read from the counters. The view is
// kept until the counters change: their version is read again Recheck
// after the last reading, at once after a collection by this process (a
// collection by another shows within Recheck).
func (s *Store) View(ctx context.Context) (*View, error) {
	recheck := s.Recheck
	if recheck == 0 {
		recheck = DefaultRecheck
	}
	now := time.Now()
	s.mu.Lock()
	c := s.cache
	s.mu.Unlock()
	if c != nil && !c.checked.IsZero() && now.Sub(c.checked) < recheck && now.After(c.checked) {
		return c.view, nil
	}
	version, err := s.version(ctx)
	if err != nil {
		return nil, err
	}
	if c != nil && c.version == version {
		s.mu.Lock()
		if s.cache == c {
			s.cache = &cached{version: version, view: c.view, checked: now}
		}
		s.mu.Unlock()
		return c.view, nil
	}
	v, err := s.build(ctx)
	if err != nil {
		return nil, err
	}
	v.CollectedAt, _, _ = strings.Cut(version, "|")
	v.version = version
	s.mu.Lock()
	s.cache = &cached{version: version, view: v, checked: now}
	s.mu.Unlock()
	return v, nil
}

// recheck has the next View read the counters' version (after this
// process changed them).
func (s *Store) recheck() {
	s.mu.Lock()
	if s.cache != nil {
		s.cache = &cached{version: s.cache.version, view: s.cache.view}
	}
	s.mu.Unlock()
}

func (s *Store) build(ctx context.Context) (*View, error) {
	// By year in the database: a few rows per figure and year.
	rows, err := s.DB.QueryContext(ctx, `SELECT figure, SUBSTR(month, 1, 4), key, sex, SUM(n) FROM dashboard_counts
		GROUP BY figure, SUBSTR(month, 1, 4), key, sex ORDER BY 1, 2, 3, 4`)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	v := &View{}
	var cells []baseCell
	regs, pins := map[string]*Year{}, map[string]*Year{}
	methods := map[string]map[string]int64{}
	services := map[string]*ServiceRow{}
	paid := map[string]*PaidRow{}
	waits := map[string]map[string]int64{}
	appts := map[string]map[string]int64{}
	v.AppointmentsBySex = map[string]BySex{}
	v.WaitsBySex = map[string]BySex{}
	year := func(m map[string]*Year, y string) *Year {
		if m[y] == nil {
			m[y] = &Year{Year: y}
		}
		return m[y]
	}
	for rows.Next() {
		var figure, y, key, sex string
		var n int64
		if err := rows.Scan(&figure, &y, &key, &sex, &n); err != nil {
			return nil, err
		}
		cells = append(cells, baseCell{Figure: figure, Period: y, Key: key, Sex: sex, N: n})
		switch figure {
		case Registrations:
			year(regs, y).add(sex, n)
			v.RegistrationsTotal.add(sex, n)
			if methods[y] == nil {
				methods[y] = map[string]int64{}
			}
			if key == "" {
				key = "unknown"
			}
			methods[y][key] += n
			if !slices.Contains(v.Methods, key) {
				v.Methods = append(v.Methods, key)
			}
		case PINs:
			year(pins, y).add(sex, n)
			v.PINsTotal.add(sex, n)
		case QueueWaits:
			_, bucket, _ := strings.Cut(key, ":")
			if waits[y] == nil {
				waits[y] = map[string]int64{}
			}
			waits[y][bucket] += n
			w := v.WaitsBySex[bucket]
			w.add(sex, n)
			v.WaitsBySex[bucket] = w
		case AppointmentWaits:
			_, bucket, _ := strings.Cut(key, ":")
			if appts[y] == nil {
				appts[y] = map[string]int64{}
			}
			appts[y][bucket] += n
			b := v.AppointmentsBySex[bucket]
			b.add(sex, n)
			v.AppointmentsBySex[bucket] = b
		case Payments:
			category, channel, _ := strings.Cut(key, ":")
			r := paid[category]
			if r == nil {
				r = &PaidRow{Category: category}
				paid[category] = r
			}
			r.All.add(sex, n)
			v.PaidAll.add(sex, n)
			if channel == "checkout" {
				r.Online.add(sex, n)
				v.PaidOnline.add(sex, n)
			}
		case Applications:
			service, channel, _ := strings.Cut(key, ":")
			r := services[service]
			if r == nil {
				r = &ServiceRow{Service: service}
				services[service] = r
			}
			if channel == "online" {
				r.Online.add(sex, n)
				v.Online.add(sex, n)
			} else {
				r.Desk.add(sex, n)
				v.Desk.add(sex, n)
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.Sort(v.Methods)
	v.Registrations = sortedYears(regs)
	v.PINs = sortedYears(pins)
	for _, y := range v.Registrations {
		v.ByMethod = append(v.ByMethod, MethodYear{Year: y.Year, N: methods[y.Year]})
	}
	all := map[string]int64{}
	for _, n := range waits {
		for bucket, k := range n {
			all[bucket] += k
		}
	}
	v.WaitMinutes, v.WaitTickets, v.WaitMeasured = MeasuredWait(all)
	for _, r := range services {
		r.SavedCents, r.Hours = Saved(r.Online.Total(), v.WaitMinutes)
		v.Services = append(v.Services, *r)
	}
	slices.SortFunc(v.Services, func(a, b ServiceRow) int { return strings.Compare(a.Service, b.Service) })
	v.SavedCents, v.Hours = Saved(v.Online.Total(), v.WaitMinutes)
	for y, n := range waits {
		v.Waits = append(v.Waits, WaitYear{Year: y, N: n})
	}
	slices.SortFunc(v.Waits, func(a, b WaitYear) int { return strings.Compare(a.Year, b.Year) })
	for y, n := range appts {
		v.Appointments = append(v.Appointments, WaitYear{Year: y, N: n})
	}
	slices.SortFunc(v.Appointments, func(a, b WaitYear) int { return strings.Compare(a.Year, b.Year) })
	for _, r := range paid {
		v.Paid = append(v.Paid, *r)
	}
	slices.SortFunc(v.Paid, func(a, b PaidRow) int { return strings.Compare(a.Category, b.Category) })
	for i, n := range []int64{v.Online.F, v.Online.M, v.Online.U} {
		_, v.HoursBySex[i] = Saved(n, v.WaitMinutes)
	}
	snaps, err := s.Snapshots(ctx)
	if err != nil {
		return nil, err
	}
	for _, r := range snaps {
		if n := len(v.Reach); n > 0 && v.Reach[n-1].Service == r.Service {
			v.Reach[n-1].Now = r
			v.Reach[n-1].Changes++
			continue
		}
		v.Reach = append(v.Reach, ReachRow{Service: r.Service, First: r, Now: r})
	}
	levels, err := s.Levels(ctx)
	if err != nil {
		return nil, err
	}
	states := map[string]*StateRow{}
	for _, l := range levels {
		if l.MeasuredAt.After(v.MeasuredAt) {
			v.MeasuredAt = l.MeasuredAt
		}
		day := l.MeasuredAt.In(time.UTC).Format(time.DateOnly)
		cells = append(cells, baseCell{Figure: l.Figure, Period: day, Key: l.Key, Sex: l.Sex, N: l.N})
		if l.Figure == Open {
			cells = append(cells, baseCell{Figure: Open + "_late", Period: day, Key: l.Key, Sex: l.Sex, N: l.Late})
		}
		switch l.Figure {
		case Active30:
			v.Active30.add(l.Sex, l.N)
		case Active90:
			v.Active90.add(l.Sex, l.N)
		case Open:
			r := states[l.Key]
			if r == nil {
				r = &StateRow{State: l.Key}
				states[l.Key] = r
			}
			r.N.add(l.Sex, l.N)
			r.Late.add(l.Sex, l.Late)
		}
	}
	for _, r := range states {
		v.States = append(v.States, *r)
	}
	slices.SortFunc(v.States, func(a, b StateRow) int { return strings.Compare(a.State, b.State) })
	v.Public = release(cells)
	return v, nil
}

func sortedYears(m map[string]*Year) []Year {
	out := make([]Year, 0, len(m))
	for _, y := range m {
		out = append(out, *y)
	}
	slices.SortFunc(out, func(a, b Year) int { return strings.Compare(a.Year, b.Year) })
	return out
}

// Forget drops the cached view: the next page builds it again (a
// benchmark's measure of the uncached page).
func (s *Store) Forget() {
	s.mu.Lock()
	s.cache = nil
	s.mu.Unlock()
}
