package booking

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/hours"
)

// The slots of one office over 60 days: the demo registry office's hours
// (mornings, two afternoons, an evening, Saturday), 20-minute slots, with
// a few exceptions and some places taken. The yardstick: under
// 20 ms.
func BenchmarkSlots60Days(b *testing.B) {
	h, err := hours.Spec{Week: map[string][]string{
		"monday": {"08:30-12:30"}, "tuesday": {"08:30-12:30", "14:00-16:00"}, "wednesday": {"08:30-12:30", "17:00-19:30"},
		"thursday": {"08:30-12:30", "14:00-16:00"}, "friday": {"08:30-12:30"}, "saturday": {"09:00-12:00"},
	}, Exceptions: []hours.ExceptionSpec{{Date: "2027-03-03", Closed: true}, {Date: "2027-03-10", Hours: []string{"10:00-11:00"}}}}.Hours(hours.Holidays{PatronMonth: time.June, PatronDay: 24})
	if err != nil {
		b.Fatal(err)
	}
	g := Grid{Hours: h, Length: 20 * time.Minute, Counters: 2}
	from := hours.Date{Year: 2027, Month: time.March, Day: 1}.At(0)
	to := from.Add(60 * 24 * time.Hour)
	taken := map[int64]int{}
	for i, s := range g.Slots(from, to, from, nil) {
		if i%3 == 0 {
			taken[Key(s.Start)] = 1 + i%2
		}
	}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		n = len(g.Slots(from, to, from, taken))
	}
	b.ReportMetric(float64(n), "slots")
}

// Bookings of distinct residents, 8 at once, each in one of 180 slots of
// one office's service: the holder's row, the count, the slot's row, the
// insert, in one transaction (no mail).
func BenchmarkBook(b *testing.B) {
	for _, engine := range []struct {
		name string
		open func(testing.TB) *db.DB
	}{{"sqlite", dbtest.SQLite}, {"postgres", dbtest.Postgres}} {
		b.Run(engine.name, func(b *testing.B) {
			d := engine.open(b)
			ts := newTestStore(b, d, 50)
			ts.Notify = nil
			start := tomorrow10()
			var n atomic.Int64
			b.SetParallelism(4) // 8 goroutines on the 2 cores
			cpu := processCPU()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1)
					// 180 slots of 50 places: 36 a day (08:00-20:00) on 5 days.
					day := hours.DateOf(start).AddDays(int(i/36) % 5)
					slot := day.At(8*60 + hours.Clock(i%36)*20)
					if _, _, err := ts.Book(context.Background(), ts.request(fmt.Sprintf("acc-%d", i), slot)); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			b.ReportMetric(float64((processCPU()-cpu).Microseconds())/float64(b.N), "cpu-µs/op")
		})
	}
}

// The queue's hot paths with 200 tickets waiting at one office: reading
// the queue (the office's page, a ticket's page, the console), taking a
// ticket, and a call (the queue read, then one conditional update).
//
//	go test ./internal/booking -run XXX -bench Queue
func BenchmarkQueue(b *testing.B) {
	for _, engine := range []struct {
		name string
		open func(testing.TB) *db.DB
	}{{"sqlite", dbtest.SQLite}, {"postgres", dbtest.Postgres}} {
		b.Run(engine.name, func(b *testing.B) {
			ctx := context.Background()
			h, err := everyDay.Hours(hours.Holidays{})
			if err != nil {
				b.Fatal(err)
			}
			h.OpenOnHolidays = true
			now := hours.DateOf(time.Now()).At(10 * 60)
			s := &Store{DB: engine.open(b), Now: func() time.Time { return now }}
			o := &Office{ID: "anagrafe", Name: "Anagrafe", Hours: h}
			for range 200 {
				if _, _, err := s.TakeTicket(ctx, o, "carta-identita", ChannelOnline, ""); err != nil {
					b.Fatal(err)
				}
			}
			b.Run("today", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if q, err := s.Today(ctx, o.ID); err != nil || q.WaitingCount < 100 {
						b.Fatal(err)
					}
				}
			})
			b.Run("take", func(b *testing.B) {
				for b.Loop() {
					if _, _, err := s.TakeTicket(ctx, o, "carta-identita", ChannelOnline, ""); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("call", func(b *testing.B) {
				for b.Loop() {
					if _, err := s.CallNext(ctx, o.ID, "Sportello 1", "op"); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// The job that moves what a change of hours displaces, with 500 other
// coming appointments it reads and leaves: each run moves 10 appointments
// of a day between its morning and its afternoon (the two hours it is
// given in turn close one or the other), one transaction each, no mail.
func BenchmarkReconcile(b *testing.B) {
	for _, engine := range []struct {
		name string
		open func(testing.TB) *db.DB
	}{{"sqlite", dbtest.SQLite}, {"postgres", dbtest.Postgres}} {
		b.Run(engine.name, func(b *testing.B) {
			ctx := context.Background()
			d := engine.open(b)
			ts := newTestStore(b, d, 50)
			ts.Notify = nil
			day := hours.DateOf(time.Now()).AddDays(3)
			for i := range 510 {
				start := day.At(9 * 60)
				if i >= 10 {
					start = day.AddDays(1 + i%20).At(hours.Clock(8*60 + 20*(i%30)))
				}
				r := ts.request(fmt.Sprintf("acc-%d", i), start)
				if _, _, err := ts.Book(ctx, r); err != nil {
					b.Fatal(err)
				}
			}
			dirs := make([]*Directory, 2)
			for i, open := range []string{"13:00-20:00", "08:00-12:00"} {
				h, err := hours.Spec{Week: everyDay.Week, Exceptions: []hours.ExceptionSpec{{Date: day.String(), Hours: []string{open}}}}.Hours(hours.Holidays{})
				if err != nil {
					b.Fatal(err)
				}
				h.OpenOnHolidays = true
				dirs[i] = NewDirectory([]*Office{{ID: "anagrafe", Hours: h}}, nil)
			}
			reason := func(string) string { return "" }
			// The run that finds nothing to move (every 5 minutes, nearly
			// always), then the runs that move 10.
			idle := NewDirectory([]*Office{{ID: "anagrafe", Hours: ts.grid.Hours}}, nil)
			cpu := processCPU()
			const idleRuns = 20
			for range idleRuns {
				if n, err := ts.Reconcile(ctx, idle, reason); err != nil || n.Total() != 0 {
					b.Fatalf("idle: %+v %v", n, err)
				}
			}
			idleCPU := (processCPU() - cpu) / idleRuns
			b.ReportAllocs()
			i := 0
			cpu = processCPU()
			for b.Loop() {
				n, err := ts.Reconcile(ctx, dirs[i%2], reason)
				if err != nil || n.Moved != 10 {
					b.Fatalf("run %d: %+v %v", i, n, err)
				}
				i++
			}
			b.ReportMetric(float64((processCPU()-cpu).Microseconds())/float64(i)/1000, "cpu-ms/op")
			b.ReportMetric(float64(idleCPU.Microseconds())/1000, "idle-cpu-ms/op")
			b.ReportMetric(10, "moves/op")
		})
	}
}
