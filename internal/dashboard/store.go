package dashboard

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/hours"
)

// Event is one thing a feature counts for the dashboard: when it
// happened, its key within the figure (a login method; a service and a
// channel) and the person's sex (F, M, "" unknown).
type Event struct {
	At       time.Time
	Key, Sex string
}

// Source is a feature's figure of events: Events returns what happened in
// [from, to), read from the feature's own tables. The dashboard asks each
// source for the minutes since its watermark and adds them to its monthly
// counters; it never reads another feature's tables.
type Source struct {
	Figure string
	Events func(ctx context.Context, from, to time.Time) ([]Event, error)
}

// Level is one value of a state figure: how many there are now of key and
// sex, and how many of them are late (an application past its due day).
type Level struct {
	Key, Sex string
	N, Late  int64
}

// Gauge is a feature's figure of a state (residents active lately,
// applications open), measured at each collection and replaced.
type Gauge struct {
	Figure string
	Levels func(ctx context.Context, now time.Time) ([]Level, error)
}

// Reach is a service's regular week at its offices, as a feature hands
// it: how long at least one office is open, and of it how long outside the
// standard working day (hours.WorkingTime: weekdays 08:00-18:00).
type Reach struct {
	Service        string
	Total, Outside time.Duration
}

// Reacher is a feature's weekly hours of each service now (the
// catalogue's); the dashboard keeps a dated snapshot of each service's
// whenever it changes.
type Reacher func(ctx context.Context, now time.Time) ([]Reach, error)

// The figures civico's features hand the dashboard (cmd/civico wires the
// sources).
const (
	Registrations = "registrations" // accounts made, key the first login's method
	PINs          = "pins"          // PIN/PUK envelopes handed out at the URP
	Applications  = "applications"  // applications registered, key "service:channel"
	Payments      = "payments"      // receipts recorded, key "category:channel" (checkout: on the portal)
	QueueWaits    = "queue_waits"   // tickets served, key "service:bucket" (WaitBucket)
	// AppointmentWaits are the appointments that stood on their day,
	// counted in the month of the day, key "service:bucket" (DaysBucket
	// of the days from the booking to the day), by the booker's proven sex.
	AppointmentWaits = "appointment_waits"
	Active30         = "active_30" // residents who logged in in the last 30 days
	Active90         = "active_90" // ... 90 days
	Open             = "open_applications"
	// ReachTotal and ReachOutside are the open data's rows of the weekly
	// minutes a service is reachable, in all and outside the working day,
	// from a day (the snapshots).
	ReachTotal   = "reach_total_minutes"
	ReachOutside = "reach_outside_minutes"
)

// WaitBuckets are the classes of a queue's wait, in minutes.
var WaitBuckets = []string{"0-10", "10-20", "20-30", "30-60", "60+"}

// WaitBucket is the class of a wait.
func WaitBucket(d time.Duration) string {
	switch m := d.Minutes(); {
	case m < 10:
		return "0-10"
	case m < 20:
		return "10-20"
	case m < 30:
		return "20-30"
	case m < 60:
		return "30-60"
	}
	return "60+"
}

// DaysBuckets are the classes of an appointment's wait, in calendar days
// from the booking to the appointment's day.
var DaysBuckets = []string{"0", "1-3", "4-7", "8-14", "15-30", "31-60", "60+"}

// DaysBucket is the class of a wait of days.
func DaysBucket(days int) string {
	switch {
	case days <= 0:
		return "0"
	case days <= 3:
		return "1-3"
	case days <= 7:
		return "4-7"
	case days <= 14:
		return "8-14"
	case days <= 30:
		return "15-30"
	case days <= 60:
		return "31-60"
	}
	return "60+"
}

// Sexes are the sexes the figures count, "" for unknown.
var Sexes = []string{"F", "M", ""}

// Store keeps the dashboard's counters.
type Store struct {
	DB      *db.DB
	Sources []Source
	Gauges  []Gauge
	Reach   Reacher
	// Lag keeps the collection this far behind the clock, so that an event
	// whose transaction commits a little after its timestamp is still
	// counted (DefaultLag).
	Lag time.Duration
	Now func() time.Time
	// Recheck is how long the pages' view is kept before the counters'
	// version is read again (DefaultRecheck).
	Recheck time.Duration

	mu    sync.Mutex
	cache *cached
}

// DefaultLag is how far the collection stays behind the clock.
const DefaultLag = 5 * time.Minute

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// Month is the Rome month of t, as the counters key it (YYYY-MM).
func Month(t time.Time) string { return t.In(hours.Rome).Format("2006-01") }

// ErrConcurrent is a collection that found its watermark moved by another:
// nothing was added, the other counted.
var ErrConcurrent = errors.New("dashboard: another collection moved the watermark")

// Collect adds to the counters what each source's events since its
// watermark, up to the clock less the lag, and measures the gauges. It
// returns how many events it counted.
func (s *Store) Collect(ctx context.Context) (int, error) {
	defer s.recheck()
	lag := s.Lag
	if lag == 0 {
		lag = DefaultLag
	}
	now := s.now()
	// Microseconds, as PostgreSQL keeps them: the watermark read back is
	// the one written.
	upto := now.Add(-lag).Truncate(time.Microsecond)
	total := 0
	var errs []error
	for _, src := range s.Sources {
		n, err := s.collect(ctx, src, upto, now)
		total += n
		if err != nil {
			errs = append(errs, fmt.Errorf("dashboard: %s: %w", src.Figure, err))
		}
	}
	if err := s.Measure(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := s.Snapshot(ctx); err != nil {
		errs = append(errs, err)
	}
	return total, errors.Join(errs...)
}

func (s *Store) collect(ctx context.Context, src Source, upto, now time.Time) (int, error) {
	var from time.Time
	var known bool
	var last sql.NullTime
	err := s.DB.QueryRowContext(ctx, `SELECT upto FROM dashboard_watermarks WHERE source = $1`, src.Figure).Scan(&last)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return 0, err
	default:
		from, known = last.Time.UTC(), true
	}
	if known && !upto.After(from) {
		return 0, nil
	}
	events, err := src.Events(ctx, from, upto)
	if err != nil {
		return 0, err
	}
	type cell struct{ month, key, sex string }
	counts := map[cell]int64{}
	for _, e := range events {
		sex := e.Sex
		if sex != "F" && sex != "M" {
			sex = ""
		}
		counts[cell{Month(e.At), e.Key, sex}]++
	}
	cells := make([]cell, 0, len(counts))
	for c := range counts {
		cells = append(cells, c)
	}
	// In the key's order, so that two writers lock rows in the same order.
	sort.Slice(cells, func(i, j int) bool {
		a, b := cells[i], cells[j]
		if a.month != b.month {
			return a.month < b.month
		}
		if a.key != b.key {
			return a.key < b.key
		}
		return a.sex < b.sex
	})
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		// The watermark moves first, conditionally: a collection racing
		// this one (a second process) finds it moved and adds nothing.
		var res sql.Result
		var err error
		if known {
			res, err = tx.ExecContext(ctx, `UPDATE dashboard_watermarks SET upto = $1, collected_at = $2 WHERE source = $3 AND upto = $4`, upto, now, src.Figure, from)
		} else {
			res, err = tx.ExecContext(ctx, `INSERT INTO dashboard_watermarks (source, upto, collected_at) VALUES ($1, $2, $3) ON CONFLICT (source) DO NOTHING`, src.Figure, upto, now)
		}
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return ErrConcurrent
		}
		for _, c := range cells {
			if _, err := tx.ExecContext(ctx, `INSERT INTO dashboard_counts (figure, month, key, sex, n) VALUES ($1, $2, $3, $4, $5)
				ON CONFLICT (figure, month, key, sex) DO UPDATE SET n = dashboard_counts.n + excluded.n`, src.Figure, c.month, c.key, c.sex, counts[c]); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, ErrConcurrent) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return len(events), nil
}

// Measure replaces the gauges' levels with what they measure now.
func (s *Store) Measure(ctx context.Context) error {
	defer s.recheck()
	now := s.now()
	var errs []error
	for _, g := range s.Gauges {
		levels, err := g.Levels(ctx, now)
		if err != nil {
			errs = append(errs, fmt.Errorf("dashboard: %s: %w", g.Figure, err))
			continue
		}
		err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
			if err := s.DB.Hold(ctx, tx, db.LockDashboardLevels); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM dashboard_levels WHERE figure = $1`, g.Figure); err != nil {
				return err
			}
			sum := map[[2]string]Level{}
			for _, l := range levels {
				if l.Sex != "F" && l.Sex != "M" {
					l.Sex = ""
				}
				k := [2]string{l.Key, l.Sex}
				x := sum[k]
				x.Key, x.Sex, x.N, x.Late = l.Key, l.Sex, x.N+l.N, x.Late+l.Late
				sum[k] = x
			}
			for _, l := range sum {
				if _, err := tx.ExecContext(ctx, `INSERT INTO dashboard_levels (figure, key, sex, n, late, measured_at) VALUES ($1, $2, $3, $4, $5, $6)`,
					g.Figure, l.Key, l.Sex, l.N, l.Late, now); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Snapshot records each service's week of reach that differs from its
// latest snapshot (or has none), dated now: the history of timetables
// the catalogue does not keep. One at a time (the levels' lock), so that
// two processes at once write one snapshot.
func (s *Store) Snapshot(ctx context.Context) error {
	defer s.recheck()
	if s.Reach == nil {
		return nil
	}
	now := s.now().Truncate(time.Microsecond)
	list, err := s.Reach(ctx, now)
	if err != nil {
		return fmt.Errorf("dashboard: reach: %w", err)
	}
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.DB.Hold(ctx, tx, db.LockDashboardLevels); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT r.service, r.total_minutes, r.outside_minutes FROM dashboard_reach r
			WHERE r.since = (SELECT MAX(since) FROM dashboard_reach l WHERE l.service = r.service)`)
		if err != nil {
			return err
		}
		latest := map[string][2]int64{}
		for rows.Next() {
			var service string
			var total, outside int64
			if err := rows.Scan(&service, &total, &outside); err != nil {
				_ = rows.Close()
				return err
			}
			latest[service] = [2]int64{total, outside}
		}
		if err := rows.Close(); err != nil {
			return err
		}
		for _, r := range list {
			m := [2]int64{int64(r.Total / time.Minute), int64(r.Outside / time.Minute)}
			if was, ok := latest[r.Service]; ok && was == m {
				continue
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO dashboard_reach (service, since, total_minutes, outside_minutes) VALUES ($1, $2, $3, $4)`,
				r.Service, now, m[0], m[1]); err != nil {
				return err
			}
		}
		return nil
	})
}

// ReachSnapshot is a service's week of reach since a day, in minutes.
type ReachSnapshot struct {
	Service        string
	Since          time.Time
	Total, Outside int64
}

// Snapshots are every snapshot of reach, by service and date.
func (s *Store) Snapshots(ctx context.Context) ([]ReachSnapshot, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT service, since, total_minutes, outside_minutes FROM dashboard_reach ORDER BY service, since`)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out []ReachSnapshot
	for rows.Next() {
		var r ReachSnapshot
		if err := rows.Scan(&r.Service, &r.Since, &r.Total, &r.Outside); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Count is one counter: a figure's events of a month, key and sex.
type Count struct {
	Figure string `json:"figure"`
	Month  string `json:"month"`
	Key    string `json:"key"`
	Sex    string `json:"sex"`
	N      int64  `json:"count"`
}

// Counts are every counter, in order: the open data's rows.
func (s *Store) Counts(ctx context.Context) ([]Count, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT figure, month, key, sex, n FROM dashboard_counts ORDER BY figure, month, key, sex`)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out []Count
	for rows.Next() {
		var c Count
		if err := rows.Scan(&c.Figure, &c.Month, &c.Key, &c.Sex, &c.N); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Total is a figure's events from month to month (YYYY-MM, both
// included; "" for no bound), by sex.
func (s *Store) Total(ctx context.Context, figure, from, to string) (map[string]int64, error) {
	if to == "" {
		to = "9999-12"
	}
	rows, err := s.DB.QueryContext(ctx, `SELECT sex, SUM(n) FROM dashboard_counts WHERE figure = $1 AND month >= $2 AND month <= $3 GROUP BY sex`, figure, from, to)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	out := map[string]int64{}
	for rows.Next() {
		var sex string
		var n int64
		if err := rows.Scan(&sex, &n); err != nil {
			return nil, err
		}
		out[sex] = n
	}
	return out, rows.Err()
}

// LevelRow is a gauge's level as stored.
type LevelRow struct {
	Figure     string    `json:"figure"`
	Key        string    `json:"key"`
	Sex        string    `json:"sex"`
	N          int64     `json:"count"`
	Late       int64     `json:"late"`
	MeasuredAt time.Time `json:"measured_at"`
}

// Levels are the gauges' levels, in order.
func (s *Store) Levels(ctx context.Context) ([]LevelRow, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT figure, key, sex, n, late, measured_at FROM dashboard_levels ORDER BY figure, key, sex`)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out []LevelRow
	for rows.Next() {
		var l LevelRow
		if err := rows.Scan(&l.Figure, &l.Key, &l.Sex, &l.N, &l.Late, &l.MeasuredAt); err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// version is what changes when the counters may have: the latest
// collection and measure. The pages' view is cached by it.
func (s *Store) version(ctx context.Context) (string, error) {
	var a, b sql.NullString
	var c sql.NullString
	if err := s.DB.QueryRowContext(ctx, `SELECT (SELECT CAST(MAX(collected_at) AS TEXT) FROM dashboard_watermarks),
		(SELECT CAST(MAX(measured_at) AS TEXT) FROM dashboard_levels), (SELECT CAST(MAX(since) AS TEXT) FROM dashboard_reach)`).Scan(&a, &b, &c); err != nil {
		return "", err
	}
	return a.String + "|" + b.String + "|" + c.String, nil
}
