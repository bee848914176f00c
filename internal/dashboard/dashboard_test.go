package dashboard

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
)

// events is a source of fixed events, as a feature's table would give
// them: those in [from, to).
type events struct {
	mu   sync.Mutex
	list []Event
}

func (e *events) add(ev ...Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.list = append(e.list, ev...)
}

func (e *events) source(figure string) Source {
	return Source{Figure: figure, Events: func(_ context.Context, from, to time.Time) ([]Event, error) {
		e.mu.Lock()
		defer e.mu.Unlock()
		var out []Event
		for _, x := range e.list {
			if !x.At.Before(from) && x.At.Before(to) {
				out = append(out, x)
			}
		}
		return out, nil
	}}
}

// Every event is counted once, in its Rome month, whatever the number of
// processes collecting at once (each a store on its own handle of the
// same database); an event within the lag waits for the next collection;
// a sex other than F or M counts as unknown; a gauge's levels replace
// the former ones.
func TestCollectCountsOnce(t *testing.T) {
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := context.Background()
			now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
			src := &events{}
			// 23:30 UTC on 31 January is 1 February in Rome.
			src.add(Event{At: time.Date(2009, 1, 31, 23, 30, 0, 0, time.UTC), Key: "crs", Sex: "F"},
				Event{At: time.Date(2009, 11, 30, 10, 0, 0, 0, time.UTC), Key: "crs", Sex: "M"},
				Event{At: time.Date(2009, 11, 30, 11, 0, 0, 0, time.UTC), Key: "password", Sex: "?"})
			active := int64(5)
			gauge := Gauge{Figure: Active30, Levels: func(context.Context, time.Time) ([]Level, error) {
				return []Level{{Sex: "F", N: active}, {Sex: "M", N: 2}, {Sex: "M", N: 1}}, nil
			}}
			waits := &events{}
			waits.add(Event{At: time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC), Key: "cie:" + WaitBucket(9*time.Minute)},
				Event{At: time.Date(2025, 3, 3, 9, 30, 0, 0, time.UTC), Key: "cie:" + WaitBucket(75*time.Minute)})
			handles := dbtest.Handles(t, dialect, 4)
			stores := make([]*Store, len(handles))
			for i, d := range handles {
				stores[i] = &Store{DB: d, Sources: []Source{src.source(Registrations), waits.source(QueueWaits)}, Gauges: []Gauge{gauge}, Now: func() time.Time { return now }}
			}
			collectAll := func() {
				t.Helper()
				var wg sync.WaitGroup
				errs := make([]error, len(stores))
				for i, s := range stores {
					wg.Go(func() { _, errs[i] = s.Collect(ctx) })
				}
				wg.Wait()
				for _, err := range errs {
					if err != nil {
						t.Fatal(err)
					}
				}
			}
			collectAll()
			total, err := stores[0].Total(ctx, Registrations, "", "")
			if err != nil || total["F"] != 1 || total["M"] != 1 || total[""] != 1 {
				t.Fatalf("after four collections at once: %v, %v", total, err)
			}
			if feb, _ := stores[0].Total(ctx, Registrations, "2009-02", "2009-02"); feb["F"] != 1 {
				t.Errorf("the event of 1 February in Rome: %v", feb)
			}
			// An hour later: one just now (within the lag) and one after the
			// last collection's watermark.
			src.add(Event{At: now.Add(time.Hour - time.Minute), Key: "spid", Sex: "F"}, Event{At: now.Add(time.Minute), Key: "spid", Sex: "M"})
			now = now.Add(time.Hour)
			collectAll()
			if got, _ := stores[1].Total(ctx, Registrations, "2026-12", "2026-12"); got["F"] != 0 || got["M"] != 1 {
				t.Errorf("this month before the lag has passed: %v", got)
			}
			now = now.Add(DefaultLag)
			collectAll()
			if got, _ := stores[2].Total(ctx, Registrations, "2026-12", "2026-12"); got["F"] != 1 || got["M"] != 1 {
				t.Errorf("this month after the lag: %v", got)
			}
			active = 7
			collectAll()
			v, err := stores[3].View(ctx)
			if err != nil || v.Active30.F != 7 || v.Active30.M != 3 || v.RegistrationsTotal.Total() != 5 {
				t.Errorf("the view: active %+v, registrations %+v, %v", v.Active30, v.RegistrationsTotal, err)
			}
			if len(v.Waits) != 1 || v.Waits[0].Year != "2025" || v.Waits[0].N["0-10"] != 1 || v.Waits[0].N["60+"] != 1 {
				t.Errorf("the queue's waits: %+v", v.Waits)
			}
		})
	}
}

// The classes of an appointment's wait at their edges.
func TestDaysBucket(t *testing.T) {
	for days, want := range map[int]string{-1: "0", 0: "0", 1: "1-3", 3: "1-3", 4: "4-7", 7: "4-7", 8: "8-14", 14: "8-14", 15: "15-30", 30: "15-30", 31: "31-60", 60: "31-60", 61: "60+"} {
		if got := DaysBucket(days); got != want {
			t.Errorf("DaysBucket(%d) = %s, want %s", days, got, want)
		}
	}
}

// Appointments kept reach the view by the year of their day and class of
// wait, and by class and sex over all years.
func TestAppointmentWaitsView(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		src := &events{}
		at := func(y int) time.Time { return time.Date(y, 5, 4, 9, 0, 0, 0, time.UTC) }
		src.add(Event{At: at(2025), Key: "cie:" + DaysBucket(2), Sex: "F"}, Event{At: at(2025), Key: "tari:" + DaysBucket(3), Sex: "M"},
			Event{At: at(2026), Key: "cie:" + DaysBucket(2), Sex: ""}, Event{At: at(2026), Key: "cie:" + DaysBucket(40), Sex: "F"})
		s := &Store{DB: d, Sources: []Source{src.source(AppointmentWaits)}, Now: func() time.Time { return at(2027) }}
		if _, err := s.Collect(ctx); err != nil {
			t.Fatal(err)
		}
		v, err := s.View(ctx)
		if err != nil || len(v.Appointments) != 2 || v.Appointments[0].N["1-3"] != 2 || v.Appointments[1].N["1-3"] != 1 || v.Appointments[1].N["31-60"] != 1 {
			t.Fatalf("by year: %+v, %v", v.Appointments, err)
		}
		if got := v.AppointmentsBySex["1-3"]; got != (BySex{F: 1, M: 1, U: 1}) || v.AppointmentsBySex["31-60"] != (BySex{F: 1}) {
			t.Errorf("by sex: %+v", v.AppointmentsBySex)
		}
	})
}

// Tickets served reach the view by year and class of wait, and by class
// and the sex of who waited over all years (unknown for an anonymous one).
func TestQueueWaitsView(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		src := &events{}
		at := func(y int) time.Time { return time.Date(y, 5, 4, 9, 0, 0, 0, time.UTC) }
		src.add(Event{At: at(2025), Key: "cie:" + WaitBucket(5*time.Minute), Sex: "F"}, Event{At: at(2025), Key: "tari:" + WaitBucket(8*time.Minute), Sex: "M"},
			Event{At: at(2026), Key: "cie:" + WaitBucket(2*time.Minute)}, Event{At: at(2026), Key: "cie:" + WaitBucket(45*time.Minute), Sex: "F"})
		s := &Store{DB: d, Sources: []Source{src.source(QueueWaits)}, Now: func() time.Time { return at(2027) }}
		if _, err := s.Collect(ctx); err != nil {
			t.Fatal(err)
		}
		v, err := s.View(ctx)
		if err != nil || len(v.Waits) != 2 || v.Waits[0].N["0-10"] != 2 || v.Waits[1].N["0-10"] != 1 || v.Waits[1].N["30-60"] != 1 {
			t.Fatalf("by year: %+v, %v", v.Waits, err)
		}
		if got := v.WaitsBySex["0-10"]; got != (BySex{F: 1, M: 1, U: 1}) || v.WaitsBySex["30-60"] != (BySex{F: 1}) || len(v.WaitsBySex) != 2 {
			t.Errorf("by sex: %+v", v.WaitsBySex)
		}
	})
}

// Each service's week of reach is recorded the first time and then only
// when it changes, dated, once whatever the processes collecting at once;
// the view has each service's first and latest week, the open data every
// snapshot.
func TestReachSnapshots(t *testing.T) {
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := context.Background()
			now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
			var mu sync.Mutex
			outside := 7*time.Hour + 30*time.Minute
			reach := func(context.Context, time.Time) ([]Reach, error) {
				mu.Lock()
				defer mu.Unlock()
				return []Reach{{Service: "cie", Total: 57*time.Hour + 30*time.Minute, Outside: outside}, {Service: "tari", Total: 50 * time.Hour}}, nil
			}
			handles := dbtest.Handles(t, dialect, 3)
			stores := make([]*Store, len(handles))
			for i, d := range handles {
				stores[i] = &Store{DB: d, Reach: reach, Now: func() time.Time { return now }}
			}
			collectAll := func() {
				t.Helper()
				var wg sync.WaitGroup
				errs := make([]error, len(stores))
				for i, s := range stores {
					wg.Go(func() { _, errs[i] = s.Collect(ctx) })
				}
				wg.Wait()
				for _, err := range errs {
					if err != nil {
						t.Fatal(err)
					}
				}
			}
			collectAll()
			now = now.Add(time.Hour)
			collectAll()
			snaps, err := stores[0].Snapshots(ctx)
			if err != nil || len(snaps) != 2 || snaps[0].Outside != 450 || snaps[0].Total != 3450 || !snaps[0].Since.Equal(now.Add(-time.Hour)) || snaps[1].Service != "tari" {
				t.Fatalf("after two collections of the same hours: %+v, %v", snaps, err)
			}
			// The coordination adds an evening: a new snapshot of cie only.
			mu.Lock()
			outside = 8 * time.Hour
			mu.Unlock()
			now = now.Add(24 * time.Hour)
			collectAll()
			v, err := stores[1].View(ctx)
			if err != nil || len(v.Reach) != 2 {
				t.Fatalf("the view: %+v, %v", v, err)
			}
			if r := v.Reach[0]; r.Service != "cie" || r.First.Outside != 450 || r.Now.Outside != 480 || r.Changes != 1 || !r.Now.Since.Equal(now) {
				t.Errorf("cie: %+v", r)
			}
			if r := v.Reach[1]; r.First != r.Now || r.Changes != 0 {
				t.Errorf("tari: %+v", r)
			}
			rows, err := stores[2].OpenData(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range rows {
				got = append(got, r.Figure+" "+r.Period+" "+r.Key+" "+strconv.FormatInt(*r.Value, 10))
			}
			want := []string{"reach_total_minutes 2026-12-04 cie 3450", "reach_outside_minutes 2026-12-04 cie 450", "reach_total_minutes 2026-12-05 cie 3450",
				"reach_outside_minutes 2026-12-05 cie 480", "reach_total_minutes 2026-12-04 tari 3000", "reach_outside_minutes 2026-12-04 tari 0"}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("open data:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

// The public release of a hand-made table of registrations by year and
// sex (all by card): 2008 F 12, M 20; 2009 F 3, M 15; 2010 F 9, M 11.
// 2009's 3 women are withheld, and since its row total (18) and the
// women's total (24) are published, a second cell of each: the smallest
// (2010's 9 women), then 2010's men and 2009's men close the square.
// 2008 and every total stay; the open data has the same cells empty; the
// exact data has them all.
func TestPublicRelease(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		src := &events{}
		for y, n := range map[int][2]int{2008: {12, 20}, 2009: {3, 15}, 2010: {9, 11}} {
			for i := range n[0] + n[1] {
				sex := "F"
				if i >= n[0] {
					sex = "M"
				}
				src.add(Event{At: time.Date(y, 6, 1+i%28, 10, 0, 0, 0, time.UTC), Key: "crs", Sex: sex})
			}
		}
		s := &Store{DB: d, Sources: []Source{src.source(Registrations)}, Now: func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }}
		if _, err := s.Collect(ctx); err != nil {
			t.Fatal(err)
		}
		v, err := s.View(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]bool{
			"registrations|2008|F": false, "registrations|2008|M": false, "registrations|2008": false,
			"registrations|2009|F": true, "registrations|2009|M": true, "registrations|2009": false,
			"registrations|2010|F": true, "registrations|2010|M": true, "registrations|2010": false,
			"registrations||F": false, "registrations||M": false, "registrations": false,
		}
		for name, w := range want {
			if got := v.Public.Withheld(name, 1); got != w {
				t.Errorf("%s withheld: %v, want %v", name, got, w)
			}
		}
		rows, err := s.PublicData(ctx, v)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range rows {
			value := "·"
			if r.Value != nil {
				value = strconv.FormatInt(*r.Value, 10)
			}
			got = append(got, r.Period+" "+r.Sex+" "+value)
		}
		if strings.Join(got, ", ") != "2008 F 12, 2008 M 20, 2009 F ·, 2009 M ·, 2010 F ·, 2010 M ·" {
			t.Errorf("open data: %s", strings.Join(got, ", "))
		}
		exact, err := s.OpenData(ctx)
		if err != nil || len(exact) != 6 || *exact[2].Value != 3 {
			t.Errorf("exact data: %d rows, %v", len(exact), err)
		}
	})
}
